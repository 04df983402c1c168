package dev.keel.ike.session;

import static dev.keel.ike.session.TwoIkePeers.ALICE;
import static dev.keel.ike.session.TwoIkePeers.BOB;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.ike.config.IkeConnection;
import dev.keel.ike.config.IkeConnection.Fragmentation;
import dev.keel.ike.engine.IkeSettings;
import dev.keel.ike.message.ExchangeType;
import dev.keel.ike.message.IkeDecodeResult;
import dev.keel.ike.message.IkeHeader;
import dev.keel.ike.message.IkeMessage;
import dev.keel.ike.message.IkePayload;
import dev.keel.ike.message.PayloadType;
import dev.keel.ike.message.VendorIdPayload;
import dev.keel.ike.session.TestPki.Issued;
import dev.keel.ike.session.TestPki.KeyType;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * RFC 7383 between two Keel engines with {@code fragment_size} 576: certificate chains make
 * IKE_AUTH about 2 KB, so it only goes in SKF fragments; what each {@code fragmentation} value
 * does; retransmission of a whole set (§2.6, §2.6.1); and every fragment the reassembly refuses
 * (§2.6), counted by reason.
 */
class IkeFragmentationTest {

    private static final String IKE = "aes256gcm16-prfsha256-x25519";
    private static final String ESP = "aes256gcm16";
    private static final int FRAGMENT_SIZE = 576;
    /** The largest IKE message one datagram may carry at 576 over IPv4: 576 - 20 - 8. */
    private static final int LIMIT = 548;
    private static final int SKF = PayloadType.SKF.value();

    private final ConcurrentLinkedQueue<byte[]> toBob = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<byte[]> toAlice = new ConcurrentLinkedQueue<>();

    /** One exchange first: the JVM's first RSA chain check can outlast the test's fast retransmissions. */
    @org.junit.jupiter.api.BeforeAll
    static void warmUp() throws Exception {
        IkeFragmentationTest t = new IkeFragmentationTest();
        try (TwoIkePeers peers = t.peers(Fragmentation.YES, Fragmentation.YES)) {
            peers.alice.initiate("to-bob", "net").get(30, TimeUnit.SECONDS);
        }
    }

    private TwoIkePeers peers(Fragmentation alice, Fragmentation bob) {
        TwoIkePeers peers = new TwoIkePeers(IkeSettings.DEFAULT.withFragmentSize(FRAGMENT_SIZE));
        Issued root = TestPki.rootCa("C=CH, O=Keel, CN=Frag Root");
        Issued mid = TestPki.intermediate(root, "C=CH, O=Keel, CN=Frag Intermediate");
        Issued a = TestPki.endEntity(mid, "C=CH, O=Keel, CN=alice.keel.test", "alice.keel.test", KeyType.RSA);
        Issued b = TestPki.endEntity(mid, "C=CH, O=Keel, CN=bob.keel.test", "bob.keel.test", KeyType.RSA);
        peers.alice.connections().replace(List.of(TwoIkePeers.connection("to-bob", ALICE, BOB, "alice.keel.test",
                "bob.keel.test", new IkeConnection.Auth.PubKey(a.keys().getPrivate(), List.of(a.cert(), mid.cert()),
                        List.of(root.cert())), IKE, ESP, "10.1.0.0/16", "10.2.0.0/16").withFragmentation(alice)));
        peers.bob.connections().replace(List.of(TwoIkePeers.connection("to-alice", BOB, ALICE, "bob.keel.test",
                "alice.keel.test", new IkeConnection.Auth.PubKey(b.keys().getPrivate(), List.of(b.cert(), mid.cert()),
                        List.of(root.cert())), IKE, ESP, "10.2.0.0/16", "10.1.0.0/16").withFragmentation(bob)));
        peers.dropToBob = d -> !toBob.add(d.clone());
        peers.dropToAlice = d -> !toAlice.add(d.clone());
        return peers;
    }

    private static IkeSa up(TwoIkePeers peers) throws Exception {
        IkeSa sa = peers.alice.initiate("to-bob", "net").get(15, TimeUnit.SECONDS);
        Eventually.until(Duration.ofSeconds(5), "bob has the child", () -> peers.bobEvents.children.size() == 1);
        assertThat(sa.state()).isEqualTo(IkeSaState.ESTABLISHED);
        assertThat(peers.aliceEvents.failures).isEmpty();
        assertThat(peers.bobEvents.failures).isEmpty();
        return sa;
    }

    private static List<byte[]> of(ConcurrentLinkedQueue<byte[]> sent, ExchangeType exchange) {
        return sent.stream().filter(d -> IkeHeader.peek(d).orElseThrow().exchange() == exchange).toList();
    }

    private static int nextPayload(byte[] datagram) {
        return datagram[16] & 0xFF;
    }

    @Test
    void certificateIkeAuthGoesInFragmentsBothWays() throws Exception {
        try (TwoIkePeers peers = peers(Fragmentation.YES, Fragmentation.YES)) {
            IkeSa sa = up(peers);
            assertThat(sa.fragmentation().negotiated()).isTrue();
            assertThat(TwoIkePeers.onlyIkeSa(peers.bob).fragmentation().negotiated()).isTrue();
            for (List<byte[]> auth : List.of(of(toBob, ExchangeType.IKE_AUTH), of(toAlice, ExchangeType.IKE_AUTH))) {
                assertThat(auth).hasSizeGreaterThan(2).allSatisfy(d -> {
                    assertThat(nextPayload(d)).isEqualTo(SKF);
                    assertThat(d.length).isLessThanOrEqualTo(LIMIT);
                });
                // §2.5: numbered 1..N under one message ID, the first inner payload named in fragment 1 only
                int total = u16(auth.getFirst(), 34);
                assertThat(auth).hasSize(total);
                for (int i = 0; i < total; i++) {
                    assertThat(u16(auth.get(i), 32)).isEqualTo(i + 1);
                    assertThat(auth.get(i)[28] != 0).isEqualTo(i == 0);
                    assertThat(IkeHeader.peek(auth.get(i)).orElseThrow().messageId()).isEqualTo(1);
                }
            }
            // never IKE_SA_INIT (§2.5)
            assertThat(of(toBob, ExchangeType.IKE_SA_INIT)).noneMatch(d -> nextPayload(d) == SKF);
            assertThat(peers.bob.counters().droppedCount(IkeDrop.FRAGMENT_ICV_FAILED)).isZero();
        }
    }

    @Test
    void noOnEitherSideSendsWholeMessages() throws Exception {
        try (TwoIkePeers peers = peers(Fragmentation.YES, Fragmentation.NO)) {
            IkeSa sa = up(peers); // the in-memory wire carries datagrams of any size
            assertThat(sa.fragmentation().negotiated()).isFalse();
            assertThat(of(toBob, ExchangeType.IKE_AUTH)).singleElement().satisfies(d -> {
                assertThat(nextPayload(d)).isEqualTo(PayloadType.SK.value());
                assertThat(d.length).isGreaterThan(LIMIT);
            });
            assertThat(of(toAlice, ExchangeType.IKE_AUTH)).singleElement()
                    .satisfies(d -> assertThat(nextPayload(d)).isEqualTo(PayloadType.SK.value()));
        }
    }

    @Test
    void acceptTakesFragmentsButSendsNone() throws Exception {
        try (TwoIkePeers peers = peers(Fragmentation.ACCEPT, Fragmentation.FORCE)) {
            IkeSa sa = up(peers);
            assertThat(sa.fragmentation().negotiated()).isTrue();
            assertThat(of(toBob, ExchangeType.IKE_AUTH)).singleElement()
                    .satisfies(d -> assertThat(nextPayload(d)).isEqualTo(PayloadType.SK.value()));
            assertThat(of(toAlice, ExchangeType.IKE_AUTH)).hasSizeGreaterThan(2)
                    .allSatisfy(d -> assertThat(nextPayload(d)).isEqualTo(SKF));
        }
    }

    @Test
    void lostFragmentsAreRecoveredByRetransmittingTheWholeSet() throws Exception {
        try (TwoIkePeers peers = peers(Fragmentation.YES, Fragmentation.YES)) {
            AtomicBoolean requestLost = new AtomicBoolean();
            AtomicBoolean responseLost = new AtomicBoolean();
            // the second fragment of the IKE_AUTH request, then of its response, is lost once
            peers.dropToBob = d -> {
                toBob.add(d.clone());
                return nextPayload(d) == SKF && u16(d, 32) == 2 && requestLost.compareAndSet(false, true);
            };
            peers.dropToAlice = d -> {
                toAlice.add(d.clone());
                return nextPayload(d) == SKF && u16(d, 32) == 2 && responseLost.compareAndSet(false, true);
            };
            up(peers);
            List<byte[]> req = of(toBob, ExchangeType.IKE_AUTH);
            int total = u16(req.getFirst(), 34);
            // the request went at least three times (a fragment lost, then one of the response), whole sets each time
            assertThat(req.size() % total).isZero();
            assertThat(req.size() / total).isGreaterThanOrEqualTo(3);
            List<byte[]> resp = of(toAlice, ExchangeType.IKE_AUTH);
            assertThat(resp.size() % u16(resp.getFirst(), 34)).isZero();
            assertThat(resp.size() / u16(resp.getFirst(), 34)).isGreaterThanOrEqualTo(2);
            // fragment 1 of the answered request brought the response again, its other fragments did not (§2.6.1)
            // (each set after the one that completed it, unless one came while the response waited to be stored)
            assertThat(peers.bob.counters().retransmittedRequests()).isBetween(1L, (long) req.size() / total - 2);
            assertThat(peers.bob.counters().droppedCount(IkeDrop.FRAGMENT_STALE)).isGreaterThanOrEqualTo(total - 1);
            // the same fragments each time: the set was sealed once
            assertThat(req.get(total)).isEqualTo(req.get(0));
            assertThat(req.get(2 * total + 1)).isEqualTo(req.get(1));
        }
    }

    // ---- what the reassembly refuses (§2.6), on an established IKE SA ----

    /** Alice's fragments of an INFORMATIONAL request with {@code bulk} bytes of Vendor ID, as {@code bob} expects it next. */
    private static List<byte[]> informational(IkeSa alice, IkeSa bob, int bulk, int limit) {
        long id = bob.tasks().expectedRequestId();
        IkeHeader h = IkeHeader.of(alice.spiI(), alice.spiR(), ExchangeType.INFORMATIONAL, true, false, id);
        List<IkePayload> payloads = List.of(new VendorIdPayload(new byte[bulk]));
        byte[] whole = IkeMessage.encodeProtected(h, payloads, alice.ciphersOrNull().outbound()).bytes();
        return IkeFragmentation.split(whole, alice.ciphersOrNull().outbound(), limit);
    }

    private static void deliver(TwoIkePeers peers, byte[] datagram) {
        peers.bob.onMessage(500, ALICE, datagram.clone(), 0, datagram.length);
    }

    private static long drops(TwoIkePeers peers, IkeDrop reason) {
        return peers.bob.counters().droppedCount(reason);
    }

    @Test
    void reassemblyRefusesBadFragmentsAndCountsEach() throws Exception {
        try (TwoIkePeers peers = peers(Fragmentation.YES, Fragmentation.YES)) {
            IkeSa alice = up(peers);
            IkeSa bob = TwoIkePeers.onlyIkeSa(peers.bob);
            long informationals = peers.bob.counters().exchangeCount(ExchangeType.INFORMATIONAL, false);
            List<byte[]> three = informational(alice, bob, 1_000, LIMIT);
            assertThat(three).hasSize(3);

            // a fragment whose ICV fails is not stored
            byte[] forged = three.get(0).clone();
            forged[forged.length - 1] ^= 1;
            deliver(peers, forged);
            Eventually.until(Duration.ofSeconds(5), "ICV drop", () -> drops(peers, IkeDrop.FRAGMENT_ICV_FAILED) == 1);
            assertThat(bob.fragmentation().storedFragments(false)).isZero();

            // fragment number above total: the decoder refuses it
            long malformed = peers.bob.counters().droppedCount(IkeDecodeResult.Reason.MALFORMED_PAYLOAD);
            byte[] beyond = three.get(1).clone();
            beyond[32] = 0;
            beyond[33] = 4; // fragment 4 of 3
            deliver(peers, beyond);
            Eventually.until(Duration.ofSeconds(5), "number > total", () ->
                    peers.bob.counters().droppedCount(IkeDecodeResult.Reason.MALFORMED_PAYLOAD) == malformed + 1);

            // a duplicate is dropped
            deliver(peers, three.get(0));
            deliver(peers, three.get(0));
            Eventually.until(Duration.ofSeconds(5), "duplicate", () -> drops(peers, IkeDrop.FRAGMENT_DUPLICATE) == 1);

            // a smaller Total Fragments for the same message is dropped; a larger one starts over (§2.6)
            List<byte[]> two = informational(alice, bob, 600, LIMIT);
            assertThat(two).hasSize(2);
            deliver(peers, two.get(1));
            Eventually.until(Duration.ofSeconds(5), "total shrank", () -> drops(peers, IkeDrop.FRAGMENT_TOTAL_CHANGED) == 1);
            List<byte[]> five = informational(alice, bob, 1_000, 300);
            assertThat(five.size()).isGreaterThan(3);
            deliver(peers, five.get(0));
            Eventually.until(Duration.ofSeconds(5), "total grew", () -> drops(peers, IkeDrop.FRAGMENTS_ABANDONED) == 1);

            // more fragments than the bound
            List<byte[]> many = informational(alice, bob, 300, 64);
            assertThat(many.size()).isGreaterThan(IkeFragmentation.MAX_FRAGMENTS);
            deliver(peers, many.get(0));
            Eventually.until(Duration.ofSeconds(5), "too many", () -> drops(peers, IkeDrop.FRAGMENT_LIMIT) == 1);

            // the rest of the set started by the larger total, in any order: processed as one request
            List<byte[]> rest = new ArrayList<>(five.subList(1, five.size()));
            java.util.Collections.reverse(rest);
            for (byte[] f : rest) {
                deliver(peers, f);
            }
            Eventually.until(Duration.ofSeconds(5), "bob answered the reassembled request", () ->
                    peers.bob.counters().exchangeCount(ExchangeType.INFORMATIONAL, false) == informationals + 1);
            assertThat(bob.fragmentation().storedFragments(false)).isZero();

            // more bytes than the bound: refused at the fragment that crosses it (the 25th of 26), and so is the 26th
            List<byte[]> large = informational(alice, bob, IkeFragmentation.MAX_MESSAGE_BYTES + 2_000, 1_400);
            assertThat(large.size()).isLessThanOrEqualTo(IkeFragmentation.MAX_FRAGMENTS);
            for (byte[] f : large) {
                deliver(peers, f);
            }
            Eventually.until(Duration.ofSeconds(5), "too large", () -> drops(peers, IkeDrop.FRAGMENT_LIMIT) == 3);
            Thread.sleep(200); // the rest of the set, had it been taken, would have been processed by now
            assertThat(peers.bob.counters().exchangeCount(ExchangeType.INFORMATIONAL, false)).isEqualTo(informationals + 1);
            assertThat(bob.fragmentation().storedFragments(false)).isZero();
            assertThat(bob.isAlive()).isTrue();
            assertThat(peers.blocked).isEmpty();
        }
    }

    private static int u16(byte[] b, int at) {
        return (b[at] & 0xFF) << 8 | b[at + 1] & 0xFF;
    }
}
