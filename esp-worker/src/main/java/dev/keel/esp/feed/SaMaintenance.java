package dev.keel.esp.feed;

import dev.keel.esp.sa.OutboundSa;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.LeaseSequenceRequest;
import dev.keel.proto.v1.LeaseSequenceResponse;
import dev.keel.proto.v1.ReportUsageRequest;
import dev.keel.proto.v1.ReportUsageResponse;
import dev.keel.proto.v1.SaServiceGrpc;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The worker's side of the SA counters in sad-service, all off the event loops:
 * <ul>
 *   <li>sequence leases: {@link #requestLease} (called on a loop when an outbound SA's current
 *       block is half used, or empty) hops to the scheduler and calls LeaseSequence; the block
 *       goes to the SA, a failure is retried with back-off, RESOURCE_EXHAUSTED ends the SA's
 *       sequence space (rekey);
 *   <li>every {@code interval}: ReportUsage for each SA whose counters moved (the reply's expiry
 *       fields are applied at once); a hard packet/byte limit the worker sees itself stops the SA
 *       without waiting;</li>
 *   <li>inbound replay checkpoints, by the {@link CheckpointRule}, on a thread of their own
 *       ({@link ReplayCheckpoints}).</li>
 * </ul>
 */
public final class SaMaintenance implements OutboundSa.LeaseRequester, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(SaMaintenance.class);
    private static final long CALL_DEADLINE_SECONDS = 10;

    /**
     * @param leaseSize     numbers per LeaseSequence (1..2^20; the next is asked for at half)
     * @param interval      period of usage reports
     * @param minBackoff    first retry delay of a failed lease
     * @param maxBackoff    longest retry delay
     * @param checkpoints   when inbound replay checkpoints go and the margin they record (docs/ha.md)
     */
    public record Settings(int leaseSize, Duration interval, Duration minBackoff, Duration maxBackoff,
            CheckpointRule checkpoints) {
        public Settings {
            if (leaseSize < 2 || leaseSize > 1 << 20) {
                throw new IllegalArgumentException("lease size " + leaseSize + " outside 2..1048576");
            }
            if (interval.isNegative() || interval.isZero()) {
                throw new IllegalArgumentException("interval must be positive");
            }
        }

        /** These lease and report settings with the default checkpoint rule. */
        public Settings(int leaseSize, Duration interval, Duration minBackoff, Duration maxBackoff) {
            this(leaseSize, interval, minBackoff, maxBackoff, CheckpointRule.defaults());
        }

        /**
         * 64k numbers per lease, usage reports every second, retries from 50 ms to 2 s, and
         * {@link CheckpointRule#defaults()}.
         */
        public static Settings defaults() {
            return new Settings(65_536, Duration.ofSeconds(1), Duration.ofMillis(50), Duration.ofSeconds(2));
        }
    }

    private final SaServiceGrpc.SaServiceStub stub;
    private final String nodeId;
    private final ScheduledExecutorService scheduler;
    private final Settings settings;
    private final LongAdder leasesGranted = new LongAdder();
    private final LongAdder leaseFailures = new LongAdder();
    private final LongAdder usageReports = new LongAdder();
    private final ReplayCheckpoints checkpoints;
    private volatile Supplier<SaTables> tables = () -> null;
    private volatile ScheduledFuture<?> ticking;
    private volatile boolean closed;

    public SaMaintenance(Channel saService, String nodeId, ScheduledExecutorService scheduler, Settings settings) {
        this.stub = SaServiceGrpc.newStub(saService);
        this.nodeId = nodeId;
        this.scheduler = scheduler;
        this.settings = settings;
        this.checkpoints = new ReplayCheckpoints(saService, nodeId, settings.checkpoints());
    }

    /** The inbound replay checkpoints ({@link SaTables} attaches each inbound SA to them). */
    public ReplayCheckpoints replayCheckpoints() {
        return checkpoints;
    }

    /** Starts the replay checkpoints and the periodic usage reports over {@code t}. */
    public void start(SaTables t) {
        this.tables = () -> t;
        checkpoints.start();
        long ms = settings.interval().toMillis();
        ticking = scheduler.scheduleWithFixedDelay(this::tick, ms, ms, TimeUnit.MILLISECONDS);
    }

    @Override
    public void requestLease(OutboundSa sa) {
        try {
            scheduler.execute(() -> lease(sa, settings.minBackoff().toMillis()));
        } catch (RuntimeException e) {
            sa.leaseRequestEnded(); // shutting down
        }
    }

    private void lease(OutboundSa sa, long retryMillis) {
        if (closed || sa.isClosed()) {
            sa.leaseRequestEnded();
            return;
        }
        LeaseSequenceRequest req = LeaseSequenceRequest.newBuilder().setSaId(sa.id()).setCount(settings.leaseSize())
                .setNodeId(nodeId).build();
        stub.withDeadlineAfter(CALL_DEADLINE_SECONDS, TimeUnit.SECONDS).leaseSequence(req,
                new StreamObserver<LeaseSequenceResponse>() {
                    @Override
                    public void onNext(LeaseSequenceResponse r) {
                        boolean first = sa.peekNextSequence() == 0;
                        if (sa.offerLease(r.getStart(), r.getEnd())) {
                            leasesGranted.increment();
                            SaTables t = tables.get();
                            if (first && t != null) {
                                t.leaseArrived(sa.id());
                            }
                        } else {
                            leaseFailures.increment();
                            log.warn("SA {}: refused lease [{}, {}) that would repeat numbers", sa.id(),
                                    Long.toUnsignedString(r.getStart()), Long.toUnsignedString(r.getEnd()));
                        }
                    }

                    @Override
                    public void onError(Throwable t) {
                        leaseFailures.increment();
                        Status s = Status.fromThrowable(t);
                        if (s.getCode() == Status.Code.RESOURCE_EXHAUSTED) {
                            log.info("SA {}: sequence space used up; it needs rekeying", sa.id());
                            sa.markSequenceSpaceExhausted();
                            return;
                        }
                        if (closed || sa.isClosed()) {
                            sa.leaseRequestEnded();
                            return;
                        }
                        log.debug("SA {}: lease failed ({}), retry in {} ms", sa.id(), s.getCode(), retryMillis);
                        long next = Math.min(settings.maxBackoff().toMillis(), retryMillis * 2);
                        try {
                            scheduler.schedule(() -> lease(sa, next), retryMillis, TimeUnit.MILLISECONDS);
                        } catch (RuntimeException e) {
                            sa.leaseRequestEnded();
                        }
                    }

                    @Override
                    public void onCompleted() {
                    }
                });
    }

    /** One round of usage reports (also callable from tests). */
    public void tick() {
        SaTables t = tables.get();
        if (t == null || closed) {
            return;
        }
        try {
            for (SaTables.Installed in : t.installed()) {
                report(t, in);
            }
        } catch (RuntimeException e) {
            log.warn("SA maintenance round failed: {}", e.toString());
        }
    }

    private void report(SaTables t, SaTables.Installed in) {
        ChildSaRecord r = in.record();
        String id = r.getId();
        long packets = in.sa().packets();
        long bytes = in.sa().bytes();
        var life = r.getLifetime();
        if (!in.sa().isHardExpired()
                && (life.getHardPackets() != 0 && packets >= life.getHardPackets()
                        || life.getHardBytes() != 0 && bytes >= life.getHardBytes())) {
            t.expireLocally(id);
        }
        if (packets != in.reportedPackets || bytes != in.reportedBytes) {
            in.reportedPackets = packets;
            in.reportedBytes = bytes;
            stub.withDeadlineAfter(CALL_DEADLINE_SECONDS, TimeUnit.SECONDS).reportUsage(
                    ReportUsageRequest.newBuilder().setSaId(id).setBytes(bytes).setPackets(packets).setNodeId(nodeId)
                            .build(),
                    new Quiet<ReportUsageResponse>("usage report", id) {
                        @Override
                        public void onNext(ReportUsageResponse v) {
                            usageReports.increment();
                            t.updateCounters(v.getChildSa());
                        }

                        @Override
                        public void onError(Throwable x) {
                            super.onError(x);
                            in.reportedPackets = -1; // report again next round even if nothing moved
                        }
                    });
        }
    }

    /** An observer that logs failures at debug: the next round reports again. */
    private abstract static class Quiet<T> implements StreamObserver<T> {
        private final String what;
        private final String id;

        Quiet(String what, String id) {
            this.what = what;
            this.id = id;
        }

        @Override
        public void onError(Throwable t) {
            log.debug("SA {}: {} failed: {}", id, what, Status.fromThrowable(t).getCode());
        }

        @Override
        public void onCompleted() {
        }
    }

    public long leasesGranted() {
        return leasesGranted.sum();
    }

    public long leaseFailures() {
        return leaseFailures.sum();
    }

    /** Replay checkpoints sad-service recorded. */
    public long checkpoints() {
        return checkpoints.recorded();
    }

    public long usageReports() {
        return usageReports.sum();
    }

    @Override
    public void close() {
        closed = true;
        checkpoints.close();
        ScheduledFuture<?> f = ticking;
        if (f != null) {
            f.cancel(false);
        }
    }
}
