package dev.keel.gateway;

import static dev.keel.gateway.LoopbackTesting.address;
import static dev.keel.gateway.LoopbackTesting.await;
import static dev.keel.gateway.LoopbackTesting.freeTcpPort;
import static dev.keel.gateway.LoopbackTesting.ikePortPair;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.ike.service.IkeSaRecords;
import dev.keel.ike.session.ChildSa;
import dev.keel.ike.session.IkeSa;
import dev.keel.ike.session.IkeSaState;
import dev.keel.policy.config.ConfigLoader;
import dev.keel.policy.config.ConfigResult;
import dev.keel.policy.config.PolicyConfig;
import dev.keel.proto.v1.IkeSaRecord;
import dev.keel.proto.v1.OwnershipReason;
import dev.keel.sad.keys.KeyEncryptionKey;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * IKE SA failover between two gateways of one cluster (issue 20 item 3; docs/ha.md, "IKE SA
 * failover"): gateway A runs in a process of its own, gateway B and the peer P (a Keel gateway
 * with a cluster of its own) in this JVM, all on loopback. P talks to one address, the "anycast"
 * address of the pair, which an {@link AnycastRelay} forwards to A. P establishes its IKE SA with
 * A; A is killed with {@code kill -9} and the relay routes to B, as BGP would. B takes the IKE SA
 * over from the SAD (the CHILD SAs were already taken over by sad-service): it answers P's dead
 * peer detection, and both sides rekey the CHILD SA and the IKE SA through it, without a new
 * IKE_SA_INIT.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class IkeSaFailoverTest {

    /** The loopback addresses the test binds: gateways, the peer, the anycast relay. */
    private static final List<String> ADDRESSES = List.of("127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.10");

    private static final String PSK = "failover test secret";
    private static final InetAddress ANYCAST = address("127.0.0.10");

    private final List<GatewayNode> nodes = new ArrayList<>();
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private Vertx vertx;
    private Path dir;
    private Process gatewayA;

    @BeforeEach
    void setUp() throws Exception {
        dir = Files.createTempDirectory("keel-ike-failover");
        vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true).setEventLoopPoolSize(2));
    }

    @AfterEach
    void tearDown() throws Exception {
        try {
            if (gatewayA != null) {
                gatewayA.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
            for (GatewayNode n : nodes) {
                try {
                    n.close().await(30, TimeUnit.SECONDS);
                } catch (Exception e) {
                    // keep closing the rest
                }
            }
            for (AutoCloseable c : closeables) {
                c.close();
            }
        } finally {
            vertx.close().await(10, TimeUnit.SECONDS);
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @Test
    void theSurvivorCarriesTheIkeSaOnAfterKillMinus9() throws Exception {
        int ike = ikePortPair(ADDRESSES, -1);
        int hzA = freeTcpPort();
        int hzB = freeTcpPort();
        Path kek = dir.resolve("pair-kek.hex");
        byte[] k = new byte[KeyEncryptionKey.LENGTH];
        new SecureRandom().nextBytes(k);
        KeyEncryptionKey.write(kek, k);
        String members = "[127.0.0.1:" + hzA + ", 127.0.0.1:" + hzB + "]";
        String pair = "cluster: {node_id: %s, name: pair-" + hzA + ", bind: 127.0.0.1:%d, members: " + members
                + ", kek_file: " + kek + "}";
        AnycastRelay relay = new AnycastRelay(ANYCAST, address("127.0.0.1"), ike, ike + 1);
        closeables.add(relay);

        // B first (it forms the cluster), then A in its own process joins it, then the peer initiates
        GatewayNode b = start("gwb", yaml("127.0.0.3", ike, pair.formatted("gwb", hzB), "127.0.0.10",
                "ha.example", "peer.example", "0s", "10.1.0.0/16", "10.2.0.0/16", "none"));
        gatewayA = startProcess("gwa", yaml("127.0.0.1", ike, pair.formatted("gwa", hzA), "127.0.0.10",
                "ha.example", "peer.example", "0s", "10.1.0.0/16", "10.2.0.0/16", "none"));
        await(() -> b.sad().cluster().memberCount() == 2, 60_000, "A joined B's cluster");
        GatewayNode p = start("peer", yaml("127.0.0.2", ike, "cluster: {node_id: peer, bind: 127.0.0.1:" + freeTcpPort()
                + "}", ANYCAST.getHostAddress(), "peer.example", "ha.example", "2s", "10.2.0.0/16", "10.1.0.0/16",
                "start"));
        await(() -> p.engine().ikeSas().stream().anyMatch(sa -> sa.state() == IkeSaState.ESTABLISHED
                && !sa.children().isEmpty()), 30_000, "P's IKE SA with A up");
        IkeSa pSa = p.engine().ikeSas().getFirst();
        String id = IkeSaRecords.id(pSa.spiI(), pSa.spiR());
        await(() -> record(b, id).filter(r -> r.getOwnerNodeId().equals("gwa") && r.getChildrenCount() == 1).isPresent(),
                10_000, "A's IKE SA in the SAD, as B's member sees it");
        assertThat(b.engine().ikeSaCount()).isZero();

        long killed = System.nanoTime();
        gatewayA.destroyForcibly(); // SIGKILL: no delete, no goodbye
        relay.routeTo(address("127.0.0.3"));
        await(() -> b.engine().ikeSa(pSa.spiR()).isPresent(), 20_000, "B took the IKE SA over");
        long tookMillis = (System.nanoTime() - killed) / 1_000_000;
        IkeSa adopted = b.engine().ikeSa(pSa.spiR()).orElseThrow();
        System.out.printf("IKE SA taken over by B %d ms after kill -9 of A%n", tookMillis);
        IkeSaRecord taken = record(b, id).orElseThrow();
        assertThat(taken.getOwnerNodeId()).isEqualTo("gwb");
        // sad-service's takeover, or B's claim when P's DPD reached B before A's death was detected (docs/ha.md)
        assertThat(taken.getOwnerReason()).isIn(OwnershipReason.OWNERSHIP_REASON_TAKEOVER,
                OwnershipReason.OWNERSHIP_REASON_CLAIM);
        // The engine runs the IKE SA a moment before the adopter counts it.
        await(() -> b.takeovers().adopted() == 1, 5_000, "the adopter counted one IKE SA");
        await(() -> adopted.state() == IkeSaState.ESTABLISHED && adopted.children().size() == 1, 5_000, "running");
        assertThat(adopted.children().getFirst().inboundSpi()).isEqualTo(pSa.children().getFirst().outboundSpi());

        // P's dead peer detection (2 s when idle) reaches B and is answered
        long expected = adopted.tasks().expectedRequestId();
        await(() -> adopted.tasks().expectedRequestId() > expected, 15_000, "P's DPD answered by B");
        assertThat(pSa.state()).isEqualTo(IkeSaState.ESTABLISHED);

        // the CHILD SA is rekeyed by P and then by B, the IKE SA by P: all through B, no IKE_SA_INIT
        ChildSa before = pSa.children().getFirst();
        p.engine().rekeyChild(pSa, before.inboundSpi());
        await(() -> pSa.current().children().size() == 1 && pSa.current().children().getFirst() != before
                && adopted.current().children().size() == 1, 15_000, "P's CHILD SA rekey through B");
        ChildSa second = adopted.current().children().getFirst();
        b.engine().rekeyChild(adopted, second.inboundSpi());
        await(() -> adopted.current().children().size() == 1 && adopted.current().children().getFirst() != second
                && pSa.current().children().size() == 1
                && pSa.current().children().getFirst().outboundSpi() == adopted.current().children().getFirst().inboundSpi(),
                15_000, "B's CHILD SA rekey");
        p.engine().rekeyIke(pSa);
        await(() -> pSa.state() == IkeSaState.DESTROYED && adopted.state() == IkeSaState.DESTROYED
                && b.engine().ikeSaCount() == 1 && p.engine().ikeSaCount() == 1, 20_000, "P's IKE SA rekey through B");
        IkeSa bNow = b.engine().ikeSas().getFirst();
        assertThat(bNow.children()).hasSize(1);
        IkeSa pNow = p.engine().ikeSas().getFirst();
        await(() -> record(b, IkeSaRecords.id(pNow.spiI(), pNow.spiR())).isPresent()
                && record(b, id).isEmpty(), 10_000, "the SAD holds B's new IKE SA, not the old one");

        System.out.printf("IKE SA state writes: B %d (mean %.0f us), P %d (mean %.0f us), none failed: %d %d%n",
                b.ikeStore().writes(), b.ikeStore().meanWriteMicros(), p.ikeStore().writes(),
                p.ikeStore().meanWriteMicros(), b.ikeStore().writeFailures(), p.ikeStore().writeFailures());
        assertThat(b.ikeStore().writeFailures()).isZero();
        assertThat(relay.initRequests()).as("IKE_SA_INIT requests from P, ever").isEqualTo(1);
        assertThat(p.engine().counters().establishedCount()).as("P authenticated one IKE SA").isEqualTo(1);
        assertThat(p.engine().counters().failedCount()).isZero();
        assertThat(b.engine().counters().messageIdSyncCount()).as("nothing of A's was in flight").isZero();
    }

    private static Optional<IkeSaRecord> record(GatewayNode n, String id) {
        try {
            return Optional.of(n.sad().database().getIkeSa(id, false));
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    private static String yaml(String address, int ike, String cluster, String remote, String localId,
            String remoteId, String dpd, String localTs, String remoteTs, String start) throws IOException {
        int wire;
        int host;
        try (DatagramSocket w = new DatagramSocket(new InetSocketAddress(address, 0));
                DatagramSocket h = new DatagramSocket(new InetSocketAddress(address, 0))) {
            wire = w.getLocalPort();
            host = h.getLocalPort();
        }
        return """
                gateway:
                  address: %s
                  ike_port: %d
                  nat_t_port: %d
                  %s
                  admin: off
                  plaintext:
                    virtual_wire: {bind: %s:%d, host: %s:%d}
                secrets:
                  psk: {env: KEEL_TEST_PSK}
                connections:
                  peer:
                    local_addrs: %s
                    remote_addrs: %s
                    local:  {auth: psk, id: %s, secret: psk}
                    remote: {auth: psk, id: %s}
                    proposals: aes256gcm16-prfsha256-x25519
                    dpd_delay: %s
                    children:
                      lan:
                        local_ts: %s
                        remote_ts: %s
                        esp_proposals: aes256gcm16
                        start_action: %s
                """.formatted(address, ike, ike + 1, cluster, address, wire, address, host, address, remote, localId,
                remoteId, dpd, localTs, remoteTs, start);
    }

    private GatewayNode start(String name, String text) throws Exception {
        Path file = dir.resolve(name + ".yaml");
        Files.writeString(file, text);
        ConfigResult policy = new ConfigLoader(Map.of("KEEL_TEST_PSK", PSK)::get).loadFile(file);
        assertThat(policy).isInstanceOf(ConfigResult.Valid.class);
        PolicyConfig pc = ((ConfigResult.Valid) policy).config();
        var read = GatewaySettingsReader.read(file);
        assertThat(read).isInstanceOf(GatewaySettingsReader.Result.Valid.class);
        GatewaySettings gs = ((GatewaySettingsReader.Result.Valid) read).settings();
        GatewayNode n = GatewayNode.start(vertx, gs, pc, GatewayNode.openPlaintext(vertx, gs, pc))
                .await(120, TimeUnit.SECONDS);
        nodes.add(n);
        return n;
    }

    /** A gateway in a JVM of its own ({@link GatewayMain}), started once it says so. */
    private Process startProcess(String name, String text) throws Exception {
        Path file = dir.resolve(name + ".yaml");
        Files.writeString(file, text);
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (arg.startsWith("--enable-native-access") || arg.startsWith("--add-opens")
                    || arg.startsWith("--add-exports") || arg.startsWith("--sun-misc") || arg.startsWith("-Dio.netty")) {
                cmd.add(arg);
            }
        }
        cmd.addAll(List.of("-Xmx384m", "-cp", System.getProperty("java.class.path"), GatewayMain.class.getName(),
                "--config", file.toString()));
        Path log = dir.resolve(name + ".log");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("KEEL_TEST_PSK", PSK);
        Process proc = pb.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!Files.readString(log).contains("keel-gateway: started")) {
            if (!proc.isAlive() || System.nanoTime() > deadline) {
                throw new AssertionError(name + " did not start:\n" + Files.readString(log));
            }
            Thread.sleep(100);
        }
        return proc;
    }
}
