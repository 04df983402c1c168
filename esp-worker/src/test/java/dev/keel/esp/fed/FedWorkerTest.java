package dev.keel.esp.fed;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.keel.core.net.IpPrefix;
import dev.keel.core.packet.Checksums;
import dev.keel.core.sa.IpsecMode;
import dev.keel.core.ts.TrafficSelector;
import dev.keel.esp.config.FedWorkerConfig;
import dev.keel.esp.feed.Fixtures;
import dev.keel.esp.forward.StaticGateway;
import dev.keel.esp.forward.StaticSaPair;
import dev.keel.esp.net.UdpOptions;
import dev.keel.esp.packet.DecapOutcome;
import dev.keel.esp.packet.IndependentEspAccess;
import dev.keel.esp.packet.InnerPackets;
import dev.keel.esp.packet.Suites;
import dev.keel.esp.plain.VirtualWire;
import dev.keel.esp.sa.EspSaSpec;
import dev.keel.policy.config.ConfigLoader;
import dev.keel.policy.config.ConfigResult;
import dev.keel.policy.grpc.PolicyApiRoles;
import dev.keel.policy.grpc.PolicyGrpcService;
import dev.keel.policy.grpc.PolicyServer;
import dev.keel.policy.store.PolicyStore;
import dev.keel.proto.CoreMapping;
import dev.keel.proto.v1.ChildSaKeys;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.DeleteChildSaRequest;
import dev.keel.proto.v1.Direction;
import dev.keel.proto.v1.InstallChildSaRequest;
import dev.keel.proto.v1.IpsecProtocol;
import dev.keel.proto.v1.SaServiceGrpc;
import dev.keel.rpc.MutualTls;
import dev.keel.rpc.TestPki;
import dev.keel.sad.SadConfig;
import dev.keel.sad.SadNode;
import dev.keel.sad.grpc.SadApiRoles;
import dev.keel.sad.keys.KeyEncryptionKey;
import io.grpc.ManagedChannel;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.vertx.core.Vertx;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fed esp-worker as its main starts it (configuration file, {@link FedWorkerMain#load},
 * {@link FedWorker#start}) against two sad-service members of one cluster and a policy-service,
 * all over mutual TLS on loopback with sad-service's data-plane role and policy-service's reader
 * role: SAs installed through the SAD's admin API for a worker's node carry ESP to and from a
 * statically keyed peer, deleting one in the SAD removes it from the worker, and two workers with
 * different node ids each hold only their own SAs.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class FedWorkerTest {

    static final String POLICY = """
            secrets:
              psk-b: {env: KEEL_TEST_PSK}
            connections:
              site-b:
                local_addrs: 127.0.0.2
                remote_addrs: 127.0.0.3
                local: {auth: psk, id: gw-a.example, secret: psk-b}
                remote: {auth: psk, id: gw-b.example}
                children:
                  net: {local_ts: 10.1.0.0/16, remote_ts: 10.2.0.0/16}
                  other: {local_ts: 10.1.0.0/16, remote_ts: 10.3.0.0/16}
            """;
    static final byte[] HOST_A = {10, 1, 0, 5};
    static final byte[] HOST_B = {10, 2, 0, 7};

    @TempDir
    static Path dir;

    private final List<AutoCloseable> closing = new ArrayList<>();
    private SadNode sadA;
    private SadNode sadB;
    private PolicyServer policy;
    private SaServiceGrpc.SaServiceBlockingStub admin;
    private Vertx vertx;

    @BeforeAll
    void start() throws Exception {
        TestPki.Issued ca = TestPki.ca(dir, "cluster-ca");
        TestPki.Issued server = TestPki.leaf(dir, ca, "services", "localhost");
        TestPki.leaf(dir, ca, "worker-a");
        TestPki.leaf(dir, ca, "worker-b");
        TestPki.Issued adminCert = TestPki.leaf(dir, ca, "admin");
        byte[] kek = new byte[KeyEncryptionKey.LENGTH];
        new SecureRandom().nextBytes(kek);
        KeyEncryptionKey.write(dir.resolve("kek.hex"), kek);

        // Two sad-service members of one cluster; each serves the API with mutual TLS and roles (SadApiRoles).
        int hzA = freeTcpPort();
        int hzB = freeTcpPort();
        String cluster = "keel-fed-worker-" + UUID.randomUUID();
        sadA = sad("sad-a", cluster, hzA, hzB, server, ca);
        sadB = sad("sad-b", cluster, hzB, hzA, server, ca);
        await(() -> sadA.cluster().hazelcast().getCluster().getMembers().size() == 2, 60_000, () -> "no cluster");

        ConfigLoader loader = new ConfigLoader(Map.of("KEEL_TEST_PSK", "not-a-real-psk-for-tests")::get);
        ConfigResult r = loader.loadText("policy.yaml", POLICY);
        assertThat(r).isInstanceOf(ConfigResult.Valid.class);
        policy = new PolicyServer(NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0),
                        MutualTls.serverCredentials(server.certPem(), server.keyPem(), ca.certPem()))
                .intercept(PolicyApiRoles.authorization(List.of("admin"), List.of("worker-a", "worker-b"))),
                new PolicyGrpcService(loader, new PolicyStore(((ConfigResult.Valid) r).config()))).start();
        closing.add(policy);

        ManagedChannel adminChannel = NettyChannelBuilder.forAddress("127.0.0.1", sadA.grpcPort(),
                TlsChannelCredentials.newBuilder().keyManager(adminCert.certPem().toFile(), adminCert.keyPem().toFile())
                        .trustManager(ca.certPem().toFile()).build()).build();
        closing.add(adminChannel::shutdownNow);
        admin = SaServiceGrpc.newBlockingStub(adminChannel);
        vertx = Vertx.vertx(new io.vertx.core.VertxOptions().setPreferNativeTransport(true).setEventLoopPoolSize(1));
    }

    private SadNode sad(String node, String cluster, int port, int other, TestPki.Issued server, TestPki.Issued ca)
            throws Exception {
        SadConfig.Builder b = SadConfig.builder(node, dir.resolve("kek.hex"));
        b.clusterName = cluster;
        b.bindHost = "127.0.0.1";
        b.hazelcastPort = port;
        b.members = List.of("127.0.0.1:" + port, "127.0.0.1:" + other);
        b.grpcPort = 0;
        b.partitionCount = 31;
        SadNode n = SadNode.start(b.build(), NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0),
                        MutualTls.serverCredentials(server.certPem(), server.keyPem(), ca.certPem()))
                .intercept(SadApiRoles.authorization(Map.of(SadApiRoles.Role.DATA_PLANE, List.of("worker-a", "worker-b"),
                        SadApiRoles.Role.ADMIN, List.of("admin")))));
        closing.add(n);
        return n;
    }

    @AfterAll
    void stop() throws Exception {
        for (AutoCloseable c : closing.reversed()) {
            c.close();
        }
        if (vertx != null) {
            vertx.close().await(10, TimeUnit.SECONDS);
        }
    }

    /** A worker's file: its node id, sad-service as given, policy-service, mutual TLS with its own certificate. */
    private Path workerFile(String node, String cert, InetSocketAddress listen, InetSocketAddress wire,
            InetSocketAddress host, List<Integer> sadPorts) throws Exception {
        Path f = dir.resolve(node + ".yaml");
        Files.writeString(f, """
                node_id: %s
                listen: %s:%d
                loops: 1
                plaintext:
                  virtual_wire: {bind: "%s:%d", host: "%s:%d"}
                sad:
                  endpoints: [%s]
                policy: {endpoint: "127.0.0.1:%d"}
                tls: {cert: %s.pem, key: %s.key, ca: cluster-ca.pem}
                kek_file: kek.hex
                ike: {relay: none}
                metrics: {listen: "127.0.0.1:0"}
                """.formatted(node, listen.getHostString(), listen.getPort(), wire.getHostString(), wire.getPort(),
                host.getHostString(), host.getPort(),
                String.join(", ", sadPorts.stream().map(p -> "\"127.0.0.1:" + p + "\"").toList()), policy.port(), cert,
                cert));
        return f;
    }

    private FedWorker startWorker(Path file, ByteArrayOutputStream log) throws Exception {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        FedWorkerConfig cfg = FedWorkerMain.load(file, new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(cfg).as(err.toString(StandardCharsets.UTF_8)).isNotNull();
        FedWorker w = FedWorker.start(cfg, new PrintStream(log, true, StandardCharsets.UTF_8));
        closing.add(w);
        await(() -> w.feeds().spdFeed().snapshots() >= 1 && w.feeds().saFeed().snapshots() >= 1, 30_000,
                () -> "feeds of " + cfg.nodeId() + " not ready");
        return w;
    }

    // --- the tests --------------------------------------------------------------------------------

    @Test
    void saInstalledForTheWorkerCarriesEspBothWaysAndLeavesWhenDeleted() throws Exception {
        DatagramChannel hostA = socket("127.0.0.1");
        DatagramChannel hostB = socket("127.0.0.1");
        InetSocketAddress udpW = freeUdp("127.0.0.2");
        InetSocketAddress udpB = freeUdp("127.0.0.3");
        InetSocketAddress wireB = freeUdp("127.0.0.3");
        InetSocketAddress wireW = freeUdp("127.0.0.2");
        // the worker reaches the SAD through member B first: any member serves it (FirstReadyChannel)
        FedWorker w = startWorker(workerFile("sad-a", "worker-a", udpW, wireW, local(hostA),
                List.of(sadB.grpcPort(), sadA.grpcPort())), new ByteArrayOutputStream());
        int outSpi = 0x0a0b0201;
        int inSpi = 0x0b0a0201;
        StaticGateway peer = StaticGateway.start(vertx, StaticGateway.Config.of(udpB, List.of(new StaticSaPair(
                        spec(outSpi), spec(inSpi), udpW, List.of(TrafficSelector.of(IpPrefix.parse("10.2.0.0/16"))),
                        List.of(TrafficSelector.of(IpPrefix.parse("10.1.0.0/16")))))),
                new VirtualWire(vertx, wireB, local(hostB), UdpOptions.DEFAULTS)).await(10, TimeUnit.SECONDS);
        DatagramChannel tap = socket("127.0.0.4");
        try {
            install("a-net-out", "net", outSpi, Direction.DIRECTION_OUTBOUND, udpW, udpB, 2, "sad-a");
            install("a-net-in", "net", inSpi, Direction.DIRECTION_INBOUND, udpW, udpB, 2, "sad-a");
            await(() -> w.feeds().sas().outbound().lookup("site-b/net") != null
                    && w.feeds().sas().outbound().lookup("site-b/net").peekNextSequence() != 0
                    && w.feeds().sas().inbound().lookup(inSpi) != null, 20_000, () -> "SAs not in the worker");
            for (int i = 0; i < 50; i++) {
                byte[] p = udp(HOST_A, HOST_B, 20 + i, i);
                hostA.send(ByteBuffer.wrap(p), wireW);
                int n = i;
                assertThat(Fixtures.receive(hostB, 5000)).as(() -> "A→B through the worker's outbound SA, packet " + n
                        + "; worker " + w.dataPlane().counters() + ", esp out " + w.dataPlane().espCounters()
                        .outboundSnapshot() + "; peer esp in " + peer.espCounters().inboundSnapshot()).isEqualTo(p);
            }
            for (int i = 0; i < 50; i++) {
                byte[] p = udp(HOST_B, HOST_A, 20 + i, i);
                int n = i;
                byte[] got = Fixtures.deliver(hostB, p, wireB, hostA,
                        () -> w.dataPlane().espCounters().get(DecapOutcome.CHECKPOINT_BEHIND));
                assertThat(got).as(() -> "B→A through the worker's inbound SA, packet " + n
                        + "; worker " + w.dataPlane().counters() + ", esp in " + w.dataPlane().espCounters()
                        .inboundSnapshot() + "; peer " + peer.counters() + ", esp out "
                        + peer.espCounters().outboundSnapshot()).isEqualTo(p);
            }
            assertThat(peer.espCounters().get(DecapOutcome.DELIVERED)).isEqualTo(50);
            assertThat(w.dataPlane().espCounters().get(DecapOutcome.DELIVERED)).as("delivered: each packet once")
                    .isEqualTo(50);
            // The worker's Prometheus endpoint (metrics.listen) reads the same counters, per SA too.
            String scraped = w.metrics().scrape();
            assertThat(scraped).contains("keel_esp_packets_total{direction=\"in\"} 50.0",
                    "keel_esp_packets_total{direction=\"out\"} 50.0",
                    "keel_esp_sa_packets_total{child=\"net\",connection=\"site-b\",direction=\"in\",spi=\"0b0a0201\"} 50.0",
                    "jvm_memory_used_bytes");

            // The worker's ESP, opened by an independent implementation with the SA's keys (not the worker's code).
            InetSocketAddress tapAt = local(tap);
            install("a-tap-out", "other", 0x0a0c0001, Direction.DIRECTION_OUTBOUND, udpW, tapAt, 3, "sad-a");
            await(() -> w.feeds().sas().outbound().lookup("site-b/other") != null
                    && w.feeds().sas().outbound().lookup("site-b/other").peekNextSequence() != 0, 20_000,
                    () -> "tap SA not in the worker");
            byte[] inner = udp(HOST_A, new byte[] {10, 3, 0, 9}, 64, 7);
            hostA.send(ByteBuffer.wrap(inner), wireW);
            byte[] esp = Fixtures.receive(tap, 5000);
            assertThat(esp).as("ESP to the tap").isNotNull();
            Suites s = Suites.AES128_GCM16;
            assertThat(IndependentEspAccess.open(esp, 1, false, s.encryption, s.encryptionKey(0x0a0c0001), s.integrity,
                    null)).as("decrypted independently").isNotNull();

            // Deleted in the SAD: gone from the worker, and the peer's ESP on that SPI is an unknown SPI.
            admin.deleteChildSa(DeleteChildSaRequest.newBuilder().setId("a-net-in").build());
            await(() -> w.feeds().sas().inbound().lookup(inSpi) == null, 10_000, () -> "inbound SA not removed");
            assertThat(w.metrics().scrape()).as("its series went with the SA").doesNotContain("0b0a0201")
                    .contains("spi=\"0a0b0201\"");
            long unknown = w.dataPlane().espCounters().get(DecapOutcome.UNKNOWN_SPI);
            hostB.send(ByteBuffer.wrap(udp(HOST_B, HOST_A, 20, 99)), wireB);
            await(() -> w.dataPlane().espCounters().get(DecapOutcome.UNKNOWN_SPI) == unknown + 1, 5000,
                    () -> w.dataPlane().espCounters().inboundSnapshot().toString());
            assertThat(Fixtures.receive(hostA, 200)).as("nothing delivered after the delete").isNull();
            admin.deleteChildSa(DeleteChildSaRequest.newBuilder().setId("a-net-out").build());
            await(() -> w.feeds().sas().outbound().lookup("site-b/net") == null, 10_000, () -> "outbound not removed");

            // IKE on the outer socket (non-ESP marker, RFC 3948 §2.2) without a relay: dropped and counted.
            byte[] ike = new byte[40];
            hostB.send(ByteBuffer.wrap(ike), udpW);
            await(() -> w.ikeDropped() == 1, 5000, () -> "IKE not counted");
        } finally {
            try {
                admin.deleteChildSa(DeleteChildSaRequest.newBuilder().setId("a-tap-out").build());
            } catch (io.grpc.StatusRuntimeException e) {
                // not installed
            }
            peer.close().await(10, TimeUnit.SECONDS);
            hostA.close();
            hostB.close();
            tap.close();
        }
    }

    @Test
    void twoWorkersWithDifferentNodeIdsEachCarryOnlyTheirOwnSas() throws Exception {
        DatagramChannel host = socket("127.0.0.1");
        FedWorker a = startWorker(workerFile("sad-a", "worker-a", freeUdp("127.0.0.5"), freeUdp("127.0.0.5"),
                local(host), List.of(sadA.grpcPort())), new ByteArrayOutputStream());
        FedWorker b = startWorker(workerFile("sad-b", "worker-b", freeUdp("127.0.0.6"), freeUdp("127.0.0.6"),
                local(host), List.of(sadB.grpcPort(), sadA.grpcPort())), new ByteArrayOutputStream());
        try {
            InetSocketAddress peer = new InetSocketAddress("127.0.0.3", 4500);
            InetSocketAddress udpA = a.config().listen();
            InetSocketAddress udpB = b.config().listen();
            install("two-a-in", "net", 0x0d0a0001, Direction.DIRECTION_INBOUND, udpA, peer, 2, "sad-a");
            install("two-a-out", "net", 0x0d0a0002, Direction.DIRECTION_OUTBOUND, udpA, peer, 2, "sad-a");
            install("two-b-in", "other", 0x0d0b0001, Direction.DIRECTION_INBOUND, udpB, peer, 3, "sad-b");
            install("two-b-out", "other", 0x0d0b0002, Direction.DIRECTION_OUTBOUND, udpB, peer, 3, "sad-b");
            await(() -> a.feeds().sas().inbound().lookup(0x0d0a0001) != null
                    && a.feeds().sas().outbound().lookup("site-b/net") != null
                    && b.feeds().sas().inbound().lookup(0x0d0b0001) != null
                    && b.feeds().sas().outbound().lookup("site-b/other") != null, 20_000, () -> "SAs not in the workers");
            Thread.sleep(300); // a wrong SA would arrive with the same stream events
            assertThat(ids(a)).containsExactlyInAnyOrder("two-a-in", "two-a-out");
            assertThat(ids(b)).containsExactlyInAnyOrder("two-b-in", "two-b-out");
            assertThat(a.feeds().sas().inbound().lookup(0x0d0b0001)).isNull();
            assertThat(b.feeds().sas().inbound().lookup(0x0d0a0001)).isNull();
            assertThat(a.feeds().sas().outbound().lookup("site-b/other")).isNull();
            assertThat(b.feeds().sas().outbound().lookup("site-b/net")).isNull();
        } finally {
            for (String id : List.of("two-a-in", "two-a-out", "two-b-in", "two-b-out")) {
                admin.deleteChildSa(DeleteChildSaRequest.newBuilder().setId(id).build());
            }
            a.close();
            b.close();
            host.close();
        }
    }

    // --- fixtures ---------------------------------------------------------------------------------

    private static List<String> ids(FedWorker w) {
        return w.dataPlane().saCounters().stream().map(c -> c.id()).filter(id -> id.startsWith("two-")).toList();
    }

    /** Installs an AES-128-GCM CHILD SA owned by {@code owner}; keys are Suites' deterministic ones for the SPI. */
    private ChildSaRecord install(String id, String child, int spi, Direction dir, InetSocketAddress local,
            InetSocketAddress peer, int remoteNet, String owner) {
        Suites s = Suites.AES128_GCM16;
        boolean in = dir == Direction.DIRECTION_INBOUND;
        ChildSaRecord.Builder r = ChildSaRecord.newBuilder()
                .setId(id).setConnection("site-b").setChild(child).setIkeSaId("ike-1")
                .setSpi(spi).setDirection(dir).setProtocol(IpsecProtocol.IPSEC_PROTOCOL_ESP)
                .setMode(dev.keel.proto.v1.IpsecMode.IPSEC_MODE_TUNNEL)
                .setLocal(CoreMapping.endpoint(local.getAddress(), local.getPort()))
                .setPeer(CoreMapping.endpoint(peer.getAddress(), peer.getPort()))
                .setEncryptionTransform(s.encryption.id()).setEncryptionKeyLength(s.keyLength + 4)
                .setReplayWindow(in ? 1024 : 0)
                .addLocalTs(CoreMapping.selector(TrafficSelector.parse("10.1.0.0/16")))
                .addRemoteTs(CoreMapping.selector(TrafficSelector.parse("10." + remoteNet + ".0.0/16")));
        return admin.withDeadlineAfter(30, TimeUnit.SECONDS).installChildSa(InstallChildSaRequest.newBuilder()
                .setChildSa(r).setOwnerNodeId(owner)
                .setKeys(ChildSaKeys.newBuilder().setEncryption(ByteString.copyFrom(s.encryptionKey(spi)))).build())
                .getChildSa();
    }

    static EspSaSpec spec(int spi) {
        return Suites.AES128_GCM16.spec(spi, IpsecMode.TUNNEL, false, 0, 1024);
    }

    /** An IPv4/UDP packet src → dst, {@code payload} bytes, IP id {@code id}, checksums valid. */
    static byte[] udp(byte[] src, byte[] dst, int payload, int id) {
        byte[] p = InnerPackets.ipv4(src, dst, 17, payload, id);
        p[4] = (byte) (id >>> 8);
        p[5] = (byte) id;
        p[10] = 0;
        p[11] = 0;
        int sum = Checksums.ipv4Header(p, 0, 20);
        p[10] = (byte) (sum >>> 8);
        p[11] = (byte) sum;
        p[26] = 0; // IPv4 UDP checksum 0: none (RFC 768)
        p[27] = 0;
        return p;
    }

    static int freeTcpPort() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    static DatagramChannel socket(String host) throws Exception {
        DatagramChannel ch = DatagramChannel.open(StandardProtocolFamily.INET);
        ch.bind(new InetSocketAddress(InetAddress.getByName(host), 0));
        return ch;
    }

    static InetSocketAddress freeUdp(String host) throws Exception {
        try (DatagramChannel ch = DatagramChannel.open(StandardProtocolFamily.INET)) {
            ch.bind(new InetSocketAddress(host, 0));
            return (InetSocketAddress) ch.getLocalAddress();
        }
    }

    static InetSocketAddress local(DatagramChannel ch) throws Exception {
        return (InetSocketAddress) ch.getLocalAddress();
    }

    static void await(BooleanSupplier cond, long millis, Supplier<String> what) throws InterruptedException {
        long deadline = System.nanoTime() + millis * 1_000_000L;
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + millis + " ms: " + what.get());
            }
            Thread.sleep(5);
        }
    }
}
