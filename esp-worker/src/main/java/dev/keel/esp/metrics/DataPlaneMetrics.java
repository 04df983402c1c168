package dev.keel.esp.metrics;

import dev.keel.esp.acquire.AcquireLimiter;
import dev.keel.esp.feed.ReplayCheckpoints;
import dev.keel.esp.feed.SaMaintenance;
import dev.keel.esp.feed.WorkerFeeds;
import dev.keel.esp.forward.FedGateway;
import dev.keel.esp.forward.ForwardCounters;
import dev.keel.esp.forward.ForwardDrop;
import dev.keel.esp.packet.DecapOutcome;
import dev.keel.esp.packet.EncapOutcome;
import dev.keel.esp.packet.EspCounters;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.Locale;
import java.util.function.ToDoubleFunction;

/**
 * The data plane's meters, read from the counters it keeps anyway (DESIGN §3: nothing is counted
 * twice on the packet path; a scrape sums the LongAdders): packets and bytes in total and per SA
 * ({@link SaMeters}), every drop by reason (one family per outcome enum: {@link DecapOutcome},
 * {@link EncapOutcome}, {@link ForwardDrop}), the forwarding path, acquires, and the feeds that
 * keep the tables current: sequence leases, replay checkpoints, usage reports, watch snapshots.
 * {@link #close} removes the per-SA series and stops following the tables.
 */
public final class DataPlaneMetrics implements MeterBinder, AutoCloseable {

    private final ForwardCounters forward;
    private final EspCounters esp;
    private final AcquireLimiter acquires;
    private final WorkerFeeds feeds;
    private SaMeters sas;

    /** The meters of a data plane's counters, whose tables {@code feeds} fill. */
    public DataPlaneMetrics(ForwardCounters forward, EspCounters esp, AcquireLimiter acquires, WorkerFeeds feeds) {
        this.forward = forward;
        this.esp = esp;
        this.acquires = acquires;
        this.feeds = feeds;
    }

    /** The meters of {@code dataPlane}, whose tables {@code feeds} fill. */
    public static DataPlaneMetrics of(FedGateway dataPlane, WorkerFeeds feeds) {
        return new DataPlaneMetrics(dataPlane.counters(), dataPlane.espCounters(), dataPlane.acquires(), feeds);
    }

    @Override
    public synchronized void bindTo(MeterRegistry registry) {
        bindPackets(registry);
        bindForwarding(registry);
        bindFeeds(registry);
        sas = new SaMeters(registry);
        SaMeters s = sas;
        FunctionCounter.builder("keel.esp.bytes", s, m -> m.bytes(false)).tag("direction", "in").baseUnit("bytes")
                .description("Plaintext bytes accepted by every inbound SA").register(registry);
        FunctionCounter.builder("keel.esp.bytes", s, m -> m.bytes(true)).tag("direction", "out").baseUnit("bytes")
                .description("Plaintext bytes protected by every outbound SA").register(registry);
        Gauge.builder("keel.esp.sas", s, m -> m.count(false)).tag("direction", "in")
                .description("ESP SAs installed in the data plane").register(registry);
        Gauge.builder("keel.esp.sas", s, m -> m.count(true)).tag("direction", "out")
                .description("ESP SAs installed in the data plane").register(registry);
        feeds.sas().addSaListener(s);
    }

    private void bindPackets(MeterRegistry registry) {
        counter(registry, "keel.esp.packets", esp, c -> c.get(DecapOutcome.DELIVERED),
                "ESP packets accepted (in) or protected (out)", "direction", "in");
        counter(registry, "keel.esp.packets", esp, c -> c.get(EncapOutcome.PROTECTED),
                "ESP packets accepted (in) or protected (out)", "direction", "out");
        counter(registry, "keel.esp.held.packets", esp, c -> c.get(DecapOutcome.HELD),
                "Verified inbound packets held for a replay checkpoint (each is then delivered or dropped)");
        for (DecapOutcome o : DecapOutcome.values()) {
            if (o.isDrop()) {
                counter(registry, "keel.esp.inbound.drops", esp, c -> c.get(o),
                        "Inbound ESP packets dropped, by reason", "reason", reason(o));
            }
        }
        for (EncapOutcome o : EncapOutcome.values()) {
            if (o.isDrop()) {
                counter(registry, "keel.esp.outbound.drops", esp, c -> c.get(o),
                        "Outbound packets not protected, by reason", "reason", reason(o));
            }
        }
    }

    private void bindForwarding(MeterRegistry registry) {
        ForwardCounters f = forward;
        for (ForwardDrop d : ForwardDrop.values()) {
            counter(registry, "keel.forward.drops", f, c -> c.drops(d),
                    "Packets the forwarding path dropped before or around ESP, by reason", "reason", reason(d));
        }
        String plain = "Plaintext packets read from (in) or written to (out) the plaintext side";
        counter(registry, "keel.forward.plaintext.packets", f, ForwardCounters::plaintextIn, plain, "direction", "in");
        counter(registry, "keel.forward.plaintext.packets", f, ForwardCounters::plaintextOut, plain, "direction", "out");
        String outer = "Datagrams received (in) or sent (out) on the outer UDP sockets";
        counter(registry, "keel.forward.outer.datagrams", f, ForwardCounters::outerIn, outer, "direction", "in");
        counter(registry, "keel.forward.outer.datagrams", f, ForwardCounters::outerOut, outer, "direction", "out");
        String batches = "Read batches (datagrams / batches is the mean batch)";
        counter(registry, "keel.forward.read.batches", f, ForwardCounters::plaintextBatches, batches, "side", "plaintext");
        counter(registry, "keel.forward.read.batches", f, ForwardCounters::outerBatches, batches, "side", "outer");
        counter(registry, "keel.forward.ike.datagrams", f, ForwardCounters::ikeHandedOff,
                "IKE messages received on the ESP-in-UDP port and handed to IKE");
        String keepalives = "NAT-T keepalives received (in) or sent (out)";
        counter(registry, "keel.forward.keepalives", f, ForwardCounters::keepalivesReceived, keepalives,
                "direction", "in");
        counter(registry, "keel.forward.keepalives", f, ForwardCounters::keepalivesSent, keepalives,
                "direction", "out");
        counter(registry, "keel.forward.bypassed.packets", f, ForwardCounters::bypassed,
                "Plaintext packets an SPD BYPASS entry sent on in clear");
        String acq = "Acquires for PROTECT policies without an SA: fired, or suppressed while one is in flight";
        counter(registry, "keel.esp.acquires", acquires, AcquireLimiter::fired, acq, "result", "fired");
        counter(registry, "keel.esp.acquires", acquires, AcquireLimiter::suppressed, acq, "result", "suppressed");
    }

    private void bindFeeds(MeterRegistry registry) {
        SaMaintenance m = feeds.maintenance();
        String leases = "Blocks of outbound sequence numbers asked of sad-service: granted, or failed (retried)";
        counter(registry, "keel.esp.sequence.leases", m, SaMaintenance::leasesGranted, leases, "result", "granted");
        counter(registry, "keel.esp.sequence.leases", m, SaMaintenance::leaseFailures, leases, "result", "failed");
        counter(registry, "keel.esp.usage.reports", m, SaMaintenance::usageReports,
                "SA usage (packets, bytes) reports sad-service answered");
        ReplayCheckpoints r = m.replayCheckpoints();
        counter(registry, "keel.esp.replay.checkpoints.sent", r, ReplayCheckpoints::sent,
                "Inbound replay checkpoints asked of sad-service");
        String answered = "Inbound replay checkpoints sad-service recorded, or that failed (asked again)";
        counter(registry, "keel.esp.replay.checkpoints", r, ReplayCheckpoints::recorded, answered, "result", "recorded");
        counter(registry, "keel.esp.replay.checkpoints", r, ReplayCheckpoints::failed, answered, "result", "failed");
        counter(registry, "keel.esp.replay.checkpoint.calls", r, ReplayCheckpoints::batches,
                "CheckpointReplays calls (each carries up to a batch of checkpoints)");
        counter(registry, "keel.esp.sa.refused", feeds.sas(), t -> t.refused(),
                "SA records the data plane refused to install (no keys, wrong KEK, unusable transform)");
        String snapshots = "Snapshots received on the watch streams that feed the tables (each a (re)connect)";
        counter(registry, "keel.esp.feed.snapshots", feeds.saFeed(), f -> f.snapshots(), snapshots, "feed", "sa");
        counter(registry, "keel.esp.feed.snapshots", feeds.spdFeed(), f -> f.snapshots(), snapshots, "feed", "spd");
        counter(registry, "keel.esp.feed.resumes", feeds.saFeed(), f -> f.resumes(),
                "SA watch streams resumed from their last revision instead of a snapshot");
    }

    private static <T> void counter(MeterRegistry registry, String name, T obj, ToDoubleFunction<T> value,
            String description, String... tags) {
        FunctionCounter.builder(name, obj, value).tags(tags).description(description).register(registry);
    }

    /** A label value from an enum constant: {@code ICV_FAILURE} → {@code icv_failure}. */
    static String reason(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT);
    }

    /** Stops following the tables and removes the per-SA series. */
    @Override
    public synchronized void close() {
        if (sas != null) {
            feeds.sas().removeSaListener(sas);
            sas.removeAll();
        }
    }
}
