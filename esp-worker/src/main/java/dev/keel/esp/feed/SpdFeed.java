package dev.keel.esp.feed;

import dev.keel.core.spd.Spd;
import dev.keel.proto.v1.PolicyEvent;
import dev.keel.proto.v1.PolicyServiceGrpc;
import dev.keel.proto.v1.PolicyWatchRequest;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
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
public final class SpdFeed implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(SpdFeed.class);

    private final PolicyServiceGrpc.PolicyServiceStub stub;
    private final SpdTable table;
    private final ScheduledExecutorService scheduler;
    private final Backoff backoff;
    private final LongAdder snapshots = new LongAdder();
    private final LongAdder deltas = new LongAdder();
    private final LongAdder rejected = new LongAdder();
    private final LongAdder connects = new LongAdder();

    private long epoch;
    private long revision;
    private int attempt;
    private ClientCallStreamObserver<PolicyWatchRequest> call;
    private boolean closed;

    public SpdFeed(Channel policyService, SpdTable table, ScheduledExecutorService scheduler, Duration minBackoff,
            Duration maxBackoff) {
        this.stub = PolicyServiceGrpc.newStub(policyService);
        this.table = table;
        this.scheduler = scheduler;
        this.backoff = new Backoff(minBackoff, maxBackoff);
    }

    /** Opens the stream (asynchronously); returns at once. */
    public synchronized SpdFeed start() {
        connect();
        return this;
    }

    private synchronized void connect() {
        if (closed) {
            return;
        }
        int mine = ++attempt;
        connects.increment();
        PolicyWatchRequest req = PolicyWatchRequest.newBuilder().setSinceRevision(revision).setEpoch(epoch).build();
        stub.watch(req, new ClientResponseObserver<PolicyWatchRequest, PolicyEvent>() {
            @Override
            public void beforeStart(ClientCallStreamObserver<PolicyWatchRequest> c) {
                synchronized (SpdFeed.this) {
                    if (mine == attempt) {
                        call = c;
                    }
                }
            }

            @Override
            public void onNext(PolicyEvent e) {
                apply(mine, e);
            }

            @Override
            public void onError(Throwable t) {
                ended(mine, Status.fromThrowable(t).getCode().toString());
            }

            @Override
            public void onCompleted() {
                ended(mine, "completed");
            }
        });
    }

    private synchronized void apply(int mine, PolicyEvent e) {
        if (mine != attempt || closed) {
            return;
        }
        backoff.reset();
        try {
            if (e.hasSnapshot()) {
                Spd spd = Spd.of(ProtoConversions.spd(e.getSnapshot().getSpdList()));
                table.publish(spd, e.getEpoch(), e.getRevision());
                snapshots.increment();
            } else if (e.hasDelta()) {
                if (e.getEpoch() != epoch || e.getRevision() != revision + 1) {
                    throw new IllegalArgumentException("delta to revision " + e.getRevision() + " of epoch "
                            + e.getEpoch() + " does not follow revision " + revision + " of epoch " + epoch);
                }
                if (e.getDelta().getSpdChanged()) {
                    table.publish(Spd.of(ProtoConversions.spd(e.getDelta().getSpdList())), e.getEpoch(), e.getRevision());
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
            ClientCallStreamObserver<PolicyWatchRequest> c = call;
            if (c != null) {
                c.cancel("refused event", null);
            }
        }
    }

    private synchronized void ended(int mine, String why) {
        if (mine != attempt || closed) {
            return;
        }
        call = null;
        long delay = backoff.nextDelayMillis();
        log.info("policy watch ended ({}); reconnecting in {} ms from revision {}", why, delay, revision);
        scheduler.schedule(this::connect, delay, TimeUnit.MILLISECONDS);
    }

    /** Drops the current stream and reconnects at once, resuming from the last revision (tests, operators). */
    public synchronized void restart() {
        ClientCallStreamObserver<PolicyWatchRequest> c = call;
        attempt++;
        call = null;
        if (c != null) {
            c.cancel("restart", null);
        }
        scheduler.execute(this::connect);
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

    /** Streams opened (first connect and every reconnect). */
    public long connects() {
        return connects.sum();
    }

    /** The last revision applied, 0 before the first. */
    public synchronized long revision() {
        return revision;
    }

    @Override
    public synchronized void close() {
        closed = true;
        if (call != null) {
            call.cancel("closed", null);
            call = null;
        }
    }
}
