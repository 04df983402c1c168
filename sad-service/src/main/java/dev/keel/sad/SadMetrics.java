package dev.keel.sad;

import com.hazelcast.map.IMap;
import dev.keel.sad.cluster.OwnershipKeeper;
import dev.keel.rpc.GrpcCallMetrics;
import dev.keel.sad.cluster.SadCluster;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * A sad-service member's meters: the cluster as this member sees it (members, lease quorum,
 * whether it is the member that maintains ownership), the takeovers it ran after a member left
 * and their duration (docs/ha.md), maintenance passes, watch subscribers, and the SA records in
 * the partitions it owns. Its operations are counted and timed as calls
 * ({@code keel_sad_requests_total}, {@code keel_sad_requests_duration_seconds}) by
 * {@link #callMetrics} on its gRPC server.
 */
public final class SadMetrics implements MeterBinder {

    private final SadNode node;

    /** The meters of {@code node}. */
    public SadMetrics(SadNode node) {
        this.node = node;
    }

    /** Counts and times the calls of a sad-service gRPC server: intercept its builder with it. */
    public static GrpcCallMetrics callMetrics(MeterRegistry registry) {
        return new GrpcCallMetrics(registry, "keel.sad.requests", "sad-service calls (SA database"
                + " operations)");
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        SadCluster cluster = node.cluster();
        OwnershipKeeper keeper = node.keeper();
        Gauge.builder("keel.sad.cluster.members", cluster, c -> running(c, () -> (double) c.memberCount()))
                .description("Members in this member's view of the SAD cluster, witnesses included")
                .register(registry);
        Gauge.builder("keel.sad.lease.quorum", cluster, c -> running(c, () -> c.hasLeaseQuorum() ? 1.0 : 0.0))
                .description("1 while this member's view holds the lease quorum (it may grant sequence leases)")
                .register(registry);
        Gauge.builder("keel.sad.maintainer", cluster, c -> running(c, () -> c.isOldest() ? 1.0 : 0.0))
                .description("1 on the member (the oldest) that runs takeovers and lifetimes").register(registry);
        FunctionTimer.builder("keel.sad.takeovers", keeper, OwnershipKeeper::takeoversDone,
                OwnershipKeeper::takeoverNanos, TimeUnit.NANOSECONDS)
                .description("Takeovers of a departed member's SAs this member ran, and their duration")
                .register(registry);
        Gauge.builder("keel.sad.takeover.last.duration", keeper, k -> k.lastTakeoverMillis() / 1000.0)
                .baseUnit("seconds").description("Duration of the last takeover this member ran").register(registry);
        FunctionCounter.builder("keel.sad.takeover.child.sas", keeper, OwnershipKeeper::childSasTakenOver)
                .description("CHILD SAs the takeovers gave new owners").register(registry);
        FunctionCounter.builder("keel.sad.maintenance.passes", keeper, OwnershipKeeper::passes)
                .description("Maintenance passes (ownership, lifetimes, tombstones) this member ran")
                .register(registry);
        Gauge.builder("keel.sad.watch.subscribers", node.events(), h -> h.subscriberCount())
                .description("Watch streams open on this member (data planes, admin clients)").register(registry);
        records(registry, "child", cluster, SadCluster::childSas);
        records(registry, "ike", cluster, SadCluster::ikeSas);
    }

    private static void records(MeterRegistry registry, String kind, SadCluster cluster,
            Function<SadCluster, IMap<String, byte[]>> map) {
        Gauge.builder("keel.sad.records", cluster, c -> running(c,
                () -> (double) map.apply(c).getLocalMapStats().getOwnedEntryCount()))
                .tag("kind", kind).description("SA records (tombstones included) in the partitions this member"
                        + " owns; summed over the members, all records").register(registry);
    }

    /** NaN once the member has left (a scrape while it shuts down). */
    private static double running(SadCluster c, Supplier<Double> value) {
        try {
            return c.isRunning() ? value.get() : Double.NaN;
        } catch (RuntimeException e) {
            return Double.NaN;
        }
    }
}
