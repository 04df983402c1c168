package dev.keel.ike.session;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.ike.message.ExchangeType;
import dev.keel.ike.task.DpdTask;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Exchanges queued behind an IKE SA's rekey go to the new IKE SA (RFC 7296 §2.8): once the rekey
 * is done the CHILD SAs are the new IKE SA's, and a peer looks them up only there (strongSwan
 * answers a CHILD SA Delete on the old IKE SA with "DELETE for unknown ESP CHILD_SA", keeps the
 * SA, and its later expiry broke the tunnel it replaced in ChildLifecycleInteropTest).
 */
class QueuedExchangesAcrossIkeRekeyTest {

    private static final String IKE = "aes256gcm16-prfsha256-x25519";

    /** Alice deletes a CHILD SA while her own IKE rekey is in flight: the Delete goes out on the new IKE SA. */
    @Test
    void aChildDeleteQueuedBehindOurIkeRekeyIsSentOnTheNewIkeSa() throws Exception {
        try (TwoIkePeers peers = new TwoIkePeers()) {
            IkeSa oldAlice = establish(peers);
            ChildSa child = peers.aliceEvents.children.peek();

            AtomicReference<byte[]> rekeyRequest = new AtomicReference<>();
            peers.dropToBob = m -> TwoIkePeers.isRequest(m, "CREATE_CHILD_SA") && rekeyRequest.compareAndSet(null, m.clone());
            peers.alice.rekeyIke(oldAlice);
            Eventually.until(Duration.ofSeconds(5), "alice's IKE rekey request held", () -> rekeyRequest.get() != null);
            peers.alice.terminateChild(oldAlice, child.inboundSpi()); // queued behind the rekey on the old IKE SA
            byte[] request = rekeyRequest.get();
            peers.bob.onMessage(500, TwoIkePeers.ALICE, request, 0, request.length);

            assertChildGoneOnBothSides(peers, oldAlice);
        }
    }

    /**
     * Alice has an exchange in flight and a CHILD SA Delete queued behind it when bob rekeys the IKE
     * SA: once her answer has left, the Delete is sent on the new IKE SA (on the old one it would
     * wait behind the unanswered exchange until bob deletes the old IKE SA, and go with it).
     */
    @Test
    void aChildDeleteQueuedWhenThePeerRekeysTheIkeSaIsSentOnTheNewIkeSa() throws Exception {
        try (TwoIkePeers peers = new TwoIkePeers()) {
            IkeSa oldAlice = establish(peers);
            IkeSa oldBob = TwoIkePeers.onlyIkeSa(peers.bob);
            ChildSa child = peers.aliceEvents.children.peek();

            AtomicReference<byte[]> livenessCheck = new AtomicReference<>();
            peers.dropToBob = m -> TwoIkePeers.isRequest(m, "INFORMATIONAL") && livenessCheck.compareAndSet(null, m.clone());
            peers.alice.onSaThread(oldAlice, sa -> {
                sa.tasks().queue(ExchangeType.INFORMATIONAL, new DpdTask());
                return null;
            }).get(5, TimeUnit.SECONDS);
            Eventually.until(Duration.ofSeconds(5), "alice's liveness check held", () -> livenessCheck.get() != null);
            peers.alice.terminateChild(oldAlice, child.inboundSpi()); // queued behind the liveness check
            peers.bob.rekeyIke(oldBob);

            assertChildGoneOnBothSides(peers, oldAlice);
        }
    }

    /**
     * Alice's CHILD SA Delete is in flight when bob rekeys the IKE SA: bob deletes the CHILD SA
     * on the old IKE SA before his rekey completes (as strongSwan does), alice has answered the
     * rekey and moved the CHILD SA to the new IKE SA before bob's answer to her Delete comes: the
     * CHILD SA goes from the new IKE SA (it lingered there, and was rekeyed once the peer no longer
     * had it, which made a second CHILD SA of the same configuration).
     */
    @Test
    void theAnswerToAChildDeleteRemovesTheChildSaFromTheIkeSaThatTookItOver() throws Exception {
        try (TwoIkePeers peers = new TwoIkePeers()) {
            IkeSa oldAlice = establish(peers);
            IkeSa oldBob = TwoIkePeers.onlyIkeSa(peers.bob);
            ChildSa child = peers.aliceEvents.children.peek();

            AtomicReference<byte[]> delete = new AtomicReference<>();
            AtomicReference<byte[]> rekeyAnswer = new AtomicReference<>();
            peers.dropToBob = m -> TwoIkePeers.isRequest(m, "INFORMATIONAL") && delete.compareAndSet(null, m.clone())
                    || TwoIkePeers.isResponse(m, "CREATE_CHILD_SA") && rekeyAnswer.compareAndSet(null, m.clone());
            peers.alice.terminateChild(oldAlice, child.inboundSpi());
            Eventually.until(Duration.ofSeconds(5), "alice's Delete held", () -> delete.get() != null);
            peers.bob.rekeyIke(oldBob);
            Eventually.until(Duration.ofSeconds(5), "alice answered bob's IKE rekey", () -> rekeyAnswer.get() != null);
            byte[] d = delete.get();
            peers.bob.onMessage(500, TwoIkePeers.ALICE, d, 0, d.length); // bob deletes it on the old IKE SA
            Eventually.until(Duration.ofSeconds(5), "bob deleted the CHILD SA",
                    () -> peers.bobEvents.childrenDeleted.size() == 1);
            byte[] r = rekeyAnswer.get();
            peers.bob.onMessage(500, TwoIkePeers.ALICE, r, 0, r.length);

            assertChildGoneOnBothSides(peers, oldAlice);
            assertThat(peers.aliceEvents.children).as("no CHILD SA made again").hasSize(1);
        }
    }

    /** Alice's IKE SA with one CHILD SA, which bob has too. */
    private static IkeSa establish(TwoIkePeers peers) throws Exception {
        peers.configurePsk(IKE, IKE, "aes256gcm16", "aes256gcm16", "k", "k", "10.2.0.0/16", "10.2.0.0/16");
        IkeSa alice = peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
        Eventually.until(Duration.ofSeconds(5), "bob has the child", () -> peers.bobEvents.children.size() == 1);
        return alice;
    }

    private static void assertChildGoneOnBothSides(TwoIkePeers peers, IkeSa oldAlice) throws InterruptedException {
        Eventually.until(Duration.ofSeconds(8), "the CHILD SA deleted on both sides, one IKE SA each",
                () -> peers.aliceEvents.childrenDeleted.size() == 1 && peers.bobEvents.childrenDeleted.size() == 1
                        && peers.alice.ikeSaCount() == 1 && peers.bob.ikeSaCount() == 1
                        && oldAlice.state() == IkeSaState.DESTROYED);
        IkeSa a = TwoIkePeers.onlyIkeSa(peers.alice);
        IkeSa b = TwoIkePeers.onlyIkeSa(peers.bob);
        assertThat(a.spiI()).isEqualTo(b.spiI()).isNotEqualTo(oldAlice.spiI());
        assertThat(a.children()).isEmpty();
        assertThat(b.children()).isEmpty();
    }
}
