package dev.keel.ike.admin;

import dev.keel.ike.config.ChildConnection;
import dev.keel.ike.config.IkeConnection;
import dev.keel.ike.engine.IkeEngine;
import dev.keel.ike.metrics.IkeMetrics;
import dev.keel.ike.session.IkeSa;
import dev.keel.proto.v1.IkeSaState;
import dev.keel.proto.v1.IkeServiceGrpc;
import dev.keel.proto.v1.InitiateRequest;
import dev.keel.proto.v1.ListCertsRequest;
import dev.keel.proto.v1.ListCertsResponse;
import dev.keel.proto.v1.ListIkeSasRequest;
import dev.keel.proto.v1.ListIkeSasResponse;
import dev.keel.proto.v1.LogLevel;
import dev.keel.proto.v1.LogLine;
import dev.keel.proto.v1.RekeyRequest;
import dev.keel.proto.v1.RekeyResponse;
import dev.keel.proto.v1.SetLogLevelsRequest;
import dev.keel.proto.v1.SetLogLevelsResponse;
import dev.keel.proto.v1.StatsRequest;
import dev.keel.proto.v1.StatsResponse;
import dev.keel.proto.v1.TerminateRequest;
import dev.keel.proto.v1.TerminateResponse;
import dev.keel.proto.v1.WatchLogRequest;
import io.grpc.Status;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.config.NamingConvention;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusNamingConvention;
import io.grpc.StatusException;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.IntSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * keel.v1.IkeService, the IKE side of a node's admin API (swanctl's verbs over gRPC), over one
 * {@link IkeEngine}: served by the gateway's admin API and by ike-service's own admin listener.
 * Every read of an IKE SA runs on that SA's thread ({@link IkeEngine#onSaThread}) and yields an
 * immutable copy; every action goes through the engine, which runs it there too. Calls never block
 * a gRPC thread: each answers when its futures do.
 *
 * <p>The engine may come after the service is served ({@link #attach}, the gateway's admin API
 * starts first): until then the IKE calls are UNAVAILABLE. WatchLog and SetLogLevels go to the
 * node's {@link LogControl}.
 */
public final class IkeAdminService extends IkeServiceGrpc.IkeServiceImplBase {

    private static final Logger LOG = LoggerFactory.getLogger(IkeAdminService.class);

    /** How long an Initiate waits for its result when the request says 0 (ike.proto). */
    static final Duration INITIATE_TIMEOUT = Duration.ofSeconds(30);
    /** How long a Terminate waits for the peer when the request says 0 (ike.proto). */
    static final Duration TERMINATE_TIMEOUT = Duration.ofSeconds(10);
    /** How long a Rekey waits for the replacements. */
    static final Duration REKEY_TIMEOUT = Duration.ofSeconds(30);

    private static final String VERSION = readVersion();

    /**
     * The engine, where its CHILD SAs' traffic comes from, and the engine's counters as meters of
     * their own (Stats reads them whether or not the node runs a metrics endpoint).
     */
    private record Attached(IkeEngine engine, ChildSaUsage usage, MeterRegistry counters) {
    }

    private final String owner;
    private final IntSupplier clusterMembers;
    private final LogControl log;
    private final long startedMillis;
    private volatile Attached attached;

    /**
     * @param owner          the node id that owns this node's SAs in the SAD, listed with each IKE SA
     *                       (empty on a lone node)
     * @param clusterMembers how many cluster members the node sees now
     * @param log            the node's log subsystems (WatchLog, SetLogLevels)
     */
    public IkeAdminService(String owner, IntSupplier clusterMembers, LogControl log) {
        this.owner = owner;
        this.clusterMembers = clusterMembers;
        this.log = log;
        this.startedMillis = ManagementFactory.getRuntimeMXBean().getStartTime();
    }

    /** The service over {@code engine} from the start. */
    public IkeAdminService(IkeEngine engine, ChildSaUsage usage, String owner, IntSupplier clusterMembers,
            LogControl log) {
        this(owner, clusterMembers, log);
        attach(engine, usage);
    }

    /** Serves {@code engine} from now on, its CHILD SAs' traffic from {@code usage}. */
    public void attach(IkeEngine engine, ChildSaUsage usage) {
        MeterRegistry counters = new SimpleMeterRegistry();
        new IkeMetrics(counters).bind(engine);
        this.attached = new Attached(engine, usage, counters);
    }

    private Attached attached() {
        Attached a = attached;
        if (a == null) {
            throw Status.UNAVAILABLE.withDescription("the IKE engine is not running yet; try again in a moment")
                    .asRuntimeException();
        }
        return a;
    }

    // ---- reads ----

    @Override
    public void listIkeSas(ListIkeSasRequest request, StreamObserver<ListIkeSasResponse> out) {
        answer(out, () -> {
            Attached a = attached();
            String connection = request.getConnection();
            long id = request.getUniqueId();
            return views(a.engine()).thenCompose(all -> {
                List<Targets.View> chosen = all.stream()
                        .filter(v -> connection.isEmpty() || v.info().getConnection().equals(connection))
                        .filter(v -> id == 0 || v.info().getUniqueId() == id)
                        .toList();
                if (chosen.isEmpty() && id != 0) {
                    throw Status.NOT_FOUND.withDescription("unique_id: no IKE SA #" + id
                            + (connection.isEmpty() ? "" : " of connection '" + connection + "'")).asRuntimeException();
                }
                if (chosen.isEmpty() && !connection.isEmpty() && a.engine().connections().byName(connection).isEmpty()) {
                    throw Status.NOT_FOUND.withDescription("connection: no connection '" + connection + "'")
                            .asRuntimeException();
                }
                if (chosen.stream().allMatch(v -> v.info().getChildrenCount() == 0)) {
                    return CompletableFuture.completedFuture(response(chosen, ChildSaUsage.Lookup.NONE));
                }
                String scope = chosen.size() == 1 ? chosen.getFirst().info().getConnection() : connection;
                return traffic(a.usage(), scope).thenApply(lookup -> response(chosen, lookup));
            });
        });
    }

    private static ListIkeSasResponse response(List<Targets.View> views, ChildSaUsage.Lookup traffic) {
        ListIkeSasResponse.Builder b = ListIkeSasResponse.newBuilder();
        views.forEach(v -> b.addIkeSas(SaListing.withTraffic(v.info(), traffic)));
        return b.build();
    }

    /** The traffic of {@code connection}'s CHILD SAs; none (zeros) when its source does not answer. */
    private static CompletionStage<ChildSaUsage.Lookup> traffic(ChildSaUsage usage, String connection) {
        return usage.fetch(connection).exceptionally(e -> {
            LOG.warn("CHILD SA traffic not available, listed as 0: {}", e.toString());
            return ChildSaUsage.Lookup.NONE;
        });
    }

    @Override
    public void listCerts(ListCertsRequest request, StreamObserver<ListCertsResponse> out) {
        answer(out, () -> CompletableFuture.completedFuture(CertListing.of(attached().engine().connections().all())));
    }

    @Override
    public void stats(StatsRequest request, StreamObserver<StatsResponse> out) {
        answer(out, () -> {
            Attached a = attached();
            IkeEngine engine = a.engine();
            return views(engine).thenApply(views -> StatsResponse.newBuilder()
                    .setStartedMillis(startedMillis)
                    .setVersion(VERSION)
                    .setIkeSas(views.size())
                    .setHalfOpenIkeSas(engine.halfOpenCount())
                    .setChildSas(views.stream().mapToInt(v -> v.info().getChildrenCount()).sum())
                    .putAllCounters(counters(a.counters()))
                    .setClusterMembers(Math.max(1, clusterMembers.getAsInt()))
                    .build());
        });
    }

    /**
     * Every counter in {@code meters} by its series name on the metrics endpoint without the
     * {@code keel_} prefix, labels included as Prometheus writes them, e.g.
     * {@code ike_drops_total{reason="no_sa"}}: one name for one count, whichever way it is read.
     */
    static Map<String, Long> counters(MeterRegistry meters) {
        NamingConvention names = new PrometheusNamingConvention();
        Map<String, Long> m = new TreeMap<>();
        for (Meter meter : meters.getMeters()) {
            if (!(meter instanceof FunctionCounter c)) {
                continue;
            }
            Meter.Id id = meter.getId();
            String name = names.name(id.getName(), Meter.Type.COUNTER, id.getBaseUnit()).replaceFirst("^keel_", "");
            // the Prometheus client writes a counter's samples with _total (OpenMetrics)
            StringBuilder key = new StringBuilder(name.endsWith("_total") ? name : name + "_total");
            String sep = "{";
            for (Tag t : id.getTagsAsIterable()) {
                key.append(sep).append(names.tagKey(t.getKey())).append("=\"").append(t.getValue()).append('"');
                sep = ",";
            }
            m.put(sep.equals(",") ? key.append('}').toString() : key.toString(), (long) c.count());
        }
        return m;
    }

    /** Every IKE SA alive, read on its own thread, by unique id. */
    private CompletableFuture<List<Targets.View>> views(IkeEngine engine) {
        List<CompletableFuture<Targets.View>> reads = new ArrayList<>();
        for (IkeSa sa : engine.ikeSas()) {
            reads.add(engine.onSaThread(sa, s -> s.isAlive() ? new Targets.View(s, SaListing.info(s, owner)) : null));
        }
        return CompletableFuture.allOf(reads.toArray(CompletableFuture[]::new)).thenApply(v -> reads.stream()
                .map(CompletableFuture::join).filter(java.util.Objects::nonNull)
                .sorted(Comparator.comparingLong(x -> x.info().getUniqueId())).toList());
    }

    // ---- actions ----

    @Override
    public void initiate(InitiateRequest request, StreamObserver<LogLine> out) {
        IkeEngine engine;
        IkeConnection c;
        List<String> children;
        try {
            engine = attached().engine();
            if (request.getConnection().isBlank()) {
                throw Status.INVALID_ARGUMENT.withDescription("connection: missing; name the connection to initiate")
                        .asRuntimeException();
            }
            c = engine.connections().byName(request.getConnection()).orElseThrow(() -> Status.NOT_FOUND
                    .withDescription("connection: no connection '" + request.getConnection() + "'").asRuntimeException());
            children = childrenToStart(c, request.getChild());
            if (!c.canInitiate()) {
                throw Status.FAILED_PRECONDITION.withDescription("connection '" + c.name() + "' has no remote address"
                        + " (remote_addrs): it only answers, this node cannot initiate it").asRuntimeException();
            }
            if (request.getLevelValue() < 0 || request.getLevelValue() > LogLevel.LOG_LEVEL_TRACE.getNumber()) {
                throw Status.INVALID_ARGUMENT.withDescription("level: " + request.getLevelValue()
                        + " is not a LogLevel").asRuntimeException();
            }
        } catch (StatusRuntimeException e) {
            out.onError(e);
            return;
        }
        LogLevel level = request.getLevel() == LogLevel.LOG_LEVEL_UNSPECIFIED ? LogLevel.LOG_LEVEL_INFO
                : request.getLevel();
        Duration timeout = request.getTimeoutMillis() == 0 ? INITIATE_TIMEOUT
                : Duration.ofMillis(Integer.toUnsignedLong(request.getTimeoutMillis()));
        // A line the attempt built just before its result (a timeout, on another thread) ended the
        // stream is dropped: gRPC refuses a message after the end, and would throw into the engine.
        AtomicBoolean ended = new AtomicBoolean();
        Object streamLock = new Object();
        Initiation attempt = new Initiation(engine, c.name(), children,
                c.remoteEndpoint().getAddress().getHostAddress(), level, line -> {
                    synchronized (streamLock) {
                        if (!ended.get()) {
                            out.onNext(line);
                        }
                    }
                });
        if (out instanceof ServerCallStreamObserver<LogLine> call) {
            call.setOnCancelHandler(attempt::cancel);
        }
        attempt.start(timeout).whenComplete((result, e) -> {
            synchronized (streamLock) {
                ended.set(true);
                if (e == null) {
                    out.onCompleted();
                } else if (!(unwrap(e) instanceof java.util.concurrent.CancellationException)) {
                    out.onError(status(e));
                }
            }
        });
    }

    /** The child to start, or without one the connection's {@code start} children, or all of them. */
    private static List<String> childrenToStart(IkeConnection c, String child) {
        if (!child.isEmpty()) {
            if (c.child(child).isEmpty()) {
                throw Status.NOT_FOUND.withDescription("child: connection '" + c.name() + "' has no child '" + child
                        + "'").asRuntimeException();
            }
            return List.of(child);
        }
        List<String> start = c.children().stream().filter(ch -> ch.startAction() == ChildConnection.StartAction.START)
                .map(ChildConnection::name).toList();
        List<String> chosen = start.isEmpty() ? c.children().stream().map(ChildConnection::name).toList() : start;
        if (chosen.isEmpty()) {
            throw Status.FAILED_PRECONDITION.withDescription("connection '" + c.name() + "' has no children to start")
                    .asRuntimeException();
        }
        return chosen;
    }

    @Override
    public void terminate(TerminateRequest request, StreamObserver<TerminateResponse> out) {
        answer(out, () -> {
            IkeEngine engine = attached().engine();
            Targets named = Targets.of(request);
            Duration timeout = request.getTimeoutMillis() == 0 ? TERMINATE_TIMEOUT
                    : Duration.ofMillis(Integer.toUnsignedLong(request.getTimeoutMillis()));
            return views(engine).thenCompose(views -> {
                List<Targets.Target> targets = usable(named, named.resolve(views, n -> known(engine, n)), true);
                return new Termination(engine, targets, timeout).start();
            });
        });
    }

    @Override
    public void rekey(RekeyRequest request, StreamObserver<RekeyResponse> out) {
        answer(out, () -> {
            IkeEngine engine = attached().engine();
            Targets named = Targets.of(request);
            if (request.getReauth() && !named.kind().ike()) {
                throw Status.INVALID_ARGUMENT.withDescription("reauth: IKE SAs only; a CHILD SA is rekeyed (name it"
                        + " by ike or ike_unique_id to reauthenticate)").asRuntimeException();
            }
            return views(engine).thenCompose(views -> {
                List<Targets.Target> targets = usable(named, named.resolve(views, n -> known(engine, n)), false);
                return request.getReauth() ? reauthenticate(engine, targets)
                        : new Rekeying(engine, targets, REKEY_TIMEOUT).start();
            });
        });
    }

    private static boolean known(IkeEngine engine, String connection) {
        return engine.connections().byName(connection).isPresent();
    }

    /**
     * The targets that can be acted on now: a CHILD SA's IKE SA must be established, an IKE SA
     * too (a Terminate also takes one still connecting, dropped here without a word to the peer),
     * and a CHILD SA rekeyed already only waits for its delete. One named by id that cannot is
     * FAILED_PRECONDITION; of several named by name those that cannot are left out, and if none is
     * left, FAILED_PRECONDITION.
     */
    private static List<Targets.Target> usable(Targets named, List<Targets.Target> found, boolean terminate) {
        List<Targets.Target> ok = new ArrayList<>();
        String problem = null;
        for (Targets.Target t : found) {
            IkeSaState state = t.ike().info().getState();
            String what = "IKE SA " + t.ike().info().getConnection() + "[" + t.ike().info().getUniqueId() + "]";
            String why = null;
            if (t.child() == null) {
                if (state == IkeSaState.IKE_SA_STATE_DELETING) {
                    why = what + " is being deleted already";
                } else if (!terminate && state != IkeSaState.IKE_SA_STATE_ESTABLISHED) {
                    why = what + " is " + stateName(state) + ": only an established IKE SA is rekeyed";
                }
            } else if (state != IkeSaState.IKE_SA_STATE_ESTABLISHED) {
                why = "CHILD SA " + t.child().getName() + "{" + t.child().getUniqueId() + "}: its " + what + " is "
                        + stateName(state) + ", no exchange can " + (terminate ? "delete" : "rekey") + " it now";
            } else if (!terminate && t.child().getState() == dev.keel.proto.v1.ChildSaState.CHILD_SA_STATE_REKEYED) {
                why = "CHILD SA " + t.child().getName() + "{" + t.child().getUniqueId() + "} was rekeyed already and"
                        + " only waits for its delete";
            }
            if (why == null) {
                ok.add(t);
            } else if (problem == null) {
                problem = why;
            }
        }
        if (problem != null && (named.byId() || ok.isEmpty())) {
            throw Status.FAILED_PRECONDITION.withDescription(problem).asRuntimeException();
        }
        return ok;
    }

    private static String stateName(IkeSaState s) {
        return s.name().substring("IKE_SA_STATE_".length());
    }

    /**
     * Reauthenticates each IKE SA (RFC 7296 §2.8.3) make-before-break, as {@code reauth_time} does
     * ({@link IkeEngine#reauthenticate}): the new IKE SA and a CHILD SA of each configuration the
     * old one carries are installed before the old one is deleted. Needs a connection this node
     * can initiate; a reauthentication that fails leaves the old IKE SA as it was (ABORTED).
     */
    private static CompletableFuture<RekeyResponse> reauthenticate(IkeEngine engine, List<Targets.Target> targets) {
        for (Targets.Target t : targets) {
            String name = t.ike().info().getConnection();
            Optional<IkeConnection> c = engine.connections().byName(name);
            if (c.isEmpty() || !c.get().canInitiate()) {
                throw Status.FAILED_PRECONDITION.withDescription("reauth: IKE SA " + name + "["
                        + t.ike().info().getUniqueId() + "]: connection '" + name + "' "
                        + (c.isEmpty() ? "is no longer configured" : "has no remote address, this node cannot initiate it"))
                        .asRuntimeException();
            }
        }
        RekeyResponse.Builder answer = RekeyResponse.newBuilder();
        CompletableFuture<Void> chain = CompletableFuture.completedFuture(null);
        for (Targets.Target t : targets) {
            chain = chain.thenCompose(v -> engine.reauthenticate(t.ike().sa()))
                    .handle((fresh, e) -> {
                        if (e != null) {
                            throw Status.ABORTED.withDescription("reauth: IKE SA " + t.ike().info().getConnection() + "["
                                    + t.ike().info().getUniqueId() + "] stays: " + unwrap(e).getMessage())
                                    .asRuntimeException();
                        }
                        return fresh;
                    })
                    .thenCompose(fresh -> engine.onSaThread(fresh, sa -> {
                        synchronized (answer) {
                            answer.addIkeSas(sa.uniqueId());
                            sa.children().forEach(child -> answer.addChildSas(sa.childSas().uniqueId(child.inboundSpi())));
                        }
                        return (Void) null;
                    }));
        }
        return chain.thenApply(v -> {
            synchronized (answer) {
                return answer.build();
            }
        });
    }

    // ---- log ----

    @Override
    public void watchLog(WatchLogRequest request, StreamObserver<LogLine> out) {
        try {
            log.watch(request, out, this::aboutSa);
        } catch (StatusRuntimeException e) {
            out.onError(e);
        }
    }

    /** An IKE SA as its log lines name it ({@code IkeSa.toString()}): connection, initiator and responder SPI. */
    private static final java.util.regex.Pattern IKE_SA_IN_LINE = java.util.regex.Pattern.compile(
            "IKE_SA\\[(\\S+) ([0-9a-f]{16})_i ([0-9a-f]{16})_r\\]");

    /**
     * {@code line} with the connection and unique id of the IKE SA its message names, when it
     * names one (LogLine.connection, ike_sa_unique_id); the id only while the IKE SA is alive here.
     */
    LogLine aboutSa(LogLine line) {
        if (!line.getConnection().isEmpty() || line.getMessage().indexOf("IKE_SA[") < 0) {
            return line;
        }
        java.util.regex.Matcher m = IKE_SA_IN_LINE.matcher(line.getMessage());
        if (!m.find()) {
            return line;
        }
        LogLine.Builder b = line.toBuilder();
        if (!m.group(1).equals("?")) {
            b.setConnection(m.group(1));
        }
        Attached a = attached;
        if (a != null) {
            long spiI = Long.parseUnsignedLong(m.group(2), 16);
            long spiR = Long.parseUnsignedLong(m.group(3), 16);
            Optional<IkeSa> sa = a.engine().ikeSa(spiI).filter(s -> s.spiR() == spiR);
            if (sa.isEmpty()) {
                sa = a.engine().ikeSa(spiR).filter(s -> s.spiI() == spiI);
            }
            sa.ifPresent(s -> b.setIkeSaUniqueId(s.uniqueId()));
        }
        return b.build();
    }

    @Override
    public void setLogLevels(SetLogLevelsRequest request, StreamObserver<SetLogLevelsResponse> out) {
        try {
            log.set(request, out);
        } catch (StatusRuntimeException e) {
            out.onError(e);
        }
    }

    // ---- plumbing ----

    /** A call's work, which may throw a status at once or fail its future with one later. */
    @FunctionalInterface
    private interface Call<T> {
        CompletionStage<T> run();
    }

    /** Answers {@code out} with what {@code call} completes with, or the status it fails with. */
    private static <T> void answer(StreamObserver<T> out, Call<T> call) {
        CompletionStage<T> result;
        try {
            result = call.run();
        } catch (RuntimeException e) {
            out.onError(status(e));
            return;
        }
        result.whenComplete((v, e) -> {
            if (e == null) {
                out.onNext(v);
                out.onCompleted();
            } else {
                out.onError(status(e));
            }
        });
    }

    private static Throwable unwrap(Throwable e) {
        while (e instanceof CompletionException && e.getCause() != null) {
            e = e.getCause();
        }
        return e;
    }

    /** The status a failure is answered with: its own, or INTERNAL for a fault (logged, never its text). */
    private static StatusRuntimeException status(Throwable failure) {
        Throwable e = unwrap(failure);
        if (e instanceof StatusRuntimeException s) {
            return s;
        }
        if (e instanceof StatusException s) {
            return s.getStatus().asRuntimeException();
        }
        LOG.error("IkeService call failed", e);
        return Status.INTERNAL.withDescription("internal error (" + e.getClass().getSimpleName()
                + "); the node's log has the details").asRuntimeException();
    }

    private static String readVersion() {
        try (InputStream in = IkeAdminService.class.getResourceAsStream("version.properties")) {
            if (in != null) {
                Properties p = new Properties();
                p.load(in);
                String v = p.getProperty("version", "");
                if (!v.isEmpty() && !v.startsWith("${")) {
                    return v;
                }
            }
        } catch (IOException e) {
            LOG.debug("no version resource: {}", e.toString());
        }
        return "unknown";
    }
}
