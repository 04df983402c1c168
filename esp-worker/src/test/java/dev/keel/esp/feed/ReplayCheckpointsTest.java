package dev.keel.esp.feed;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.esp.sa.ReplayWindow;
import dev.keel.proto.v1.CheckpointReplayRequest;
import dev.keel.proto.v1.CheckpointReplayResult;
import dev.keel.proto.v1.CheckpointReplaysRequest;
import dev.keel.proto.v1.CheckpointReplaysResponse;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.ChildSaState;
import dev.keel.proto.v1.Direction;
import dev.keel.proto.v1.SaServiceGrpc;
import dev.keel.sad.keys.KeyEncryptionKey;
import dev.keel.sad.keys.RecordMac;
import dev.keel.sad.store.CheckpointProcessor;
import dev.keel.sad.store.OpResult;
import dev.keel.sad.store.Records;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.util.AbstractMap.SimpleEntry;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The safety invariant of docs/ha.md, "Inbound replay floor after a takeover", on the real
 * tracker and sad-service's real {@link CheckpointProcessor}, with the calls in between delayed,
 * reordered, lost and failed at random: at every moment, every sequence number the window
 * accepted is at most the stored checkpoint + margin, the floor a takeover would give the next
 * owner. And, with calls answered, a steady flow is not held back by it. The checkpoints of one
 * round go as one batch, one at a time, each item answered on its own.
 */
class ReplayCheckpointsTest {

    private static final long TICK = CheckpointRule.defaults().interval().toNanos();
    /** The record tag key of a test KEK: the processor refuses records sad-service did not tag. */
    private static final RecordMac MAC;

    static {
        byte[] k = new byte[KeyEncryptionKey.LENGTH];
        new java.security.SecureRandom().nextBytes(k);
        MAC = RecordMac.open(KeyEncryptionKey.of(k));
    }

    /** sad-service's side: each call waits here until the test applies, answers or fails it. */
    private record Call(CheckpointReplaysRequest req, StreamObserver<CheckpointReplaysResponse> out) {
        CheckpointReplayRequest item() {
            assertThat(req.getItemsCount()).as("one SA: one item per batch").isEqualTo(1);
            return req.getItems(0);
        }
    }

    private final List<Call> calls = new ArrayList<>();
    /** The record of SA "sa" as sad-service stores it. */
    private Map.Entry<String, byte[]> stored;
    /** The records of other SAs, by id. */
    private final Map<String, Map.Entry<String, byte[]>> others = new HashMap<>();
    private Server server;
    private ManagedChannel channel;
    private ReplayCheckpoints checkpoints;

    @BeforeEach
    void start() throws Exception {
        String name = InProcessServerBuilder.generateName();
        server = InProcessServerBuilder.forName(name).directExecutor().addService(new SaServiceGrpc.SaServiceImplBase() {
            @Override
            public void checkpointReplays(CheckpointReplaysRequest req, StreamObserver<CheckpointReplaysResponse> out) {
                calls.add(new Call(req, out));
            }
        }).build().start();
        channel = InProcessChannelBuilder.forName(name).directExecutor().build();
        // Not started: the test drives the tracker itself, on one thread, with its own clock.
        checkpoints = new ReplayCheckpoints(channel, "w1", CheckpointRule.defaults());
    }

    @AfterEach
    void stop() throws Exception {
        channel.shutdownNow();
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    private static ChildSaRecord record(long checkpoint, long margin) {
        return record("sa", checkpoint, margin);
    }

    private static ChildSaRecord record(String id, long checkpoint, long margin) {
        return ChildSaRecord.newBuilder().setId(id).setDirection(Direction.DIRECTION_INBOUND)
                .setState(ChildSaState.CHILD_SA_STATE_ACTIVE).setOwnerNodeId("w1").setOwnerMember("u1")
                .setReplayCheckpoint(checkpoint).setReplayFloor(checkpoint).setReplayMargin(margin).build();
    }

    private long storedLimit() {
        return limitOf(stored);
    }

    private static long limitOf(Map.Entry<String, byte[]> e) {
        ChildSaRecord r = Records.parseChild(e.getValue());
        return Records.replayLimit(r.getReplayCheckpoint(), r.getReplayMargin());
    }

    private OpResult apply(CheckpointReplayRequest item) {
        return new CheckpointProcessor("w1", item.getRightEdge(), item.getMargin())
                .process(item.getSaId().equals("sa") ? stored : others.get(item.getSaId()));
    }

    /** Applies every item of {@code c} and answers them all. */
    private void answer(Call c) {
        CheckpointReplaysResponse.Builder b = CheckpointReplaysResponse.newBuilder();
        for (CheckpointReplayRequest item : c.req().getItemsList()) {
            b.addResults(result(apply(item)));
        }
        c.out().onNext(b.build());
        c.out().onCompleted();
    }

    private static CheckpointReplayResult result(OpResult r) {
        return r.refusal() != null
                ? CheckpointReplayResult.newBuilder().setCode(Status.Code.valueOf(r.refusal().name()).value())
                        .setMessage(r.message()).build()
                : CheckpointReplayResult.newBuilder().setCheckpoint(r.a()).setMargin(r.b()).build();
    }

    private static CheckpointReplayResult refused(Status.Code code) {
        return CheckpointReplayResult.newBuilder().setCode(code.value()).setMessage("items[0]: refused").build();
    }

    @Test
    void nothingAcceptedIsEverAboveTheStoredCheckpointPlusMarginWhateverHappensToTheCalls() {
        SplittableRandom rnd = new SplittableRandom(4303);
        long acceptedInAll = 0;
        for (int round = 0; round < 200; round++) {
            calls.clear();
            boolean taken = rnd.nextBoolean(); // installed fresh, or after a takeover (ESN-sized numbers)
            long start = taken ? (rnd.nextBoolean() ? (1L << 32) + rnd.nextInt(1 << 20) : -1L - (1L << 40)) : 0;
            ChildSaRecord r = record(start, taken ? 1 + rnd.nextInt(1 << 16) : 262_144);
            stored = new SimpleEntry<>("sa", Records.sealed(MAC, "sa", r));
            ReplayWindow w = new ReplayWindow(1024, r.getReplayFloor());
            long now = System.nanoTime();
            ReplayCheckpoints.Tracker t = checkpoints.attach("sa", w, r, rnd.nextInt(3) == 0 ? 0 : rnd.nextInt(5_000));
            long peer = w.top() + 1;
            long accepted = 0;
            long nextTick = now + TICK;
            for (int step = 0; step < 300; step++) {
                switch (rnd.nextInt(6)) {
                    case 0, 1 -> { // the peer sends a run of packets, with gaps and reordering
                        for (int k = rnd.nextInt(1, 400); k > 0; k--) {
                            long seq = rnd.nextInt(20) == 0 ? peer - rnd.nextInt(1, 1_000) : peer++;
                            if (rnd.nextInt(50) == 0) {
                                peer += rnd.nextInt(1, 500);
                            }
                            if (w.check(seq) && w.accept(seq)) {
                                accepted++;
                                assertThat(Long.compareUnsigned(seq, storedLimit())).as("round %d step %d: %s above %s",
                                        round, step, Long.toUnsignedString(seq), Long.toUnsignedString(storedLimit()))
                                        .isLessThanOrEqualTo(0);
                            }
                        }
                    }
                    case 2 -> { // time passes; the thread wakes (by the signal or the tick)
                        now += rnd.nextLong(TICK * 2);
                        boolean tick = now - nextTick >= 0;
                        if (tick) {
                            nextTick = now + TICK;
                        }
                        checkpoints.round(now, tick);
                    }
                    default -> { // sad-service: some call, in any order, meets some fate
                        if (calls.isEmpty()) {
                            break;
                        }
                        Call c = calls.remove(rnd.nextInt(calls.size()));
                        switch (rnd.nextInt(6)) {
                            case 0, 1 -> answer(c);
                            case 2 -> { // applied, but the answer is lost
                                apply(c.item());
                                c.out().onError(Status.DEADLINE_EXCEEDED.asRuntimeException());
                            }
                            case 3 -> c.out().onError(Status.UNAVAILABLE.asRuntimeException());
                            case 4 -> { // the call answered, its item refused (not applied)
                                c.out().onNext(CheckpointReplaysResponse.newBuilder()
                                        .addResults(refused(Status.Code.UNAVAILABLE)).build());
                                c.out().onCompleted();
                            }
                            default -> { // failed for the caller, applied later (put back, applied by its next fate)
                                c.out().onError(Status.DEADLINE_EXCEEDED.asRuntimeException());
                                calls.add(new Call(c.req(), new StreamObserver<>() {
                                    @Override
                                    public void onNext(CheckpointReplaysResponse v) {
                                    }

                                    @Override
                                    public void onError(Throwable e) {
                                    }

                                    @Override
                                    public void onCompleted() {
                                    }
                                }));
                            }
                        }
                    }
                }
                assertThat(Long.compareUnsigned(w.top(), storedLimit())).as("round %d step %d", round, step)
                        .isLessThanOrEqualTo(0);
                ChildSaRecord s = Records.parseChild(stored.getValue());
                assertThat(s.getReplayMargin()).isBetween(1L, 262_144L);
            }
            // Whatever is still in flight may yet be applied: the bound holds then too.
            for (Call c : calls) {
                apply(c.item());
                assertThat(Long.compareUnsigned(w.top(), storedLimit())).isLessThanOrEqualTo(0);
            }
            t.detach();
            acceptedInAll += accepted;
        }
        assertThat(acceptedInAll).as("the test accepted traffic at all").isGreaterThan(20_000);
    }

    @Test
    void aSteadyFlowWithPromptAnswersIsNeverHeldBackAndItsMarginIsSixTenthsOfASecond() {
        for (long pps : new long[] {100, 10_000, 100_000}) {
            calls.clear();
            ChildSaRecord r = record(0, 262_144);
            stored = new SimpleEntry<>("sa", Records.sealed(MAC, "sa", r));
            ReplayWindow w = new ReplayWindow(1024);
            long now = System.nanoTime();
            ReplayCheckpoints.Tracker t = checkpoints.attach("sa", w, r, 0);
            long seq = 1;
            long held = 0;
            long step = 1_000_000; // 1 ms
            long nextTick = now + TICK;
            for (int ms = 0; ms < 10_000; ms++) {
                // pps / 1000 packets this millisecond (100 pps: one every 10 ms).
                long n = pps >= 1_000 ? pps / 1_000 : (ms % (1_000 / pps) == 0 ? 1 : 0);
                for (long k = 0; k < n; k++, seq++) {
                    if (!w.accept(seq)) {
                        held++;
                    }
                }
                now += step;
                boolean tick = now - nextTick >= 0;
                if (tick) {
                    nextTick = now + TICK;
                }
                checkpoints.round(now, tick);
                // sad-service answers within the millisecond.
                while (!calls.isEmpty()) {
                    answer(calls.removeFirst());
                    checkpoints.round(now, false); // the answer wakes the thread
                }
            }
            ChildSaRecord s = Records.parseChild(stored.getValue());
            // The first packets of a new SA without a predecessor wait for the margin to grow (one
            // number, then doubling per answer); after that nothing is held back.
            assertThat(held).as("%d pps: packets held back", pps).isLessThanOrEqualTo(pps / 1_000 * 16);
            assertThat((double) s.getReplayMargin() / pps).as("%d pps: margin in seconds of traffic", pps)
                    .isBetween(0.3, 0.61);
            t.detach();
        }
    }

    /**
     * A rekey's successor is installed with sad-service's small initial margin (64): before its
     * first packet it asks for the margin of the SA it replaces (one number above the edge, rule
     * 3 of docs/ha.md), so the flow the peer moves onto it is not held back at 64 packets; and a
     * fresh SA with no predecessor keeps the 64 it was installed with (no call).
     */
    @Test
    void aRekeysSuccessorAsksForItsPredecessorsMarginBeforeItsFirstPacket() {
        ChildSaRecord r = record(0, 64);
        stored = new SimpleEntry<>("sa", Records.sealed(MAC, "sa", r));
        ReplayWindow w = new ReplayWindow(1024);
        long now = System.nanoTime();
        ReplayCheckpoints.Tracker t = checkpoints.attach("sa", w, r, 60_000);
        assertThat(w.acceptLimit()).as("the record's limit until an answer").isEqualTo(64);
        checkpoints.round(now, false);
        assertThat(calls).hasSize(1);
        assertThat(calls.getFirst().item().getRightEdge()).as("a larger margin goes one above the edge").isEqualTo(1);
        assertThat(calls.getFirst().item().getMargin()).isGreaterThanOrEqualTo(60_000);
        answer(calls.removeFirst());
        checkpoints.round(now, false);
        assertThat(w.acceptLimit()).isEqualTo(storedLimit()).isGreaterThanOrEqualTo(60_001);
        for (long seq = 1; seq <= 50_000; seq++) {
            assertThat(w.accept(seq)).isTrue();
        }
        t.detach();

        ChildSaRecord fresh = record(0, 64);
        stored = new SimpleEntry<>("sa", Records.sealed(MAC, "sa", fresh));
        ReplayCheckpoints.Tracker f = checkpoints.attach("sa", new ReplayWindow(1024), fresh, 0);
        checkpoints.round(now, false);
        assertThat(calls).as("a fresh SA: the initial margin is its margin").isEmpty();
        f.detach();
    }

    /** Installs SA {@code id} as sad-service holds it (a fresh SA, margin 64) and attaches it. */
    private ReplayWindow attachFresh(String id) {
        ChildSaRecord r = record(id, 0, 64);
        others.put(id, new SimpleEntry<>(id, Records.sealed(MAC, id, r)));
        ReplayWindow w = new ReplayWindow(1024);
        checkpoints.attach(id, w, r, 0);
        return w;
    }

    private static void receive(ReplayWindow w, long from, long to) {
        for (long seq = from; seq <= to; seq++) {
            if (w.check(seq)) {
                w.accept(seq);
            }
        }
    }

    /**
     * The checkpoints due in one round go as one call, one item per SA; an SA whose checkpoint is
     * out is not asked again until it is answered, however far it moves meanwhile (then it goes
     * once, with its edge at that time), while another SA's checkpoint goes in a call of its own
     * without waiting for the first: an SA waits for its own answer only.
     */
    @Test
    void oneRoundIsOneCallAndAnSaOutIsAskedAgainOnlyAfterItsAnswer() {
        ReplayWindow x = attachFresh("x");
        ReplayWindow y = attachFresh("y");
        ReplayWindow z = attachFresh("z");
        ReplayWindow v = attachFresh("v");
        long now = System.nanoTime();
        checkpoints.round(now, false);
        assertThat(calls).as("fresh SAs, no traffic: nothing due").isEmpty();
        for (ReplayWindow w : List.of(x, y, z)) {
            receive(w, 1, 40); // past half the margin of 64: each window signals
        }
        checkpoints.round(now, false);
        assertThat(calls).hasSize(1);
        assertThat(calls.getFirst().req().getItemsList()).extracting(CheckpointReplayRequest::getSaId)
                .containsExactlyInAnyOrder("x", "y", "z");
        assertThat(calls.getFirst().req().getItemsList()).allSatisfy(i -> assertThat(i.getRightEdge()).isEqualTo(40));

        // While it is out: x takes what its limit allows and is refused beyond it (signals), y moves
        // on, and v, not in the call, signals.
        receive(x, 41, 64);
        receive(x, 65, 90);
        receive(y, 41, 60);
        receive(v, 1, 40);
        checkpoints.round(now + 1, false);
        checkpoints.round(now + TICK, true);
        assertThat(calls).as("v's call goes while the first is out").hasSize(2);
        assertThat(calls.get(1).req().getItemsList()).extracting(CheckpointReplayRequest::getSaId)
                .as("nothing of an SA out").containsExactly("v");
        answer(calls.remove(1));

        answer(calls.removeFirst());
        assertThat(x.acceptLimit()).isEqualTo(limitOf(others.get("x"))).isGreaterThan(64);
        // Answered, x and y go at the next tick (their edges moved less than the new margins' signal distance).
        checkpoints.round(now + 2 * TICK, true);
        assertThat(calls).hasSize(1);
        List<CheckpointReplayRequest> next = calls.getFirst().req().getItemsList();
        assertThat(next).extracting(CheckpointReplayRequest::getSaId).as("one item per SA").doesNotHaveDuplicates()
                .contains("x", "y").doesNotContain("v");
        CheckpointReplayRequest xi = next.stream().filter(i -> i.getSaId().equals("x")).findFirst().orElseThrow();
        assertThat(xi.getRightEdge()).as("x at its edge now, the highest it accepted").isEqualTo(64);
        CheckpointReplayRequest yi = next.stream().filter(i -> i.getSaId().equals("y")).findFirst().orElseThrow();
        assertThat(yi.getRightEdge()).isEqualTo(60);
        answer(calls.removeFirst());
        assertThat(checkpoints.sent()).isEqualTo(checkpoints.recorded());
    }

    /**
     * sad-service answers each item on its own: an item refused (its SA deleted, or moved to
     * another node, meanwhile) leaves that SA's limit where it was and is asked again at the next
     * tick; the other items of the same call are recorded and raise their limits.
     */
    @Test
    void aRefusedItemFailsOnlyItsOwnSa() {
        ReplayWindow p = attachFresh("p");
        ReplayWindow q = attachFresh("q");
        receive(p, 1, 40);
        receive(q, 1, 40);
        long now = System.nanoTime();
        checkpoints.round(now, false);
        Call c = calls.removeFirst();
        assertThat(c.req().getItemsList()).extracting(CheckpointReplayRequest::getSaId).containsExactlyInAnyOrder("p", "q");
        CheckpointReplaysResponse.Builder b = CheckpointReplaysResponse.newBuilder();
        for (CheckpointReplayRequest item : c.req().getItemsList()) {
            b.addResults(item.getSaId().equals("p") ? result(apply(item)) : refused(Status.Code.FAILED_PRECONDITION));
        }
        c.out().onNext(b.build());
        c.out().onCompleted();

        assertThat(p.acceptLimit()).isEqualTo(limitOf(others.get("p"))).isGreaterThan(64);
        assertThat(q.acceptLimit()).as("q: no answer, no higher limit").isEqualTo(64);
        assertThat(limitOf(others.get("q"))).isEqualTo(64);
        assertThat(checkpoints.recorded()).isEqualTo(1);
        assertThat(checkpoints.failed()).isEqualTo(1);

        checkpoints.round(now + 1, false);
        assertThat(calls.stream().flatMap(k -> k.req().getItemsList().stream()).map(CheckpointReplayRequest::getSaId))
                .as("q waits for the tick").doesNotContain("q");
        calls.forEach(this::answer);
        calls.clear();
        checkpoints.round(now + TICK, true);
        assertThat(calls).hasSize(1);
        assertThat(calls.getFirst().req().getItemsList()).extracting(CheckpointReplayRequest::getSaId).contains("q");
        answer(calls.removeFirst());
        assertThat(q.acceptLimit()).isEqualTo(limitOf(others.get("q"))).isGreaterThan(64);
    }
}
