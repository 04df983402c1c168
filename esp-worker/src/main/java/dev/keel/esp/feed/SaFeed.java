package dev.keel.esp.feed;

import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.SaEvent;
import dev.keel.proto.v1.SaServiceGrpc;
import dev.keel.proto.v1.WatchRequest;
import dev.keel.proto.v1.WatchResponse;
import io.grpc.Channel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
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
public final class SaFeed extends ResumableWatch<WatchRequest> {

    private static final Logger log = LoggerFactory.getLogger(SaFeed.class);

    private final SaServiceGrpc.SaServiceStub stub;
    private final SaTables tables;
    private final LongAdder snapshots = new LongAdder();
    private final LongAdder resumes = new LongAdder();
    private final LongAdder events = new LongAdder();

    private String streamId = "";
    private long revision;
    private boolean firstOfStream;
    private List<ChildSaRecord> staged;

    public SaFeed(Channel saService, SaTables tables, ScheduledExecutorService scheduler, Duration minBackoff,
            Duration maxBackoff) {
        super(log, "SA", scheduler, minBackoff, maxBackoff);
        this.stub = SaServiceGrpc.newStub(saService);
        this.tables = tables;
    }

    /** Opens the stream (asynchronously); returns at once. */
    public SaFeed start() {
        connect();
        return this;
    }

    @Override
    void open(int mine) {
        firstOfStream = true;
        staged = null;
        WatchRequest req = WatchRequest.newBuilder().setStreamId(streamId).setAfterRevision(revision)
                .setIncludeWrappedKeys(true).setOwnerNodeId(tables.nodeId()).build();
        stub.watch(req, this.<WatchResponse>observer(mine, this::apply));
    }

    private void apply(WatchResponse r) {
        if (firstOfStream) {
            firstOfStream = false;
            if (r.getResumed()) {
                resumes.increment();
            }
        }
        streamId = r.getStreamId();
        // One response is a burst of events (up to 256): applied as one batch, each table published once.
        tables.batch(() -> applyEvents(r));
    }

    private void applyEvents(WatchResponse r) {
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

    /** Snapshots applied (the first stream's, and any reconnect that could not resume). */
    public long snapshots() {
        return snapshots.sum();
    }

    /** Streams that resumed without a snapshot. */
    public long resumes() {
        return resumes.sum();
    }

    /** Last revision applied. */
    @Override
    public synchronized long revision() {
        return revision;
    }
}
