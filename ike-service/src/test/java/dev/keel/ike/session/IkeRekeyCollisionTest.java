package dev.keel.ike.session;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.ike.message.ExchangeType;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Simultaneous IKE SA rekeys between two Keel engines (RFC 7296 §2.8.2): both exchanges
 * complete, the new IKE SA with the lowest of the four nonces is deleted by the side that made it,
 * the other one takes the CHILD SAs, and the old one is deleted; no TEMPORARY_FAILURE, no CHILD SA
 * lost or re-made. Which side's exchange holds the lowest nonce is fixed by the first byte of each
 * side's nonces ({@link FirstByteRandom}), so both outcomes are tested on purpose.
 */
class IkeRekeyCollisionTest {

    private static final String IKE = "aes256gcm16-prfsha256-x25519";

    /**
     * A SecureRandom whose 32-byte draws (nonces, X25519 private values) start with
     * {@link #firstByte} when it is set: the test makes one side's nonces of one exchange the lowest.
     */
    static final class FirstByteRandom extends SecureRandom {
        volatile int firstByte = -1;

        @Override
        public void nextBytes(byte[] bytes) {
            super.nextBytes(bytes);
            int b = firstByte;
            if (b >= 0 && bytes.length == 32) {
                bytes[0] = (byte) b;
            }
        }
    }

    /** Runs an IKE rekey once first: the first exchanges in a JVM load classes on the event loop (see IkeRekeyTest). */
    @BeforeAll
    static void warmUp() throws Exception {
        try (TwoIkePeers peers = new TwoIkePeers()) {
            peers.configurePsk(IKE, IKE, "aes256gcm16", "aes256gcm16", "k", "k", "10.2.0.0/16", "10.2.0.0/16");
            IkeSa sa = peers.alice.initiate("to-bob", "net").get(60, TimeUnit.SECONDS);
            peers.alice.rekeyIke(sa);
            Eventually.until(Duration.ofSeconds(60), "IKE SA rekeyed", () -> sa.state() == IkeSaState.DESTROYED);
        }
    }

    @Test
    void aliceExchangeHoldsTheLowestNonceSoSheDeletesHerNewIkeSaAndBobsTakesTheChildren() throws Exception {
        collide(0x10, 0xf0, false);
    }

    @Test
    void bobsExchangeHoldsTheLowestNonceSoHeDeletesHisNewIkeSaAndAlicesTakesTheChildren() throws Exception {
        collide(0xf0, 0x10, true);
    }

    /**
     * Alice's rekey request is held while she answers bob's, then delivered, so that each side
     * answers the other's rekey while its own is in flight (both see the collision). Alice's nonce
     * in her own exchange starts with {@code aliceAsInitiator}, in bob's with {@code aliceAsResponder};
     * bob's nonces start with 0x80.
     */
    private static void collide(int aliceAsInitiator, int aliceAsResponder, boolean aliceWins) throws Exception {
        FirstByteRandom aliceRandom = new FirstByteRandom();
        FirstByteRandom bobRandom = new FirstByteRandom();
        try (TwoIkePeers peers = new TwoIkePeers(aliceRandom, bobRandom)) {
            peers.configurePsk(IKE, IKE, "aes256gcm16", "aes256gcm16", "k", "k", "10.2.0.0/16", "10.2.0.0/16");
            MemorySad sad = new MemorySad("alice");
            peers.aliceEvents.storingIn(sad, "alice");
            IkeSa oldAlice = peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
            Eventually.until(Duration.ofSeconds(5), "bob has the child", () -> peers.bobEvents.children.size() == 1);
            IkeSa oldBob = TwoIkePeers.onlyIkeSa(peers.bob);
            ChildSa childA = peers.aliceEvents.children.peek();
            ChildSa childB = peers.bobEvents.children.peek();

            // everything alice sends bob is held (retransmissions too) until bob settled his side
            AtomicBoolean gate = new AtomicBoolean();
            ConcurrentLinkedQueue<byte[]> held = new ConcurrentLinkedQueue<>();
            AtomicReference<byte[]> heldRequest = new AtomicReference<>();
            AtomicReference<byte[]> heldResponse = new AtomicReference<>();
            peers.dropToBob = m -> {
                if (gate.get()) {
                    return false;
                }
                if (TwoIkePeers.isRequest(m, "CREATE_CHILD_SA")) {
                    heldRequest.compareAndSet(null, m.clone());
                } else if (TwoIkePeers.isResponse(m, "CREATE_CHILD_SA")) {
                    heldResponse.compareAndSet(null, m.clone());
                } else {
                    held.add(m.clone());
                }
                return true;
            };
            bobRandom.firstByte = 0x80;
            aliceRandom.firstByte = aliceAsInitiator;
            peers.alice.rekeyIke(oldAlice);
            Eventually.until(Duration.ofSeconds(2), "alice's rekey request held", () -> heldRequest.get() != null);
            aliceRandom.firstByte = aliceAsResponder;
            peers.bob.rekeyIke(oldBob);
            Eventually.until(Duration.ofSeconds(2), "alice answered bob's rekey", () -> heldResponse.get() != null);
            byte[] request = heldRequest.get();
            peers.bob.onMessage(500, TwoIkePeers.ALICE, request, 0, request.length);
            // bob answers alice's rekey (a second new IKE SA at bob), and alice settles the collision on her side
            Eventually.until(Duration.ofSeconds(2), "alice settled", () -> oldAlice.successor() != null);
            byte[] response = heldResponse.get();
            peers.bob.onMessage(500, TwoIkePeers.ALICE, response, 0, response.length);
            Eventually.until(Duration.ofSeconds(2), "bob settled", () -> oldBob.successor() != null);
            gate.set(true);
            for (byte[] m : held) { // alice's Delete (of the old IKE SA, or of her redundant new one)
                peers.bob.onMessage(500, TwoIkePeers.ALICE, m, 0, m.length);
            }

            Eventually.until(Duration.ofSeconds(8), "one IKE SA left on each side, the old ones gone",
                    () -> peers.alice.ikeSaCount() == 1 && peers.bob.ikeSaCount() == 1
                            && oldAlice.state() == IkeSaState.DESTROYED && oldBob.state() == IkeSaState.DESTROYED);
            IkeSa a = TwoIkePeers.onlyIkeSa(peers.alice);
            IkeSa b = TwoIkePeers.onlyIkeSa(peers.bob);
            assertThat(a.spiI()).isEqualTo(b.spiI()).isNotEqualTo(oldAlice.spiI());
            assertThat(a.spiR()).isEqualTo(b.spiR()).isNotEqualTo(oldAlice.spiR());
            // the survivor is the new IKE SA whose exchange did not hold the lowest nonce; its rekey's initiator
            // is its original initiator (§2.18)
            assertThat(a.originalInitiator()).isEqualTo(aliceWins);
            assertThat(b.originalInitiator()).isEqualTo(!aliceWins);
            assertThat(oldAlice.successor()).isSameAs(a);
            assertThat(oldBob.successor()).isSameAs(b);
            // both exchanges completed: no TEMPORARY_FAILURE, no retry
            assertThat(peers.alice.counters().exchangeFailureCount(ExchangeType.CREATE_CHILD_SA, IkeFailure.PEER_ERROR))
                    .isZero();
            assertThat(peers.bob.counters().exchangeFailureCount(ExchangeType.CREATE_CHILD_SA, IkeFailure.PEER_ERROR))
                    .isZero();
            assertThat(peers.alice.counters().exchangeCount(ExchangeType.CREATE_CHILD_SA, true)).isEqualTo(1);
            assertThat(peers.bob.counters().exchangeCount(ExchangeType.CREATE_CHILD_SA, true)).isEqualTo(1);
            // the CHILD SAs moved, untouched: the same pair, never deleted nor made again
            assertThat(a.children()).containsExactly(childA);
            assertThat(b.children()).containsExactly(childB);
            assertThat(peers.aliceEvents.childrenDeleted).isEmpty();
            assertThat(peers.bobEvents.childrenDeleted).isEmpty();
            assertThat(peers.aliceEvents.children).hasSize(1);
            assertThat(peers.bobEvents.children).hasSize(1);
            assertThat(peers.aliceEvents.failures).isEmpty();
            assertThat(peers.bobEvents.failures).isEmpty();
            // HA: the SAD holds the survivor with the CHILD SA, and nothing else
            Eventually.until(Duration.ofSeconds(2), "the SAD holds only the survivor", () -> sad.all().size() == 1);
            IkeSaSnapshot stored = sad.all().getFirst();
            assertThat(stored.spiI()).isEqualTo(a.spiI());
            assertThat(stored.children()).extracting(c -> c.child().inboundSpi()).containsExactly(childA.inboundSpi());

            // the survivor works: a CHILD SA rekey on it from message ID 0
            peers.alice.rekeyChild(a, childA.inboundSpi());
            Eventually.until(Duration.ofSeconds(5), "child rekeyed on the survivor",
                    () -> peers.bobEvents.childrenDeleted.size() == 1 && peers.aliceEvents.childrenDeleted.size() == 1);
            assertThat(a.children()).hasSize(1);
            assertThat(peers.blocked).isEmpty();
        }
    }

    /**
     * Only bob sees the collision: he answers alice's rekey while his own request is held, alice
     * completes hers before bob's request reaches her and deletes the old IKE SA; bob's new IKE SA
     * made by answering her takes the CHILD SAs when her Delete comes, and he forgets his own
     * rekey (§2.8.2, §2.25.2).
     */
    @Test
    void whenOnlyOneSideSeesTheCollisionTheOtherSidesRekeyStandsAndNoChildIsLost() throws Exception {
        try (TwoIkePeers peers = new TwoIkePeers()) {
            peers.configurePsk(IKE, IKE, "aes256gcm16", "aes256gcm16", "k", "k", "10.2.0.0/16", "10.2.0.0/16");
            IkeSa oldAlice = peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
            Eventually.until(Duration.ofSeconds(5), "bob has the child", () -> peers.bobEvents.children.size() == 1);
            IkeSa oldBob = TwoIkePeers.onlyIkeSa(peers.bob);
            ChildSa childB = peers.bobEvents.children.peek();
            AtomicReference<byte[]> bobsRequest = new AtomicReference<>();
            peers.dropToAlice = m -> TwoIkePeers.isRequest(m, "CREATE_CHILD_SA") && bobsRequest.compareAndSet(null, m.clone())
                    || bobsRequest.get() != null && TwoIkePeers.isRequest(m, "CREATE_CHILD_SA");

            peers.bob.rekeyIke(oldBob);
            Eventually.until(Duration.ofSeconds(2), "bob's rekey request held", () -> bobsRequest.get() != null);
            peers.alice.rekeyIke(oldAlice);

            Eventually.until(Duration.ofSeconds(8), "one IKE SA left on each side, the old ones gone",
                    () -> peers.alice.ikeSaCount() == 1 && peers.bob.ikeSaCount() == 1
                            && oldAlice.state() == IkeSaState.DESTROYED && oldBob.state() == IkeSaState.DESTROYED);
            IkeSa a = TwoIkePeers.onlyIkeSa(peers.alice);
            IkeSa b = TwoIkePeers.onlyIkeSa(peers.bob);
            assertThat(a.spiI()).isEqualTo(b.spiI());
            assertThat(a.originalInitiator()).isTrue();
            assertThat(b.children()).containsExactly(childB);
            assertThat(peers.aliceEvents.childrenDeleted).isEmpty();
            assertThat(peers.bobEvents.childrenDeleted).isEmpty();
            assertThat(peers.aliceEvents.failures).isEmpty();
            assertThat(peers.bobEvents.failures).isEmpty();
            assertThat(List.copyOf(peers.bobEvents.rekeyedIkeSas)).containsExactly(oldBob);
            assertThat(peers.blocked).isEmpty();
        }
    }
}
