package dev.keel.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.policy.config.ConfigLoader;
import dev.keel.policy.config.PolicyConfig;
import dev.keel.policy.grpc.PolicyGrpcService;
import dev.keel.policy.store.PolicyStore;
import dev.keel.ike.admin.IkeAdminService;
import dev.keel.ike.admin.LogControl;
import dev.keel.proto.v1.ConfigSource;
import dev.keel.proto.v1.IkeServiceGrpc;
import dev.keel.proto.v1.ListIkeSasRequest;
import dev.keel.proto.v1.ListConnectionsRequest;
import dev.keel.proto.v1.LoadConfigRequest;
import dev.keel.proto.v1.PolicyServiceGrpc;
import dev.keel.proto.v1.SaServiceGrpc;
import dev.keel.proto.v1.SetLogLevelsRequest;
import dev.keel.proto.v1.TerminateRequest;
import dev.keel.rpc.TestPki;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.protobuf.services.HealthStatusManager;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gateway's admin API ({@code gateway.admin}): by default a Unix socket for this user and
 * root; plaintext TCP only when asked for and only on loopback; with {@code tls} a
 * real mutual TLS server where an admin may load configurations, an operator may also terminate
 * SAs, a reader may only read, a client with no role only health-checks, and a client without a
 * certificate gets nothing (DESIGN §5).
 */
class GatewayAdminApiTest {

    private static final String NODE = """
            gateway:
              address: 127.0.0.1
              plaintext:
                virtual_wire: {bind: 127.0.0.1:40999, host: 127.0.0.1:40998}
            """;

    @TempDir
    Path dir;

    private final List<ManagedChannel> channels = new ArrayList<>();
    private Server server;

    @AfterEach
    void stop() {
        channels.forEach(ManagedChannel::shutdownNow);
        if (server != null) {
            server.shutdownNow();
        }
    }

    @Test
    void withoutAdminTheApiIsAUnixSocketPerNodeAndPlaintextTcpMustBeAskedFor() {
        // Issue 19: the default was plaintext TCP on 127.0.0.1:7440, open to every local user.
        GatewaySettings.Admin dflt = valid(NODE + "  cluster: {node_id: gw-a}\n").admin();
        assertThat(dflt.listen()).isNull();
        assertThat(dflt.socket()).isEqualTo(GatewaySettingsReader.defaultAdminSocket("gw-a"));
        assertThat(GatewaySettingsReader.defaultAdminSocket("gw-a", 0, "/run/user/0", "/tmp"))
                .isEqualTo(Path.of("/run/keel/gw-a.sock"));
        assertThat(GatewaySettingsReader.defaultAdminSocket("gw-a", 1000, "/run/user/1000", "/tmp"))
                .isEqualTo(Path.of("/run/user/1000/keel/gw-a.sock"));
        assertThat(GatewaySettingsReader.defaultAdminSocket("gw-a", 1000, null, "/tmp"))
                .isEqualTo(Path.of("/tmp/keel-1000/gw-a.sock"));
        assertThat(valid(NODE + "  admin: {socket: run/admin.sock}\n").admin().socket())
                .isEqualTo(Path.of("").toAbsolutePath().resolve("run/admin.sock"));
        assertThat(valid(NODE + "  admin: off\n").admin()).isNull();

        GatewaySettings.Admin tcp = valid(NODE + "  admin: {listen: 127.0.0.1:7440, plaintext: true}\n").admin();
        assertThat(tcp.listen().getPort()).isEqualTo(7440);
        assertThat(tcp.socket()).isNull();
        assertThat(tcp.tls()).isNull();
        assertThat(problems(NODE + "  admin: 127.0.0.1:7440\n")).anySatisfy(p -> assertThat(p)
                .contains("gateway.admin").contains("must be asked for explicitly")
                .contains("{listen: 127.0.0.1:7440, plaintext: true}"));
        assertThat(problems(NODE + "  admin: {listen: 0.0.0.0:7440, plaintext: true}\n"))
                .anySatisfy(p -> assertThat(p).contains("gateway.admin.listen").contains("not a loopback")
                        .contains("mutual TLS"));
        assertThat(problems(NODE + "  admin: {socket: a.sock, listen: 127.0.0.1:1, plaintext: true}\n"))
                .anySatisfy(p -> assertThat(p).contains("gateway.admin.listen").contains("not with 'socket'"));
        assertThat(problems(NODE + "  admin: {listen: 127.0.0.1:7440, plaintext: yes please}\n"))
                .anySatisfy(p -> assertThat(p).contains("gateway.admin.plaintext").contains("expected true or false"));
        assertThat(problems(NODE + "  admin: {socket: /" + "x".repeat(120) + "}\n"))
                .anySatisfy(p -> assertThat(p).contains("gateway.admin.socket").contains("longer than 107 bytes"));
    }

    @Test
    void theSocketAdminApiServesThisUserFromA0600Socket() throws Exception {
        Path socket = dir.resolve("run/gw.sock");
        GatewaySettings gs = valid(NODE + "  admin: {socket: " + socket + "}\n");
        PolicyStore store = new PolicyStore(PolicyConfig.empty());
        server = EmbeddedServices.startAdmin(gs.admin(), b -> b
                .addService(new PolicyGrpcService(new ConfigLoader(), store)));
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(socket, LinkOption.NOFOLLOW_LINKS)))
                .isEqualTo("rw-------");
        ManagedChannel ch = Grpc.newChannelBuilder("unix:" + socket, InsecureChannelCredentials.create()).build();
        channels.add(ch);
        assertThat(policy(ch).loadConfig(load()).getRevision()).isEqualTo(2);
    }

    @Test
    void plaintextOnlyOnLoopbackAndTlsSettingsNameTheirProblems() {
        assertThat(problems(NODE + "  admin: {listen: 0.0.0.0:7440, admins: [ops]}\n"))
                .anySatisfy(p -> assertThat(p).contains("gateway.admin.tls").contains("missing"));
        assertThat(problems(NODE + "  admin: {listen: 0.0.0.0:7440, tls: {cert: nope.pem, key: k, client_ca: c},"
                + " admins: [ops]}\n")).anySatisfy(p -> assertThat(p).contains("gateway.admin.tls.cert")
                .contains("nope.pem").contains("not a readable file"));
        assertThat(problems(NODE + "  admin: {listen: 0.0.0.0:7440, tls: {cert: a, key: b, client_ca: c},"
                + " admins: [\"CN=ops,,O=x=y\"], colour: blue}\n"))
                .anySatisfy(p -> assertThat(p).contains("gateway.admin.admins").contains("not a distinguished name"))
                .anySatisfy(p -> assertThat(p).contains("colour"));
    }

    @Test
    void everyMethodOfTheThreeServicesHasARuleReadersOnlyReadAndOperatorsAlsoRunSas() {
        assertThat(GatewayAdminRoles.METHODS.missing(PolicyServiceGrpc.getServiceDescriptor())).isEmpty();
        assertThat(GatewayAdminRoles.METHODS.missing(SaServiceGrpc.getServiceDescriptor())).isEmpty();
        assertThat(GatewayAdminRoles.METHODS.missing(IkeServiceGrpc.getServiceDescriptor())).isEmpty();
        for (var m : List.of(SaServiceGrpc.getListChildSasMethod(), PolicyServiceGrpc.getListConnectionsMethod(),
                IkeServiceGrpc.getListIkeSasMethod(), IkeServiceGrpc.getStatsMethod(), IkeServiceGrpc.getWatchLogMethod())) {
            assertThat(GatewayAdminRoles.METHODS.rolesFor(m.getFullMethodName())).as(m.getFullMethodName())
                    .containsExactlyInAnyOrder(GatewayAdminRoles.Role.READER, GatewayAdminRoles.Role.OPERATOR,
                            GatewayAdminRoles.Role.ADMIN);
        }
        for (var m : List.of(IkeServiceGrpc.getInitiateMethod(), IkeServiceGrpc.getTerminateMethod(),
                IkeServiceGrpc.getRekeyMethod())) {
            assertThat(GatewayAdminRoles.METHODS.rolesFor(m.getFullMethodName())).as(m.getFullMethodName())
                    .containsExactlyInAnyOrder(GatewayAdminRoles.Role.OPERATOR, GatewayAdminRoles.Role.ADMIN);
        }
        for (var m : List.of(SaServiceGrpc.getInstallChildSaMethod(), SaServiceGrpc.getLeaseSequenceMethod(),
                SaServiceGrpc.getClaimOwnershipMethod(), PolicyServiceGrpc.getLoadConfigMethod(),
                IkeServiceGrpc.getSetLogLevelsMethod())) {
            assertThat(GatewayAdminRoles.METHODS.rolesFor(m.getFullMethodName())).as(m.getFullMethodName())
                    .containsExactly(GatewayAdminRoles.Role.ADMIN);
        }
    }

    @Test
    void operatorsAreAListOfIdentitiesBesideAdminsAndReaders() throws Exception {
        Files.writeString(dir.resolve("x.pem"), "only read at the start\n");
        GatewaySettings.AdminTls tls = valid(NODE + """
                  admin:
                    listen: 127.0.0.1:7440
                    tls: {cert: %1$s, key: %1$s, client_ca: %1$s}
                    operators: [oncall.example.net, "CN=noc,O=Example"]
                """.formatted(dir.resolve("x.pem"))).admin().tls();
        assertThat(tls.operators()).as("identities compare as MutualTls.identity normalizes them")
                .containsExactly("oncall.example.net", "cn=noc,o=example");
        assertThat(tls.admins()).isEmpty();
        assertThat(tls.readers()).isEmpty();
        assertThat(problems(NODE + "  admin: {listen: 127.0.0.1:7440, plaintext: true, operators: [oncall]}\n"))
                .anySatisfy(p -> assertThat(p).contains("gateway.admin.operators").contains("not with 'plaintext: true'"));
        assertThat(problems(NODE + "  admin: {listen: 0.0.0.0:7440, tls: {cert: a, key: b, client_ca: c},"
                + " operators: [\"CN=noc,,O=x=y\"]}\n"))
                .anySatisfy(p -> assertThat(p).contains("gateway.admin.operators[0]").contains("not a distinguished name"));
        assertThat(problems(NODE + "  admin: {listen: 0.0.0.0:7440, tls: {cert: a, key: b, client_ca: c}}\n"))
                .anySatisfy(p -> assertThat(p).contains("gateway.admin.admins").contains("admins, operators and/or readers"));
    }

    @Test
    void mutualTlsAdminLoadsReaderReadsNoRoleOnlyHealthChecks() throws Exception {
        TestPki.Issued ca = TestPki.ca(dir, "keel-admin-ca");
        TestPki.Issued serverCert = TestPki.leaf(dir, ca, "gw.keel.test", "localhost");
        TestPki.Issued ops = TestPki.leaf(dir, ca, "ops", "ops.keel.test");
        TestPki.Issued monitor = TestPki.leaf(dir, ca, "monitor");
        TestPki.Issued stranger = TestPki.leaf(dir, ca, "stranger");
        GatewaySettings gs = valid(NODE + """
                  admin:
                    listen: 127.0.0.1:0
                    tls: {cert: %s, key: %s, client_ca: %s}
                    admins: [ops.keel.test]
                    operators: [oncall]
                    readers: ["%s"]
                """.formatted(serverCert.certPem(), serverCert.keyPem(), ca.certPem(),
                monitor.cert().getSubjectX500Principal().getName()));
        TestPki.Issued oncall = TestPki.leaf(dir, ca, "oncall");

        PolicyStore store = new PolicyStore(PolicyConfig.empty());
        HealthStatusManager health = new HealthStatusManager();
        server = EmbeddedServices.startAdmin(gs.admin(), b -> b
                .addService(new PolicyGrpcService(new ConfigLoader(), store))
                .addService(new IkeAdminService("", () -> 1, LogControl.NODE)) // no engine: IKE calls UNAVAILABLE
                .addService(health.getHealthService()));
        long revision = store.current().revision();
        TerminateRequest terminate = TerminateRequest.newBuilder().setIke("to-b").build();
        assertThat(code(() -> ike(channel(ca, monitor)).terminate(terminate))).isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThat(code(() -> ike(channel(ca, monitor)).listIkeSas(ListIkeSasRequest.getDefaultInstance())))
                .isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(code(() -> ike(channel(ca, oncall)).terminate(terminate))).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(code(() -> ike(channel(ca, oncall)).setLogLevels(SetLogLevelsRequest.getDefaultInstance())))
                .isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThat(code(() -> ike(channel(ca, ops)).setLogLevels(SetLogLevelsRequest.getDefaultInstance())))
                .as("the node's log subsystems answer an admin").isEqualTo(Status.Code.OK);
        assertThat(code(() -> policy(channel(ca, oncall)).listConnections(ListConnectionsRequest.getDefaultInstance())))
                .isEqualTo(Status.Code.OK);
        assertThat(code(() -> policy(channel(ca, oncall)).loadConfig(load()))).isEqualTo(Status.Code.PERMISSION_DENIED);

        assertThat(code(() -> policy(channel(ca, monitor)).listConnections(ListConnectionsRequest.getDefaultInstance())))
                .isEqualTo(Status.Code.OK);
        assertThat(code(() -> policy(channel(ca, monitor)).loadConfig(load())))
                .isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThat(store.current().revision()).as("a refused load changes nothing").isEqualTo(revision);
        assertThat(code(() -> policy(channel(ca, stranger)).listConnections(ListConnectionsRequest.getDefaultInstance())))
                .isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThat(code(() -> HealthGrpc.newBlockingStub(channel(ca, stranger)).withDeadlineAfter(20, TimeUnit.SECONDS)
                .check(HealthCheckRequest.getDefaultInstance()))).isEqualTo(Status.Code.OK);
        assertThat(code(() -> policy(channel(ca, null)).listConnections(ListConnectionsRequest.getDefaultInstance())))
                .isIn(Status.Code.UNAVAILABLE, Status.Code.UNAUTHENTICATED);
        assertThat(code(() -> policy(channel(ca, ops)).loadConfig(load()))).isEqualTo(Status.Code.OK);
        assertThat(store.current().revision()).isGreaterThan(revision);
    }

    private static GatewaySettings valid(String yaml) {
        GatewaySettingsReader.Result r = GatewaySettingsReader.read("node.yaml", yaml);
        assertThat(r).as(r.toString()).isInstanceOf(GatewaySettingsReader.Result.Valid.class);
        return ((GatewaySettingsReader.Result.Valid) r).settings();
    }

    private static List<String> problems(String yaml) {
        GatewaySettingsReader.Result r = GatewaySettingsReader.read("node.yaml", yaml);
        assertThat(r).as(r.toString()).isInstanceOf(GatewaySettingsReader.Result.Invalid.class);
        return ((GatewaySettingsReader.Result.Invalid) r).problems();
    }

    private ManagedChannel channel(TestPki.Issued ca, TestPki.Issued client) throws Exception {
        TlsChannelCredentials.Builder b = TlsChannelCredentials.newBuilder().trustManager(ca.certPem().toFile());
        if (client != null) {
            b.keyManager(client.certPem().toFile(), client.keyPem().toFile());
        }
        ManagedChannel ch = Grpc.newChannelBuilderForAddress("127.0.0.1", server.getPort(), b.build())
                .overrideAuthority("localhost").build();
        channels.add(ch);
        return ch;
    }

    private static PolicyServiceGrpc.PolicyServiceBlockingStub policy(ManagedChannel ch) {
        return PolicyServiceGrpc.newBlockingStub(ch).withDeadlineAfter(20, TimeUnit.SECONDS);
    }

    private static IkeServiceGrpc.IkeServiceBlockingStub ike(ManagedChannel ch) {
        return IkeServiceGrpc.newBlockingStub(ch).withDeadlineAfter(20, TimeUnit.SECONDS);
    }

    private static LoadConfigRequest load() {
        return LoadConfigRequest.newBuilder().setSource(ConfigSource.newBuilder().setSourceName("new.yaml")
                .setYamlText("connections: {}\n")).build();
    }

    private static Status.Code code(ThrowingCall call) {
        try {
            call.run();
            return Status.Code.OK;
        } catch (StatusRuntimeException e) {
            return e.getStatus().getCode();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private interface ThrowingCall {
        void run() throws Exception;
    }
}
