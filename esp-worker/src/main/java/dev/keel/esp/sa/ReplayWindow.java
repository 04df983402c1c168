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

    /** A window accepting the {@code size} sequence numbers up to and including the right edge. */
    public ReplayWindow(int size) {
        this(size, 0);
    }

    /**
     * A window whose right edge starts at {@code top}: everything at or below it is rejected.
     * Used when an SA moves to a new owner, which restarts from a checkpoint plus a margin.
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
        this.top = top;
        if (top != 0) {
            // Everything at or below a restart point counts as seen; nothing above it does.
            java.util.Arrays.fill(words, -1L);
            int bit = (int) (top & 63);
            words[(int) (top >>> 6) & wordMask] = bit == 63 ? -1L : (1L << (bit + 1)) - 1;
        }
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
     * nothing) when it is a replay after all, e.g. a duplicate verified concurrently.
     */
    public synchronized boolean accept(long seq) {
        if (!check(seq)) {
            return false;
        }
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
        }
        words[(int) (seq >>> 6) & wordMask] |= 1L << (seq & 63);
        return true;
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
