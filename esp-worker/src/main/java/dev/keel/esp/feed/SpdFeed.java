package dev.keel.esp.feed;

import dev.keel.core.spd.Spd;
import dev.keel.proto.CoreMapping;
import dev.keel.proto.v1.PolicyEvent;
import dev.keel.proto.v1.PolicyServiceGrpc;
import dev.keel.proto.v1.PolicyWatchRequest;
import io.grpc.Channel;
import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps a {@link SpdTable} equal to policy-service's SPD: PolicyService.Watch gives a snapshot,
 * then one delta per applied configuration; each SPD it carries is compiled into a core
 * {@link Spd} and swapped in whole. When the stream ends or fails the feed reconnects with
 * exponential back-off, asking for the deltas after the last revision it applied in the same
 * epoch (policy.proto: the service answers with those deltas, nothing, or a fresh snapshot).
 *
 * <p>An event whose SPD does not compile (a bug upstream; policy-service validates) is refused
 * whole: the previous SPD stays, the event is counted, and the feed reconnects for a snapshot.
 */
public final class SpdFeed extends ResumableWatch<PolicyWatchRequest> {

    private static final Logger log = LoggerFactory.getLogger(SpdFeed.class);

    private final PolicyServiceGrpc.PolicyServiceStub stub;
    private final SpdTable table;
    private final LongAdder snapshots = new LongAdder();
    private final LongAdder deltas = new LongAdder();
    private final LongAdder rejected = new LongAdder();

    private long epoch;
    private long revision;

    public SpdFeed(Channel policyService, SpdTable table, ScheduledExecutorService scheduler, Duration minBackoff,
            Duration maxBackoff) {
        super(log, "policy", scheduler, minBackoff, maxBackoff);
        this.stub = PolicyServiceGrpc.newStub(policyService);
        this.table = table;
    }

    /** Opens the stream (asynchronously); returns at once. */
    public synchronized SpdFeed start() {
        connect();
        return this;
    }

    @Override
    void open(int mine) {
        PolicyWatchRequest req = PolicyWatchRequest.newBuilder().setSinceRevision(revision).setEpoch(epoch).build();
        stub.watch(req, this.<PolicyEvent>observer(mine, this::apply));
    }

    private void apply(PolicyEvent e) {
        try {
            if (e.hasSnapshot()) {
                Spd spd = Spd.of(CoreMapping.spd(e.getSnapshot().getSpdList(), "spd"));
                table.publish(spd, e.getEpoch(), e.getRevision());
                snapshots.increment();
            } else if (e.hasDelta()) {
                if (e.getEpoch() != epoch || e.getRevision() != revision + 1) {
                    throw new IllegalArgumentException("delta to revision " + e.getRevision() + " of epoch "
                            + e.getEpoch() + " does not follow revision " + revision + " of epoch " + epoch);
                }
                if (e.getDelta().getSpdChanged()) {
                    table.publish(Spd.of(CoreMapping.spd(e.getDelta().getSpdList(), "spd")), e.getEpoch(), e.getRevision());
                } else {
                    table.publish(table.current(), e.getEpoch(), e.getRevision());
                }
                deltas.increment();
            } else {
                throw new IllegalArgumentException("event without snapshot or delta");
            }
            epoch = e.getEpoch();
            revision = e.getRevision();
        } catch (RuntimeException x) {
            rejected.increment();
            log.warn("policy watch: refused revision {} ({}); keeping SPD revision {}, resyncing", e.getRevision(),
                    x.getMessage(), revision);
            // Force a snapshot on the next stream: the state after a refused event is unknown.
            revision = 0;
            epoch = 0;
            cancelCall("refused event");
        }
    }

    /** Snapshots applied. */
    public long snapshots() {
        return snapshots.sum();
    }

    /** Deltas applied. */
    public long deltas() {
        return deltas.sum();
    }

    /** Events refused (SPD did not compile, or out of order). */
    public long rejected() {
        return rejected.sum();
    }

    /** The last revision applied, 0 before the first. */
    @Override
    public synchronized long revision() {
        return revision;
    }
}
