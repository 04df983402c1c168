package dev.keel.policy.grpc;

import com.google.protobuf.Any;
import com.google.rpc.BadRequest;
import com.google.rpc.Code;
import dev.keel.core.config.ConfigProblem;
import dev.keel.policy.config.ConfigFiles;
import dev.keel.policy.config.ConfigLoader;
import dev.keel.policy.config.ConfigResult;
import dev.keel.policy.config.PolicyConfig;
import dev.keel.policy.store.ConfigDelta;
import dev.keel.policy.store.PolicyStore;
import dev.keel.proto.v1.ConfigSource;
import dev.keel.proto.v1.Connection;
import dev.keel.proto.v1.GetConnectionRequest;
import dev.keel.proto.v1.ListConnectionsRequest;
import dev.keel.proto.v1.ListConnectionsResponse;
import dev.keel.proto.v1.ListPoliciesRequest;
import dev.keel.proto.v1.ListPoliciesResponse;
import dev.keel.proto.v1.LoadConfigRequest;
import dev.keel.proto.v1.LoadConfigResponse;
import dev.keel.proto.v1.PolicyEvent;
import dev.keel.proto.v1.PolicyServiceGrpc;
import dev.keel.proto.v1.ValidateConfigRequest;
import dev.keel.proto.v1.ValidateConfigResponse;
import dev.keel.proto.v1.PolicyWatchRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.lang.System.Logger.Level;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * keel.v1.PolicyService over gRPC: a thin layer mapping calls onto {@link ConfigLoader} and
 * {@link PolicyStore} and their results onto messages and statuses.
 */
public final class PolicyGrpcService extends PolicyServiceGrpc.PolicyServiceImplBase {

    private static final System.Logger LOG = System.getLogger(PolicyGrpcService.class.getName());

    /**
     * Budget for the problems put in a failed call's trailers (status message plus details):
     * clients refuse trailers above 8 KiB by default. ValidateConfig returns every problem.
     */
    static final int TRAILER_BUDGET = 6 * 1024;

    private final ConfigLoader loader;
    private final PolicyStore store;
    /** The real path of the only directory LoadConfig and ValidateConfig read files from; null: none. */
    private final Path configDirectory;
    /** What this node cannot take from a loaded configuration, checked by LoadConfig and ValidateConfig alike. */
    private final NodeLimits limits;
    /** One load at a time, so two concurrent loads cannot interleave validate and apply. */
    private final Object loadLock = new Object();

    /** Serves {@code store}, loading configurations with {@code loader}; loads by path are refused. */
    public PolicyGrpcService(ConfigLoader loader, PolicyStore store) {
        this.loader = loader;
        this.store = store;
        this.configDirectory = null;
        this.limits = NodeLimits.NONE;
    }

    /**
     * Serves {@code store}, loading configurations with {@code loader}; a load by path reads only
     * files inside {@code configDirectory} (the directory of the service's own configuration file).
     *
     * @throws IllegalArgumentException when the directory cannot be resolved
     */
    public PolicyGrpcService(ConfigLoader loader, PolicyStore store, Path configDirectory) {
        this(loader, store, configDirectory, NodeLimits.NONE);
    }

    /**
     * As {@link #PolicyGrpcService(ConfigLoader, PolicyStore, Path)}, and a configuration that
     * breaks one of {@code limits} is invalid: LoadConfig refuses it (INVALID_ARGUMENT, nothing
     * changed) and ValidateConfig lists its problems.
     *
     * @throws IllegalArgumentException when the directory cannot be resolved
     */
    public PolicyGrpcService(ConfigLoader loader, PolicyStore store, Path configDirectory, NodeLimits limits) {
        this.loader = loader;
        this.store = store;
        this.limits = Objects.requireNonNull(limits, "limits");
        try {
            this.configDirectory = configDirectory.toRealPath();
        } catch (IOException e) {
            throw new IllegalArgumentException("configuration directory " + configDirectory + ": " + e, e);
        }
        if (!Files.isDirectory(this.configDirectory)) {
            throw new IllegalArgumentException("configuration directory " + configDirectory + ": not a directory");
        }
    }

    @Override
    public void loadConfig(LoadConfigRequest request, StreamObserver<LoadConfigResponse> out) {
        ConfigResult result;
        PolicyStore.Revision applied = null;
        synchronized (loadLock) {
            try {
                result = load(request.getSource());
            } catch (StatusRuntimeException e) {
                out.onError(e);
                return;
            }
            if (result instanceof ConfigResult.Valid v) {
                applied = store.apply(v.config());
            }
        }
        switch (result) {
            case ConfigResult.Invalid invalid -> {
                for (ConfigProblem p : invalid.problems()) {
                    LOG.log(Level.WARNING, "configuration rejected: {0}", p);
                }
                out.onError(invalidArgument(invalid.problems()));
            }
            case ConfigResult.Valid v -> {
                LOG.log(Level.INFO, "configuration revision {0} applied: {1}", applied.revision(), v.config());
                out.onNext(LoadConfigResponse.newBuilder()
                        .setRevision(applied.revision())
                        .setEpoch(applied.epoch())
                        .setConnectionCount(v.config().connections().size())
                        .setPolicyCount(v.config().compiled().size())
                        .build());
                out.onCompleted();
            }
        }
    }

    @Override
    public void validateConfig(ValidateConfigRequest request, StreamObserver<ValidateConfigResponse> out) {
        ConfigResult result;
        try {
            result = load(request.getSource());
        } catch (StatusRuntimeException e) {
            out.onError(e);
            return;
        }
        ValidateConfigResponse.Builder b = ValidateConfigResponse.newBuilder();
        switch (result) {
            case ConfigResult.Invalid invalid -> {
                b.setValid(false);
                invalid.problems().forEach(p -> b.addProblems(ProtoMapper.problem(p)));
            }
            case ConfigResult.Valid v -> b.setValid(true)
                    .setConnectionCount(v.config().connections().size())
                    .setPolicyCount(v.config().compiled().size());
        }
        out.onNext(b.build());
        out.onCompleted();
    }

    /** The configuration {@code source} names: invalid when it has problems of its own or breaks the node's limits. */
    private ConfigResult load(ConfigSource source) {
        ConfigResult result = switch (source.getSourceCase()) {
            case PATH -> loader.loadFile(insideConfigDirectory(source.getPath()), sentFiles());
            case YAML_TEXT -> loader.loadText(source.getSourceName().isEmpty() ? "<inline>" : source.getSourceName(),
                    source.getYamlText(), sentFiles());
            case SOURCE_NOT_SET -> throw Status.INVALID_ARGUMENT
                    .withDescription("set source.path or source.yaml_text").asRuntimeException();
        };
        if (result instanceof ConfigResult.Valid v) {
            List<ConfigProblem> broken = limits.problems(v.config());
            if (!broken.isEmpty()) {
                return new ConfigResult.Invalid(List.copyOf(broken));
            }
        }
        return result;
    }

    /**
     * What the node serving this API cannot take from a loaded configuration, beyond the file's own
     * rules: what it fixed at start, say (the gateway's route-based interfaces, docs/gateway.md).
     */
    @FunctionalInterface
    public interface NodeLimits {

        /** No limits: any valid configuration loads (policy-service alone). */
        NodeLimits NONE = loaded -> List.of();

        /** The problems valid {@code loaded} has on this node, each with its key path; empty: none. */
        List<ConfigProblem> problems(PolicyConfig loaded);
    }

    /**
     * The file a load by path may read: {@code requested} (relative to the configuration
     * directory, or absolute), with no {@code ..} in it, whose real path (every symbolic link
     * followed) is inside the configuration directory. Otherwise INVALID_ARGUMENT or
     * PERMISSION_DENIED naming the path: an admin API call must not read the host's other files
     * (issue 19).
     */
    private Path insideConfigDirectory(String requested) {
        if (requested.isEmpty()) {
            throw Status.INVALID_ARGUMENT.withDescription("source.path is empty").asRuntimeException();
        }
        if (configDirectory == null) {
            throw Status.PERMISSION_DENIED.withDescription("source.path '" + requested + "': this service has no"
                    + " configuration directory to load from; send the YAML as source.yaml_text").asRuntimeException();
        }
        Path path;
        try {
            path = Path.of(requested);
        } catch (InvalidPathException e) {
            throw Status.INVALID_ARGUMENT.withDescription("source.path '" + requested.replaceAll("\\p{Cntrl}", "?")
                    + "' is not a path: " + e.getReason()).asRuntimeException();
        }
        for (Path name : path) {
            if (name.toString().equals("..")) {
                throw Status.INVALID_ARGUMENT.withDescription("source.path '" + requested + "': '..' is not allowed;"
                        + " name a file inside " + configDirectory).asRuntimeException();
            }
        }
        Path file = configDirectory.resolve(path).normalize();
        Path real = ConfigFiles.realPath(file);
        if (!real.startsWith(configDirectory)) {
            throw Status.PERMISSION_DENIED.withDescription("source.path '" + requested + "'"
                    + (real.equals(file) ? "" : " (really " + real + ")") + " is outside the configuration"
                    + " directory " + configDirectory + "; LoadConfig and ValidateConfig read files only there")
                    .asRuntimeException();
        }
        return real;
    }

    /**
     * The files a configuration sent through this API may name: only inside the configuration
     * directory; with none, no file at all (the root is a directory that cannot exist).
     */
    private ConfigFiles sentFiles() {
        return configDirectory != null ? ConfigFiles.confinedTo(configDirectory) : ConfigFiles.none();
    }

    /** INVALID_ARGUMENT listing the problems in the message and, as a BadRequest, in the details. */
    static StatusRuntimeException invalidArgument(List<ConfigProblem> problems) {
        StringBuilder message = new StringBuilder("invalid configuration: ").append(problems.size())
                .append(problems.size() == 1 ? " problem" : " problems");
        BadRequest.Builder details = BadRequest.newBuilder();
        int used = 0;
        int shown = 0;
        for (ConfigProblem p : problems) {
            String line = p.toString();
            // Each problem appears twice (message and details); stop before the trailers get too big.
            if (used + 2 * line.length() > TRAILER_BUDGET) {
                break;
            }
            message.append('\n').append(line);
            details.addFieldViolations(BadRequest.FieldViolation.newBuilder()
                    .setField(p.path())
                    .setDescription(p.file() + (p.line() > 0 ? ":" + p.line() + ":" + p.column() : "") + ": "
                            + p.message()));
            used += 2 * line.length() + 16;
            shown++;
        }
        if (shown < problems.size()) {
            message.append("\n... and ").append(problems.size() - shown)
                    .append(" more; ValidateConfig returns them all");
        }
        com.google.rpc.Status status = com.google.rpc.Status.newBuilder()
                .setCode(Code.INVALID_ARGUMENT.getNumber())
                .setMessage(message.toString())
                .addDetails(Any.pack(details.build()))
                .build();
        return StatusProto.toStatusRuntimeException(status);
    }

    @Override
    public void listConnections(ListConnectionsRequest request, StreamObserver<ListConnectionsResponse> out) {
        PolicyStore.Revision r = store.current();
        ListConnectionsResponse.Builder b = ListConnectionsResponse.newBuilder().setRevision(r.revision());
        r.config().connections().values().forEach(c -> b.addConnections(ProtoMapper.connection(c)));
        out.onNext(b.build());
        out.onCompleted();
    }

    @Override
    public void getConnection(GetConnectionRequest request, StreamObserver<Connection> out) {
        if (request.getName().isEmpty()) {
            out.onError(Status.INVALID_ARGUMENT.withDescription("name is empty").asRuntimeException());
            return;
        }
        var c = store.current().config().connection(request.getName());
        if (c.isEmpty()) {
            out.onError(Status.NOT_FOUND.withDescription("no connection named '" + request.getName() + "'")
                    .asRuntimeException());
            return;
        }
        out.onNext(ProtoMapper.connection(c.get()));
        out.onCompleted();
    }

    @Override
    public void listPolicies(ListPoliciesRequest request, StreamObserver<ListPoliciesResponse> out) {
        PolicyStore.Revision r = store.current();
        String only = request.getConnection();
        if (!only.isEmpty() && r.config().connection(only).isEmpty()) {
            out.onError(Status.NOT_FOUND.withDescription("no connection named '" + only + "'").asRuntimeException());
            return;
        }
        ListPoliciesResponse.Builder b = ListPoliciesResponse.newBuilder().setRevision(r.revision());
        var compiled = r.config().compiled();
        for (int i = 0; i < compiled.size(); i++) {
            if (only.isEmpty() || only.equals(compiled.get(i).entry().connection())) {
                b.addEntries(ProtoMapper.spdEntry(i, compiled.get(i)));
            }
        }
        out.onNext(b.build());
        out.onCompleted();
    }

    @Override
    public void watch(PolicyWatchRequest request, StreamObserver<PolicyEvent> responseObserver) {
        WatchCall call = new WatchCall((ServerCallStreamObserver<PolicyEvent>) responseObserver);
        watches.add(call);
        call.out.setOnCancelHandler(call::cancelled);
        PolicyStore.Subscription s = store.subscribe(request.getSinceRevision(), request.getEpoch(), call);
        call.subscribed(s);
    }

    /**
     * Ends every Watch stream with UNAVAILABLE so subscribers reconnect (to this service when it
     * is back, or to another), instead of holding the server's graceful shutdown open forever.
     */
    public void closeWatches() {
        for (WatchCall c : watches) {
            c.end(Status.UNAVAILABLE.withDescription("policy-service is shutting down; reconnect with"
                    + " since_revision"));
        }
    }

    /** Number of open Watch streams. */
    int watchCount() {
        return watches.size();
    }

    private final java.util.Set<WatchCall> watches = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /** One Watch stream: store events and shutdown are serialized on it, and nothing is sent after it ends. */
    private final class WatchCall implements PolicyStore.Listener {
        final ServerCallStreamObserver<PolicyEvent> out;
        private PolicyStore.Subscription subscription;
        private boolean ended;

        WatchCall(ServerCallStreamObserver<PolicyEvent> out) {
            this.out = out;
        }

        @Override
        public synchronized void onSnapshot(long epoch, long revision, PolicyConfig config) {
            if (!ended) {
                out.onNext(ProtoMapper.snapshot(epoch, revision, config));
            }
        }

        @Override
        public synchronized void onDelta(long epoch, ConfigDelta delta) {
            if (!ended) {
                out.onNext(ProtoMapper.delta(epoch, delta));
            }
        }

        synchronized void subscribed(PolicyStore.Subscription s) {
            subscription = s;
            if (ended) {
                s.close(); // cancelled while subscribing
            }
        }

        synchronized void cancelled() {
            ended = true;
            release();
        }

        synchronized void end(Status status) {
            if (!ended) {
                ended = true;
                release();
                out.onError(status.asRuntimeException());
            }
        }

        private void release() {
            if (subscription != null) {
                subscription.close();
            }
            watches.remove(this);
        }
    }
}
