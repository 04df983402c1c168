package dev.keel.gateway;

import static dev.keel.gateway.LoopbackPair.B;
import static dev.keel.gateway.LoopbackPair.ikeRecord;
import static dev.keel.gateway.LoopbackPair.pairConnection;
import static dev.keel.gateway.LoopbackPair.peerConnection;
import static dev.keel.gateway.LoopbackTesting.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.ike.service.IkeSaRecords;
import dev.keel.ike.session.ChildSa;
import dev.keel.ike.session.IkeSa;
import dev.keel.ike.session.IkeSaState;
import dev.keel.proto.v1.IkeSaRecord;
import dev.keel.proto.v1.OwnershipReason;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * IKE SA failover between two gateways of one cluster (issue 20 item 3; docs/ha.md, "IKE SA
 * failover"): gateway A runs in a process of its own, gateway B and the peer P (a Keel gateway
 * with a cluster of its own) in this JVM, all on loopback. P talks to one address, the "anycast"
 * address of the pair, which an {@link UdpRelay} forwards to A. P establishes its IKE SA with
 * A; A is killed with {@code kill -9} and the relay routes to B, as BGP would. B takes the IKE SA
 * over from the SAD (the CHILD SAs were already taken over by sad-service): it answers P's dead
 * peer detection, and both sides rekey the CHILD SA and the IKE SA through it, without a new
 * IKE_SA_INIT.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class IkeSaFailoverTest {

    @AutoClose
    private final LoopbackPair pair = new LoopbackPair("keel-ike-failover");

    @Test
    void theSurvivorCarriesTheIkeSaOnAfterKillMinus9() throws Exception {
        UdpRelay relay = pair.relay;

        // B first (it forms the cluster), then A in its own process joins it, then the peer initiates
        GatewayNode b = pair.startB(pairConnection("peer", "127.0.0.3", "peer.example", "10.2.0.0/16"));
        pair.startAInProcess(pairConnection("peer", "127.0.0.1", "peer.example", "10.2.0.0/16"), "384m");
        LoopbackPair.awaitOneCluster(b);
        GatewayNode p = pair.startPeer(peerConnection("peer", "peer.example", "10.2.0.0/16", "2s", "start"));
        await(() -> p.engine().ikeSas().stream().anyMatch(sa -> sa.state() == IkeSaState.ESTABLISHED
                && !sa.children().isEmpty()), 30_000, "P's IKE SA with A up");
        IkeSa pSa = p.engine().ikeSas().getFirst();
        String id = IkeSaRecords.id(pSa.spiI(), pSa.spiR());
        await(() -> ikeRecord(b, id).filter(r -> r.getOwnerNodeId().equals("gwa") && r.getChildrenCount() == 1)
                .isPresent(), 10_000, "A's IKE SA in the SAD, as B's member sees it");
        assertThat(b.engine().ikeSaCount()).isZero();

        long killed = System.nanoTime();
        pair.killA(); // SIGKILL: no delete, no goodbye
        relay.routeTo(B);
        await(() -> b.engine().ikeSa(pSa.spiR()).isPresent(), 20_000, "B took the IKE SA over");
        long tookMillis = (System.nanoTime() - killed) / 1_000_000;
        IkeSa adopted = b.engine().ikeSa(pSa.spiR()).orElseThrow();
        System.out.printf("IKE SA taken over by B %d ms after kill -9 of A%n", tookMillis);
        IkeSaRecord taken = ikeRecord(b, id).orElseThrow();
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
        await(() -> ikeRecord(b, IkeSaRecords.id(pNow.spiI(), pNow.spiR())).isPresent()
                && ikeRecord(b, id).isEmpty(), 10_000, "the SAD holds B's new IKE SA, not the old one");

        System.out.printf("IKE SA state writes: B %d (mean %.0f us), P %d (mean %.0f us), none failed: %d %d%n",
                b.ikeStore().writes(), b.ikeStore().meanWriteMicros(), p.ikeStore().writes(),
                p.ikeStore().meanWriteMicros(), b.ikeStore().writeFailures(), p.ikeStore().writeFailures());
        assertThat(b.ikeStore().writeFailures()).isZero();
        assertThat(relay.initRequests()).as("IKE_SA_INIT requests from P, ever").isEqualTo(1);
        assertThat(p.engine().counters().establishedCount()).as("P authenticated one IKE SA").isEqualTo(1);
        assertThat(p.engine().counters().failedCount()).isZero();
        assertThat(b.engine().counters().messageIdSyncCount()).as("nothing of A's was in flight").isZero();
    }
}
