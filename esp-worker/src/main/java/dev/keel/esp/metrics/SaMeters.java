package dev.keel.esp.metrics;

import dev.keel.esp.feed.SaTables;
import dev.keel.esp.sa.EspSa;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The per-SA series of the data plane ({@code keel_esp_sa_packets_total}, {@code _bytes_total},
 * {@code _drops_total}, labelled by SPI, direction, connection and child), bound to each SA's own
 * counters while the SA is in the tables and removed with it, so the series stay as many as the
 * SAs installed. The all-SA byte totals add the last counts of removed SAs to those of the
 * installed ones: a counter that never goes down.
 *
 * <p>Series are registered and removed outside this object's lock: a scrape, which reads the
 * totals under it, never waits for the registry.
 */
final class SaMeters implements SaTables.SaListener {

    private final MeterRegistry registry;
    private final Map<SaTables.Installed, List<Meter>> live = new IdentityHashMap<>();
    /** Bytes of removed SAs, inbound [0] and outbound [1]. */
    private final long[] retiredBytes = new long[2];

    SaMeters(MeterRegistry registry) {
        this.registry = registry;
    }

    @Override
    public void installed(SaTables.Installed in) {
        EspSa sa = in.sa();
        Tags tags = Tags.of("spi", sa.spec().spiHex(), "direction", direction(in.outbound()),
                "connection", in.connection(), "child", in.childName());
        List<Meter> meters = List.of(
                FunctionCounter.builder("keel.esp.sa.packets", sa, EspSa::packets).tags(tags)
                        .description("Packets an SA protected (out) or accepted (in)").register(registry),
                FunctionCounter.builder("keel.esp.sa.bytes", sa, EspSa::bytes).tags(tags).baseUnit("bytes")
                        .description("Plaintext bytes an SA protected (out) or accepted (in)").register(registry),
                FunctionCounter.builder("keel.esp.sa.drops", sa, EspSa::drops).tags(tags)
                        .description("Packets dropped on account of an SA (no sequence number, expired, held too long)")
                        .register(registry));
        List<Meter> stale;
        synchronized (this) {
            stale = live.put(in, meters);
        }
        if (stale != null) {
            stale.forEach(registry::remove);
        }
    }

    @Override
    public void removed(SaTables.Installed in) {
        List<Meter> meters;
        synchronized (this) {
            meters = live.remove(in);
            if (meters != null) {
                retiredBytes[index(in.outbound())] += in.sa().bytes();
            }
        }
        if (meters != null) {
            meters.forEach(registry::remove);
        }
    }

    /** Removes every series (the binder is closed); the totals keep what they counted. */
    void removeAll() {
        List<SaTables.Installed> all;
        synchronized (this) {
            all = new ArrayList<>(live.keySet());
        }
        all.forEach(this::removed);
    }

    /** Plaintext bytes through every SA of one direction, the removed ones included. */
    synchronized long bytes(boolean outbound) {
        long sum = retiredBytes[index(outbound)];
        for (SaTables.Installed in : live.keySet()) {
            if (in.outbound() == outbound) {
                sum += in.sa().bytes();
            }
        }
        return sum;
    }

    /** SAs of one direction in the tables now. */
    synchronized int count(boolean outbound) {
        int n = 0;
        for (SaTables.Installed in : live.keySet()) {
            if (in.outbound() == outbound) {
                n++;
            }
        }
        return n;
    }

    static String direction(boolean outbound) {
        return outbound ? "out" : "in";
    }

    private static int index(boolean outbound) {
        return outbound ? 1 : 0;
    }
}
