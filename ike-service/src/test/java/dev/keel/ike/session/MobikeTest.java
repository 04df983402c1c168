package dev.keel.ike.session;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.ike.config.IkeConnection;
import dev.keel.ike.engine.IkeSettings;
import dev.keel.ike.message.ExchangeType;
import dev.keel.ike.message.IkeMessage;
import dev.keel.ike.message.NotifyType;
import dev.keel.ike.task.DpdTask;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * MOBIKE (RFC 4555) between two engines in one process: negotiation in IKE_AUTH (§3.2); alice's
 * UPDATE_SA_ADDRESSES from a new address moves bob's IKE SA there, with NAT detection done again
 * and a return routability check before its CHILD SAs may follow (§3.5, §3.7); a request from a
 * new address without it moves nothing (§3.5), unlike an IKE SA without MOBIKE (RFC 7296 §2.23);
 * NO_NATS_ALLOWED with a NAT in the path is refused with UNEXPECTED_NAT_DETECTED (§3.9); a response
 * that does not echo our COOKIE2 closes the IKE SA (§3.7).
 */
class MobikeTest {

    private static final String IKE = "aes256gcm16-prfsha256-x25519";
    private static final Duration WAIT = Duration.ofSeconds(10);
    /** Where alice "moves": a documentation address (RFC 5737) and the NAT-T port. */
    private static final InetSocketAddress MOVED = new InetSocketAddress("198.51.100.7", 4500);

    /** Bob's endpoints each time his IKE SA's state is stored, which is when the node moves CHILD SAs (ChildSaPeerFollower). */
    private final ConcurrentLinkedQueue<String> bobStores = new ConcurrentLinkedQueue<>();
    private final IkeEvents recordStores = new IkeEvents() {
        @Override
        public CompletionStage<?> ikeSaChanged(IkeSa sa) {
            bobStores.add(sa.endpoints().remote() + (sa.endpoints().routabilityPending() ? " unchecked" : " checked"));
            return INSTALLED;
        }
    };

    private TwoIkePeers established(boolean bobMobike) throws Exception {
        TwoIkePeers peers = new TwoIkePeers(IkeSettings.DEFAULT, IkeEvents.NONE, recordStores);
        peers.configurePsk(IKE, IKE, "aes256gcm16", "aes256gcm16", "k3y-k3y-k3y", "k3y-k3y-k3y",
                "10.2.0.0/16", "10.2.0.0/16");
        peers.reshape(c -> c, c -> c.withMobike(bobMobike));
        peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
        return peers;
    }

    private static <T> T on(TwoIkePeers peers, boolean bob, java.util.function.Function<IkeSa, T> read) throws Exception {
        var engine = bob ? peers.bob : peers.alice;
        return engine.onSaThread(TwoIkePeers.onlyIkeSa(engine), read).get(5, TimeUnit.SECONDS);
    }

    private static boolean mobike(TwoIkePeers peers, boolean bob) throws Exception {
        return on(peers, bob, IkeSa::mobike);
    }

    private static InetSocketAddress remote(TwoIkePeers peers) throws Exception {
        return on(peers, true, s -> s.endpoints().remote());
    }

    private static boolean natThere(TwoIkePeers peers) throws Exception {
        return on(peers, true, s -> s.endpoints().natThere());
    }

    @Test
    void bothSidesAnnounceMobikeAndItIsNegotiated() throws Exception {
        try (TwoIkePeers peers = established(true)) {
            assertThat(mobike(peers, false)).as("alice").isTrue();
            assertThat(mobike(peers, true)).as("bob").isTrue();
        }
    }

    @Test
    void mobikeOffOnTheResponderIsNotNegotiatedOnEitherSide() throws Exception {
        try (TwoIkePeers peers = established(false)) {
            assertThat(mobike(peers, true)).as("bob, mobike: no").isFalse();
            assertThat(mobike(peers, false)).as("alice: bob did not answer MOBIKE_SUPPORTED").isFalse();
            IkeSa sa = TwoIkePeers.onlyIkeSa(peers.alice);
            assertThat(peers.alice.updateSaAddresses(sa).get(5, TimeUnit.SECONDS)).as("no update without MOBIKE")
                    .isFalse();
        }
    }

    @Test
    void updateSaAddressesMovesTheResponderAndItsChildSasFollowAfterTheRoutabilityCheck() throws Exception {
        try (TwoIkePeers peers = established(true)) {
            int sentBefore = peers.fromBob.size();
            peers.aliceSource = MOVED;
            IkeSa aliceSa = TwoIkePeers.onlyIkeSa(peers.alice);
            assertThat(peers.alice.updateSaAddresses(aliceSa).get(5, TimeUnit.SECONDS)).isTrue();

            Eventually.until(WAIT, "bob's IKE SA moved and its new address checked", () -> {
                try {
                    return on(peers, true, s -> s.endpoints().remote().equals(MOVED)
                            && !s.endpoints().routabilityPending());
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            // bob answered the update and then checked the new address with a request of his own, both to MOVED
            List<byte[]> sent = peers.fromBob.stream().skip(sentBefore).toList();
            List<InetSocketAddress> to = peers.bobSentTo.stream().skip(sentBefore).toList();
            assertThat(sent).hasSizeGreaterThanOrEqualTo(2);
            assertThat(TwoIkePeers.isResponse(sent.get(0), "INFORMATIONAL")).as("bob's answer to the update").isTrue();
            assertThat(TwoIkePeers.isRequest(sent.get(1), "INFORMATIONAL")).as("bob's routability check").isTrue();
            assertThat(to.subList(0, 2)).containsOnly(MOVED);
            // alice's hashes were of 192.0.2.1:500, so bob now sees her behind a NAT (RFC 7296 §2.23)
            assertThat(natThere(peers)).as("NAT found again").isTrue();
            // the CHILD SAs may only follow once the check passed: stored unchecked first, checked after
            List<String> stores = List.copyOf(bobStores);
            assertThat(stores).containsSubsequence(MOVED + " unchecked", MOVED + " checked");
            assertThat(stores.indexOf(MOVED + " checked")).isGreaterThan(stores.indexOf(MOVED + " unchecked"));
            assertThat(peers.aliceEvents.destroyed).isEmpty();
            assertThat(peers.bobEvents.destroyed).isEmpty();
        }
    }

    /**
     * Alice's address changes while her IKE rekey is in flight: her UPDATE_SA_ADDRESSES, queued
     * behind the rekey, goes out on the new IKE SA, which bob moves and checks (on the old one it
     * would move an IKE SA about to be deleted, and bob's new one would stay at the old address).
     */
    @Test
    void anUpdateQueuedBehindOurIkeRekeyMovesTheNewIkeSa() throws Exception {
        try (TwoIkePeers peers = established(true)) {
            IkeSa oldAlice = TwoIkePeers.onlyIkeSa(peers.alice);
            java.util.concurrent.atomic.AtomicReference<byte[]> rekey = new java.util.concurrent.atomic.AtomicReference<>();
            peers.dropToBob = m -> TwoIkePeers.isRequest(m, "CREATE_CHILD_SA") && rekey.compareAndSet(null, m.clone());
            peers.alice.rekeyIke(oldAlice);
            Eventually.until(WAIT, "alice's IKE rekey request held", () -> rekey.get() != null);
            peers.aliceSource = MOVED;
            assertThat(peers.alice.updateSaAddresses(oldAlice).get(5, TimeUnit.SECONDS)).isTrue(); // queued
            byte[] r = rekey.get();
            peers.bob.onMessage(500, TwoIkePeers.ALICE, r, 0, r.length);

            Eventually.until(WAIT, "one IKE SA each, bob's the new one at alice's new address, checked", () -> {
                if (peers.alice.ikeSaCount() != 1 || peers.bob.ikeSaCount() != 1) {
                    return false;
                }
                try {
                    return on(peers, true, s -> s.spiI() != oldAlice.spiI() && s.endpoints().remote().equals(MOVED)
                            && !s.endpoints().routabilityPending());
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            assertThat(peers.aliceEvents.destroyed).as("only the rekeyed IKE SA went").hasSize(1);
        }
    }

    @Test
    void behindANatWhoseMappingChangesTheLivenessCheckNoticesAndAnUpdateMovesThePeer() throws Exception {
        try (TwoIkePeers peers = new TwoIkePeers(IkeSettings.DEFAULT, IkeEvents.NONE, recordStores)) {
            peers.configurePsk(IKE, IKE, "aes256gcm16", "aes256gcm16", "k3y-k3y-k3y", "k3y-k3y-k3y",
                    "10.2.0.0/16", "10.2.0.0/16");
            // bob takes alice from any address: she comes from behind a NAT
            peers.reshape(c -> TwoIkePeers.dpd(c, Duration.ofMillis(300)), c -> new IkeConnection(c.name(),
                    c.localAddrs(), List.of(), c.remotePort(), c.localId(), c.remoteId(), c.auth(), c.proposals(),
                    c.encap(), c.dpdDelay(), c.children(), c.lifetime(), c.fragmentation(), c.mobike()));
            peers.aliceSource = MOVED; // a NAT in front of alice from the start
            peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
            boolean natHere = on(peers, false, s -> s.endpoints().natHere());
            assertThat(natHere).as("alice finds herself behind a NAT").isTrue();
            Eventually.until(WAIT, "alice's first liveness check learned her mapping", () -> {
                try {
                    return on(peers, false, s -> s.endpoints().mappingHash() != null);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            InetSocketAddress remapped = new InetSocketAddress(MOVED.getAddress(), 31000);
            peers.aliceSource = remapped; // the NAT gives her another port
            Eventually.until(WAIT, "bob's IKE SA followed alice's update to the new mapping", () -> {
                try {
                    return on(peers, true, s -> s.endpoints().remote().equals(remapped)
                            && !s.endpoints().routabilityPending());
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            assertThat(bobStores).contains(remapped + " checked");
            assertThat(peers.bobEvents.destroyed).isEmpty();
        }
    }

    @Test
    void withMobikeARequestFromANewAddressWithoutUpdateMovesNothing() throws Exception {
        try (TwoIkePeers peers = established(true)) {
            int sentBefore = peers.fromBob.size();
            peers.aliceSource = MOVED;
            livenessCheckFromAlice(peers);
            Eventually.until(WAIT, "bob answered the liveness check", () -> peers.fromBob.size() > sentBefore);
            assertThat(peers.bobSentTo.stream().skip(sentBefore).toList()).as("the answer went where the request came from")
                    .containsExactly(MOVED);
            assertThat(remote(peers)).as("bob's IKE SA stays (RFC 4555 §3.5)")
                    .isEqualTo(TwoIkePeers.ALICE);
            assertThat(bobStores).noneMatch(s -> s.startsWith(MOVED.toString()));
        }
    }

    @Test
    void withoutMobikeARequestFromANewAddressMovesTheIkeSa() throws Exception {
        try (TwoIkePeers peers = established(false)) {
            int sentBefore = peers.fromBob.size();
            peers.aliceSource = MOVED;
            livenessCheckFromAlice(peers);
            Eventually.until(WAIT, "bob answered the liveness check", () -> peers.fromBob.size() > sentBefore);
            assertThat(remote(peers)).as("RFC 7296 §2.11, §2.23: the IKE SA follows")
                    .isEqualTo(MOVED);
        }
    }

    @Test
    void noNatsAllowedWithANatInThePathIsRefusedAndMovesNothing() throws Exception {
        try (TwoIkePeers peers = established(true)) {
            peers.aliceSource = MOVED;
            CompletableFuture<IkeMessage> answer = new CompletableFuture<>();
            Task update = new Task() {
                @Override
                public Status build(OutboundMessage m) {
                    m.notify(NotifyType.UPDATE_SA_ADDRESSES);
                    m.notify(NotifyType.NO_NATS_ALLOWED, new byte[4]);
                    m.notify(NotifyType.NAT_DETECTION_SOURCE_IP, new byte[20]); // matches nothing: a NAT
                    m.notify(NotifyType.NAT_DETECTION_DESTINATION_IP, new byte[20]);
                    return Status.DONE;
                }

                @Override
                public Status process(IkeMessage m) {
                    answer.complete(m);
                    return Status.DONE;
                }
            };
            IkeSa sa = TwoIkePeers.onlyIkeSa(peers.alice);
            peers.alice.onSaThread(sa, s -> {
                s.tasks().queue(ExchangeType.INFORMATIONAL, update);
                return null;
            }).get(5, TimeUnit.SECONDS);
            IkeMessage m = answer.get(10, TimeUnit.SECONDS);
            assertThat(m.notify(NotifyType.UNEXPECTED_NAT_DETECTED)).as("RFC 4555 §3.9").isPresent();
            assertThat(remote(peers)).isEqualTo(TwoIkePeers.ALICE);
            assertThat(peers.bobEvents.destroyed).isEmpty();
        }
    }

    @Test
    void aResponseThatDoesNotEchoCookie2ClosesTheIkeSa() throws Exception {
        try (TwoIkePeers peers = established(true)) {
            // bob forgets MOBIKE, so his INFORMATIONAL answers carry no COOKIE2 (as a broken or forged answer)
            on(peers, true, s -> {
                s.mobike(false);
                return null;
            });
            long retransmissionsBefore = peers.alice.counters().retransmissionCount();
            IkeSa aliceSa = TwoIkePeers.onlyIkeSa(peers.alice);
            assertThat(peers.alice.updateSaAddresses(aliceSa).get(5, TimeUnit.SECONDS)).isTrue();
            // RFC 4555 §3.7: the IKE SA MUST be closed, at the first such response (not after retransmissions)
            Eventually.until(WAIT, "alice closed her IKE SA", () -> !peers.aliceEvents.destroyed.isEmpty());
            assertThat(peers.aliceEvents.destroyed).anyMatch(r -> r.contains("COOKIE2"));
            assertThat(peers.alice.counters().retransmissionCount()).isEqualTo(retransmissionsBefore);
        }
    }

    private static void livenessCheckFromAlice(TwoIkePeers peers) throws Exception {
        IkeSa sa = TwoIkePeers.onlyIkeSa(peers.alice);
        peers.alice.onSaThread(sa, s -> {
            s.tasks().queue(ExchangeType.INFORMATIONAL, new DpdTask());
            return null;
        }).get(5, TimeUnit.SECONDS);
    }
}
