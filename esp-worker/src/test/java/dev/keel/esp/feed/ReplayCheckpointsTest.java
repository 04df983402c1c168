package dev.keel.esp.feed;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.esp.sa.ReplayWindow;
import dev.keel.proto.v1.CheckpointReplayRequest;
import dev.keel.proto.v1.CheckpointReplayResponse;
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
 * owner. And, with calls answered, a steady flow is not held back by it.
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
    private record Call(CheckpointReplayRequest req, StreamObserver<CheckpointReplayResponse> out) {}

    private final List<Call> calls = new ArrayList<>();
    private Map.Entry<String, byte[]> stored;
    private Server server;
    private ManagedChannel channel;
    private ReplayCheckpoints checkpoints;

    @BeforeEach
    void start() throws Exception {
        String name = InProcessServerBuilder.generateName();
        server = InProcessServerBuilder.forName(name).directExecutor().addService(new SaServiceGrpc.SaServiceImplBase() {
            @Override
            public void checkpointReplay(CheckpointReplayRequest req, StreamObserver<CheckpointReplayResponse> out) {
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
        return ChildSaRecord.newBuilder().setId("sa").setDirection(Direction.DIRECTION_INBOUND)
                .setState(ChildSaState.CHILD_SA_STATE_ACTIVE).setOwnerNodeId("w1").setOwnerMember("u1")
                .setReplayCheckpoint(checkpoint).setReplayFloor(checkpoint).setReplayMargin(margin).build();
    }

    private long storedLimit() {
        ChildSaRecord r = Records.parseChild(stored.getValue());
        return Records.replayLimit(r.getReplayCheckpoint(), r.getReplayMargin());
    }

    private OpResult apply(Call c) {
        return new CheckpointProcessor("w1", c.req().getRightEdge(), c.req().getMargin()).process(stored);
    }

    private static void answer(Call c, OpResult r) {
        c.out().onNext(CheckpointReplayResponse.newBuilder().setCheckpoint(r.a()).setMargin(r.b()).build());
        c.out().onCompleted();
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
                        t.evaluate(now, tick);
                    }
                    default -> { // sad-service: some call, in any order, meets some fate
                        if (calls.isEmpty()) {
                            break;
                        }
                        Call c = calls.remove(rnd.nextInt(calls.size()));
                        switch (rnd.nextInt(5)) {
                            case 0, 1 -> answer(c, apply(c));
                            case 2 -> { // applied, but the answer is lost
                                apply(c);
                                c.out().onError(Status.DEADLINE_EXCEEDED.asRuntimeException());
                            }
                            case 3 -> c.out().onError(Status.UNAVAILABLE.asRuntimeException());
                            default -> { // failed for the caller, applied later (put back, applied by its next fate)
                                c.out().onError(Status.DEADLINE_EXCEEDED.asRuntimeException());
                                calls.add(new Call(c.req(), new StreamObserver<>() {
                                    @Override
                                    public void onNext(CheckpointReplayResponse v) {
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
                apply(c);
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
                t.evaluate(now, tick);
                // sad-service answers within the millisecond.
                while (!calls.isEmpty()) {
                    Call c = calls.removeFirst();
                    answer(c, apply(c));
                    t.evaluate(now, false); // the answer wakes the thread
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
        t.evaluate(now, false);
        assertThat(calls).hasSize(1);
        assertThat(calls.getFirst().req().getRightEdge()).as("a larger margin goes one above the edge").isEqualTo(1);
        assertThat(calls.getFirst().req().getMargin()).isGreaterThanOrEqualTo(60_000);
        answer(calls.getFirst(), apply(calls.removeFirst()));
        t.evaluate(now, false);
        assertThat(w.acceptLimit()).isEqualTo(storedLimit()).isGreaterThanOrEqualTo(60_001);
        for (long seq = 1; seq <= 50_000; seq++) {
            assertThat(w.accept(seq)).isTrue();
        }
        t.detach();

        ChildSaRecord fresh = record(0, 64);
        stored = new SimpleEntry<>("sa", Records.sealed(MAC, "sa", fresh));
        ReplayCheckpoints.Tracker f = checkpoints.attach("sa", new ReplayWindow(1024), fresh, 0);
        f.evaluate(now, false);
        assertThat(calls).as("a fresh SA: the initial margin is its margin").isEmpty();
        f.detach();
    }
}
