package dev.keel.core.sa;

/**
 * The sizes of an inbound SA's anti-replay window Keel takes (RFC 4303 §3.4.3): 0 turns
 * replay protection off, otherwise from the RFC's minimum of 32 up to 65,536 packets.
 */
public final class ReplayWindowSize {

    /** Keel's default: wider than strongSwan's 32, the user-space window costs no kernel memory and rides out reordering and takeovers. */
    public static final int DEFAULT = 1024;
    /** The smallest window other than none (RFC 4303 §3.4.3: at least 32 MUST be supported). */
    public static final int MIN = 32;
    /** The largest window. */
    public static final int MAX = 65_536;

    private ReplayWindowSize() {
    }

    /** Whether {@code size} is 0 or within {@link #MIN}..{@link #MAX}. */
    public static boolean allowed(long size) {
        return size == 0 || size >= MIN && size <= MAX;
    }
}
