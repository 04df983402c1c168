package dev.keel.gateway;

import static dev.keel.gateway.LoopbackTesting.address;
import static dev.keel.gateway.LoopbackTesting.await;
import static dev.keel.gateway.LoopbackTesting.freeTcpPort;
import static dev.keel.gateway.LoopbackTesting.ikePortPair;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.esp.forward.ForwardDrop;
import dev.keel.esp.packet.InnerPackets;
import dev.keel.ike.service.ChildSaRecords;
import dev.keel.ike.service.IkeSaRecords;
import dev.keel.ike.session.ChildSa;
import dev.keel.ike.session.IkeSa;
import dev.keel.ike.session.IkeSaState;
import dev.keel.policy.config.ConfigLoader;
import dev.keel.policy.config.ConfigResult;
import dev.keel.policy.config.PolicyConfig;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.IkeSaRecord;
import dev.keel.proto.v1.OwnershipReason;
import dev.keel.sad.keys.KeyEncryptionKey;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
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
 * Ownership follows the peer's packets (docs/ha.md, "Packets at the node that does not own their
 * SA"): gateways A and B of one cluster and a peer P (a Keel gateway with a cluster of its own),
 * all in this JVM on loopback, P talking to the pair's "anycast" address, which an
 * {@link AnycastRelay} forwards to one node. P establishes its IKE SA and CHILD SA with A and
 * carries traffic both ways (the LAN side sends to whichever node owns the SA, as the routes each
 * node announces only for its own SAs would). Then the route moves to B while A stays up (a
 * route change, not a failure): P's ESP reaches B, which claims the IKE SA and the CHILD SA; B's
 * data plane carries P's traffic, B answers P's dead peer detection, A stops sending. Then the
 * route moves back with P's traffic stopped, so that only P's dead peer detection reaches A: A
 * claims everything back from that IKE message. P's IKE SA and CHILD SA keep their SPIs
 * throughout (one IKE_SA_INIT, one IKE_AUTH), and no (SPI, sequence number) pair is sent twice.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class OwnershipFollowsPacketsTest {

    /** The loopback addresses the test binds: gateways, the peer, the anycast relay. */
    private static final List<String> ADDRESSES = List.of("127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.10");

    private static final String PSK = "ownership test secret";
    private static final InetAddress ANYCAST = address("127.0.0.10");
    private static final InetAddress A = address("127.0.0.1");
    private static final InetAddress B = address("127.0.0.3");
    private static final byte[] PEER_HOST = {10, 2, 0, 5};
    private static final byte[] LAN_HOST = {10, 1, 0, 7};

    private final List<GatewayNode> nodes = new ArrayList<>();
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private Vertx vertx;
    private Path dir;

    @BeforeEach
    void setUp() throws Exception {
        dir = Files.createTempDirectory("keel-ownership");
        vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true).setEventLoopPoolSize(2));
    }

    @AfterEach
    void tearDown() throws Exception {
        try {
            for (AutoCloseable c : closeables) {
                c.close();
            }
            for (GatewayNode n : nodes.reversed()) {
                try {
                    n.close().await(30, TimeUnit.SECONDS);
                } catch (Exception e) {
                    // keep closing the rest
                }
            }
        } finally {
            vertx.close().await(10, TimeUnit.SECONDS);
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** A gateway's plaintext side: its virtual wire and the host behind it. */
    private record Lan(InetSocketAddress wire, DatagramChannel host) {
    }

    @Test
    void theNodeThePeersPacketsReachClaimsItsSasAndCarriesThemOn() throws Exception {
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
        AnycastRelay relay = new AnycastRelay(ANYCAST, A, ike, ike + 1);
        closeables.add(relay);
        relay.recordEsp(ike + 1);
        // The pair's connection serves the pair's address: on loopback the nodes' own two addresses
        // stand for the one anycast address both would have.
        String pairAddrs = "[127.0.0.1, 127.0.0.3]";
        Lan lanA = lan("127.0.0.1");
        Lan lanB = lan("127.0.0.3");
        Lan lanP = lan("127.0.0.2");

        GatewayNode a = start("gwa", yaml("127.0.0.1", ike, pair.formatted("gwa", hzA), lanA, pairAddrs, "127.0.0.10",
                "ha.example", "peer.example", "0s", "10.1.0.0/16", "10.2.0.0/16", "none"));
        GatewayNode b = start("gwb", yaml("127.0.0.3", ike, pair.formatted("gwb", hzB), lanB, pairAddrs, "127.0.0.10",
                "ha.example", "peer.example", "0s", "10.1.0.0/16", "10.2.0.0/16", "none"));
        await(() -> a.sad().cluster().memberCount() == 2, 60_000, "A and B form one cluster");
        GatewayNode p = start("peer", yaml("127.0.0.2", ike, "cluster: {node_id: peer, bind: 127.0.0.1:"
                + freeTcpPort() + "}", lanP, "127.0.0.2", ANYCAST.getHostAddress(), "peer.example", "ha.example", "2s",
                "10.2.0.0/16", "10.1.0.0/16", "start"));
        await(() -> p.engine().ikeSas().stream().anyMatch(sa -> sa.state() == IkeSaState.ESTABLISHED
                && !sa.children().isEmpty()), 30_000, "P's IKE SA with A up");
        IkeSa pSa = p.engine().ikeSas().getFirst();
        ChildSa pChild = pSa.children().getFirst();
        String ikeId = IkeSaRecords.id(pSa.spiI(), pSa.spiR());
        ChildSaRecords.Ids pair0 = ChildSaRecords.Ids.of("gwa", pChild.outboundSpi()); // A's records of the pair
        await(() -> a.dataPlaneSas().get(pair0.outbound()) != null && a.dataPlaneSas().get(pair0.inbound()) != null,
                10_000, "the pair in A's data plane");
        await(() -> ikeRecord(b, ikeId).filter(r -> r.getOwnerNodeId().equals("gwa")).isPresent(), 10_000,
                "A's IKE SA in the SAD");

        // Traffic both ways: P's host every 10 ms; the LAN side replies through the node that owns the
        // outbound SA (its routes say so), checking the owner every 50 ms.
        Map<String, Lan> lanOf = Map.of("gwa", lanA, "gwb", lanB);
        Traffic traffic = new Traffic(lanP, () -> childRecord(a, pair0.outbound()).map(ChildSaRecord::getOwnerNodeId)
                .map(lanOf::get).orElse(null));
        closeables.add(traffic);
        Arrivals atA = new Arrivals(lanA.host());
        Arrivals atB = new Arrivals(lanB.host());
        Arrivals atP = new Arrivals(lanP.host());
        closeables.addAll(List.of(atA, atB, atP));
        traffic.start();
        await(() -> atA.count() >= 20 && atP.count() >= 20, 10_000, "traffic through A both ways");
        assertThat(atB.count()).isZero();

        // 1. The route moves to B; A stays up.
        Map<String, Long> bBefore = DataPlaneCounts.of(b);
        long moved = System.nanoTime();
        relay.routeTo(B);
        long claimed = 0;
        long installed = 0;
        while ((claimed == 0 || installed == 0 || atB.count() == 0) && System.nanoTime() - moved < 10_000_000_000L) {
            if (claimed == 0 && ikeRecord(b, ikeId).filter(r -> r.getOwnerNodeId().equals("gwb")).isPresent()
                    && childRecord(b, pair0.inbound()).filter(r -> r.getOwnerNodeId().equals("gwb")).isPresent()
                    && childRecord(b, pair0.outbound()).filter(r -> r.getOwnerNodeId().equals("gwb")).isPresent()) {
                claimed = System.nanoTime() - moved;
            }
            if (installed == 0 && b.dataPlaneSas().get(pair0.inbound()) != null
                    && b.dataPlaneSas().get(pair0.outbound()) != null) {
                installed = System.nanoTime() - moved;
            }
            Thread.sleep(2);
        }
        assertThat(claimed).as("B owns the IKE SA and both CHILD SA records within 10 s").isPositive();
        assertThat(installed).as("both CHILD SAs in B's data plane within 10 s").isPositive();
        assertThat(atB.count()).as("P's traffic through B within 10 s").isPositive();
        long firstAtB = atB.firstAfter(moved) - moved;
        assertThat(ikeRecord(b, ikeId).orElseThrow().getOwnerReason()).isEqualTo(OwnershipReason.OWNERSHIP_REASON_CLAIM);
        assertThat(childRecord(b, pair0.inbound()).orElseThrow().getOwnerReason())
                .isEqualTo(OwnershipReason.OWNERSHIP_REASON_CLAIM);
        await(() -> b.engine().ikeSa(pSa.spiR()).filter(sa -> sa.state() == IkeSaState.ESTABLISHED).isPresent(),
                10_000, "B runs the IKE SA");
        IkeSa atBSa = b.engine().ikeSa(pSa.spiR()).orElseThrow();
        await(() -> a.engine().ikeSaCount() == 0, 10_000, "A stopped running the IKE SA");
        assertThat(a.takeovers().lost()).isEqualTo(1);
        long pAtMove = atP.count();
        await(() -> atP.count() > pAtMove + 20, 10_000, "the LAN's replies through B reach P");
        long expected = atBSa.tasks().expectedRequestId();
        await(() -> atBSa.tasks().expectedRequestId() > expected, 15_000, "P's DPD answered by B");
        assertThat(pSa.state()).isEqualTo(IkeSaState.ESTABLISHED);
        Map<String, Long> movedCounts = new java.util.TreeMap<>(DataPlaneCounts.of(b));
        bBefore.forEach((key, v) -> movedCounts.merge(key, -v, Long::sum));
        await(() -> b.claims().claimsMade() >= 1, 5_000, "B counted its claim");
        assertThat(a.claims().claimsMade()).isZero();

        // A sends nothing for them any more, even when a LAN packet for P reaches it
        await(() -> a.dataPlaneSas().get(pair0.outbound()) == null, 5_000, "the pair left A's data plane");
        long espFromA = relay.espSent().stream().filter(e -> e.node().equals(A)).count();
        Map<String, Long> beforeA = DataPlaneCounts.of(a);
        for (int i = 0; i < 5; i++) {
            lanA.host().send(ByteBuffer.wrap(InnerPackets.ipv4(LAN_HOST, PEER_HOST, 17, 40, 90_000 + i)), lanA.wire());
        }
        await(() -> DataPlaneCounts.of(a).getOrDefault(DataPlaneCounts.drop(ForwardDrop.NO_SA), 0L)
                - beforeA.getOrDefault(DataPlaneCounts.drop(ForwardDrop.NO_SA), 0L) == 5, 5_000,
                "A drops LAN packets for P: no SA");
        Thread.sleep(500);
        assertThat(relay.espSent().stream().filter(e -> e.node().equals(A)).count()).as("ESP from A after the move")
                .isEqualTo(espFromA);

        // 2. Back to A with P's traffic stopped: only an IKE message (P's DPD) reaches A, and A claims
        // everything back from it.
        traffic.pause();
        Thread.sleep(300);
        long backAt = System.nanoTime();
        relay.routeTo(A);
        await(() -> a.engine().ikeSa(pSa.spiR()).filter(sa -> sa.state() == IkeSaState.ESTABLISHED).isPresent(),
                20_000, "A claimed the IKE SA back from P's DPD");
        long ikeBackMillis = (System.nanoTime() - backAt) / 1_000_000;
        IkeSa backAtA = a.engine().ikeSa(pSa.spiR()).orElseThrow();
        await(() -> childRecord(a, pair0.inbound()).filter(r -> r.getOwnerNodeId().equals("gwa")).isPresent()
                && childRecord(a, pair0.outbound()).filter(r -> r.getOwnerNodeId().equals("gwa")).isPresent()
                && b.engine().ikeSaCount() == 0, 10_000, "A owns the pair again, B stopped");
        await(() -> a.claims().claimsMade() == 1, 5_000, "A counted its claim");
        long expectedAtA = backAtA.tasks().expectedRequestId();
        await(() -> backAtA.tasks().expectedRequestId() > expectedAtA, 15_000, "P's DPD answered by A");
        long aBefore = atA.count();
        long pBefore = atP.count();
        traffic.resume();
        await(() -> atA.count() > aBefore + 20 && atP.count() > pBefore + 20, 10_000, "traffic through A again");
        traffic.close();

        // P saw one IKE SA and one CHILD SA all along
        assertThat(pSa.state()).isEqualTo(IkeSaState.ESTABLISHED);
        assertThat(p.engine().ikeSas()).containsExactly(pSa);
        assertThat(pSa.children()).hasSize(1);
        assertThat(pSa.children().getFirst().inboundSpi()).isEqualTo(pChild.inboundSpi());
        assertThat(pSa.children().getFirst().outboundSpi()).isEqualTo(pChild.outboundSpi());
        assertThat(relay.initRequests()).as("IKE_SA_INIT requests from P, ever").isEqualTo(1);
        assertThat(p.engine().counters().establishedCount()).as("P authenticated one IKE SA").isEqualTo(1);
        assertThat(p.engine().counters().failedCount()).isZero();

        // No (SPI, sequence number) pair twice on the wire, from A and B together
        List<AnycastRelay.SentEsp> sent = relay.espSent();
        Map<Long, AnycastRelay.SentEsp> seen = new HashMap<>();
        List<String> twice = new ArrayList<>();
        for (AnycastRelay.SentEsp e : sent) {
            AnycastRelay.SentEsp first = seen.putIfAbsent(((long) e.spi() << 32) | (e.seq() & 0xffff_ffffL), e);
            if (first != null) {
                twice.add(e + " after " + first);
            }
        }
        assertThat(twice).as("(SPI, sequence number) pairs sent twice").isEmpty();
        long fromA = sent.stream().filter(e -> e.node().equals(A)).count();
        long fromB = sent.stream().filter(e -> e.node().equals(B)).count();
        assertThat(fromA).isPositive();
        assertThat(fromB).isPositive();

        System.out.printf("route to B: records claimed after %d ms, in B's data plane after %d ms, first packet of P's"
                + " through B after %d ms (B's claim: %s us from its packet); B's data plane during the move: %s;"
                + " route back to A (IKE only): A ran the IKE SA after %d ms (its claim: %s us);"
                + " ESP sent: %d by A, %d by B; claims at B: made %d, refused %d, not found %d, limited %d%n",
                claimed / 1_000_000, installed / 1_000_000, firstAtB / 1_000_000, b.claims().claimLatenciesMicros(),
                movedCounts, ikeBackMillis, a.claims().claimLatenciesMicros(), fromA, fromB, b.claims().claimsMade(),
                b.claims().claimsRefused(), b.claims().claimsNotFound(), b.claims().claimsLimited());
    }

    /**
     * Sends P's host's packets to P every 10 ms and the LAN's replies to the wire of the node
     * {@code owner} names (null: none yet), checked every 50 ms.
     */
    private static final class Traffic implements AutoCloseable {
        private final Lan peer;
        private final java.util.function.Supplier<Lan> owner;
        private final Thread thread;
        private volatile boolean paused;
        private volatile boolean closed;

        Traffic(Lan peer, java.util.function.Supplier<Lan> owner) {
            this.peer = peer;
            this.owner = owner;
            this.thread = Thread.ofPlatform().daemon().name("traffic").unstarted(this::run);
        }

        void start() {
            thread.start();
        }

        void pause() {
            paused = true;
        }

        void resume() {
            paused = false;
        }

        private void run() {
            Lan lan = null;
            long next = System.nanoTime();
            for (int i = 0; !closed; i++) {
                try {
                    if (i % 5 == 0) {
                        lan = owner.get();
                    }
                    if (!paused) {
                        peer.host().send(ByteBuffer.wrap(InnerPackets.ipv4(PEER_HOST, LAN_HOST, 17, 40, i)), peer.wire());
                        if (lan != null) {
                            lan.host().send(ByteBuffer.wrap(InnerPackets.ipv4(LAN_HOST, PEER_HOST, 17, 40, i)), lan.wire());
                        }
                    }
                    next += TimeUnit.MILLISECONDS.toNanos(10);
                    long wait = next - System.nanoTime();
                    if (wait > 0) {
                        Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                    }
                } catch (IOException | InterruptedException e) {
                    return;
                }
            }
        }

        @Override
        public void close() throws InterruptedException {
            closed = true;
            thread.join(2_000);
        }
    }

    /** Counts the packets a host receives, remembering when each arrived. */
    private static final class Arrivals implements AutoCloseable {
        private final DatagramChannel host;
        private final List<Long> times = new ArrayList<>();
        private final Thread thread;
        private volatile boolean closed;

        Arrivals(DatagramChannel host) {
            this.host = host;
            this.thread = Thread.ofPlatform().daemon().name("arrivals").start(this::run);
        }

        private void run() {
            ByteBuffer buf = ByteBuffer.allocate(2048);
            while (!closed) {
                try {
                    buf.clear();
                    if (host.receive(buf) == null) {
                        Thread.sleep(1);
                        continue;
                    }
                    synchronized (times) {
                        times.add(System.nanoTime());
                    }
                } catch (IOException | InterruptedException e) {
                    return;
                }
            }
        }

        long count() {
            synchronized (times) {
                return times.size();
            }
        }

        /** When the first packet after {@code nanos} arrived. */
        long firstAfter(long nanos) {
            synchronized (times) {
                return times.stream().filter(t -> t - nanos > 0).findFirst().orElseThrow();
            }
        }

        @Override
        public void close() throws InterruptedException {
            closed = true;
            thread.join(2_000);
        }
    }

    private static Optional<IkeSaRecord> ikeRecord(GatewayNode n, String id) {
        try {
            return Optional.of(n.sad().database().getIkeSa(id, false));
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    private static Optional<ChildSaRecord> childRecord(GatewayNode n, String id) {
        try {
            return Optional.of(n.sad().database().getChildSa(id, false));
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    /** A virtual wire on {@code address} and its host, both on free ports. */
    private Lan lan(String address) throws IOException {
        int wire;
        try (DatagramSocket w = new DatagramSocket(new InetSocketAddress(address, 0))) {
            wire = w.getLocalPort();
        }
        DatagramChannel host = DatagramChannel.open().bind(new InetSocketAddress(address, 0));
        host.configureBlocking(false);
        closeables.add(host);
        return new Lan(new InetSocketAddress(address, wire), host);
    }

    private static String yaml(String address, int ike, String cluster, Lan lan, String localAddrs, String remote,
            String localId, String remoteId, String dpd, String localTs, String remoteTs, String start) {
        InetSocketAddress host = (InetSocketAddress) hostAddress(lan);
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
                """.formatted(address, ike, ike + 1, cluster, address, lan.wire().getPort(), host.getHostString(),
                host.getPort(), localAddrs, remote, localId, remoteId, dpd, localTs, remoteTs, start);
    }

    private static java.net.SocketAddress hostAddress(Lan lan) {
        try {
            return lan.host().getLocalAddress();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private GatewayNode start(String name, String text) throws Exception {
        Path file = dir.resolve(name + ".yaml");
        Files.writeString(file, text);
        ConfigResult policy = new ConfigLoader(Map.of("KEEL_TEST_PSK", PSK)::get).loadFile(file);
        assertThat(policy).as(String.valueOf(policy)).isInstanceOf(ConfigResult.Valid.class);
        PolicyConfig pc = ((ConfigResult.Valid) policy).config();
        var read = GatewaySettingsReader.read(file);
        assertThat(read).as(String.valueOf(read)).isInstanceOf(GatewaySettingsReader.Result.Valid.class);
        GatewaySettings gs = ((GatewaySettingsReader.Result.Valid) read).settings();
        GatewayNode n = GatewayNode.start(vertx, gs, pc, GatewayNode.openPlaintext(vertx, gs, pc))
                .await(120, TimeUnit.SECONDS);
        nodes.add(n);
        return n;
    }
}
