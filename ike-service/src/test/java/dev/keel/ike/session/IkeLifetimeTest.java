package dev.keel.ike.session;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.ike.config.IkeLifetime;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * IKE SA lifetimes between two Keel engines (swanctl's rekey_time, rand_time, over_time; RFC 7296
 * §2.8, §2.18): the engine rekeys an IKE SA by itself, initiator or responder, the replacement
 * gets its own schedule, and an IKE SA whose rekey gets no answer ends at rekey_time + over_time.
 */
class IkeLifetimeTest {

    private static final String IKE = "aes256gcm16-prfsha256-x25519";

    private static TwoIkePeers up(IkeLifetime alice, IkeLifetime bob) {
        TwoIkePeers peers = new TwoIkePeers();
        peers.configurePsk(IKE, IKE, "aes256gcm16", "aes256gcm16", "k", "k", "10.2.0.0/16", "10.2.0.0/16");
        peers.reshape(c -> c.withLifetime(alice), c -> c.withLifetime(bob));
        return peers;
    }

    /** CHILD SAs reported established and not yet deleted. */
    private static List<ChildSa> live(TwoIkePeers.RecordingEvents events) {
        List<ChildSa> deleted = List.copyOf(events.childrenDeleted);
        return events.children.stream().filter(c -> deleted.stream().noneMatch(d -> d == c)).toList();
    }

    @Test
    void rekeyTimeRekeysTheIkeSaByItselfMovesTheChildAndTheReplacementGetsItsOwnSchedule() throws Exception {
        IkeLifetime twoSeconds = new IkeLifetime(Duration.ofSeconds(2), Duration.ofSeconds(2), Duration.ofMillis(500));
        try (TwoIkePeers peers = up(twoSeconds, IkeLifetime.NEVER)) {
            IkeSa old = peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
            Eventually.until(Duration.ofSeconds(5), "bob has the child", () -> peers.bobEvents.children.size() == 1);
            IkeSa oldBob = TwoIkePeers.onlyIkeSa(peers.bob);
            ChildSa child = peers.aliceEvents.children.peek();
            long firstRekeyIn = old.rekeyAtMillis() - old.establishedAtMillis();
            assertThat(firstRekeyIn).as("rekey_time minus up to rand_time").isBetween(1_500L, 2_000L);
            assertThat(old.expireAtMillis() - old.establishedAtMillis()).as("rekey_time + over_time").isEqualTo(4_000L);
            assertThat(oldBob.rekeyAtMillis()).as("bob's connection has no rekey_time").isZero();

            Eventually.until(Duration.ofSeconds(8), "the IKE SA rekeyed by itself, the old one deleted on both sides",
                    () -> old.state() == IkeSaState.DESTROYED && oldBob.state() == IkeSaState.DESTROYED
                            && peers.alice.ikeSaCount() == 1 && peers.bob.ikeSaCount() == 1);
            IkeSa a = TwoIkePeers.onlyIkeSa(peers.alice);
            IkeSa b = TwoIkePeers.onlyIkeSa(peers.bob);
            assertThat(peers.aliceEvents.rekeyedIkeSas).first().isSameAs(old);
            assertThat(a.spiI()).isEqualTo(b.spiI()).isNotEqualTo(old.spiI());
            assertThat(a.spiR()).isEqualTo(b.spiR()).isNotEqualTo(old.spiR());
            assertThat(live(peers.aliceEvents)).as("the CHILD SA moved to the new IKE SA").containsExactly(child);
            assertThat(peers.aliceEvents.childrenDeleted).isEmpty();
            assertThat(peers.bobEvents.childrenDeleted).isEmpty();
            assertThat(a.childSas().byInboundSpi(child.inboundSpi())).isPresent();
            assertThat(a.rekeyAtMillis() - a.establishedAtMillis()).as("its own schedule").isBetween(1_500L, 2_000L);

            Eventually.until(Duration.ofSeconds(8), "the replacement rekeyed in turn",
                    () -> a.state() == IkeSaState.DESTROYED && peers.aliceEvents.rekeyedIkeSas.size() >= 2
                            && peers.alice.ikeSaCount() == 1 && peers.bob.ikeSaCount() == 1);
            assertThat(live(peers.aliceEvents)).containsExactly(child);
            assertThat(peers.aliceEvents.failures).isEmpty();
            assertThat(peers.bobEvents.failures).isEmpty();
            assertThat(peers.blocked).isEmpty();
        }
    }

    @Test
    void theResponderRekeysByItsOwnRekeyTimeAndBecomesTheOriginalInitiator() throws Exception {
        IkeLifetime twoSeconds = new IkeLifetime(Duration.ofSeconds(2), Duration.ofSeconds(2), Duration.ZERO);
        try (TwoIkePeers peers = up(IkeLifetime.NEVER, twoSeconds)) {
            IkeSa old = peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
            Eventually.until(Duration.ofSeconds(5), "bob has the child", () -> peers.bobEvents.children.size() == 1);
            IkeSa oldBob = TwoIkePeers.onlyIkeSa(peers.bob);
            assertThat(oldBob.rekeyAtMillis() - oldBob.establishedAtMillis()).isEqualTo(2_000L);

            Eventually.until(Duration.ofSeconds(8), "bob rekeyed the IKE SA",
                    () -> old.state() == IkeSaState.DESTROYED && oldBob.state() == IkeSaState.DESTROYED
                            && peers.alice.ikeSaCount() == 1 && peers.bob.ikeSaCount() == 1);
            assertThat(TwoIkePeers.onlyIkeSa(peers.bob).originalInitiator()).isTrue();
            assertThat(TwoIkePeers.onlyIkeSa(peers.alice).originalInitiator()).isFalse();
            assertThat(live(peers.aliceEvents)).hasSize(1);
            assertThat(live(peers.bobEvents)).hasSize(1);
            assertThat(peers.bobEvents.failures).isEmpty();
            assertThat(peers.blocked).isEmpty();
        }
    }

    @Test
    void bothEndsWithTheSameRekeyTimeAndNoJitterStillEndWithOneIkeSaEach() throws Exception {
        // rand_time 0: both ends rekey at nearly the same moment; one rekey wins, or IkeRekeyTask resolves
        // the collision (RFC 7296 §2.25.2)
        IkeLifetime same = new IkeLifetime(Duration.ofSeconds(2), Duration.ofSeconds(5), Duration.ZERO);
        try (TwoIkePeers peers = up(same, same)) {
            IkeSa old = peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
            Eventually.until(Duration.ofSeconds(5), "bob has the child", () -> peers.bobEvents.children.size() == 1);
            IkeSa oldBob = TwoIkePeers.onlyIkeSa(peers.bob);
            ChildSa child = peers.aliceEvents.children.peek();

            Eventually.until(Duration.ofSeconds(8), "one new IKE SA on each side, the same one",
                    () -> old.state() == IkeSaState.DESTROYED && oldBob.state() == IkeSaState.DESTROYED
                            && peers.alice.ikeSaCount() == 1 && peers.bob.ikeSaCount() == 1
                            && TwoIkePeers.onlyIkeSa(peers.alice).spiI() == TwoIkePeers.onlyIkeSa(peers.bob).spiI());
            IkeSa a = TwoIkePeers.onlyIkeSa(peers.alice);
            assertThat(a.spiR()).isEqualTo(TwoIkePeers.onlyIkeSa(peers.bob).spiR());
            assertThat(a.state()).isEqualTo(IkeSaState.ESTABLISHED);
            assertThat(live(peers.aliceEvents)).containsExactly(child);
            assertThat(live(peers.bobEvents)).hasSize(1);
            assertThat(peers.aliceEvents.destroyed).noneMatch(r -> r.contains("maximum IKE SA lifetime"));
            assertThat(peers.bobEvents.destroyed).noneMatch(r -> r.contains("maximum IKE SA lifetime"));
            assertThat(peers.blocked).isEmpty();
        }
    }

    @Test
    void anIkeSaWhoseRekeyGetsNoAnswerIsDeletedAtRekeyTimePlusOverTime() throws Exception {
        // over_time (500 ms) ends it before the retransmissions of the rekey give up (about 1.6 s)
        IkeLifetime shortLived = new IkeLifetime(Duration.ofSeconds(2), Duration.ofMillis(500), Duration.ZERO);
        try (TwoIkePeers peers = up(shortLived, IkeLifetime.NEVER)) {
            IkeSa sa = peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
            Eventually.until(Duration.ofSeconds(5), "bob has the child", () -> peers.bobEvents.children.size() == 1);
            peers.dropToBob = m -> true; // bob falls silent

            // the state changes first, on alice's thread; the engine forgets the SA at the end of that turn
            Eventually.until(Duration.ofSeconds(6), "deleted and forgotten",
                    () -> sa.state() == IkeSaState.DESTROYED && peers.alice.ikeSaCount() == 0
                            && !peers.aliceEvents.destroyed.isEmpty());
            assertThat(sa.expireAtMillis() - sa.establishedAtMillis()).isEqualTo(2_500L);
            assertThat(peers.aliceEvents.destroyed).singleElement().asString()
                    .contains("maximum IKE SA lifetime reached (rekey_time + over_time) without a rekey");
            assertThat(peers.aliceEvents.rekeyedIkeSas).isEmpty();
            assertThat(peers.aliceEvents.childrenDeleted).as("its CHILD SA went with it").hasSize(1);
            assertThat(peers.alice.ikeSaCount()).isZero();
            assertThat(peers.blocked).isEmpty();
        }
    }
}
