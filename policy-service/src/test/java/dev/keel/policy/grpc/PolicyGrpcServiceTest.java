package dev.keel.policy.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.rpc.BadRequest;
import dev.keel.policy.config.ConfigLoader;
import dev.keel.policy.config.ConfigResult;
import dev.keel.policy.store.PolicyStore;
import dev.keel.proto.v1.ConfigSource;
import dev.keel.proto.v1.Connection;
import dev.keel.proto.v1.GetConnectionRequest;
import dev.keel.proto.v1.ListConnectionsRequest;
import dev.keel.proto.v1.ListPoliciesRequest;
import dev.keel.proto.v1.LoadConfigRequest;
import dev.keel.proto.v1.LoadConfigResponse;
import dev.keel.proto.v1.PolicyAction;
import dev.keel.proto.v1.PolicyEvent;
import dev.keel.proto.v1.PolicyServiceGrpc;
import dev.keel.proto.v1.ValidateConfigRequest;
import dev.keel.proto.v1.ValidateConfigResponse;
import dev.keel.proto.v1.PolicyWatchRequest;
import dev.keel.rpc.RecordingCall;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.protobuf.StatusProto;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** PolicyService end to end over in-process gRPC. */
class PolicyGrpcServiceTest {

    static final String PSK = "s3cr3t-psk-do-not-print";
    static final String FILE_KEY = "-----BEGIN PRIVATE KEY----- not-for-logs";

    static final String CONFIG = """
            secrets:
              psk-b: {env: KEEL_PSK_B}
              key-c: {file: key-c.pem}
            connections:
              site-b:
                local_addrs: 192.0.2.1
                remote_addrs: 198.51.100.2
                local: {auth: psk, id: gw-a.example, secret: psk-b}
                remote: {auth: psk, id: gw-b.example}
                children:
                  net: {local_ts: 10.1.0.0/16, remote_ts: 10.2.0.0/16, start_action: trap}
              site-c:
                local_addrs: 192.0.2.1
                remote_addrs: 198.51.100.3
                local: {auth: pubkey, id: gw-a.example, secret: key-c}
                children:
                  net: {local_ts: 10.1.0.0/16, remote_ts: 10.3.0.0/16}
            policies:
              - {name: mgmt, local_ts: 10.1.0.0/16, remote_ts: "10.2.0.9[tcp/22]", action: bypass}
            """;

    @TempDir
    Path dir;

    private ConfigLoader loader;
    private PolicyStore store;
    private PolicyServer server;
    private ManagedChannel channel;
    private PolicyServiceGrpc.PolicyServiceBlockingStub stub;
    private final List<String> logs = new ArrayList<>();
    private final Handler capture = new Handler() {
        @Override
        public void publish(LogRecord r) {
            synchronized (logs) {
                logs.add(new java.util.logging.SimpleFormatter().formatMessage(r));
            }
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };

    @BeforeEach
    void start() throws Exception {
        Files.writeString(dir.resolve("key-c.pem"), FILE_KEY + "\n");
        loader = new ConfigLoader(Map.of("KEEL_PSK_B", PSK)::get);
        ConfigResult initial = loader.loadFile(write("keel.yaml", CONFIG));
        store = new PolicyStore(((ConfigResult.Valid) initial).config(), 3, 42);
        String name = InProcessServerBuilder.generateName();
        server = new PolicyServer(InProcessServerBuilder.forName(name).directExecutor(),
                new PolicyGrpcService(loader, store, dir)).start();
        channel = InProcessChannelBuilder.forName(name).directExecutor().build();
        stub = PolicyServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
        Logger.getLogger("dev.keel").addHandler(capture);
        Logger.getLogger("dev.keel").setLevel(Level.ALL);
    }

    @AfterEach
    void stop() throws Exception {
        Logger.getLogger("dev.keel").removeHandler(capture);
        channel.shutdownNow();
        server.close();
    }

    private Path write(String name, String text) throws Exception {
        Path p = dir.resolve(name);
        Files.writeString(p, text);
        return p;
    }

    private LoadConfigResponse loadPath(String text) throws Exception {
        return stub.loadConfig(LoadConfigRequest.newBuilder()
                .setSource(ConfigSource.newBuilder().setPath(write("keel.yaml", text).toString())).build());
    }

    private static Status.Code code(Runnable call) {
        try {
            call.run();
        } catch (StatusRuntimeException e) {
            return e.getStatus().getCode();
        }
        return Status.Code.OK;
    }

    @Test
    void loadAppliesANewRevision() throws Exception {
        LoadConfigResponse r = loadPath(CONFIG.replace("10.3.0.0/16", "10.4.0.0/16"));
        assertThat(r.getRevision()).isEqualTo(2);
        assertThat(r.getEpoch()).isEqualTo(42);
        assertThat(r.getConnectionCount()).isEqualTo(2);
        assertThat(r.getPolicyCount()).isEqualTo(3);
        Connection c = stub.getConnection(GetConnectionRequest.newBuilder().setName("site-c").build());
        assertThat(c.getChildren(0).getRemoteTsTextList()).containsExactly("10.4.0.0/16");
    }

    @Test
    void rejectedLoadReportsEveryProblemAndLeavesTheOldConfigServing() throws Exception {
        String bad = CONFIG.replace("10.3.0.0/16", "10.3.0.0/33").replace("rekey", "x")
                .replace("remote: {auth: psk, id: gw-b.example}", "remote: {auth: psk, idd: gw-b.example}");
        Path file = write("bad.yaml", bad);
        StatusRuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class,
                () -> stub.loadConfig(LoadConfigRequest.newBuilder()
                        .setSource(ConfigSource.newBuilder().setPath(file.toString())).build()));
        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(e.getStatus().getDescription()).startsWith("invalid configuration: 2 problems")
                .contains(file + ":9:25: connections.site-b.remote.idd: unknown key 'idd'; did you mean 'id'?")
                .contains("connections.site-c.children.net.remote_ts[0]: invalid traffic selector");
        BadRequest details = StatusProto.fromThrowable(e).getDetails(0).unpack(BadRequest.class);
        assertThat(details.getFieldViolationsList()).extracting(BadRequest.FieldViolation::getField)
                .containsExactly("connections.site-b.remote.idd", "connections.site-c.children.net.remote_ts[0]");
        // Untouched: same revision, same connections.
        var list = stub.listConnections(ListConnectionsRequest.getDefaultInstance());
        assertThat(list.getRevision()).isEqualTo(1);
        assertThat(list.getConnectionsList()).extracting(Connection::getName).containsExactly("site-b", "site-c");
        assertThat(store.current().revision()).isEqualTo(1);
    }

    @Test
    void validateReturnsProblemsWithoutApplying() {
        ValidateConfigResponse r = stub.validateConfig(ValidateConfigRequest.newBuilder().setSource(ConfigSource
                .newBuilder().setYamlText("connections: {a: 1}").setSourceName("draft.yaml")).build());
        assertThat(r.getValid()).isFalse();
        assertThat(r.getProblemsList()).singleElement().satisfies(p -> {
            assertThat(p.getFile()).isEqualTo("draft.yaml");
            assertThat(p.getPath()).isEqualTo("connections.a");
            assertThat(p.getLine()).isEqualTo(1);
            assertThat(p.getColumn()).isEqualTo(18);
        });
        ValidateConfigResponse ok = stub.validateConfig(ValidateConfigRequest.newBuilder()
                .setSource(ConfigSource.newBuilder().setYamlText("connections: {}")).build());
        assertThat(ok.getValid()).isTrue();
        assertThat(store.current().revision()).isEqualTo(1);
    }

    @Test
    void loadsByPathReadOnlyFilesInsideTheConfigurationDirectory(@TempDir Path elsewhere) throws Exception {
        // Issue 19: LoadConfig by path read any file the service could, e.g. a config planted in /tmp.
        Path outside = Files.writeString(elsewhere.resolve("backdoor.yaml"), "connections: {}\n"); // valid: drops every tunnel
        Files.createSymbolicLink(dir.resolve("innocent.yaml"), outside);
        Files.createSymbolicLink(dir.resolve("linked-dir"), elsewhere);
        for (String path : List.of(outside.toString(), "innocent.yaml", dir.resolve("innocent.yaml").toString(),
                "linked-dir/backdoor.yaml", "linked-dir/missing.yaml")) {
            StatusRuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class,
                    () -> stub.loadConfig(LoadConfigRequest.newBuilder()
                            .setSource(ConfigSource.newBuilder().setPath(path)).build()), path);
            assertThat(e.getStatus().getCode()).as(path).isEqualTo(Status.Code.PERMISSION_DENIED);
            assertThat(e.getStatus().getDescription()).as(path).contains("'" + path + "'")
                    .contains("outside the configuration directory " + dir.toRealPath());
            assertThat(code(() -> stub.validateConfig(ValidateConfigRequest.newBuilder()
                    .setSource(ConfigSource.newBuilder().setPath(path)).build()))).as(path)
                    .isEqualTo(Status.Code.PERMISSION_DENIED);
        }
        for (String path : List.of("../backdoor.yaml", dir + "/sub/../keel.yaml")) {
            StatusRuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class,
                    () -> stub.validateConfig(ValidateConfigRequest.newBuilder()
                            .setSource(ConfigSource.newBuilder().setPath(path)).build()), path);
            assertThat(e.getStatus().getCode()).as(path).isEqualTo(Status.Code.INVALID_ARGUMENT);
            assertThat(e.getStatus().getDescription()).as(path).contains("'..' is not allowed");
        }
        assertThat(store.current().revision()).as("nothing was loaded").isEqualTo(1);

        // Inside: by a name relative to the directory, by absolute path, and through a link that stays inside.
        write("next.yaml", CONFIG.replace("10.3.0.0/16", "10.4.0.0/16"));
        Files.createSymbolicLink(dir.resolve("current.yaml"), dir.resolve("next.yaml"));
        assertThat(stub.loadConfig(LoadConfigRequest.newBuilder().setSource(ConfigSource.newBuilder()
                .setPath("next.yaml")).build()).getRevision()).isEqualTo(2);
        assertThat(stub.validateConfig(ValidateConfigRequest.newBuilder().setSource(ConfigSource.newBuilder()
                .setPath("current.yaml")).build()).getValid()).isTrue();
        assertThat(stub.validateConfig(ValidateConfigRequest.newBuilder().setSource(ConfigSource.newBuilder()
                .setPath(dir.resolve("missing.yaml").toString())).build()).getProblems(0).getMessage())
                .contains("cannot read the file");
    }

    @Test
    void aConfigurationSentThroughTheApiNamesFilesOnlyInsideTheConfigurationDirectory(@TempDir Path elsewhere)
            throws Exception {
        // Inline YAML could name any file the service can read as a secret or a CA certificate.
        Path outside = Files.writeString(elsewhere.resolve("key.pem"), FILE_KEY + "\n");
        Files.createSymbolicLink(dir.resolve("linked-key.pem"), outside);
        for (String file : List.of(outside.toString(), "linked-key.pem", "../" + dir.getFileName() + "/linked-key.pem")) {
            String yaml = CONFIG.replace("{file: key-c.pem}", "{file: '" + file + "'}");
            ValidateConfigResponse r = stub.validateConfig(ValidateConfigRequest.newBuilder()
                    .setSource(ConfigSource.newBuilder().setYamlText(yaml)).build());
            assertThat(r.getValid()).as(file).isFalse();
            assertThat(r.getProblemsList()).as(file).anySatisfy(p -> {
                assertThat(p.getPath()).isEqualTo("secrets.key-c.file");
                assertThat(p.getMessage()).contains("is outside the configuration directory " + dir.toRealPath());
            });
            StatusRuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class,
                    () -> stub.loadConfig(LoadConfigRequest.newBuilder()
                            .setSource(ConfigSource.newBuilder().setYamlText(yaml)).build()), file);
            assertThat(e.getStatus().getCode()).as(file).isEqualTo(Status.Code.INVALID_ARGUMENT);
        }
        assertThat(store.current().revision()).as("nothing was loaded").isEqualTo(1);

        // Relative names resolve against the configuration directory, not the service's working directory.
        assertThat(stub.loadConfig(LoadConfigRequest.newBuilder().setSource(ConfigSource.newBuilder()
                .setYamlText(CONFIG.replace("10.3.0.0/16", "10.4.0.0/16"))).build()).getRevision()).isEqualTo(2);

        // A service without a configuration directory reads no file for a client.
        PolicyGrpcService noDirectory = new PolicyGrpcService(loader, store);
        RecordingCall<ValidateConfigResponse> call = RecordingCall.invoke(noDirectory::validateConfig,
                ValidateConfigRequest.newBuilder().setSource(ConfigSource.newBuilder().setYamlText(CONFIG)).build());
        assertThat(call.awaitEnd(java.time.Duration.ofSeconds(5), Set.of())).isEqualTo(Status.OK);
        assertThat(call.last().getProblemsList()).anySatisfy(p -> {
            assertThat(p.getPath()).isEqualTo("secrets.key-c.file");
            assertThat(p.getMessage()).contains("this service has no configuration directory");
        });
    }

    @Test
    void badCallsGetPreciseStatuses() {
        assertThat(code(() -> stub.getConnection(GetConnectionRequest.newBuilder().setName("nope").build())))
                .isEqualTo(Status.Code.NOT_FOUND);
        assertThat(code(() -> stub.getConnection(GetConnectionRequest.getDefaultInstance())))
                .isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(code(() -> stub.loadConfig(LoadConfigRequest.getDefaultInstance())))
                .isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(code(() -> stub.validateConfig(ValidateConfigRequest.newBuilder()
                .setSource(ConfigSource.newBuilder().setPath("")).build()))).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(code(() -> stub.listPolicies(ListPoliciesRequest.newBuilder().setConnection("nope").build())))
                .isEqualTo(Status.Code.NOT_FOUND);
    }

    @Test
    void listPoliciesInSpdOrder() {
        var all = stub.listPolicies(ListPoliciesRequest.getDefaultInstance());
        assertThat(all.getEntriesList()).extracting(e -> e.getOrder() + " " + e.getName() + " " + e.getAction())
                .containsExactly("0 mgmt POLICY_ACTION_BYPASS", "1 site-b/net POLICY_ACTION_PROTECT",
                        "2 site-c/net POLICY_ACTION_PROTECT");
        var c = stub.listPolicies(ListPoliciesRequest.newBuilder().setConnection("site-c").build());
        assertThat(c.getEntriesList()).singleElement().satisfies(e -> {
            assertThat(e.getChild()).isEqualTo("net");
            assertThat(e.getLocalText()).isEqualTo("10.1.0.0/16");
            assertThat(e.getAction()).isEqualTo(PolicyAction.POLICY_ACTION_PROTECT);
            assertThat(e.getPriority()).isEqualTo(1000);
        });
    }

    /** A Watch call whose events land in a queue. */
    private final class Watcher implements ClientResponseObserver<PolicyWatchRequest, PolicyEvent> {
        final BlockingQueue<PolicyEvent> events = new LinkedBlockingQueue<>();
        ClientCallStreamObserver<PolicyWatchRequest> call;

        Watcher(long since, long epoch) {
            PolicyServiceGrpc.newStub(channel).watch(PolicyWatchRequest.newBuilder().setSinceRevision(since)
                    .setEpoch(epoch).build(), this);
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<PolicyWatchRequest> requestStream) {
            call = requestStream;
        }

        @Override
        public void onNext(PolicyEvent value) {
            events.add(value);
        }

        final BlockingQueue<Status> ended = new LinkedBlockingQueue<>();

        @Override
        public void onError(Throwable t) {
            ended.add(Status.fromThrowable(t));
        }

        @Override
        public void onCompleted() {
            ended.add(Status.OK);
        }

        PolicyEvent next() throws InterruptedException {
            PolicyEvent e = events.poll(5, TimeUnit.SECONDS);
            assertThat(e).as("an event within 5 s").isNotNull();
            return e;
        }

        void cancel() {
            call.cancel("test disconnects", null);
        }
    }

    @Test
    void watchSendsSnapshotThenDeltasWithIncreasingRevisions() throws Exception {
        Watcher w = new Watcher(0, 0);
        PolicyEvent first = w.next();
        assertThat(first.hasSnapshot()).isTrue();
        assertThat(first.getRevision()).isEqualTo(1);
        assertThat(first.getEpoch()).isEqualTo(42);
        assertThat(first.getSnapshot().getConnectionsList()).hasSize(2);
        assertThat(first.getSnapshot().getSpdList()).hasSize(3);

        loadPath(CONFIG.replace("10.3.0.0/16", "10.4.0.0/16"));
        PolicyEvent second = w.next();
        assertThat(second.getRevision()).isEqualTo(2);
        assertThat(second.getDelta().getUpsertedConnectionsList()).extracting(Connection::getName)
                .containsExactly("site-c");
        assertThat(second.getDelta().getSpdChanged()).isTrue();

        String withoutC = CONFIG.substring(0, CONFIG.indexOf("  site-c:")) + CONFIG.substring(CONFIG.indexOf("policies:"));
        loadPath(withoutC);
        PolicyEvent third = w.next();
        assertThat(third.getRevision()).isEqualTo(3);
        assertThat(third.getDelta().getRemovedConnectionsList()).containsExactly("site-c");
        assertThat(third.getDelta().getUpsertedConnectionsList()).isEmpty();
        assertThat(third.getDelta().getSpdList()).extracting(e -> e.getName()).containsExactly("mgmt", "site-b/net");
        assertThat(w.events).isEmpty();
        w.cancel();
    }

    @Test
    void everySubscriberGetsTheDelta() throws Exception {
        Watcher a = new Watcher(0, 0);
        Watcher b = new Watcher(1, 42);
        assertThat(a.next().hasSnapshot()).isTrue();
        loadPath(CONFIG.replace("10.3.0.0/16", "10.4.0.0/16"));
        assertThat(a.next().getRevision()).isEqualTo(2);
        assertThat(b.next().getRevision()).isEqualTo(2);
        assertThat(b.events).isEmpty();
    }

    @Test
    void reconnectWithSinceRevisionGetsExactlyTheMissedDeltas() throws Exception {
        Watcher w = new Watcher(0, 0);
        PolicyEvent snapshot = w.next();
        w.cancel();
        // Bounded wait for the cancel to reach the store (it is synchronous with directExecutor).
        for (int i = 0; i < 100 && store.subscriberCount() > 0; i++) {
            Thread.sleep(10);
        }
        assertThat(store.subscriberCount()).isZero();
        for (int n = 4; n <= 5; n++) {
            loadPath(CONFIG.replace("10.3.0.0/16", "10." + n + ".0.0/16"));
        }
        Watcher again = new Watcher(snapshot.getRevision(), snapshot.getEpoch());
        assertThat(again.next().getRevision()).isEqualTo(2);
        assertThat(again.next().getRevision()).isEqualTo(3);
        assertThat(again.events).isEmpty();
        loadPath(CONFIG);
        PolicyEvent live = again.next();
        assertThat(live.getRevision()).isEqualTo(4);
        assertThat(live.hasDelta()).isTrue();

        // Retention is 3 deltas (2..4 held after 5 replaced 1): revision 1 is now too old.
        loadPath(CONFIG.replace("10.3.0.0/16", "10.6.0.0/16"));
        Watcher late = new Watcher(1, 42);
        PolicyEvent e = late.next();
        assertThat(e.hasSnapshot()).isTrue();
        assertThat(e.getRevision()).isEqualTo(5);
    }

    @Test
    void shutdownEndsWatchStreamsWithUnavailable() throws Exception {
        Watcher w = new Watcher(0, 0);
        w.next();
        long t0 = System.nanoTime();
        server.close();
        assertThat(w.ended.poll(5, TimeUnit.SECONDS)).extracting(Status::getCode).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(System.nanoTime() - t0).as("no wait for the grace period").isLessThan(TimeUnit.SECONDS.toNanos(3));
        assertThat(store.subscriberCount()).isZero();
    }

    @Test
    void healthAndReflectionAreServed() throws Exception {
        HealthCheckResponse h = HealthGrpc.newBlockingStub(channel)
                .check(HealthCheckRequest.newBuilder().setService("keel.v1.PolicyService").build());
        assertThat(h.getStatus()).isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
        BlockingQueue<ServerReflectionResponse> replies = new LinkedBlockingQueue<>();
        StreamObserver<ServerReflectionRequest> req = ServerReflectionGrpc.newStub(channel)
                .serverReflectionInfo(new StreamObserver<>() {
                    @Override
                    public void onNext(ServerReflectionResponse value) {
                        replies.add(value);
                    }

                    @Override
                    public void onError(Throwable t) {
                    }

                    @Override
                    public void onCompleted() {
                    }
                });
        req.onNext(ServerReflectionRequest.newBuilder().setListServices("").build());
        ServerReflectionResponse r = replies.poll(5, TimeUnit.SECONDS);
        req.onCompleted();
        assertThat(r).isNotNull();
        assertThat(r.getListServicesResponse().getServiceList()).extracting(s -> s.getName())
                .contains("keel.v1.PolicyService", "grpc.health.v1.Health");
    }

    @Test
    void secretsNeverAppearInResponsesLogsOrToString() throws Exception {
        List<String> seen = new ArrayList<>();
        Watcher w = new Watcher(0, 0);
        seen.add(w.next().toString());
        seen.add(loadPath(CONFIG.replace("10.3.0.0/16", "10.4.0.0/16")).toString());
        seen.add(w.next().toString());
        seen.add(stub.listConnections(ListConnectionsRequest.getDefaultInstance()).toString());
        seen.add(stub.getConnection(GetConnectionRequest.newBuilder().setName("site-b").build()).toString());
        seen.add(stub.listPolicies(ListPoliciesRequest.getDefaultInstance()).toString());
        seen.add(stub.validateConfig(ValidateConfigRequest.newBuilder().setSource(ConfigSource.newBuilder()
                .setPath(dir.resolve("keel.yaml").toString())).build()).toString());
        // A rejected load whose secrets resolved fine: the error must not carry them either.
        assertThatThrownBy(() -> loadPath(CONFIG + "bogus: 1\n")).isInstanceOfSatisfying(StatusRuntimeException.class,
                e -> seen.add(e.getStatus() + " " + StatusProto.fromThrowable(e)));
        seen.add(store.current().config().toString());
        seen.add(store.current().toString());
        seen.add(store.current().config().secrets().toString());
        synchronized (logs) {
            assertThat(logs).isNotEmpty();
            seen.addAll(logs);
        }
        assertThat(seen).hasSizeGreaterThan(10);
        for (String s : seen) {
            assertThat(s).doesNotContain(PSK).doesNotContain("not-for-logs");
        }
        // The references are there, by name.
        assertThat(seen.get(4)).contains("secret_ref: \"psk-b\"");
        // And the secrets are really loaded.
        assertThat(new String(store.current().config().secrets().get("psk-b").copy())).isEqualTo(PSK);
        assertThat(new String(store.current().config().secrets().get("key-c").copy())).isEqualTo(FILE_KEY);
    }
}
