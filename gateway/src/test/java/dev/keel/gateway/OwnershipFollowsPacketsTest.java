package dev.keel.gateway;

import static dev.keel.gateway.LoopbackPair.A;
import static dev.keel.gateway.LoopbackPair.B;
import static dev.keel.gateway.LoopbackPair.PAIR_ADDRS;
import static dev.keel.gateway.LoopbackPair.childRecord;
import static dev.keel.gateway.LoopbackPair.ikeRecord;
import static dev.keel.gateway.LoopbackPair.pairConnection;
import static dev.keel.gateway.LoopbackPair.peerConnection;
import static dev.keel.gateway.LoopbackTesting.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.esp.forward.ForwardDrop;
import dev.keel.esp.packet.InnerPackets;
import dev.keel.gateway.LoopbackPair.Lan;
import dev.keel.ike.service.ChildSaRecords;
import dev.keel.ike.service.IkeSaRecords;
import dev.keel.ike.session.ChildSa;
import dev.keel.ike.session.IkeSa;
import dev.keel.ike.session.IkeSaState;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.OwnershipReason;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Ownership follows the peer's packets (docs/ha.md, "Packets at the node that does not own their
 * SA"): gateways A and B of one cluster and a peer P (a Keel gateway with a cluster of its own),
 * all in this JVM on loopback, P talking to the pair's "anycast" address, which an
 * {@link UdpRelay} forwards to one node. P establishes its IKE SA and CHILD SA with A and
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

    private static final byte[] PEER_HOST = {10, 2, 0, 5};
    private static final byte[] LAN_HOST = {10, 1, 0, 7};

    @AutoClose
    private final LoopbackPair pair = new LoopbackPair("keel-ownership");

    @Test
    void theNodeThePeersPacketsReachClaimsItsSasAndCarriesThemOn() throws Exception {
        UdpRelay relay = pair.relay;
        relay.recordEsp(pair.ikePort + 1);
        // The pair's connection serves the pair's address: on loopback the nodes' own two addresses
        // stand for the one anycast address both would have.
        String pairSide = pairConnection("peer", PAIR_ADDRS, "peer.example", "10.2.0.0/16");
        Lan lanA = pair.lanA;
        Lan lanB = pair.lanB;
        Lan lanP = pair.lanPeer;

        GatewayNode a = pair.startA(pairSide);
        GatewayNode b = pair.startB(pairSide);
        LoopbackPair.awaitOneCluster(a);
        GatewayNode p = pair.startPeer(peerConnection("peer", "peer.example", "10.2.0.0/16", "2s", "start"));
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
        pair.closeAtEnd(traffic);
        Arrivals atA = new Arrivals(lanA.host());
        Arrivals atB = new Arrivals(lanB.host());
        Arrivals atP = new Arrivals(lanP.host());
        List.of(atA, atB, atP).forEach(pair::closeAtEnd);
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
        Map<String, Long> movedCounts = DataPlaneCounts.grownSince(b, bBefore);
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
        List<UdpRelay.SentEsp> sent = relay.espSent();
        Map<Long, UdpRelay.SentEsp> seen = new HashMap<>();
        List<String> twice = new ArrayList<>();
        for (UdpRelay.SentEsp e : sent) {
            UdpRelay.SentEsp first = seen.putIfAbsent(((long) e.spi() << 32) | (e.seq() & 0xffff_ffffL), e);
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
        private final Supplier<Lan> owner;
        private Lan lan; // the loop's own
        private HostLoop loop;
        private volatile boolean paused;

        Traffic(Lan peer, Supplier<Lan> owner) {
            this.peer = peer;
            this.owner = owner;
        }

        void start() {
            loop = HostLoop.paced("traffic", Duration.ofMillis(10), this::tick);
        }

        void pause() {
            paused = true;
        }

        void resume() {
            paused = false;
        }

        private void tick(long tick) throws IOException {
            int i = (int) tick;
            if (i % 5 == 0) {
                lan = owner.get();
            }
            if (!paused) {
                peer.host().send(ByteBuffer.wrap(InnerPackets.ipv4(PEER_HOST, LAN_HOST, 17, 40, i)), peer.wire());
                if (lan != null) {
                    lan.host().send(ByteBuffer.wrap(InnerPackets.ipv4(LAN_HOST, PEER_HOST, 17, 40, i)), lan.wire());
                }
            }
        }

        @Override
        public void close() throws InterruptedException {
            if (loop != null) {
                loop.close();
            }
        }
    }

    /** Counts the packets a host receives, remembering when each arrived. */
    private static final class Arrivals implements AutoCloseable {
        private final List<Long> times = new ArrayList<>();
        private final HostLoop loop;

        Arrivals(DatagramChannel host) {
            this.loop = HostLoop.receiving("arrivals", host, (packet, at) -> {
                synchronized (times) {
                    times.add(at);
                }
            });
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
            loop.close();
        }
    }
}
