package dev.keel.ike.session;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.transform.KeyExchangeTransform;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * CREATE_CHILD_SA between two Keel engines (RFC 7296 §1.3): CHILD SA rekey with and without PFS,
 * rekey collisions, IKE SA rekey, additional CHILD SAs, lifetimes and dead peer detection.
 */
class IkeRekeyTest {

    private static final String IKE = "aes256gcm16-prfsha256-x25519";

    /**
     * Runs every exchange once before the tests: the first exchanges in a JVM load classes and
     * link lambdas on the event loop, which on a loaded machine trips the blocked-thread checker
     * that each test asserts on.
     */
    @BeforeAll
    static void warmUp() throws Exception {
        try (TwoIkePeers peers = up("aes256gcm16-x25519")) {
            IkeSa sa = peers.alice.initiate("to-bob", "net").get(30, TimeUnit.SECONDS);
            Eventually.until(Duration.ofSeconds(30), "bob has the child", () -> peers.bobEvents.children.size() == 1);
            peers.alice.rekeyChild(sa, peers.aliceEvents.children.peek().inboundSpi());
            Eventually.until(Duration.ofSeconds(30), "rekeyed", () -> peers.bobEvents.childrenDeleted.size() == 1);
            peers.alice.rekeyIke(sa);
            Eventually.until(Duration.ofSeconds(30), "IKE SA rekeyed", () -> sa.state() == IkeSaState.DESTROYED);
        }
    }

    /** CHILD SAs reported established and not yet deleted, in order. */
    private static List<ChildSa> live(TwoIkePeers.RecordingEvents events) {
        List<ChildSa> deleted = List.copyOf(events.childrenDeleted);
        return events.children.stream().filter(c -> deleted.stream().noneMatch(d -> d == c)).toList();
    }

    /** One live CHILD SA on each side, the two halves of one pair. */
    private static boolean onePairEachSide(TwoIkePeers peers) {
        List<ChildSa> a = live(peers.aliceEvents);
        List<ChildSa> b = live(peers.bobEvents);
        return a.size() == 1 && b.size() == 1 && a.getFirst().outboundSpi() == b.getFirst().inboundSpi()
                && a.getFirst().inboundSpi() == b.getFirst().outboundSpi();
    }

    private static TwoIkePeers up(String esp) throws Exception {
        TwoIkePeers peers = new TwoIkePeers();
        peers.configurePsk(IKE, IKE, esp, esp, "k", "k", "10.2.0.0/16", "10.2.0.0/16");
        return peers;
    }

    @Test
    void childRekeyMakesNewSpisAndKeysOnBothSidesAndDeletesTheOldPair() throws Exception {
        try (TwoIkePeers peers = up("aes256gcm16")) {
            IkeSa sa = peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
            Eventually.until(Duration.ofSeconds(5), "bob has the child", () -> peers.bobEvents.children.size() == 1);
            ChildSa oldA = peers.aliceEvents.children.peek();
            byte[] oldKey = oldA.outboundEncryptionKey();

            peers.alice.rekeyChild(sa, oldA.inboundSpi());

            Eventually.until(Duration.ofSeconds(5), "old pair deleted on both sides, new pair in place",
                    () -> peers.aliceEvents.childrenDeleted.size() == 1 && peers.bobEvents.childrenDeleted.size() == 1
                            && onePairEachSide(peers));
            ChildSa a = live(peers.aliceEvents).getFirst();
            ChildSa b = live(peers.bobEvents).getFirst();
            assertThat(peers.aliceEvents.childrenDeleted.peek()).isSameAs(oldA);
            assertThat(a.inboundSpi()).isNotEqualTo(oldA.inboundSpi());
            assertThat(a.outboundSpi()).isNotEqualTo(oldA.outboundSpi());
            assertThat(a.initiator()).isTrue();
            assertThat(b.initiator()).isFalse();
            assertThat(a.outboundEncryptionKey()).isEqualTo(b.inboundEncryptionKey())
                    .isNotEqualTo(oldKey).isNotEqualTo(a.inboundEncryptionKey());
            assertThat(a.inboundEncryptionKey()).isEqualTo(b.outboundEncryptionKey());
            assertThat(a.localTs()).isEqualTo(oldA.localTs());
            assertThat(peers.aliceEvents.rekeyedChildren).containsExactly(oldA);
            assertThat(peers.bobEvents.rekeyedChildren).hasSize(1);
            assertThat(peers.alice.ikeSaCount()).isEqualTo(1);
            assertThat(peers.aliceEvents.failures).isEmpty();
            assertThat(peers.bobEvents.failures).isEmpty();
            assertThat(peers.blocked).isEmpty();
        }
    }

    @Test
    void pfsRekeyRetriesWithTheGroupTheResponderAsksForAndNegotiatesIt() throws Exception {
        try (TwoIkePeers peers = new TwoIkePeers()) {
            peers.configurePsk(IKE, IKE, "aes256gcm16-x25519-ecp256", "aes256gcm16-ecp256", "k", "k",
                    "10.2.0.0/16", "10.2.0.0/16");
            AtomicInteger createChildRequests = new AtomicInteger();
            peers.dropToBob = m -> {
                if (TwoIkePeers.isRequest(m, "CREATE_CHILD_SA")) {
                    createChildRequests.incrementAndGet();
                }
                return false;
            };
            IkeSa sa = peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
            Eventually.until(Duration.ofSeconds(5), "bob has the child", () -> peers.bobEvents.children.size() == 1);
            ChildSa old = peers.aliceEvents.children.peek();
            assertThat(old.proposal().keyExchangeMethods()).isEmpty(); // IKE_AUTH's child has no KE (§1.2)

            peers.alice.rekeyChild(sa, old.inboundSpi());

            Eventually.until(Duration.ofSeconds(5), "rekeyed", () -> peers.bobEvents.childrenDeleted.size() == 1
                    && onePairEachSide(peers));
            ChildSa a = live(peers.aliceEvents).getFirst();
            ChildSa b = live(peers.bobEvents).getFirst();
            // the first request guessed x25519, INVALID_KE_PAYLOAD asked for ecp256, the second one had it
            assertThat(createChildRequests.get()).isEqualTo(2);
            assertThat(a.proposal().keyExchangeMethods()).containsExactly(KeyExchangeTransform.ECP_256);
            assertThat(b.proposal().keyExchangeMethods()).containsExactly(KeyExchangeTransform.ECP_256);
            assertThat(a.outboundEncryptionKey()).isEqualTo(b.inboundEncryptionKey());
            assertThat(a.inboundIntegrityKey()).isEqualTo(b.outboundIntegrityKey());
            assertThat(peers.blocked).isEmpty();
        }
    }

    @Test
    void simultaneousChildRekeysEndWithExactlyOneNewPair() throws Exception {
        try (TwoIkePeers peers = up("aes128gcm16")) {
            IkeSa sa = peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
            Eventually.until(Duration.ofSeconds(5), "bob has the child", () -> peers.bobEvents.children.size() == 1);
            ChildSa oldA = peers.aliceEvents.children.peek();
            ChildSa oldB = peers.bobEvents.children.peek();
            // hold back alice's request and her answer to bob's: each side then takes the other's request while
            // its own is in flight, so both see the collision (§2.8.1); retransmissions wait behind the gate
            java.util.concurrent.atomic.AtomicBoolean gate = new java.util.concurrent.atomic.AtomicBoolean();
            java.util.concurrent.atomic.AtomicReference<byte[]> heldRequest = new java.util.concurrent.atomic.AtomicReference<>();
            java.util.concurrent.atomic.AtomicReference<byte[]> heldResponse = new java.util.concurrent.atomic.AtomicReference<>();
            peers.dropToBob = m -> {
                if (gate.get()) {
                    return false;
                }
                if (TwoIkePeers.isRequest(m, "CREATE_CHILD_SA")) {
                    heldRequest.compareAndSet(null, m.clone());
                    return true;
                }
                if (TwoIkePeers.isResponse(m, "CREATE_CHILD_SA")) {
                    heldResponse.compareAndSet(null, m.clone());
                    return true;
                }
                return false;
            };

            peers.alice.rekeyChild(sa, oldA.inboundSpi());
            Eventually.until(Duration.ofSeconds(2), "alice's request held", () -> heldRequest.get() != null);
            peers.bob.rekeyChild(TwoIkePeers.onlyIkeSa(peers.bob), oldB.inboundSpi());
            Eventually.until(Duration.ofSeconds(2), "alice answered bob", () -> heldResponse.get() != null);
            byte[] request = heldRequest.get();
            peers.bob.onMessage(500, TwoIkePeers.ALICE, request, 0, request.length);
            Eventually.until(Duration.ofSeconds(2), "bob answered alice", () -> peers.bobEvents.children.size() == 2);
            gate.set(true);
            byte[] response = heldResponse.get();
            peers.bob.onMessage(500, TwoIkePeers.ALICE, response, 0, response.length);

            // whatever the order, the old pair goes and exactly one new pair is left (the redundant one deleted)
            Eventually.until(Duration.ofSeconds(8), "one new pair left",
                    () -> peers.aliceEvents.childrenDeleted.contains(oldA) && peers.bobEvents.childrenDeleted.contains(oldB)
                            && onePairEachSide(peers)
                            && peers.aliceEvents.children.size() == peers.bobEvents.children.size());
            Thread.sleep(500); // nothing more happens
            assertThat(onePairEachSide(peers)).isTrue();
            ChildSa a = live(peers.aliceEvents).getFirst();
            ChildSa b = live(peers.bobEvents).getFirst();
            assertThat(a.inboundSpi()).isNotEqualTo(oldA.inboundSpi());
            assertThat(a.outboundEncryptionKey()).isEqualTo(b.inboundEncryptionKey());
            assertThat(peers.aliceEvents.children).hasSize(3); // both rekeys made a pair
            assertThat(peers.alice.ikeSaCount()).isEqualTo(1);
            assertThat(peers.bob.ikeSaCount()).isEqualTo(1);
            assertThat(peers.blocked).isEmpty();
        }
    }

    @Test
    void ikeRekeyMovesTheChildrenToOneNewIkeSaOnEachSideWithMessageIdsFromZero() throws Exception {
        try (TwoIkePeers peers = up("aes256gcm16")) {
            IkeSa old = peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
            Eventually.until(Duration.ofSeconds(5), "bob has the child", () -> peers.bobEvents.children.size() == 1);
            IkeSa oldBob = TwoIkePeers.onlyIkeSa(peers.bob);
            ChildSa child = peers.aliceEvents.children.peek();

            peers.alice.rekeyIke(old);

            Eventually.until(Duration.ofSeconds(5), "one new IKE SA on each side",
                    () -> peers.alice.ikeSaCount() == 1 && peers.bob.ikeSaCount() == 1
                            && TwoIkePeers.onlyIkeSa(peers.alice) != old && TwoIkePeers.onlyIkeSa(peers.bob) != oldBob
                            && old.state() == IkeSaState.DESTROYED && oldBob.state() == IkeSaState.DESTROYED);
            IkeSa a = TwoIkePeers.onlyIkeSa(peers.alice);
            IkeSa b = TwoIkePeers.onlyIkeSa(peers.bob);
            assertThat(a.state()).isEqualTo(IkeSaState.ESTABLISHED);
            assertThat(a.spiI()).isEqualTo(b.spiI()).isNotEqualTo(old.spiI());
            assertThat(a.spiR()).isEqualTo(b.spiR()).isNotEqualTo(old.spiR());
            assertThat(a.originalInitiator()).isTrue();
            assertThat(b.originalInitiator()).isFalse();
            assertThat(old.successor()).isSameAs(a);
            assertThat(peers.aliceEvents.rekeyedIkeSas).containsExactly(old);
            assertThat(peers.bobEvents.rekeyedIkeSas).containsExactly(oldBob);
            assertThat(peers.aliceEvents.childrenDeleted).isEmpty();
            assertThat(peers.bobEvents.childrenDeleted).isEmpty();
            assertThat(onePairEachSide(peers)).isTrue();
            assertThat(live(peers.aliceEvents).getFirst()).isSameAs(child);

            // the new SA works, its first request has message ID 0 (§2.18), and the CHILD SA moved with it
            assertThat(a.tasks().nextRequestId()).isZero();
            peers.alice.rekeyChild(a, child.inboundSpi());
            Eventually.until(Duration.ofSeconds(5), "child rekeyed on the new IKE SA",
                    () -> peers.bobEvents.childrenDeleted.size() == 1 && onePairEachSide(peers));
            Eventually.until(Duration.ofSeconds(5), "two exchanges", () -> a.tasks().nextRequestId() == 2);
            assertThat(b.tasks().expectedRequestId()).isEqualTo(2);

            // and the original responder can rekey it in turn, becoming the new original initiator
            peers.bob.rekeyIke(b);
            Eventually.until(Duration.ofSeconds(5), "rekeyed by bob",
                    () -> b.state() == IkeSaState.DESTROYED && peers.bob.ikeSaCount() == 1 && peers.alice.ikeSaCount() == 1);
            assertThat(TwoIkePeers.onlyIkeSa(peers.bob).originalInitiator()).isTrue();
            assertThat(TwoIkePeers.onlyIkeSa(peers.alice).originalInitiator()).isFalse();
            assertThat(onePairEachSide(peers)).isTrue();
            assertThat(peers.aliceEvents.failures).isEmpty();
            assertThat(peers.bobEvents.failures).isEmpty();
            assertThat(peers.blocked).isEmpty();
        }
    }

    @Test
    void secondChildOfAConnectionComesWithCreateChildSaOnTheSameIkeSa() throws Exception {
        try (TwoIkePeers peers = up("aes256gcm16")) {
            peers.reshape(c -> TwoIkePeers.withChild(c, "net2", "10.1.0.0/16", "10.3.0.0/16"),
                    c -> TwoIkePeers.withChild(c, "net2", "10.3.0.0/16", "10.1.0.0/16"));
            AtomicInteger createChildRequests = new AtomicInteger();
            peers.dropToBob = m -> {
                if (TwoIkePeers.isRequest(m, "CREATE_CHILD_SA")) {
                    createChildRequests.incrementAndGet();
                }
                return false;
            };
            IkeSa sa = peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
            IkeSa same = peers.alice.initiate("to-bob", "net2").get(10, TimeUnit.SECONDS);
            assertThat(same).isSameAs(sa);
            Eventually.until(Duration.ofSeconds(5), "bob has both", () -> peers.bobEvents.children.size() == 2);
            assertThat(createChildRequests.get()).isEqualTo(1);
            assertThat(peers.alice.ikeSaCount()).isEqualTo(1);
            ChildSa a = peers.aliceEvents.children.stream().filter(c -> c.name().equals("net2")).findFirst().orElseThrow();
            ChildSa b = peers.bobEvents.children.stream().filter(c -> c.name().equals("net2")).findFirst().orElseThrow();
            assertThat(a.outboundSpi()).isEqualTo(b.inboundSpi());
            assertThat(a.remoteTs().toString()).contains("10.3.0.0/16");
            assertThat(a.outboundEncryptionKey()).isEqualTo(b.inboundEncryptionKey())
                    .isNotEqualTo(peers.aliceEvents.children.peek().outboundEncryptionKey());
            assertThat(peers.blocked).isEmpty();
        }
    }

    @Test
    void shortRekeyTimeRekeysByItselfAgainAndAgain() throws Exception {
        try (TwoIkePeers peers = up("aes256gcm16")) {
            peers.reshape(c -> TwoIkePeers.lifetimes(c, Duration.ofSeconds(1), Duration.ofSeconds(3)),
                    c -> TwoIkePeers.lifetimes(c, Duration.ZERO, Duration.ofSeconds(3)));
            peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
            ChildSa first = peers.aliceEvents.children.peek();
            Eventually.until(Duration.ofSeconds(6), "rekeyed twice", () -> peers.aliceEvents.rekeyedChildren.size() >= 2
                    && peers.bobEvents.childrenDeleted.size() >= 2 && onePairEachSide(peers));
            assertThat(peers.aliceEvents.rekeyedChildren.peek()).isSameAs(first);
            assertThat(peers.aliceEvents.failures).isEmpty();
            assertThat(peers.blocked).isEmpty();
        }
    }

    @Test
    void bothSidesWithTheSameRekeyTimeStillEndWithOnePair() throws Exception {
        try (TwoIkePeers peers = up("aes256gcm16")) {
            peers.reshape(c -> TwoIkePeers.lifetimes(c, Duration.ofSeconds(1), Duration.ofSeconds(10)),
                    c -> TwoIkePeers.lifetimes(c, Duration.ofSeconds(1), Duration.ofSeconds(10)));
            peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
            Eventually.until(Duration.ofSeconds(5), "rekeyed", () -> peers.aliceEvents.childrenDeleted.size() >= 1
                    && peers.bobEvents.childrenDeleted.size() >= 1);
            Eventually.until(Duration.ofSeconds(3), "settled on one pair", () -> onePairEachSide(peers));
            assertThat(peers.blocked).isEmpty();
        }
    }

    @Test
    void hardLifetimeDeletesTheChildButKeepsTheIkeSa() throws Exception {
        try (TwoIkePeers peers = up("aes256gcm16")) {
            peers.reshape(c -> TwoIkePeers.lifetimes(c, Duration.ZERO, Duration.ofSeconds(1)),
                    c -> TwoIkePeers.lifetimes(c, Duration.ZERO, Duration.ZERO));
            IkeSa sa = peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
            Eventually.until(Duration.ofSeconds(4), "child deleted on both sides",
                    () -> peers.aliceEvents.childrenDeleted.size() == 1 && peers.bobEvents.childrenDeleted.size() == 1);
            assertThat(sa.state()).isEqualTo(IkeSaState.ESTABLISHED);
            assertThat(peers.bob.ikeSaCount()).isEqualTo(1);
            assertThat(peers.blocked).isEmpty();
        }
    }

    @Test
    void dpdChecksAnIdleSaAndKeepsItWhileThePeerAnswers() throws Exception {
        try (TwoIkePeers peers = up("aes256gcm16")) {
            peers.reshape(c -> TwoIkePeers.dpd(c, Duration.ofMillis(300)), c -> c);
            AtomicInteger checks = new AtomicInteger();
            peers.dropToBob = m -> {
                if (TwoIkePeers.isRequest(m, "INFORMATIONAL")) {
                    checks.incrementAndGet();
                }
                return false;
            };
            IkeSa sa = peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
            Eventually.until(Duration.ofSeconds(3), "two liveness checks", () -> checks.get() >= 2);
            assertThat(sa.state()).isEqualTo(IkeSaState.ESTABLISHED);
            assertThat(peers.bob.ikeSaCount()).isEqualTo(1);
            assertThat(peers.blocked).isEmpty();
        }
    }

    @Test
    void dpdDestroysTheIkeSaOfAPeerThatStoppedAnswering() throws Exception {
        try (TwoIkePeers peers = up("aes256gcm16")) {
            Duration dpd = Duration.ofSeconds(1);
            peers.reshape(c -> TwoIkePeers.dpd(c, dpd), c -> c);
            IkeSa sa = peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
            long silentFrom = System.nanoTime();
            peers.dropToBob = m -> true;
            // checked dpdDelay after the last message from bob, given up after the retransmissions
            // (0.2 + 0.3 + 0.45 + 0.675 s), with a second of slack for a loaded machine
            Eventually.until(Duration.ofMillis(dpd.toMillis() + 1_625 + 1_000), "IKE SA gone",
                    () -> sa.state() == IkeSaState.DESTROYED && peers.alice.ikeSaCount() == 0);
            assertThat(System.nanoTime() - silentFrom).isGreaterThan(dpd.toNanos());
            assertThat(peers.aliceEvents.destroyed).anyMatch(r -> r.contains("INFORMATIONAL") && r.contains("unanswered"));
            assertThat(peers.aliceEvents.childrenDeleted).hasSize(1);
            assertThat(peers.blocked).isEmpty();
        }
    }
}
