package dev.keel.esp.net;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * Reports ESP whose SPI has no SA here to ike-service (over the IKE relay, {@link
 * IkeRelayClient#reportUnknownEsp}), which may claim the SA for this worker's node: with several
 * workers on one address, the SAs of a peer whose packets the kernel now hands to this worker
 * (docs/esp-worker.md, "Several workers per address"). Called on an event loop for every such
 * packet, so bounded without a lock and in constant memory:
 *
 * <ul>
 *   <li>one report per SPI per {@link Limits#perSpi} (a table of {@value #SLOTS} recent SPIs; an
 *       SPI colliding with another evicts it, which the rate still covers);
 *   <li>at most {@link Limits#perSecond} reports a second, in bursts of {@link Limits#burst} (a
 *       token bucket, as GCRA).
 * </ul>
 *
 * The rest are counted by {@link Outcome}; the packet itself is dropped either way (counted
 * {@code UNKNOWN_SPI} by the data plane).
 */
public final class UnknownSpiReports implements UnknownSpiListener {

    /** What became of one packet's report. */
    public enum Outcome {
        /** Queued for ike-service. */
        REPORTED,
        /** The same SPI was reported less than {@link Limits#perSpi} ago. */
        REPEATED,
        /** The report rate is spent (a flood of made-up SPIs, or a very large move). */
        RATE,
        /** No stream to ike-service, or its queue is full. */
        NOT_QUEUED
    }

    /**
     * The bounds.
     *
     * @param perSpi    one report per SPI per this long
     * @param perSecond sustained reports a second at most
     * @param burst     reports at once at most, after a quiet time
     */
    public record Limits(Duration perSpi, int perSecond, int burst) {
        /**
         * One per SPI per 500 ms (the peer's next packets report it again if the claim is lost), 500
         * a second in bursts of 64: ike-service's claim gate admits 500 look-ups a second, so a
         * worker never reports faster than one ike-service claims.
         */
        public static final Limits DEFAULTS = new Limits(Duration.ofMillis(500), 500, 64);

        /** Checks the bounds. */
        public Limits {
            if (perSpi.toMillis() < 1 || perSpi.toMillis() > Integer.MAX_VALUE / 2 || perSecond < 1 || burst < 1) {
                throw new IllegalArgumentException("unknown-SPI report limits out of range: " + perSpi + ", "
                        + perSecond + ", " + burst);
            }
        }
    }

    /** Where admitted reports go; true when taken. Must not block. */
    @FunctionalInterface
    public interface Sink {
        boolean report(int spi, InetSocketAddress sender);
    }

    static final int SLOTS = 1024;

    private final Sink sink;
    private final Limits limits;
    private final LongSupplier nanoClock;
    private final long startNanos;
    /** Per slot: the SPI (high half) and when it was reported, ms since start + 1 (low half); 0 = free. */
    private final AtomicLongArray recent = new AtomicLongArray(SLOTS);
    /** GCRA's theoretical arrival time of the next report, on {@link #nanoClock}. */
    private final AtomicLong nextReportNanos;
    private final long intervalNanos;
    private final long toleranceNanos;
    private final Map<Outcome, LongAdder> counts = new EnumMap<>(Outcome.class);

    /** Reports to {@code sink} within {@code limits}, on {@link System#nanoTime}. */
    public UnknownSpiReports(Sink sink, Limits limits) {
        this(sink, limits, System::nanoTime);
    }

    /** As {@link #UnknownSpiReports(Sink, Limits)} on {@code nanoClock} (tests). */
    public UnknownSpiReports(Sink sink, Limits limits, LongSupplier nanoClock) {
        this.sink = Objects.requireNonNull(sink, "sink");
        this.limits = Objects.requireNonNull(limits, "limits");
        this.nanoClock = nanoClock;
        this.startNanos = nanoClock.getAsLong();
        this.intervalNanos = 1_000_000_000L / limits.perSecond();
        this.toleranceNanos = intervalNanos * (limits.burst() - 1);
        this.nextReportNanos = new AtomicLong(startNanos);
        for (Outcome o : Outcome.values()) {
            counts.put(o, new LongAdder());
        }
    }

    @Override
    public void onUnknownSpi(int spi, InetSocketAddress sender) {
        counts.get(decide(spi, sender)).increment();
    }

    private Outcome decide(int spi, InetSocketAddress sender) {
        long now = nanoClock.getAsLong();
        int slot = mix(spi) & (SLOTS - 1);
        int stamp = (int) ((now - startNanos) / 1_000_000) + 1; // wraps after 24 days: compared as a difference
        long seen = recent.get(slot);
        if (seen != 0 && (int) (seen >>> 32) == spi && stamp - (int) seen < limits.perSpi().toMillis()) {
            return Outcome.REPEATED;
        }
        for (long next = nextReportNanos.get(); ; next = nextReportNanos.get()) {
            if (next - now > toleranceNanos) {
                return Outcome.RATE;
            }
            if (nextReportNanos.compareAndSet(next, Math.max(next, now) + intervalNanos)) {
                break;
            }
        }
        if (!recent.compareAndSet(slot, seen, ((long) spi << 32) | (stamp & 0xffff_ffffL))) {
            return Outcome.REPEATED; // another loop reported this SPI (or took its slot) just now
        }
        return sink.report(spi, sender) ? Outcome.REPORTED : Outcome.NOT_QUEUED;
    }

    /** Packets whose report ended as {@code outcome}. */
    public long count(Outcome outcome) {
        return counts.get(outcome).sum();
    }

    /** The bounds. */
    public Limits limits() {
        return limits;
    }

    private static int mix(int x) {
        x *= 0x9E37_79B9;
        return x ^ (x >>> 16);
    }
}
