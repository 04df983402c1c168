package dev.keel.ike.session;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.ike.config.ChildConnection;
import dev.keel.ike.config.ChildConnection.AfterClose;
import dev.keel.ike.config.IkeConnection;
import dev.keel.ike.service.TrapAcquires;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * swanctl's {@code close_action} and {@code dpd_action} between two Keel engines: what alice does
 * when bob deletes her CHILD SA or IKE SA, or stops answering; and that a rekey is no close.
 */
class AfterCloseActionsTest {

    private static final String IKE = "aes256gcm16-prfsha256-x25519";

    private static TwoIkePeers up(AfterClose dpdAction, AfterClose closeAction, Duration dpd) throws Exception {
        TwoIkePeers peers = new TwoIkePeers();
        peers.configurePsk(IKE, IKE, "aes256gcm16", "aes256gcm16", "k", "k", "10.2.0.0/16", "10.2.0.0/16");
        peers.reshape(c -> TwoIkePeers.dpd(actions(c, dpdAction, closeAction), dpd), c -> c);
        return peers;
    }

    /** {@code c} with every child's dpd_action and close_action set. */
    private static IkeConnection actions(IkeConnection c, AfterClose dpdAction, AfterClose closeAction) {
        return new IkeConnection(c.name(), c.localAddrs(), c.remoteAddrs(), c.remotePort(), c.localId(), c.remoteId(),
                c.auth(), c.proposals(), c.encap(), c.dpdDelay(), c.children().stream()
                        .map(ch -> new ChildConnection(ch.name(), ch.localTs(), ch.remoteTs(), ch.espProposals(),
                                ch.mode(), ch.lifetime(), ch.startAction(), dpdAction, closeAction, ch.replayWindow()))
                        .toList(), c.lifetime());
    }

    private static int live(TwoIkePeers.RecordingEvents events) {
        return events.children.size() - events.childrenDeleted.size();
    }

    private static AtomicInteger countRequests(TwoIkePeers peers, String exchange) {
        AtomicInteger n = new AtomicInteger();
        peers.dropToBob = m -> {
            if (TwoIkePeers.isRequest(m, exchange)) {
                n.incrementAndGet();
            }
            return false;
        };
        return n;
    }

    @Test
    void closeActionStartCreatesTheChildAgainOnTheSameIkeSaWhenThePeerDeletesIt() throws Exception {
        try (TwoIkePeers peers = up(AfterClose.NONE, AfterClose.START, Duration.ZERO)) {
            IkeSa sa = peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
            Eventually.until(Duration.ofSeconds(5), "bob has the child", () -> peers.bobEvents.children.size() == 1);
            AtomicInteger creates = countRequests(peers, "CREATE_CHILD_SA");
            IkeSa bobSa = TwoIkePeers.onlyIkeSa(peers.bob);
            peers.bob.terminateChild(bobSa, peers.bobEvents.children.peek().inboundSpi());
            Eventually.until(Duration.ofSeconds(5), "alice made it again",
                    () -> peers.aliceEvents.children.size() == 2 && live(peers.aliceEvents) == 1
                            && live(peers.bobEvents) == 1);
            assertThat(creates.get()).isEqualTo(1);
            assertThat(sa.state()).isEqualTo(IkeSaState.ESTABLISHED);
            assertThat(peers.alice.ikeSaCount()).isEqualTo(1);
            assertThat(peers.blocked).isEmpty();
        }
    }

    @Test
    void closeActionStartFollowsAPeerThatDeletesTheWholeIkeSa() throws Exception {
        try (TwoIkePeers peers = up(AfterClose.NONE, AfterClose.START, Duration.ZERO)) {
            IkeSa sa = peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
            Eventually.until(Duration.ofSeconds(5), "bob has the child", () -> peers.bobEvents.children.size() == 1);
            peers.bob.terminate(TwoIkePeers.onlyIkeSa(peers.bob));
            Eventually.until(Duration.ofSeconds(5), "a new IKE SA and child on both sides",
                    () -> sa.state() == IkeSaState.DESTROYED && peers.aliceEvents.established.size() == 2
                            && live(peers.aliceEvents) == 1 && live(peers.bobEvents) == 1);
            assertThat(peers.alice.ikeSaCount()).isEqualTo(1);
            assertThat(peers.blocked).isEmpty();
        }
    }

    @Test
    void closeActionNoneAndOurOwnDeletesDoNothingMore() throws Exception {
        try (TwoIkePeers peers = up(AfterClose.START, AfterClose.NONE, Duration.ZERO)) {
            IkeSa sa = peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
            Eventually.until(Duration.ofSeconds(5), "bob has the child", () -> peers.bobEvents.children.size() == 1);
            AtomicInteger inits = countRequests(peers, "IKE_SA_INIT");
            peers.bob.terminateChild(TwoIkePeers.onlyIkeSa(peers.bob), peers.bobEvents.children.peek().inboundSpi());
            Eventually.until(Duration.ofSeconds(5), "alice's child gone", () -> live(peers.aliceEvents) == 0);
            peers.alice.terminate(sa); // ours: no close_action, and dpd_action (start) is for a dead peer only
            Eventually.until(Duration.ofSeconds(5), "IKE SA gone", () -> sa.state() == IkeSaState.DESTROYED);
            Thread.sleep(500); // nothing follows
            assertThat(peers.aliceEvents.children).hasSize(1);
            assertThat(inits.get()).isZero();
            assertThat(peers.alice.ikeSaCount()).isZero();
        }
    }

    @Test
    void closeActionTrapArmsTheTrapSoTheNextAcquireInitiatesUntilTheChildIsBack() throws Exception {
        try (TwoIkePeers peers = up(AfterClose.NONE, AfterClose.TRAP, Duration.ZERO)) {
            TrapAcquires acquires = new TrapAcquires(peers.alice.connections(), () -> peers.alice);
            acquires.acquire("to-bob", "net", "a packet before anything"); // start_action none: not a trap yet
            assertThat(acquires.ignored()).isEqualTo(1);
            peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
            Eventually.until(Duration.ofSeconds(5), "bob has the child", () -> peers.bobEvents.children.size() == 1);
            peers.bob.terminateChild(TwoIkePeers.onlyIkeSa(peers.bob), peers.bobEvents.children.peek().inboundSpi());
            Eventually.until(Duration.ofSeconds(5), "trap armed", () -> peers.alice.trapArmed("to-bob", "net"));
            assertThat(live(peers.aliceEvents)).isZero(); // armed, not started

            acquires.acquire("to-bob", "net", "10.2.0.1 -> 10.2.0.2");
            assertThat(acquires.initiated()).isEqualTo(1);
            Eventually.until(Duration.ofSeconds(5), "child back", () -> live(peers.aliceEvents) == 1
                    && live(peers.bobEvents) == 1);
            assertThat(peers.alice.trapArmed("to-bob", "net")).as("spent once the child is up").isFalse();
            acquires.acquire("to-bob", "net", "another packet");
            assertThat(acquires.ignored()).isEqualTo(2);
        }
    }

    @Test
    void aRekeyThePeerStartsIsNoClose() throws Exception {
        try (TwoIkePeers peers = up(AfterClose.START, AfterClose.START, Duration.ZERO)) {
            peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
            Eventually.until(Duration.ofSeconds(5), "bob has the child", () -> peers.bobEvents.children.size() == 1);
            AtomicInteger creates = countRequests(peers, "CREATE_CHILD_SA");
            IkeSa bobSa = TwoIkePeers.onlyIkeSa(peers.bob);
            peers.bob.rekeyChild(bobSa, peers.bobEvents.children.peek().inboundSpi());
            Eventually.until(Duration.ofSeconds(5), "rekeyed; bob deleted the old pair",
                    () -> peers.aliceEvents.childrenDeleted.size() == 1 && live(peers.aliceEvents) == 1);
            Thread.sleep(500); // nothing follows
            assertThat(creates.get()).as("alice's CREATE_CHILD_SA requests").isZero();
            assertThat(peers.aliceEvents.children).hasSize(2);
        }
    }

    @Test
    void dpdActionRestartInitiatesAgainWhenThePeerStoppedAnswering() throws Exception {
        try (TwoIkePeers peers = up(AfterClose.START, AfterClose.NONE, Duration.ofMillis(500))) {
            IkeSa sa = peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
            Eventually.until(Duration.ofSeconds(5), "bob has the child", () -> peers.bobEvents.children.size() == 1);
            peers.dropToBob = m -> sa.state() != IkeSaState.DESTROYED; // silent until alice gives the IKE SA up
            Eventually.until(Duration.ofSeconds(8), "a new IKE SA after the dead one",
                    () -> sa.state() == IkeSaState.DESTROYED && peers.aliceEvents.established.size() == 2
                            && live(peers.aliceEvents) == 1);
            assertThat(peers.aliceEvents.destroyed).anyMatch(r -> r.contains("unanswered"));
            assertThat(peers.alice.ikeSaCount()).isEqualTo(1);
            assertThat(peers.blocked).isEmpty();
        }
    }

    @Test
    void dpdActionClearLeavesADeadPeerAlone() throws Exception {
        try (TwoIkePeers peers = up(AfterClose.NONE, AfterClose.START, Duration.ofMillis(500))) {
            IkeSa sa = peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
            Eventually.until(Duration.ofSeconds(5), "bob has the child", () -> peers.bobEvents.children.size() == 1);
            AtomicInteger inits = new AtomicInteger();
            peers.dropToBob = m -> {
                if (sa.state() == IkeSaState.DESTROYED && TwoIkePeers.isRequest(m, "IKE_SA_INIT")) {
                    inits.incrementAndGet();
                }
                return sa.state() != IkeSaState.DESTROYED;
            };
            Eventually.until(Duration.ofSeconds(8), "IKE SA gone", () -> sa.state() == IkeSaState.DESTROYED);
            Thread.sleep(700); // nothing follows: close_action is for a peer's Delete, not for silence
            assertThat(inits.get()).isZero();
            assertThat(peers.alice.ikeSaCount()).isZero();
            assertThat(List.copyOf(peers.aliceEvents.established)).hasSize(1);
        }
    }
}
