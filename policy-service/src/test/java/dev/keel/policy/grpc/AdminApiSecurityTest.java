package dev.keel.policy.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.policy.config.ConfigLoader;
import dev.keel.policy.config.ConfigResult;
import dev.keel.policy.store.PolicyStore;
import dev.keel.proto.v1.ConfigSource;
import dev.keel.proto.v1.ListConnectionsRequest;
import dev.keel.proto.v1.LoadConfigRequest;
import dev.keel.proto.v1.PolicyServiceGrpc;
import dev.keel.proto.v1.ValidateConfigRequest;
import dev.keel.rpc.MutualTls;
import dev.keel.rpc.TestPki;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mutual TLS and authorization of the policy-service admin API ({@link PolicyApiRoles} over the
 * shared {@code dev.keel.rpc}) over real TLS on loopback (Netty, certificates from Bouncy Castle):
 * who gets through the handshake, who may call what, and that a refused call changes nothing.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class AdminApiSecurityTest {

    static final String CONFIG = """
            secrets:
              psk-b: {env: KEEL_PSK_B}
            connections:
              site-b:
                local_addrs: 192.0.2.1
                remote_addrs: 198.51.100.2
                local: {auth: psk, id: gw-a.example, secret: psk-b}
                remote: {auth: psk, id: gw-b.example}
                children:
                  net: {local_ts: 10.1.0.0/16, remote_ts: 10.2.0.0/16}
            """;
    static final String CONFIG_2 = CONFIG.replace("10.2.0.0/16", "10.9.0.0/16");

    @TempDir
    Path dir;

    private TestPki.Issued ca;
    private TestPki.Issued serverCert;
    private ConfigLoader loader;
    private PolicyStore store;
    private PolicyServer server;
    private final List<ManagedChannel> channels = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        ca = TestPki.ca(dir, "keel-test-ca");
        serverCert = TestPki.leaf(dir, ca, "policy.keel.test", "localhost");
        loader = new ConfigLoader(Map.of("KEEL_PSK_B", "test-psk-not-a-secret")::get);
        ConfigResult initial = loader.loadText("keel.yaml", CONFIG);
        assertThat(initial).isInstanceOf(ConfigResult.Valid.class);
        store = new PolicyStore(((ConfigResult.Valid) initial).config());
        server = new PolicyServer(NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0),
                        MutualTls.serverCredentials(serverCert.certPem(), serverCert.keyPem(), ca.certPem()))
                .intercept(PolicyApiRoles.authorization(Set.of("admin.keel.test"), Set.of("keel-reader"))),
                new PolicyGrpcService(loader, store)).start();
    }

    @AfterEach
    void stop() {
        channels.forEach(ManagedChannel::shutdownNow);
        server.close();
    }

    /** A client trusting the test CA, presenting {@code client} (null: no certificate). */
    private ManagedChannel channel(TestPki.Issued client) throws Exception {
        TlsChannelCredentials.Builder b = TlsChannelCredentials.newBuilder().trustManager(ca.certPem().toFile());
        if (client != null) {
            b.keyManager(client.certPem().toFile(), client.keyPem().toFile());
        }
        ChannelCredentials creds = b.build();
        ManagedChannel ch = Grpc.newChannelBuilderForAddress("127.0.0.1", server.port(), creds)
                .overrideAuthority("localhost").build();
        channels.add(ch);
        return ch;
    }

    private static PolicyServiceGrpc.PolicyServiceBlockingStub stub(ManagedChannel ch) {
        return PolicyServiceGrpc.newBlockingStub(ch).withDeadlineAfter(20, TimeUnit.SECONDS);
    }

    private static LoadConfigRequest load(String yaml) {
        return LoadConfigRequest.newBuilder()
                .setSource(ConfigSource.newBuilder().setSourceName("new.yaml").setYamlText(yaml)).build();
    }

    private static Status.Code codeOf(Runnable call) {
        try {
            call.run();
        } catch (StatusRuntimeException e) {
            return e.getStatus().getCode();
        }
        return Status.Code.OK;
    }

    @Test
    void clientWithoutCertificateFailsTheHandshake() throws Exception {
        ManagedChannel ch = channel(null);
        Status.Code code = codeOf(() -> stub(ch).listConnections(ListConnectionsRequest.getDefaultInstance()));
        assertThat(code).isIn(Status.Code.UNAVAILABLE, Status.Code.UNAUTHENTICATED);
        assertThat(codeOf(() -> stub(ch).loadConfig(load(CONFIG_2))))
                .isIn(Status.Code.UNAVAILABLE, Status.Code.UNAUTHENTICATED);
        assertThat(store.current().revision()).isEqualTo(1);
    }

    @Test
    void certificateFromAnUnknownCaIsRejected() throws Exception {
        TestPki.Issued otherCa = TestPki.ca(dir, "other-ca");
        // Same names as the admin, but issued by a CA the server does not trust.
        TestPki.Issued forged = TestPki.leaf(dir, otherCa, "keel-admin", "admin.keel.test");
        ManagedChannel ch = channel(forged);
        assertThat(codeOf(() -> stub(ch).loadConfig(load(CONFIG_2))))
                .isIn(Status.Code.UNAVAILABLE, Status.Code.UNAUTHENTICATED);
        assertThat(store.current().revision()).isEqualTo(1);
    }

    @Test
    void readerMayListButNotLoadAndTheRefusedLoadChangesNothing() throws Exception {
        TestPki.Issued reader = TestPki.leaf(dir, ca, "keel-reader");
        ManagedChannel ch = channel(reader);
        var before = store.current();
        assertThat(stub(ch).listConnections(ListConnectionsRequest.getDefaultInstance()).getConnectionsList())
                .extracting(c -> c.getName()).containsExactly("site-b");
        assertThatThrownBy(() -> stub(ch).loadConfig(load(CONFIG_2)))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
                    assertThat(e.getStatus().getDescription()).contains("LoadConfig").contains("ADMIN");
                });
        assertThat(codeOf(() -> stub(ch).validateConfig(ValidateConfigRequest.newBuilder()
                .setSource(ConfigSource.newBuilder().setPath("/etc/shadow")).build())))
                .isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThat(store.current()).isSameAs(before);
        assertThat(HealthGrpc.newBlockingStub(ch).check(HealthCheckRequest.getDefaultInstance()).getStatus())
                .isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
    }

    @Test
    void trustedClientWithoutARoleMayOnlyCheckHealth() throws Exception {
        TestPki.Issued stranger = TestPki.leaf(dir, ca, "someone-else", "someone.keel.test");
        ManagedChannel ch = channel(stranger);
        assertThat(codeOf(() -> stub(ch).listConnections(ListConnectionsRequest.getDefaultInstance())))
                .isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThat(codeOf(() -> stub(ch).loadConfig(load(CONFIG_2)))).isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThat(HealthGrpc.newBlockingStub(ch).check(HealthCheckRequest.getDefaultInstance()).getStatus())
                .isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
        assertThat(store.current().revision()).isEqualTo(1);
    }

    @Test
    void everyPolicyServiceMethodIsInTheTable() {
        assertThat(PolicyApiRoles.METHODS.missing(PolicyServiceGrpc.getServiceDescriptor())).isEmpty();
    }

    @Test
    void adminNamedByItsSubjectDnMayLoad() throws Exception {
        TestPki.Issued admin = TestPki.leaf(dir, ca, "ops-1");
        String dn = admin.cert().getSubjectX500Principal().getName();
        server.close();
        server = new PolicyServer(NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0),
                        MutualTls.serverCredentials(serverCert.certPem(), serverCert.keyPem(), ca.certPem()))
                .intercept(PolicyApiRoles.authorization(Set.of(dn.replace(",", ", ").toUpperCase()), Set.of())),
                new PolicyGrpcService(loader, store)).start();
        assertThat(stub(channel(admin)).loadConfig(load(CONFIG_2)).getRevision()).isEqualTo(2);
    }

    @Test
    void adminMayLoad() throws Exception {
        TestPki.Issued admin = TestPki.leaf(dir, ca, "keel-admin", "admin.keel.test");
        ManagedChannel ch = channel(admin);
        assertThat(stub(ch).loadConfig(load(CONFIG_2)).getRevision()).isEqualTo(2);
        assertThat(store.current().revision()).isEqualTo(2);
        assertThat(stub(ch).listConnections(ListConnectionsRequest.getDefaultInstance()).getRevision()).isEqualTo(2);
    }
}
