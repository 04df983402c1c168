package dev.keel.core.net;

/** 128-bit unsigned helpers over (high, low) long pairs; IPv4 uses the low word only. */
final class U128 {
    private U128() {
    }

    /** High word of the mask with the lowest {@code k} bits set, 0 <= k <= 128. */
    static long lowMaskHi(int k) {
        return k <= 64 ? 0 : k == 128 ? -1L : (1L << (k - 64)) - 1;
    }

    /** Low word of the mask with the lowest {@code k} bits set, 0 <= k <= 128. */
    static long lowMaskLo(int k) {
        return k >= 64 ? -1L : (1L << k) - 1;
    }

    /** -1, 0 or 1 as (aHi, aLo) is below, equal to or above (bHi, bLo), unsigned. */
    static int compare(long aHi, long aLo, long bHi, long bLo) {
        int c = Long.compareUnsigned(aHi, bHi);
        return c != 0 ? c : Long.compareUnsigned(aLo, bLo);
    }

    /** Number of trailing zero bits of a value confined to {@code bits} bits (bits if it is zero). */
    static int trailingZeros(long hi, long lo, int bits) {
        if (lo != 0) {
            return Long.numberOfTrailingZeros(lo);
        }
        if (bits <= 64) {
            return bits;
        }
        return hi == 0 ? 128 : 64 + Long.numberOfTrailingZeros(hi);
    }
}
