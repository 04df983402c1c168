package dev.keel.sad.watch;

import dev.keel.proto.v1.SaEvent;
import dev.keel.proto.v1.SaEventType;
import dev.keel.proto.v1.WatchRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One Watch stream's queue. The hub appends events (filtered by the few fields they carry); the
 * transport drains them when it can send, after {@link #onAvailable} tells it there are some,
 * and {@link #poll} builds each into an {@link SaEvent} (keys stripped unless asked for).
 * A subscriber that falls more than {@code maxQueued} events behind is marked overflowed and
 * must be closed by the transport (the client resumes from its last revision).
 */
public final class Subscription {

    private final WatchRequest request;
    private final int maxQueued;
    private final ConcurrentLinkedQueue<HubEvent> queue = new ConcurrentLinkedQueue<>();
    private final AtomicInteger queued = new AtomicInteger();
    private final List<HubEvent> held = new ArrayList<>();
    private boolean snapshotting;
    private volatile boolean overflowed;
    private volatile boolean closed;
    private volatile Runnable onAvailable = () -> { };
    private boolean resumed;
    private String streamId = "";

    public Subscription(WatchRequest request, int maxQueued) {
        this.request = request;
        this.maxQueued = maxQueued;
    }

    public WatchRequest request() {
        return request;
    }

    /** Called (from any thread) whenever events become available. */
    public void onAvailable(Runnable r) {
        this.onAvailable = r;
    }

    public boolean resumed() {
        return resumed;
    }

    public String streamId() {
        return streamId;
    }

    void start(String streamId, boolean resumed) {
        synchronized (this) {
            this.streamId = streamId;
            this.resumed = resumed;
            this.snapshotting = !resumed;
        }
    }

    /** A live event from the hub. */
    void live(HubEvent e) {
        if (closed || !passes(e)) {
            return;
        }
        synchronized (this) {
            if (snapshotting) {
                held.add(e);
                return;
            }
        }
        push(e);
    }

    /** Snapshot events, then the end marker, then everything held back meanwhile. */
    void snapshot(List<SaEvent> events, SaEvent end) {
        for (SaEvent e : events) {
            HubEvent h = HubEvent.of(e);
            if (passes(h)) {
                push(h);
            }
        }
        push(HubEvent.of(end));
        synchronized (this) {
            for (HubEvent e : held) {
                if (e.revision > end.getRevision()) {
                    push(e);
                }
            }
            held.clear();
            snapshotting = false;
        }
    }

    /** Events from the log for a resumed stream. */
    void replay(List<HubEvent> events) {
        for (HubEvent e : events) {
            if (passes(e)) {
                push(e);
            }
        }
    }

    private void push(HubEvent e) {
        queue.add(e);
        if (queued.incrementAndGet() > maxQueued) {
            overflowed = true;
        }
        onAvailable.run();
    }

    private boolean passes(HubEvent e) {
        String owner = request.getOwnerNodeId();
        if (owner.isEmpty() || e.type == SaEventType.SA_EVENT_TYPE_SNAPSHOT_END) {
            return true;
        }
        if (e.childSa) {
            return owner.equals(e.ownerNodeId) || owner.equals(e.previousOwnerNodeId)
                    || e.ownerNodeId.isEmpty(); // purge notices carry only the id
        }
        return !e.ikeSa || e.ownerNodeId.isEmpty() || owner.equals(e.ownerNodeId) || owner.equals(e.previousOwnerNodeId);
    }

    /** Takes up to {@code max} queued events, in order. */
    public List<SaEvent> poll(int max) {
        List<SaEvent> out = new ArrayList<>(Math.min(max, 64));
        boolean withKeys = request.getIncludeWrappedKeys();
        HubEvent e;
        while (out.size() < max && (e = queue.poll()) != null) {
            SaEvent built = e.event(withKeys); // the record is checked and parsed here, on the stream's thread
            if (built != null) { // else its record failed its integrity check: not sent
                out.add(built);
            }
            queued.decrementAndGet();
        }
        return out;
    }

    public boolean isEmpty() {
        return queue.isEmpty();
    }

    public boolean overflowed() {
        return overflowed;
    }

    public boolean isClosed() {
        return closed;
    }

    void close() {
        closed = true;
        queue.clear();
    }
}
