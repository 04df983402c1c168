package dev.keel.ike.service;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.LongSupplier;

/**
 * Which packets with an SPI this node has no SA for may cost a look-up in the SAD ({@link
 * SadSaClaimer}): the peer of an SA another node owns must get its SAs here within a second,
 * while a flood of made-up SPIs must not turn into SAD load. Three bounds, all checked on the
 * event loop that received the packet, without a lock and in constant memory:
 *
 * <ul>
 *   <li>one look-up per SPI per {@link Limits#perSpi} (a table of recent SPIs: a colliding SPI
 *       evicts an entry, which the next two bounds still cover);
 *   <li>at most {@link Limits#outstanding} look-ups and claims under way;
 *   <li>at most {@link Limits#lookupsPerSecond} look-ups a second, in bursts of at most
 *       {@link Limits#burst} (a token bucket, as GCRA).
 * </ul>
 */
public final class ClaimGate {

    /** What {@link #admit} decided. */
    public enum Verdict {
        /** Look it up; call {@link #release} when done. */
        ADMITTED,
        /** The same SPI was looked up less than {@link Limits#perSpi} ago. */
        REPEATED,
        /** {@link Limits#outstanding} look-ups and claims are under way. */
        BUSY,
        /** The look-up rate is spent. */
        RATE
    }

    /**
     * The bounds.
     *
     * @param perSpi           one look-up per SPI per this long
     * @param outstanding      look-ups and claims under way at most
     * @param lookupsPerSecond sustained look-ups a second at most
     * @param burst            look-ups at once at most, after a quiet time
     */
    public record Limits(Duration perSpi, int outstanding, int lookupsPerSecond, int burst) {
        /**
         * One per SPI a second, 64 under way, 500 a second in bursts of 64: a route change that moves
         * a thousand peers is served in about two seconds; a flood of made-up SPIs costs the SAD at
         * most 500 look-ups (two reads each) a second.
         */
        public static final Limits DEFAULTS = new Limits(Duration.ofSeconds(1), 64, 500, 64);

        /** Checks the bounds. */
        public Limits {
            if (perSpi.toMillis() < 1 || perSpi.toMillis() > Integer.MAX_VALUE / 2 || outstanding < 1
                    || lookupsPerSecond < 1 || burst < 1) {
                throw new IllegalArgumentException("claim limits out of range: " + perSpi + ", " + outstanding + ", "
                        + lookupsPerSecond + ", " + burst);
            }
        }
    }

    private static final int SLOTS = 4096;

    private final Limits limits;
    private final LongSupplier nanoClock;
    private final long startNanos;
    /** Per slot: the SPI's 32-bit tag (high half) and when it was looked up, ms since start (low half); 0 = free. */
    private final AtomicLongArray recent = new AtomicLongArray(SLOTS);
    private final AtomicInteger outstanding = new AtomicInteger();
    /** GCRA's theoretical arrival time of the next look-up, on {@link #nanoClock}. */
    private final AtomicLong nextLookupNanos;
    private final long intervalNanos;
    private final long toleranceNanos;

    /** A gate with {@code limits} on {@link System#nanoTime}. */
    public ClaimGate(Limits limits) {
        this(limits, System::nanoTime);
    }

    /** A gate with {@code limits} on {@code nanoClock} (tests). */
    public ClaimGate(Limits limits, LongSupplier nanoClock) {
        this.limits = limits;
        this.nanoClock = nanoClock;
        this.startNanos = nanoClock.getAsLong();
        this.intervalNanos = 1_000_000_000L / limits.lookupsPerSecond();
        this.toleranceNanos = intervalNanos * (limits.burst() - 1);
        this.nextLookupNanos = new AtomicLong(startNanos);
    }

    /** The bounds. */
    public Limits limits() {
        return limits;
    }

    /**
     * Whether the packet with {@code key} (an ESP SPI, or {@link #ikeKey} of an IKE SA's SPIs) may
     * be looked up now. Lock-free and allocation-free: called on an event loop for every such packet.
     */
    public Verdict admit(long key) {
        long now = nanoClock.getAsLong();
        int tag = (int) (key ^ (key >>> 32));
        int slot = mix(tag) & (SLOTS - 1);
        int nowMs = (int) ((now - startNanos) / 1_000_000);
        long seen = recent.get(slot);
        if (seen != 0 && (int) (seen >>> 32) == tag && nowMs - (int) seen < limits.perSpi().toMillis()) {
            return Verdict.REPEATED;
        }
        for (int o = outstanding.get(); ; o = outstanding.get()) {
            if (o >= limits.outstanding()) {
                return Verdict.BUSY;
            }
            if (outstanding.compareAndSet(o, o + 1)) {
                break;
            }
        }
        for (long next = nextLookupNanos.get(); ; next = nextLookupNanos.get()) {
            if (next - now > toleranceNanos) {
                outstanding.decrementAndGet();
                return Verdict.RATE;
            }
            if (nextLookupNanos.compareAndSet(next, Math.max(next, now) + intervalNanos)) {
                break;
            }
        }
        if (!recent.compareAndSet(slot, seen, ((long) tag << 32) | (nowMs & 0xffff_ffffL))) {
            outstanding.decrementAndGet(); // another loop took this SPI (or its slot) just now
            return Verdict.REPEATED;
        }
        return Verdict.ADMITTED;
    }

    /** An admitted look-up (and the claim it led to, if any) is over. */
    public void release() {
        outstanding.decrementAndGet();
    }

    /** Look-ups and claims under way. */
    public int outstanding() {
        return outstanding.get();
    }

    /**
     * The key of an IKE SA's SPI pair. Keys share the table with ESP SPIs by a 32-bit tag: a
     * collision (2^-32 for a given pair) only delays one look-up by {@link Limits#perSpi}.
     */
    public static long ikeKey(long spiI, long spiR) {
        long k = spiI * 0x9E37_79B9_7F4A_7C15L + spiR;
        return k ^ (k >>> 29);
    }

    /** The key of a worker's acquires for one child of one connection (same table, same tag rule). */
    public static long acquireKey(String worker, String connection, String child) {
        long k = ((long) worker.hashCode() << 32) ^ ((long) connection.hashCode() * 0x9E37_79B9L) ^ child.hashCode();
        return k ^ (k >>> 31) ^ 0x5A5A_0000_0000_0000L;
    }

    private static int mix(int x) {
        x *= 0x9E37_79B9;
        return x ^ (x >>> 16);
    }
}
