package dev.keel.esp.feed;

import dev.keel.esp.sa.ReplayWindow;
import dev.keel.proto.v1.CheckpointReplayRequest;
import dev.keel.proto.v1.CheckpointReplayResult;
import dev.keel.proto.v1.CheckpointReplaysRequest;
import dev.keel.proto.v1.CheckpointReplaysResponse;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.SaServiceGrpc;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Inbound replay checkpoints (docs/ha.md, "Inbound replay floor after a takeover"). Each inbound
 * SA's window accepts nothing above the checkpoint + margin sad-service has recorded for it, so a
 * node that takes the SA over and starts above that sum never accepts a packet this node accepted,
 * whatever the traffic rate. This class keeps the recorded bound ahead of the traffic, by the
 * {@link CheckpointRule}.
 *
 * <p>The bound the window enforces is the lowest of the pair last confirmed by sad-service and
 * every pair asked for since: a pair is applied asynchronously, and a call whose answer was lost
 * may still be applied later. sad-service stores pairs only in the order one SA's checkpoints are
 * sent in (higher checkpoint, or the same with a smaller margin), so once a pair is confirmed no
 * earlier one can replace it; one pair per SA is in flight at a time.
 *
 * <p>Batches: the checkpoints due in one round of the thread go as one CheckpointReplays call.
 * Rounds are at least {@link #ROUND_GAP_MILLIS} apart, so the signals of many SAs share a call, and
 * a round does not wait for the calls before it (up to {@link #MAX_CALLS_OUT} out at once, then
 * the next waits for one to end): an SA waits for its own call's answer, not for another batch's
 * slowest item. An SA whose checkpoint is out is not asked again until it is answered; one that
 * signals meanwhile goes in the round after its answer, with its edge then. So the calls per
 * second are bounded by the gap, not by the SAs (one call per SA cost a gRPC call each: 2,500–4,000
 * a second for 1,000 tunnels, answered late after a takeover; docs/ha.md), and a slow sad-service
 * makes the batches bigger, not more. sad-service answers each item on its own: a refused item
 * (the SA deleted, or moved to another node) fails only its tracker.
 *
 * <p>Threads: one platform thread of its own sends the calls, parked between ticks of the rule's
 * interval. A window wakes it from an event loop when its right edge passes half the margin,
 * without blocking or allocating: the SA's tracker pushes itself on an intrusive stack and
 * unparks the thread. Answers arrive on gRPC's threads, update the trackers and wake the thread.
 */
public final class ReplayCheckpoints implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ReplayCheckpoints.class);
    private static final long CALL_DEADLINE_SECONDS = 10;
    /** Most checkpoints in one CheckpointReplays call (sad-service takes up to 4,096). */
    static final int MAX_BATCH = 4096;
    /** Least time between two rounds: the signals that arrive within it share a call. */
    static final long ROUND_GAP_MILLIS = 10;
    /** Most CheckpointReplays calls out at once; beyond it, rounds wait and their batches grow. */
    static final int MAX_CALLS_OUT = 8;
    /** Buckets of {@link #roundTrips}: under 1 ms, then powers of two up to 4,096 ms and over. */
    public static final int ROUND_TRIP_BUCKETS = 14;

    private final SaServiceGrpc.SaServiceStub stub;
    private final String nodeId;
    private final CheckpointRule rule;
    private final Set<Tracker> trackers = ConcurrentHashMap.newKeySet();
    /** Trackers whose window signalled or whose call was answered: an intrusive stack (Tracker.next). */
    private final AtomicReference<Tracker> woken = new AtomicReference<>();
    private final LongAdder sent = new LongAdder();
    private final LongAdder batches = new LongAdder();
    private final LongAdder recorded = new LongAdder();
    private final LongAdder failed = new LongAdder();
    /** Answered checkpoints by round trip (asked → answer): see {@link #roundTrips}. */
    private final AtomicLongArray roundTrips = new AtomicLongArray(ROUND_TRIP_BUCKETS);
    private volatile Thread thread;
    private volatile boolean closed;
    /** CheckpointReplays calls sent and not ended. */
    private final AtomicInteger callsOut = new AtomicInteger();

    public ReplayCheckpoints(Channel saService, String nodeId, CheckpointRule rule) {
        this.stub = SaServiceGrpc.newStub(saService);
        this.nodeId = nodeId;
        this.rule = rule;
    }

    public CheckpointRule rule() {
        return rule;
    }

    /** Starts the checkpoint thread. */
    public synchronized void start() {
        if (thread == null && !closed) {
            thread = Thread.ofPlatform().daemon().name("keel-replay-checkpoints").start(this::run);
        }
    }

    /**
     * Starts checkpointing an inbound SA installed from {@code r}: sets its window's accept limit to
     * the recorded checkpoint + margin before any packet can reach it, and asks for a first
     * evaluation. A new SA (checkpoint 0) is installed with sad-service's generous initial margin,
     * which the first evaluation lowers at once to {@code predecessorMargin} (the margin of the
     * SA it replaces in a rekey, carrying the same flow; 0 = none) or {@link
     * CheckpointRule#NEW_SA_MARGIN}; from its first packet on, its traffic sizes the margin.
     */
    public Tracker attach(String saId, ReplayWindow window, ChildSaRecord r, long predecessorMargin) {
        Tracker t = new Tracker(saId, window, r, predecessorMargin);
        trackers.add(t);
        t.run();
        return t;
    }

    private void run() {
        long period = rule.interval().toNanos();
        long gap = TimeUnit.MILLISECONDS.toNanos(ROUND_GAP_MILLIS);
        long nextTick = System.nanoTime() + period;
        long lastRound = System.nanoTime() - gap;
        boolean tickDue = false;
        while (!closed) {
            long now = System.nanoTime();
            if (now - nextTick >= 0) {
                nextTick = now + period;
                tickDue = true; // kept while the calls are at their cap: its pass goes with the next round
            }
            boolean work = tickDue || woken.get() != null;
            boolean mayCall = callsOut.get() < MAX_CALLS_OUT;
            long gapEnd = lastRound + gap;
            if (work && mayCall && now - gapEnd >= 0) {
                try {
                    round(now, tickDue);
                } catch (RuntimeException e) {
                    log.warn("replay checkpoint round failed: {}", e.toString());
                }
                tickDue = false;
                lastRound = now;
                continue;
            }
            // Until the next tick, or the gap's end when work waits for it; a call's end or a signal unparks.
            long wake = work && mayCall && gapEnd - nextTick < 0 ? gapEnd : nextTick;
            LockSupport.parkNanos(this, wake - now);
        }
    }

    /**
     * One round, on the checkpoint thread (or a test's): evaluates the trackers that signalled or
     * were answered since the last round, and on a tick every tracker, and sends the checkpoints
     * due as one batch. A tracker whose checkpoint is out adds nothing: it is evaluated again when
     * its answer wakes the thread, with its edge at that time (one item per SA, at its highest
     * checkpoint).
     */
    void round(long now, boolean tick) {
        List<Item> items = new ArrayList<>();
        try {
            for (Tracker t = woken.getAndSet(null); t != null; ) {
                Tracker next = t.next;
                t.next = null;
                t.queued.set(false); // after reading next: from here a signal pushes it again
                t.evaluate(now, false, items);
                t = next;
            }
            if (tick) {
                for (Tracker t : trackers) {
                    t.evaluate(now, true, items);
                }
            }
        } finally {
            if (!items.isEmpty()) {
                send(items); // even if a later evaluation failed: each item's tracker waits for its answer
            }
        }
    }

    /** A checkpoint in a batch: the tracker, its request and the limit it asked for. */
    record Item(Tracker tracker, CheckpointReplayRequest req, long asked) {}

    /**
     * Sends one round's checkpoints: one CheckpointReplays call per {@link #MAX_BATCH} items.
     * Each item's answer goes to its tracker.
     */
    private void send(List<Item> items) {
        for (int from = 0; from < items.size(); from += MAX_BATCH) {
            List<Item> chunk = items.subList(from, Math.min(items.size(), from + MAX_BATCH));
            CheckpointReplaysRequest.Builder req = CheckpointReplaysRequest.newBuilder();
            for (Item it : chunk) {
                req.addItems(it.req());
            }
            sent.add(chunk.size());
            batches.increment();
            AtomicBoolean ended = new AtomicBoolean();
            StreamObserver<CheckpointReplaysResponse> answers = new StreamObserver<>() {
                @Override
                public void onNext(CheckpointReplaysResponse v) {
                    if (!ended.compareAndSet(false, true)) {
                        return;
                    }
                    if (v.getResultsCount() != chunk.size()) {
                        failAll(Status.INTERNAL.withDescription(v.getResultsCount() + " results for "
                                + chunk.size() + " checkpoints"));
                    } else {
                        for (int i = 0; i < chunk.size(); i++) {
                            CheckpointReplayResult r = v.getResults(i);
                            Item it = chunk.get(i);
                            if (r.getCode() == Status.Code.OK.value()) {
                                it.tracker().answered(it.asked(), r.getCheckpoint(), r.getMargin());
                            } else {
                                it.tracker().failed(Status.fromCodeValue(r.getCode()).withDescription(r.getMessage()));
                            }
                        }
                    }
                    callEnded();
                }

                @Override
                public void onError(Throwable t) {
                    if (ended.compareAndSet(false, true)) {
                        failAll(Status.fromThrowable(t));
                        callEnded();
                    }
                }

                @Override
                public void onCompleted() {
                }

                private void failAll(Status s) {
                    for (Item it : chunk) {
                        it.tracker().failed(s);
                    }
                }
            };
            callsOut.incrementAndGet();
            try {
                stub.withDeadlineAfter(CALL_DEADLINE_SECONDS, TimeUnit.SECONDS).checkpointReplays(req.build(), answers);
            } catch (RuntimeException e) {
                answers.onError(e);
            }
        }
    }

    private void callEnded() {
        callsOut.decrementAndGet();
        Thread t = thread;
        if (t != null) {
            LockSupport.unpark(t);
        }
    }

    /** CheckpointReplays calls sent (each with up to {@link #MAX_BATCH} checkpoints). */
    public long batches() {
        return batches.sum();
    }

    /** Checkpoints asked for. */
    public long sent() {
        return sent.sum();
    }

    /** Checkpoints sad-service recorded (answered OK). */
    public long recorded() {
        return recorded.sum();
    }

    /** Checkpoints that failed or were refused (retried at the next tick). */
    public long failed() {
        return failed.sum();
    }

    /**
     * Answered checkpoints by their round trip, from the pair being asked for (the window's limit
     * lowered to it) to its answer: bucket 0 counts those under 1 ms, bucket i (1..12) those in
     * [2^(i-1), 2^i) ms, bucket 13 those of 4,096 ms and more.
     */
    public long[] roundTrips() {
        long[] r = new long[ROUND_TRIP_BUCKETS];
        for (int i = 0; i < r.length; i++) {
            r[i] = roundTrips.get(i);
        }
        return r;
    }

    private void answeredAfter(long nanos) {
        long ms = nanos / 1_000_000;
        roundTrips.incrementAndGet(ms <= 0 ? 0 : Math.min(ROUND_TRIP_BUCKETS - 1, 64 - Long.numberOfLeadingZeros(ms)));
    }

    @Override
    public void close() {
        closed = true;
        Thread t = thread;
        if (t != null) {
            LockSupport.unpark(t);
        }
    }

    /** One inbound SA's checkpoint state. Its {@link #run} is the window's edge signal. */
    public final class Tracker implements Runnable {
        private final String saId;
        private final ReplayWindow window;
        private final AtomicBoolean queued = new AtomicBoolean();
        private Tracker next;
        // Guarded by this.
        /** The last pair asked for (or the record's, until then). */
        private long sentEdge;
        private long sentMargin;
        private long sentAtNanos;
        /** The lowest limit asked for since the last answer (unsigned; -1 = none). */
        private long pendingLimit = -1L;
        private boolean inFlight;
        /** When the call in flight was asked for. */
        private long askedAtNanos;
        /** The last pair asked for has not been confirmed (a call failed): ask again at the next tick. */
        private boolean unconfirmed;
        /** The pair in sentEdge / sentMargin is the record's, not one this tracker asked for. */
        private boolean fromRecord = true;
        private boolean detached;
        private double burst;
        private long burstAtNanos;
        /** Until the SA's first packet (while the peer is at {@link #startEdge}), its margin is at least this. */
        private final long unusedMargin;
        private long startEdge;
        /** The right edge at the last tick, and whether it had not moved over the interval before it. */
        private long edgeAtTick;
        private boolean idle = true;

        private Tracker(String saId, ReplayWindow window, ChildSaRecord r, long predecessorMargin) {
            this.saId = saId;
            this.window = window;
            long now = System.nanoTime();
            sentEdge = r.getReplayCheckpoint();
            sentMargin = r.getReplayMargin();
            sentAtNanos = now;
            burstAtNanos = now;
            // Until its traffic shows what it needs: a taken-over SA keeps the previous owner's
            // margin; a new one takes the margin of the SA it replaces in a rekey, or NEW_SA_MARGIN.
            unusedMargin = r.getReplayCheckpoint() != 0 ? sentMargin
                    : predecessorMargin > 0 ? predecessorMargin : CheckpointRule.NEW_SA_MARGIN;
            edgeAtTick = window.highestVerified();
            startEdge = edgeAtTick;
            window.acceptUpTo(ReplayWindow.addSaturating(sentEdge, sentMargin));
            window.signalAt(ReplayWindow.addSaturating(sentEdge, CheckpointRule.signalDistance(sentMargin)), this);
        }

        /** The window's edge signal (on an event loop): queue this tracker and wake the thread. */
        @Override
        public void run() {
            if (queued.compareAndSet(false, true)) {
                Tracker head;
                do {
                    head = woken.get();
                    next = head;
                } while (!woken.compareAndSet(head, this));
                LockSupport.unpark(thread);
            }
        }

        /** The margin last asked for. */
        public synchronized long margin() {
            return sentMargin;
        }

        /** Stops checkpointing (the SA was removed). */
        public synchronized void detach() {
            detached = true;
            trackers.remove(this);
        }

        /**
         * The SA's owner epoch rose while it stayed installed here (it moved away and back, or a
         * split-brain merge gave it a new floor): restart the window above the record's floor and
         * take its checkpoint and margin, still bounded by any pair asked for and not answered.
         */
        public synchronized void reowned(ChildSaRecord r) {
            window.restartAbove(r.getReplayFloor());
            sentEdge = r.getReplayCheckpoint();
            sentMargin = r.getReplayMargin();
            sentAtNanos = System.nanoTime();
            fromRecord = true;
            long limit = ReplayWindow.addSaturating(sentEdge, sentMargin);
            window.acceptUpTo(Long.compareUnsigned(limit, pendingLimit) < 0 ? limit : pendingLimit);
            window.signalAt(ReplayWindow.addSaturating(sentEdge, CheckpointRule.signalDistance(sentMargin)), this);
            edgeAtTick = window.highestVerified();
            startEdge = edgeAtTick;
            run();
        }

        /** Adds the next checkpoint to {@code batch} if the rule says one is due. On the checkpoint thread. */
        void evaluate(long now, boolean tick, List<Item> batch) {
            synchronized (this) {
                if (detached || inFlight) {
                    return;
                }
                // How far the peer has got: the right edge, or beyond it numbers refused for the limit.
                long top = window.highestVerified();
                double b = rule.decay(burst, now - burstAtNanos);
                if (top == startEdge) {
                    b = Math.max(b, unusedMargin);
                }
                if (tick) {
                    if (top == edgeAtTick) {
                        idle = true;
                    } else if (idle) {
                        // The first interval after an idle one: what arrived in it is a burst.
                        b = Math.max(b, (double) (top - edgeAtTick));
                        burst = b;
                        burstAtNanos = now;
                        idle = false;
                    }
                    edgeAtTick = top;
                }
                long advance = Long.compareUnsigned(top, sentEdge) > 0 ? top - sentEdge : 0;
                long margin = rule.margin(advance, now - sentAtNanos, sentMargin, b);
                boolean due;
                if (advance != 0) {
                    due = tick || Long.compareUnsigned(advance, CheckpointRule.signalDistance(sentMargin)) >= 0;
                } else if (tick) {
                    // An SA idle for an interval shrinks its margin, in halving steps; not one that
                    // merely has not moved since its last call.
                    due = idle && Long.compareUnsigned(margin, sentMargin / 2) <= 0;
                } else {
                    // Just installed with the record's margin (sad-service's small initial one, or the
                    // previous owner's): ask at once for the margin it needs, smaller or larger (a
                    // rekey's successor carries its predecessor's flow as soon as the peer switches).
                    due = fromRecord && (Long.compareUnsigned(margin, sentMargin / 2) <= 0
                            || Long.compareUnsigned(margin, sentMargin) > 0);
                }
                if (!due && !(tick && unconfirmed)) {
                    return;
                }
                // sad-service stores a pair only after the last one in (edge up, or margin down at the
                // same edge). A larger margin without new accepted numbers (the peer is past the
                // limit) goes one number above the last edge: the floor it gives costs one number.
                long minEdge = sentEdge;
                if (Long.compareUnsigned(margin, sentMargin) > 0) {
                    if (sentEdge == -1L) {
                        margin = sentMargin; // the last number of the ESN space: nothing above it anyway
                    } else {
                        minEdge = sentEdge + 1;
                    }
                }
                long edge = window.beginCheckpoint(minEdge, margin, CheckpointRule.signalDistance(margin), this);
                long limit = ReplayWindow.addSaturating(edge, margin);
                if (Long.compareUnsigned(limit, pendingLimit) < 0) {
                    pendingLimit = limit;
                }
                sentEdge = edge;
                sentMargin = margin;
                sentAtNanos = now;
                askedAtNanos = now;
                inFlight = true;
                unconfirmed = true;
                fromRecord = false;
                batch.add(new Item(this, CheckpointReplayRequest.newBuilder().setSaId(saId).setRightEdge(edge)
                        .setMargin(margin).setNodeId(nodeId).build(), limit));
            }
        }

        /** sad-service recorded the pair that asked for {@code asked}; it stores (checkpoint, margin) now. */
        private void answered(long asked, long checkpoint, long margin) {
            synchronized (this) {
                inFlight = false;
                unconfirmed = false;
                answeredAfter(System.nanoTime() - askedAtNanos);
                // Every pair asked for before this one orders before it: none can be stored any more.
                pendingLimit = -1L;
                if (!detached) {
                    long stored = ReplayWindow.addSaturating(checkpoint, margin);
                    window.acceptUpTo(Long.compareUnsigned(stored, asked) < 0 ? stored : asked);
                }
            }
            recorded.increment();
            run(); // the edge may have moved on while the call was out
        }

        /** The checkpoint was refused or its call failed: asked again at the next tick. */
        private void failed(Status s) {
            synchronized (this) {
                inFlight = false; // the pair may still be applied: pendingLimit keeps bounding the window
            }
            failed.increment();
            log.debug("SA {}: replay checkpoint failed: {} {}", saId, s.getCode(), s.getDescription());
        }
    }
}
