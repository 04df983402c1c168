package dev.keel.ike.session;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.ike.config.IkeLifetime;
import dev.keel.ike.engine.IkeEngine;
import dev.keel.ike.message.ExchangeType;
import dev.keel.ike.message.IkeHeader;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Predicate;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * IKE SA failover (docs/ha.md, "IKE SA failover"; issue 20 items 3 and 4) between engines in one
 * process: alice stores her IKE SA after every exchange in an in-memory SAD, is killed (nothing
 * she sends arrives any more, her state in memory is lost to the others), and a third engine at
 * her address takes the stored IKE SA over. Bob, the peer, sees no new IKE_SA_INIT: the survivor
 * answers his retransmissions from the stored response, his DPD, rekeys of either side, and
 * deletes; after a kill with a request of alice's in flight it synchronizes message IDs first
 * (RFC 6311), and only then.
 */
class IkeSaTakeoverTest {

    private static final String IKE = "aes256gcm16-prfsha256-x25519";
    private static final Duration WAIT = Duration.ofSeconds(10);

    /** The SAD alice stores her IKE SA in, as node "a", and later the survivor, as node "s". */
    private final MemorySad sad = new MemorySad("a");
    @AutoClose
    private final TwoIkePeers peers = up(sad);

    /** Runs the exchanges once so that class loading on the event loops does not trip the blocked-thread checker. */
    @BeforeAll
    static void warmUp() throws Exception {
        MemorySad sad = new MemorySad("a");
        try (TwoIkePeers peers = up(sad)) {
            IkeSa sa = peers.alice.initiate("to-bob", "net").get(30, TimeUnit.SECONDS);
            Eventually.until(Duration.ofSeconds(30), "stored", () -> sad.get(sa.spiI(), sa.spiR()) != null);
            IkeEngine survivor = peers.survivor(new TwoIkePeers.RecordingEvents());
            IkeSa adopted = survivor.adopt(sad.get(sa.spiI(), sa.spiR()), true, x -> { }).get(30, TimeUnit.SECONDS);
            survivor.rekeyIke(adopted);
            Eventually.until(Duration.ofSeconds(30), "rekeyed", () -> adopted.state() == IkeSaState.DESTROYED);
        }
    }

    /** Alice and bob, alice storing her IKE SA in {@code sad} as node "a". */
    private static TwoIkePeers up(MemorySad sad) {
        TwoIkePeers peers = new TwoIkePeers();
        peers.configurePsk(IKE, IKE, "aes256gcm16", "aes256gcm16", "k", "k", "10.2.0.0/16", "10.2.0.0/16");
        peers.aliceEvents.storingIn(sad, "a");
        return peers;
    }

    /** Alice is dead: the SAD is node "s"'s now, and "s" is a fresh engine at her address that stores there. */
    private IkeEngine survivor() {
        sad.owner("s");
        return peers.survivor(new TwoIkePeers.RecordingEvents().storingIn(sad, "s"));
    }

    /** A drop hook that drops nothing and keeps every datagram in {@code into}. */
    private static Predicate<byte[]> recordingInto(List<byte[]> into) {
        return m -> {
            into.add(m);
            return false;
        };
    }

    /** Alice's IKE SA with bob, up on both sides and in the SAD. */
    private IkeSa establish() throws Exception {
        IkeSa sa = peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
        Eventually.until(WAIT, "bob has the child", () -> peers.bobEvents.children.size() == 1);
        Eventually.until(WAIT, "stored", () -> sad.get(sa.spiI(), sa.spiR()) != null);
        return sa;
    }

    private static boolean isResponse(byte[] m) {
        return IkeHeader.peek(m).orElseThrow().isResponse();
    }

    /** Datagrams of {@code exchange} in {@code msgs} that are requests. */
    private static long requests(List<byte[]> msgs, String exchange) {
        return msgs.stream().filter(m -> TwoIkePeers.isRequest(m, exchange)).count();
    }

    @Test
    void survivorAnswersARetransmissionFromTheStoredResponseRekeysBothWaysAndDeletes() throws Exception {
        IkeSa sa = establish();
        IkeSa bobSa = TwoIkePeers.onlyIkeSa(peers.bob);
        ChildSa bobOld = peers.bobEvents.children.peek();

        // bob rekeys the child; alice answers (after storing her state) but the answer is lost, and alice dies
        AtomicBoolean lose = new AtomicBoolean(true);
        peers.dropToBob = m -> TwoIkePeers.isResponse(m, "CREATE_CHILD_SA") && lose.getAndSet(false);
        peers.bob.rekeyChild(bobSa, bobOld.inboundSpi());
        Eventually.until(WAIT, "alice's answer lost", () -> !lose.get());
        IkeSaSnapshot stored = sad.get(sa.spiI(), sa.spiR());
        assertThat(stored.children()).as("the new pair in the record, with the answer").hasSize(2);
        assertThat(stored.lastResponse()).isNotNull();
        assertThat(stored.requestInFlight()).isFalse();

        int fromBobBefore = peers.fromBob.size();
        IkeEngine survivor = survivor();
        CopyOnWriteArrayList<byte[]> fromSurvivor = new CopyOnWriteArrayList<>();
        peers.dropToBob = recordingInto(fromSurvivor);
        IkeSa adopted = survivor.adopt(stored, false, x -> { }).get(10, TimeUnit.SECONDS);
        assertThat(adopted.state()).isEqualTo(IkeSaState.ESTABLISHED);
        assertThat(adopted.localSpi()).isEqualTo(sa.localSpi());
        assertThat(adopted.establishedAtMillis()).as("listed as established when alice established it")
                .isPositive().isEqualTo(sa.establishedAtMillis());

        // bob retransmits his rekey: the stored answer completes it, and his Delete of the old pair is answered
        Eventually.until(WAIT, "bob's rekey done and the old pair gone on both sides",
                () -> peers.bobEvents.childrenDeleted.size() == 1 && adopted.children().size() == 1);
        assertThat(survivor.counters().retransmittedRequests()).isEqualTo(1);
        assertThat(survivor.counters().messageIdSyncCount()).as("nothing of ours was in flight").isZero();
        ChildSa current = adopted.children().getFirst();
        ChildSa bobCurrent = TwoIkePeers.onlyIkeSa(peers.bob).children().getFirst();
        assertThat(current.outboundSpi()).isEqualTo(bobCurrent.inboundSpi());
        assertThat(current.inboundSpi()).isEqualTo(bobCurrent.outboundSpi());

        // the survivor rekeys the child itself, then the IKE SA
        survivor.rekeyChild(adopted, current.inboundSpi());
        Eventually.until(WAIT, "the survivor's CHILD SA rekey", () -> peers.bobEvents.childrenDeleted.size() == 2);
        survivor.rekeyIke(adopted);
        Eventually.until(WAIT, "the survivor's IKE SA rekey", () -> adopted.state() == IkeSaState.DESTROYED
                && survivor.ikeSaCount() == 1 && peers.bob.ikeSaCount() == 1);
        IkeSa next = survivor.ikeSas().getFirst();
        assertThat(TwoIkePeers.onlyIkeSa(peers.bob).localSpi()).isIn(next.spiI(), next.spiR());
        assertThat(next.children()).hasSize(1);
        assertThat(sad.all()).as("the SAD holds the new IKE SA only").hasSize(1);
        assertThat(sad.all().getFirst().spiI()).isEqualTo(next.spiI());
        assertThat(sad.all().getFirst().children()).hasSize(1);

        // bob deletes it: the survivor answers (after storing that it is being deleted) and lets it go
        long retransmissions = peers.bob.counters().retransmissionCount();
        peers.bob.terminate(TwoIkePeers.onlyIkeSa(peers.bob));
        Eventually.until(WAIT, "deleted", () -> peers.bob.ikeSaCount() == 0 && survivor.ikeSaCount() == 0);
        assertThat(peers.bobEvents.destroyed).last().asString().contains("deleted by us");
        assertThat(peers.bob.counters().retransmissionCount()).as("answered at once").isEqualTo(retransmissions);
        assertThat(sad.all()).isEmpty();

        List<byte[]> bobSent = List.copyOf(peers.fromBob).subList(fromBobBefore, peers.fromBob.size());
        assertThat(requests(bobSent, "IKE_SA_INIT")).as("bob never started over").isZero();
        assertThat(requests(fromSurvivor, "IKE_SA_INIT")).isZero();
        assertThat(peers.bobEvents.failures).isEmpty();
        assertThat(peers.bobEvents.destroyed).allMatch(r -> r.contains("deleted by the peer")
                || r.contains("deleted by us") || r.contains("no Delete"));
        assertThat(peers.blocked).isEmpty();
    }

    @Test
    void survivorRekeysTheIkeSaWhenItsRekeyTimeFromAlicesEstablishmentComes() throws Exception {
        IkeLifetime threeSeconds = new IkeLifetime(Duration.ofSeconds(3), Duration.ofSeconds(3), Duration.ZERO);
        peers.reshape(c -> c.withLifetime(threeSeconds), c -> c);
        IkeSa sa = establish();
        IkeEngine survivor = survivor();
        IkeSa adopted = survivor.adopt(sad.get(sa.spiI(), sa.spiR()), false, x -> { }).get(10, TimeUnit.SECONDS);
        assertThat(adopted.rekeyAtMillis()).as("from when alice established it, not from the takeover")
                .isEqualTo(sa.establishedAtMillis() + 3_000);
        assertThat(adopted.expireAtMillis()).isEqualTo(sa.establishedAtMillis() + 6_000);

        Eventually.until(WAIT, "the survivor rekeyed the IKE SA by itself", () -> adopted.state() == IkeSaState.DESTROYED
                && survivor.ikeSaCount() == 1 && peers.bob.ikeSaCount() == 1);
        IkeSa next = survivor.ikeSas().getFirst();
        assertThat(next.spiI()).isNotEqualTo(sa.spiI());
        assertThat(TwoIkePeers.onlyIkeSa(peers.bob).localSpi()).isIn(next.spiI(), next.spiR());
        assertThat(next.children()).hasSize(1);
        assertThat(peers.bobEvents.childrenDeleted).isEmpty();
        assertThat(peers.bobEvents.failures).isEmpty();
    }

    @Test
    void survivorCarriesMobikeOnAsNegotiatedInIkeAuth() throws Exception {
        IkeSa sa = establish();
        assertThat(peers.alice.onSaThread(sa, IkeSa::mobike).get(5, TimeUnit.SECONDS)).as("alice negotiated it").isTrue();
        IkeEngine survivor = survivor();
        IkeSa adopted = survivor.adopt(sad.get(sa.spiI(), sa.spiR()), false, x -> { }).get(10, TimeUnit.SECONDS);
        // RFC 4555 §3.5: the peer still moves the IKE SA with UPDATE_SA_ADDRESSES only, so the survivor must know
        assertThat(survivor.onSaThread(adopted, IkeSa::mobike).get(5, TimeUnit.SECONDS)).as("the survivor's").isTrue();
    }

    @Test
    void survivorAnswersThePeersDeadPeerDetectionAndRunsItsOwn() throws Exception {
        peers.reshape(c -> TwoIkePeers.dpd(c, Duration.ofMillis(400)), c -> TwoIkePeers.dpd(c, Duration.ofMillis(300)));
        IkeSa sa = establish();
        IkeEngine survivor = survivor();
        IkeSa adopted = survivor.adopt(sad.get(sa.spiI(), sa.spiR()), false, x -> { }).get(10, TimeUnit.SECONDS);
        long bobExpected = TwoIkePeers.onlyIkeSa(peers.bob).tasks().expectedRequestId();
        long survivorExpected = adopted.tasks().expectedRequestId();
        Thread.sleep(2_000); // several DPD intervals of each side
        IkeSa bobSa = TwoIkePeers.onlyIkeSa(peers.bob);
        assertThat(bobSa.state()).isEqualTo(IkeSaState.ESTABLISHED);
        assertThat(adopted.isAlive()).isTrue();
        assertThat(adopted.tasks().expectedRequestId()).as("bob's DPD checks answered").isGreaterThan(survivorExpected);
        assertThat(bobSa.tasks().expectedRequestId()).as("the survivor's own DPD checks").isGreaterThanOrEqualTo(bobExpected);
        assertThat(peers.bob.counters().retransmissionCount()).isZero();
        assertThat(peers.bobEvents.failures).isEmpty();
    }

    @Test
    void aRequestInFlightAtTheKillIsFollowedByAMessageIdSyncBeforeAnythingElse() throws Exception {
        IkeSa sa = establish();
        ChildSa old = peers.aliceEvents.children.peek();

        // alice's rekey reaches bob, who makes the new pair; his answer is lost, and alice dies with it in flight
        peers.dropToAlice = m -> TwoIkePeers.isResponse(m, "CREATE_CHILD_SA");
        peers.alice.rekeyChild(sa, old.inboundSpi());
        Eventually.until(WAIT, "bob made the new pair", () -> peers.bobEvents.children.size() == 2);
        IkeSaSnapshot stored = sad.get(sa.spiI(), sa.spiR());
        assertThat(stored.requestInFlight()).as("stored before the request left").isTrue();
        long inFlight = stored.nextRequestId();
        // bob reports the pair before his answer's bookkeeping moves his expected ID on (his own thread)
        Eventually.until(WAIT, "bob expects the request after the rekey",
                () -> TwoIkePeers.onlyIkeSa(peers.bob).tasks().expectedRequestId() == inFlight + 1);

        IkeEngine survivor = survivor();
        CopyOnWriteArrayList<byte[]> fromSurvivor = new CopyOnWriteArrayList<>();
        peers.dropToBob = recordingInto(fromSurvivor);
        peers.dropToAlice = m -> false;
        IkeSa adopted = survivor.adopt(stored, false, x -> { }).get(10, TimeUnit.SECONDS);
        Eventually.until(WAIT, "message IDs synchronized", () -> survivor.counters().messageIdSyncCount() == 1
                && peers.bob.counters().messageIdSyncsAnsweredCount() == 1);
        Eventually.until(WAIT, "a request after the sync", () -> fromSurvivor.stream().filter(m -> !isResponse(m)).count() >= 2);
        List<IkeHeader> requests = fromSurvivor.stream().map(m -> IkeHeader.peek(m).orElseThrow())
                .filter(h -> !h.isResponse()).toList();
        assertThat(requests.getFirst().exchange()).as("the sync goes first").isEqualTo(ExchangeType.INFORMATIONAL);
        assertThat(requests.getFirst().messageId()).isZero();
        assertThat(requests.get(1).messageId()).as("M2: one above the request in flight").isEqualTo(inFlight + 1);

        // then what the lost rekey may have made goes (bob's new pair, and the old one it only waits to see
        // deleted), and a fresh pair replaces them: one pair on each side again, the same one
        ChildSa bobOrphan = peers.bobEvents.children.stream().filter(c -> c.outboundSpi() == stored.inFlightNewChild())
                .findFirst().orElseThrow();
        Eventually.until(WAIT, "the lost rekey undone and a fresh pair made", () -> adopted.children().size() == 1
                && adopted.children().getFirst().inboundSpi() != old.inboundSpi()
                && TwoIkePeers.onlyIkeSa(peers.bob).children().size() == 1);
        assertThat(peers.bobEvents.childrenDeleted).anyMatch(c -> c.inboundSpi() == old.outboundSpi())
                .anyMatch(c -> c == bobOrphan);
        ChildSa fresh = adopted.children().getFirst();
        ChildSa bobFresh = TwoIkePeers.onlyIkeSa(peers.bob).children().getFirst();
        assertThat(fresh.outboundSpi()).isEqualTo(bobFresh.inboundSpi());
        assertThat(fresh.inboundSpi()).isEqualTo(bobFresh.outboundSpi());
        // and the survivor's requests are answered as usual: it rekeys the fresh pair, then deletes the IKE SA
        survivor.rekeyChild(adopted, fresh.inboundSpi());
        Eventually.until(WAIT, "fresh pair rekeyed", () -> peers.bobEvents.childrenDeleted.stream()
                .anyMatch(c -> c == bobFresh));
        survivor.terminate(adopted);
        Eventually.until(WAIT, "deleted", () -> peers.bob.ikeSaCount() == 0 && survivor.ikeSaCount() == 0);
        assertThat(sad.all()).isEmpty();
        assertThat(requests(fromSurvivor, "IKE_SA_INIT")).isZero();
        assertThat(peers.bobEvents.failures).isEmpty();
        assertThat(peers.blocked).isEmpty();
    }

    @Test
    void withoutARequestInFlightTheSurvivorDoesNotSynchronize() throws Exception {
        IkeSa sa = establish();
        ChildSa old = peers.aliceEvents.children.peek();
        IkeSaSnapshot stored = sad.get(sa.spiI(), sa.spiR());
        assertThat(stored.requestInFlight()).isFalse();

        IkeEngine survivor = survivor();
        CopyOnWriteArrayList<byte[]> fromSurvivor = new CopyOnWriteArrayList<>();
        peers.dropToBob = recordingInto(fromSurvivor);
        IkeSa adopted = survivor.adopt(stored, false, x -> { }).get(10, TimeUnit.SECONDS);
        survivor.rekeyChild(adopted, old.inboundSpi());
        Eventually.until(WAIT, "rekeyed", () -> peers.bobEvents.childrenDeleted.size() == 1);
        assertThat(survivor.counters().messageIdSyncCount()).isZero();
        assertThat(peers.bob.counters().messageIdSyncsAnsweredCount()).isZero();
        assertThat(fromSurvivor).noneMatch(m -> IkeHeader.peek(m).orElseThrow().messageId() == 0);
        assertThat(peers.bobEvents.failures).isEmpty();
    }

    @Test
    void aResponseLeavesOnlyOnceTheStateIsStoredAndSoDoesOurNextRequest() throws Exception {
        IkeSa sa = establish();
        CopyOnWriteArrayList<byte[]> fromAlice = new CopyOnWriteArrayList<>();
        peers.dropToBob = recordingInto(fromAlice);

        // bob's rekey: alice's answer waits for her store, retransmissions meanwhile are held back
        CompletableFuture<Void> slow = new CompletableFuture<>();
        sad.gate = slow;
        peers.bob.rekeyChild(TwoIkePeers.onlyIkeSa(peers.bob), peers.bobEvents.children.peek().inboundSpi());
        Eventually.until(WAIT, "alice stored the new pair", () -> sad.get(sa.spiI(), sa.spiR()).children().size() == 2);
        Thread.sleep(600); // bob retransmits at 200 and 500 ms
        assertThat(fromAlice).noneMatch(m -> TwoIkePeers.isResponse(m, "CREATE_CHILD_SA"));
        assertThat(peers.alice.counters().droppedCount(IkeDrop.RESPONSE_PENDING)).isPositive();
        sad.gate = null;
        slow.complete(null);
        Eventually.until(WAIT, "bob's rekey done", () -> peers.bobEvents.childrenDeleted.size() == 1);

        // alice's own request: it leaves once the SAD knows it may be out
        CompletableFuture<Void> slow2 = new CompletableFuture<>();
        sad.gate = slow2;
        int writes = sad.writes.size();
        fromAlice.clear();
        peers.alice.rekeyChild(sa, sa.children().getFirst().inboundSpi());
        Eventually.until(WAIT, "stored as in flight", () -> sad.writes.size() > writes
                && sad.writes.getLast().requestInFlight());
        Thread.sleep(300);
        assertThat(requests(fromAlice, "CREATE_CHILD_SA")).isZero();
        sad.gate = null;
        slow2.complete(null);
        Eventually.until(WAIT, "alice's rekey done", () -> peers.bobEvents.childrenDeleted.size() == 2);
        assertThat(requests(fromAlice, "CREATE_CHILD_SA")).isEqualTo(1);
        assertThat(peers.aliceEvents.failures).isEmpty();
        assertThat(peers.bobEvents.failures).isEmpty();
    }

    @Test
    void aMessageIdSyncBelowWhatThePeerHasSeenIsDroppedSilently() throws Exception {
        IkeSa sa = establish();
        IkeSa bobSa = TwoIkePeers.onlyIkeSa(peers.bob);
        long expected = bobSa.tasks().expectedRequestId();
        assertThat(expected).isPositive();
        CopyOnWriteArrayList<byte[]> toAlice = new CopyOnWriteArrayList<>();
        peers.dropToAlice = recordingInto(toAlice);
        // RFC 6311 §5.1: M1 must be above every request ID bob has seen from alice's side
        byte[] stale = sa.encode(new OutboundMessage(ExchangeType.INFORMATIONAL, false).add(
                new dev.keel.ike.message.MessageIdSync(new byte[4], expected - 1, 0).toNotify()), 0);
        peers.vertx.runOnContext(v -> peers.bob.onMessage(500, TwoIkePeers.ALICE, stale, 0, stale.length));
        Eventually.until(WAIT, "dropped", () -> peers.bob.counters().droppedCount(IkeDrop.STALE_MESSAGE_ID_SYNC) == 1);
        byte[] fine = sa.encode(new OutboundMessage(ExchangeType.INFORMATIONAL, false).add(
                new dev.keel.ike.message.MessageIdSync(new byte[4], expected, 0).toNotify()), 0);
        peers.vertx.runOnContext(v -> peers.bob.onMessage(500, TwoIkePeers.ALICE, fine, 0, fine.length));
        Eventually.until(WAIT, "answered", () -> peers.bob.counters().messageIdSyncsAnsweredCount() == 1);
        // the count goes up before the answer has crossed the transport (CI saw it empty once)
        Eventually.until(WAIT, "the answer at alice", () -> !toAlice.isEmpty());
        assertThat(toAlice).as("one answer, to the second").hasSize(1);
        assertThat(bobSa.tasks().expectedRequestId()).isEqualTo(expected);
        assertThat(bobSa.isAlive()).isTrue();
    }
}
