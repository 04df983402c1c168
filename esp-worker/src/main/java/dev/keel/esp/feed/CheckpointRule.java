package dev.keel.esp.feed;

import java.time.Duration;

/**
 * When an inbound SA's replay checkpoint goes to sad-service, and the margin recorded with it:
 * how far above the checkpoint the data plane may accept before the next one is recorded, so how
 * far above it a new owner's window starts after a takeover (docs/ha.md, "Inbound replay floor
 * after a takeover"). Safety does not depend on these numbers (the window enforces whatever margin
 * was recorded); they trade the packets a takeover costs against drops while a checkpoint is late.
 *
 * <p>A checkpoint goes when the right edge has moved half the recorded margin (the window signals
 * it, at most {@code packets} numbers), at each {@code interval} while the edge moves, and when an
 * idle SA's margin can halve. The margin is the largest of:
 * <ul>
 *   <li>{@code safety} intervals of the SA's observed rate (numbers the edge moved per interval);</li>
 *   <li>the SA's burst: the numbers that arrived in the first interval after an idle one, the
 *       largest seen, halving every {@code burstMemory} (a flow that idles and bursts, e.g. TCP
 *       after a pause, keeps a margin its next burst fits in);</li>
 *   <li>twice the previous margin when half of it was used in less than an interval (the rate
 *       rose faster than one interval shows);</li>
 *   <li>1;</li>
 * </ul>
 * and never more than {@code 2 * packets}.
 *
 * @param packets     N: a checkpoint goes at the latest after the edge moved N; the margin is at most 2N
 * @param interval    T: a checkpoint goes at least this often while the edge moves
 * @param safety      s: the margin covers s intervals of the observed rate
 * @param burstMemory half-life of the burst estimate
 */
public record CheckpointRule(long packets, Duration interval, double safety, Duration burstMemory) {

    /** Largest margin sad-service records (sa.proto CheckpointReplayRequest.margin): 2^32. */
    static final long MAX_MARGIN = 1L << 32;

    /**
     * The margin of a new SA that replaces none (not a rekey) until its first packet: its first
     * packets (a TCP handshake and initial window, a request and its answer) are taken before its
     * first checkpoint is answered; once traffic shows the SA's rate, the rule takes over.
     */
    public static final long NEW_SA_MARGIN = 64;

    public CheckpointRule {
        if (packets < 1 || packets > MAX_MARGIN / 2) {
            throw new IllegalArgumentException("checkpoint packets " + packets + " outside 1.." + MAX_MARGIN / 2);
        }
        if (interval.toMillis() < 1) {
            throw new IllegalArgumentException("checkpoint interval " + interval + " is below 1 ms");
        }
        if (!(safety >= 1 && safety <= 100)) {
            throw new IllegalArgumentException("checkpoint safety " + safety + " outside 1..100");
        }
        if (burstMemory.toMillis() < 1) {
            throw new IllegalArgumentException("burst memory " + burstMemory + " is below 1 ms");
        }
    }

    /**
     * N = 131,072, T = 200 ms, s = 3, bursts remembered with a 1 s half-life: a steady flow's
     * margin is 0.6 s of its traffic, and a takeover costs it at most that (docs/ha.md). The burst
     * memory is short because a burst beyond the margin waits in the forwarder's hold for a
     * checkpoint round trip instead of being dropped, while every number of a remembered burst is
     * a number a takeover drops; and TCP restarts from its restart window after an idle period
     * longer than its retransmission timeout (RFC 5681 §4.1), so bursts after long pauses are small.
     */
    public static CheckpointRule defaults() {
        return new CheckpointRule(131_072, Duration.ofMillis(200), 3.0, Duration.ofSeconds(1));
    }

    /** The largest margin: 2N. */
    public long maxMargin() {
        return 2 * packets;
    }

    /** How far the edge may move past a checkpoint with this margin before the window signals for the next. */
    public static long signalDistance(long margin) {
        return Math.max(1, (margin + 1) / 2);
    }

    /**
     * The margin to record with the next checkpoint.
     *
     * @param advance        numbers the peer used since the last checkpoint (unsigned): up to the
     *                       highest verified one, accepted or refused for the limit
     * @param elapsedNanos   time since the last checkpoint
     * @param previousMargin the margin recorded with it
     * @param burst          the burst estimate now ({@link #decay}ed)
     */
    public long margin(long advance, long elapsedNanos, long previousMargin, double burst) {
        double moved = advance < 0 ? 0x1p63 : advance;
        long t = interval.toNanos();
        // Numbers per interval: over the time since the last checkpoint, but never over less than an
        // interval, or a handful of packets that arrived together would read as a huge rate.
        double perInterval = moved * t / Math.max(elapsedNanos, t);
        double m = Math.max(1, Math.max(Math.ceil(safety * perInterval), Math.ceil(burst)));
        if (elapsedNanos < t && Long.compareUnsigned(advance, signalDistance(previousMargin)) >= 0) {
            m = Math.max(m, 2.0 * previousMargin);
        }
        return (long) Math.min(m, maxMargin());
    }

    /** A burst estimate {@code elapsedNanos} after it was set: halved every {@code burstMemory}. */
    public double decay(double burst, long elapsedNanos) {
        return elapsedNanos <= 0 ? burst : burst * Math.pow(0.5, (double) elapsedNanos / burstMemory.toNanos());
    }
}
