package dev.keel.esp.feed;

import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.SaEvent;
import dev.keel.proto.v1.SaServiceGrpc;
import dev.keel.proto.v1.WatchRequest;
import dev.keel.proto.v1.WatchResponse;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps {@link SaTables} equal to the SAs sad-service says this node owns: SaService.Watch with
 * {@code owner_node_id} = this node and {@code include_wrapped_keys}; a snapshot (staged, then
 * reconciled at SNAPSHOT_END so SAs deleted while disconnected go away), then changes. On a
 * broken stream it reconnects with back-off, sending the stream id and the last revision it
 * applied, and gets exactly the events it missed or, when the member cannot resume, a snapshot
 * (sa.proto, Watch).
 */
public final class SaFeed implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(SaFeed.class);

    private final SaServiceGrpc.SaServiceStub stub;
    private final SaTables tables;
    private final ScheduledExecutorService scheduler;
    private final Backoff backoff;
    private final LongAdder snapshots = new LongAdder();
    private final LongAdder resumes = new LongAdder();
    private final LongAdder events = new LongAdder();
    private final LongAdder connects = new LongAdder();

    private String streamId = "";
    private long revision;
    private int attempt;
    private boolean firstOfStream;
    private List<ChildSaRecord> staged;
    private ClientCallStreamObserver<WatchRequest> call;
    private boolean closed;

    public SaFeed(Channel saService, SaTables tables, ScheduledExecutorService scheduler, Duration minBackoff,
            Duration maxBackoff) {
        this.stub = SaServiceGrpc.newStub(saService);
        this.tables = tables;
        this.scheduler = scheduler;
        this.backoff = new Backoff(minBackoff, maxBackoff);
    }

    /** Opens the stream (asynchronously); returns at once. */
    public SaFeed start() {
        connect();
        return this;
    }

    private synchronized void connect() {
        if (closed) {
            return;
        }
        int mine = ++attempt;
        firstOfStream = true;
        staged = null;
        connects.increment();
        WatchRequest req = WatchRequest.newBuilder().setStreamId(streamId).setAfterRevision(revision)
                .setIncludeWrappedKeys(true).setOwnerNodeId(tables.nodeId()).build();
        stub.watch(req, new ClientResponseObserver<WatchRequest, WatchResponse>() {
            @Override
            public void beforeStart(ClientCallStreamObserver<WatchRequest> c) {
                synchronized (SaFeed.this) {
                    if (mine == attempt) {
                        call = c;
                    }
                }
            }

            @Override
            public void onNext(WatchResponse r) {
                apply(mine, r);
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

    private synchronized void apply(int mine, WatchResponse r) {
        if (mine != attempt || closed) {
            return;
        }
        backoff.reset();
        if (firstOfStream) {
            firstOfStream = false;
            if (r.getResumed()) {
                resumes.increment();
            }
        }
        streamId = r.getStreamId();
        for (SaEvent e : r.getEventsList()) {
            events.increment();
            switch (e.getType()) {
                case SA_EVENT_TYPE_SNAPSHOT_CHILD_SA -> {
                    if (staged == null) {
                        staged = new ArrayList<>();
                    }
                    staged.add(e.getChildSa());
                }
                case SA_EVENT_TYPE_SNAPSHOT_END -> {
                    Set<String> ids = new HashSet<>();
                    List<ChildSaRecord> all = staged == null ? List.of() : staged;
                    for (ChildSaRecord c : all) {
                        ids.add(c.getId());
                        tables.upsert(c);
                    }
                    tables.retainOnly(ids);
                    staged = null;
                    snapshots.increment();
                    revision = e.getRevision();
                }
                case SA_EVENT_TYPE_CHILD_SA_PUT, SA_EVENT_TYPE_OWNERSHIP_CHANGED, SA_EVENT_TYPE_LIFETIME_EXPIRED -> {
                    tables.upsert(e.getChildSa());
                    revision = e.getRevision();
                }
                case SA_EVENT_TYPE_CHILD_SA_DELETED -> {
                    tables.remove(e.getChildSa().getId());
                    revision = e.getRevision();
                }
                case SA_EVENT_TYPE_SNAPSHOT_IKE_SA -> {
                    // IKE SAs are not the data plane's business; the snapshot's revision comes with its end.
                }
                default -> revision = e.getRevision(); // IKE SA changes: skipped, but their revisions count
            }
        }
    }

    private synchronized void ended(int mine, String why) {
        if (mine != attempt || closed) {
            return;
        }
        call = null;
        long delay = backoff.nextDelayMillis();
        log.info("SA watch ended ({}); reconnecting in {} ms from revision {}", why, delay, revision);
        scheduler.schedule(this::connect, delay, TimeUnit.MILLISECONDS);
    }

    /** Drops the current stream and reconnects at once, resuming from the last revision. */
    public synchronized void restart() {
        ClientCallStreamObserver<WatchRequest> c = call;
        attempt++;
        call = null;
        if (c != null) {
            c.cancel("restart", null);
        }
        scheduler.execute(this::connect);
    }

    /** Snapshots applied (the first stream's, and any reconnect that could not resume). */
    public long snapshots() {
        return snapshots.sum();
    }

    /** Streams that resumed without a snapshot. */
    public long resumes() {
        return resumes.sum();
    }

    /** Streams opened. */
    public long connects() {
        return connects.sum();
    }

    /** Last revision applied. */
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
