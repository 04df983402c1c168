package dev.keel.esp.sa;

/**
 * The anti-replay window of an inbound SA (RFC 4303 §3.4.3), kept as an RFC 6479 ring of
 * 64-bit words so sliding the window clears whole words instead of shifting bits.
 *
 * <p>Two phases, as RFC 4303 requires: {@link #check} before the ICV is verified, and
 * {@link #accept} only after it verified, so a forged packet cannot move the window. Sequence
 * numbers are 64-bit; without ESN their high half is zero.
 *
 * <p>Normally one event loop processes an SA's inbound packets, but a peer reaching us from two
 * UDP 4-tuples (NAT rebinding) lands on two loops. So {@link #check} and {@link #inferEsn} read
 * without a lock (a stale answer costs at most one dropped packet, and {@link #accept} decides
 * again), while {@link #accept} is synchronized: no sequence number is ever accepted twice. The
 * lock is uncontended in the common one-loop case.
 *
 * <p>An SA fed by sad-service also has an <b>accept limit</b>: {@link #accept} refuses every
 * sequence number above it, so a new owner that starts above the checkpoint + margin recorded in
 * sad-service never accepts a packet this window accepted (docs/ha.md, "Inbound replay floor
 * after a takeover"). When the right edge passes a point the checkpointer armed, or a verified
 * number is refused for the limit, {@link #accept} runs its signal (which must neither block nor
 * allocate) so the next checkpoint goes, sized for what the peer sends. Without a checkpointer the
 * limit is 2^64 - 1 and nothing is armed.
 */
public final class ReplayWindow {

    /** Smallest window RFC 4303 §3.4.3 allows. */
    public static final int MIN_SIZE = 32;

    /** Largest window Keel accepts; 2^16 packets keep the bitmap at 8 KiB. */
    public static final int MAX_SIZE = 65536;

    private final int size;
    private final long[] words;
    private final int wordMask;
    /** The highest sequence number accepted so far (the right edge); 0 before the first. */
    private volatile long top;
    /** {@link #accept} takes nothing above this (unsigned); written only under the lock. */
    private volatile long acceptLimit = -1L;
    /** The highest number {@link #accept} refused for the limit (unsigned, 0 = none); under the lock. */
    private volatile long refusedTop;
    /** Guarded by this: the edge signal runs once when the right edge reaches {@link #signalAt}. */
    private boolean signalArmed;
    private long signalAt;
    private Runnable edgeSignal;

    /** A window accepting the {@code size} sequence numbers up to and including the right edge. */
    public ReplayWindow(int size) {
        this(size, 0);
    }

    /**
     * A window whose right edge starts at {@code top}: everything at or below it is rejected.
     * Used when an SA moves to a new owner, which starts above the previous owner's replay floor.
     */
    public ReplayWindow(int size, long top) {
        if (size < MIN_SIZE || size > MAX_SIZE) {
            throw new IllegalArgumentException("replay window size " + size + " outside " + MIN_SIZE + ".." + MAX_SIZE);
        }
        this.size = size;
        // RFC 6479 §2: one word more than the window, so the word being reused is never in it.
        int needed = (size + 63) / 64 + 1;
        int n = Integer.highestOneBit(needed - 1) << 1;
        this.words = new long[n];
        this.wordMask = n - 1;
        if (top != 0) {
            restart(top);
        }
    }

    /** Everything at or below {@code at} counts as seen; nothing above it does. */
    private void restart(long at) {
        java.util.Arrays.fill(words, -1L);
        int bit = (int) (at & 63);
        words[(int) (at >>> 6) & wordMask] = bit == 63 ? -1L : (1L << (bit + 1)) - 1;
        top = at;
    }

    /** {@code a + b} for unsigned sequence numbers, saturating at 2^64 - 1 (ESN uses all 64 bits). */
    public static long addSaturating(long a, long b) {
        long sum = a + b;
        return Long.compareUnsigned(sum, a) < 0 ? -1L : sum;
    }

    public int size() {
        return size;
    }

    /** The right edge: the highest sequence number accepted. */
    public long top() {
        return top;
    }

    /**
     * Whether {@code seq} could be fresh: above the right edge, or inside the window and not
     * yet seen. Changes nothing. Zero is never valid (RFC 4303 §3.3.3: the first packet is 1).
     */
    public boolean check(long seq) {
        if (seq == 0) {
            return false;
        }
        if (Long.compareUnsigned(seq, top) > 0) {
            return true;
        }
        if (Long.compareUnsigned(top - seq, size) >= 0) {
            return false;
        }
        long word = words[(int) (seq >>> 6) & wordMask];
        return (word & (1L << (seq & 63))) == 0;
    }

    /**
     * Records {@code seq} as received, after its ICV verified. Returns false (and changes
     * nothing) when it is a replay after all, e.g. a duplicate verified concurrently, or when it
     * is above the accept limit ({@link #aboveLimit}).
     */
    public synchronized boolean accept(long seq) {
        if (!check(seq)) {
            return false;
        }
        if (Long.compareUnsigned(seq, acceptLimit) > 0) {
            // Verified, so the peer really is this far: the checkpointer sizes the next margin for it.
            if (Long.compareUnsigned(seq, refusedTop) > 0) {
                refusedTop = seq;
            }
            if (signalArmed) {
                signalArmed = false;
                edgeSignal.run();
            }
            return false;
        }
        boolean signal = false;
        if (Long.compareUnsigned(seq, top) > 0) {
            long topWord = top >>> 6;
            long newWord = seq >>> 6;
            long diff = newWord - topWord;
            if (Long.compareUnsigned(diff, words.length) >= 0) {
                java.util.Arrays.fill(words, 0L);
            } else {
                for (long w = topWord + 1; w <= newWord; w++) {
                    words[(int) w & wordMask] = 0L;
                }
            }
            top = seq;
            if (signalArmed && Long.compareUnsigned(seq, signalAt) >= 0) {
                signalArmed = false;
                signal = true;
            }
        }
        words[(int) (seq >>> 6) & wordMask] |= 1L << (seq & 63);
        if (signal) {
            edgeSignal.run();
        }
        return true;
    }

    /** Whether {@code seq} is above the accept limit: what {@link #accept} refused a fresh number for. */
    public boolean aboveLimit(long seq) {
        return Long.compareUnsigned(seq, acceptLimit) > 0;
    }

    /**
     * The highest sequence number verified on this SA: the right edge, or a number above it that
     * {@link #accept} refused for the limit (how far the peer has got).
     */
    public long highestVerified() {
        long refused = refusedTop;
        long edge = top;
        return Long.compareUnsigned(refused, edge) > 0 ? refused : edge;
    }

    /** The highest sequence number {@link #accept} takes now (unsigned; -1 = no limit). */
    public long acceptLimit() {
        return acceptLimit;
    }

    /** Sets the accept limit (unsigned): from the SA's record, or a checkpoint sad-service recorded. */
    public synchronized void acceptUpTo(long limit) {
        acceptLimit = limit;
    }

    /** {@link #accept} runs {@code signal} once, when the right edge reaches {@code at} (unsigned). */
    public synchronized void signalAt(long at, Runnable signal) {
        arm(at, signal);
    }

    /**
     * Begins a checkpoint: takes the right edge (at least {@code minEdge}) and lowers the accept
     * limit to at most that + {@code margin} in one step under the lock, so no packet above the new
     * limit is accepted after the edge was read; arms {@code signal} at edge + {@code
     * signalDistance}. Returns the edge to record, which is at or above every number accepted.
     */
    public synchronized long beginCheckpoint(long minEdge, long margin, long signalDistance, Runnable signal) {
        long edge = Long.compareUnsigned(top, minEdge) >= 0 ? top : minEdge;
        long limit = addSaturating(edge, margin);
        if (Long.compareUnsigned(limit, acceptLimit) < 0) {
            acceptLimit = limit;
        }
        arm(addSaturating(edge, signalDistance), signal);
        return edge;
    }

    private void arm(long at, Runnable signal) {
        edgeSignal = signal;
        signalAt = at;
        signalArmed = signal != null;
    }

    /**
     * Everything at or below {@code floor} counts as seen from now on (another owner may have
     * accepted it): the right edge moves up to a floor above it; a floor inside the window marks
     * the numbers up to it, and what this window saw above the floor stays as it was.
     */
    public synchronized void restartAbove(long floor) {
        if (Long.compareUnsigned(floor, top) > 0) {
            restart(floor);
            return;
        }
        long distance = top - floor; // unsigned, < 2^64
        if (Long.compareUnsigned(distance, size) >= 0) {
            return; // already below the window
        }
        long bottom = Long.compareUnsigned(top, size) >= 0 ? top - size + 1 : 0;
        for (long seq = bottom; Long.compareUnsigned(seq, floor) <= 0; seq++) {
            words[(int) (seq >>> 6) & wordMask] |= 1L << (seq & 63);
        }
    }

    /**
     * The full 64-bit sequence number for the low 32 bits received, when the SA uses extended
     * sequence numbers (RFC 4303 Appendix A2.2: the high half is inferred from the window).
     */
    public long inferEsn(int low) {
        long seqLow = low & 0xffffffffL;
        long th = top >>> 32;
        long tl = top & 0xffffffffL;
        long bottom = (tl - size + 1) & 0xffffffffL;
        long seqHigh;
        if (tl >= size - 1) {
            // Case A: the window lies within one 2^32 block.
            seqHigh = seqLow >= bottom ? th : th + 1;
        } else {
            // Case B: the window spans the boundary with the previous block (none before block 0).
            seqHigh = seqLow >= bottom && th > 0 ? th - 1 : th;
        }
        return (seqHigh << 32) | seqLow;
    }
}
