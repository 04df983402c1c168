package dev.keel.ike.session;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.ike.config.IkeLifetime;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Reauthentication between two Keel engines (swanctl's reauth_time, make-before-break; RFC 7296
 * §2.8.3): a new IKE SA with new SPIs and full IKE_SA_INIT + IKE_AUTH, a new CHILD SA for each one
 * the old IKE SA carried, each installed before the old IKE SA and its CHILD SAs are deleted, the
 * new IKE SA stored in the SAD; over_time ends an IKE SA whose reauthentication gets no answer.
 */
class IkeReauthTest {

    private static final String IKE = "aes256gcm16-prfsha256-x25519";

    /** Runs the exchanges once first: the first ones in a JVM load classes on the event loop (see IkeRekeyTest). */
    @BeforeAll
    static void warmUp() throws Exception {
        try (TwoIkePeers peers = up(IkeLifetime.NEVER)) {
            IkeSa sa = peers.alice.initiate("to-bob", "net").get(60, TimeUnit.SECONDS);
            peers.alice.reauthenticate(sa).get(60, TimeUnit.SECONDS);
            Eventually.until(Duration.ofSeconds(60), "old IKE SA deleted", () -> sa.state() == IkeSaState.DESTROYED);
        }
    }

    private static TwoIkePeers up(IkeLifetime alice) {
        TwoIkePeers peers = new TwoIkePeers();
        peers.configurePsk(IKE, IKE, "aes256gcm16", "aes256gcm16", "k", "k", "10.2.0.0/16", "10.2.0.0/16");
        peers.reshape(c -> TwoIkePeers.withChild(c, "net2", "10.1.0.0/16", "10.3.0.0/16").withLifetime(alice),
                c -> TwoIkePeers.withChild(c, "net2", "10.3.0.0/16", "10.1.0.0/16"));
        return peers;
    }

    /** What one engine's CHILD SAs went through, in order: "installed NAME SPI" and "deleted NAME SPI". */
    private static List<String> childLog(dev.keel.ike.engine.IkeEngine engine) {
        List<String> log = new CopyOnWriteArrayList<>();
        engine.observe(new IkeEvents() {
            @Override
            public java.util.concurrent.CompletionStage<?> childInstalled(IkeSa sa, ChildSa child) {
                log.add("installed " + child.name() + " " + child.inboundSpi());
                return IkeEvents.INSTALLED;
            }

            @Override
            public void childDeleted(IkeSa sa, ChildSa child) {
                log.add("deleted " + child.name() + " " + child.inboundSpi());
            }
        });
        return log;
    }

    @Test
    void reauthTimeMakesANewIkeSaWithNewChildrenInstalledBeforeTheOldOnesGo() throws Exception {
        IkeLifetime reauthIn2s = new IkeLifetime(Duration.ZERO, Duration.ofSeconds(3), Duration.ZERO,
                Duration.ofSeconds(2));
        try (TwoIkePeers peers = up(reauthIn2s)) {
            MemorySad sad = new MemorySad("alice");
            peers.aliceEvents.storingIn(sad, "alice");
            List<String> aliceLog = childLog(peers.alice);
            List<String> bobLog = childLog(peers.bob);
            IkeSa old = peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
            peers.alice.createChild(old, "net2").get(10, TimeUnit.SECONDS);
            Eventually.until(Duration.ofSeconds(5), "bob has both children", () -> peers.bobEvents.children.size() == 2);
            IkeSa oldBob = TwoIkePeers.onlyIkeSa(peers.bob);
            List<ChildSa> oldChildren = old.children();
            List<ChildSa> oldBobChildren = oldBob.children();
            assertThat(old.reauthAtMillis() - old.establishedAtMillis()).as("reauth_time, no rand_time").isEqualTo(2_000L);
            assertThat(old.expireAtMillis() - old.reauthAtMillis()).as("over_time after it").isEqualTo(3_000L);
            assertThat(old.rekeyAtMillis()).isZero();

            Eventually.until(Duration.ofSeconds(10), "reauthenticated: one new IKE SA on each side, the old ones gone",
                    () -> old.state() == IkeSaState.DESTROYED && oldBob.state() == IkeSaState.DESTROYED
                            && peers.alice.ikeSaCount() == 1 && peers.bob.ikeSaCount() == 1
                            && peers.bobEvents.childrenDeleted.size() == 2);
            IkeSa a = TwoIkePeers.onlyIkeSa(peers.alice);
            IkeSa b = TwoIkePeers.onlyIkeSa(peers.bob);
            assertThat(a.spiI()).isEqualTo(b.spiI()).isNotEqualTo(old.spiI());
            assertThat(a.spiR()).isEqualTo(b.spiR()).isNotEqualTo(old.spiR());
            assertThat(a.originalInitiator()).isTrue();
            assertThat(a.setupMillis()).as("a full IKE_SA_INIT + IKE_AUTH, not a rekey").isNotNegative();
            assertThat(peers.aliceEvents.rekeyedIkeSas).isEmpty();
            assertThat(a.children()).extracting(ChildSa::name).containsExactly("net", "net2");
            assertThat(b.children()).extracting(ChildSa::name).containsExactly("net", "net2");
            for (int i = 0; i < 2; i++) {
                ChildSa fresh = a.children().get(i);
                ChildSa before = oldChildren.get(i);
                assertThat(fresh.inboundSpi()).isNotEqualTo(before.inboundSpi());
                assertThat(fresh.localTs()).isEqualTo(before.localTs());
                assertThat(fresh.remoteTs()).isEqualTo(before.remoteTs());
                assertThat(fresh.outboundEncryptionKey()).isEqualTo(b.children().get(i).inboundEncryptionKey());
                // make-before-break, on both sides: the new CHILD SA was installed before the old one was deleted
                assertThat(aliceLog.indexOf("installed " + fresh.name() + " " + fresh.inboundSpi()))
                        .isNotNegative().isLessThan(aliceLog.indexOf("deleted " + before.name() + " " + before.inboundSpi()));
                ChildSa freshBob = b.children().get(i);
                ChildSa beforeBob = oldBobChildren.get(i);
                Eventually.until(Duration.ofSeconds(2), "bob's log complete",
                        () -> bobLog.contains("deleted " + beforeBob.name() + " " + beforeBob.inboundSpi()));
                assertThat(bobLog.indexOf("installed " + freshBob.name() + " " + freshBob.inboundSpi()))
                        .isNotNegative()
                        .isLessThan(bobLog.indexOf("deleted " + beforeBob.name() + " " + beforeBob.inboundSpi()));
            }
            assertThat(peers.aliceEvents.failures).isEmpty();
            assertThat(peers.bobEvents.failures).isEmpty();
            // HA: the new IKE SA is in the SAD with its CHILD SAs, the old one's record gone
            Eventually.until(Duration.ofSeconds(2), "the SAD holds only the new IKE SA", () -> sad.all().size() == 1
                    && sad.all().getFirst().spiI() == a.spiI() && sad.all().getFirst().children().size() == 2);
            // the new IKE SA has its own reauthentication scheduled
            assertThat(a.reauthAtMillis() - a.establishedAtMillis()).isEqualTo(2_000L);
            assertThat(peers.blocked).isEmpty();
        }
    }

    @Test
    void anIkeSaWhoseReauthenticationGetsNoAnswerEndsAtReauthTimePlusOverTime() throws Exception {
        IkeLifetime shortLived = new IkeLifetime(Duration.ZERO, Duration.ofMillis(1_500), Duration.ZERO,
                Duration.ofSeconds(1));
        try (TwoIkePeers peers = up(shortLived)) {
            IkeSa old = peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
            Eventually.until(Duration.ofSeconds(5), "bob has the child", () -> peers.bobEvents.children.size() == 1);
            peers.dropToBob = m -> TwoIkePeers.isRequest(m, "IKE_SA_INIT"); // the new IKE SA never gets an answer
            Eventually.until(Duration.ofSeconds(8), "the old IKE SA deleted at reauth_time + over_time",
                    () -> old.state() == IkeSaState.DESTROYED && !peers.aliceEvents.destroyed.isEmpty());
            long lived = System.currentTimeMillis() - old.establishedAtMillis();
            assertThat(old.expireAtMillis() - old.establishedAtMillis()).isEqualTo(2_500L);
            assertThat(lived).isBetween(2_400L, 6_000L);
            assertThat(peers.aliceEvents.destroyed).first().asString().isEqualTo("deleted by us"); // with a Delete
            Eventually.until(Duration.ofSeconds(5), "bob's side deleted too", () -> peers.bob.ikeSaCount() == 0);
        }
    }

    @Test
    void anIkeRekeyKeepsTheReauthenticationTime() throws Exception {
        IkeLifetime reauthInAnHour = new IkeLifetime(Duration.ZERO, Duration.ofMinutes(6), Duration.ofMinutes(5),
                Duration.ofHours(1));
        try (TwoIkePeers peers = up(reauthInAnHour)) {
            IkeSa old = peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
            long reauthAt = peers.alice.onSaThread(old, IkeSa::reauthAtMillis).get(5, TimeUnit.SECONDS);
            assertThat(reauthAt).isPositive();
            peers.alice.rekeyIke(old);
            Eventually.until(Duration.ofSeconds(5), "rekeyed", () -> old.state() == IkeSaState.DESTROYED
                    && peers.alice.ikeSaCount() == 1);
            IkeSa a = TwoIkePeers.onlyIkeSa(peers.alice);
            assertThat(peers.alice.onSaThread(a, IkeSa::reauthAtMillis).get(5, TimeUnit.SECONDS))
                    .as("a rekey does not authenticate anew").isEqualTo(reauthAt);
            assertThat(peers.alice.onSaThread(a, IkeSa::expireAtMillis).get(5, TimeUnit.SECONDS))
                    .isEqualTo(reauthAt + 360_000);
        }
    }
}
