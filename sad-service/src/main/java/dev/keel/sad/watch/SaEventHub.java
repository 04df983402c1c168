package dev.keel.sad.watch;

import com.hazelcast.core.EntryEvent;
import com.hazelcast.map.listener.EntryAddedListener;
import com.hazelcast.map.listener.EntryMergedListener;
import com.hazelcast.map.listener.EntryRemovedListener;
import com.hazelcast.map.listener.EntryUpdatedListener;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.ChildSaState;
import dev.keel.proto.v1.IkeSaRecord;
import dev.keel.proto.v1.LifetimeEvent;
import dev.keel.proto.v1.OwnershipChange;
import dev.keel.proto.v1.SaEvent;
import dev.keel.proto.v1.SaEventType;
import dev.keel.proto.v1.WatchRequest;
import dev.keel.sad.cluster.SadCluster;
import dev.keel.sad.store.ChildSaFilter;
import dev.keel.sad.store.Records;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArraySet;
import java.util.function.Consumer;

/**
 * This member's view of every change to the SA maps, numbered and fanned out to Watch streams.
 *
 * <p>Each member listens to the whole CHILD SA and IKE SA maps (Hazelcast delivers every
 * change to every listening member, in order per key) and turns each change into at most a few
 * {@link SaEvent}s: a put, a delete, an ownership change, a lifetime expiry. Changes of counters
 * alone (leases, checkpoints, usage: the generation does not move) are not published. Every
 * event gets the next revision of this member's log; the last {@code watchLogSize} events are
 * kept so that a client reconnecting to the same member with its last revision resumes without
 * a gap. The log's identity ({@link #streamId()}) is random per process start, so a revision
 * from another member or an earlier incarnation never matches and the client gets a snapshot.
 */
public final class SaEventHub implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(SaEventHub.class.getName());

    private final SadCluster cluster;
    private final String streamId;
    private final int logSize;
    private final int maxQueuedPerSubscriber;
    private final ArrayDeque<SaEvent> log;
    private final Set<Subscription> subscribers = new CopyOnWriteArraySet<>();
    private final Consumer<ChildSaRecord> childObserver;
    private final UUID childListener;
    private final UUID ikeListener;
    private long revision;

    /**
     * @param childObserver sees every changed CHILD SA record after it is logged (the database
     *        uses it to zeroize keys of SAs deleted or moved away)
     */
    public SaEventHub(SadCluster cluster, int logSize, Consumer<ChildSaRecord> childObserver) {
        this.cluster = cluster;
        this.logSize = logSize;
        this.maxQueuedPerSubscriber = Math.max(4 * logSize, 65_536);
        this.log = new ArrayDeque<>(logSize);
        this.childObserver = childObserver;
        byte[] id = new byte[8];
        new SecureRandom().nextBytes(id);
        this.streamId = cluster.nodeId() + "/" + HexFormat.of().formatHex(id);
        this.childListener = cluster.childSas().addEntryListener(new ChildListener(), true);
        this.ikeListener = cluster.ikeSas().addEntryListener(new IkeListener(), true);
    }

    public String streamId() {
        return streamId;
    }

    public synchronized long revision() {
        return revision;
    }

    /**
     * Starts a Watch: resumes from the log when the request's stream id and revision allow it,
     * else sends a snapshot of the maps (read after the subscription is registered, so no
     * change is missed; a change may appear both in the snapshot and after it, and events are
     * idempotent upserts).
     */
    public Subscription subscribe(WatchRequest req, Subscription sub) {
        long snapshotRevision;
        synchronized (this) {
            long oldest = log.isEmpty() ? revision + 1 : log.peekFirst().getRevision();
            boolean resumable = req.getStreamId().equals(streamId)
                    && req.getAfterRevision() <= revision && req.getAfterRevision() >= oldest - 1;
            sub.start(streamId, resumable);
            if (resumable) {
                List<SaEvent> missed = new ArrayList<>();
                for (SaEvent e : log) {
                    if (e.getRevision() > req.getAfterRevision()) {
                        missed.add(e);
                    }
                }
                sub.replay(missed);
                subscribers.add(sub);
                return sub;
            }
            snapshotRevision = revision;
            subscribers.add(sub);
        }
        long now = System.currentTimeMillis();
        List<SaEvent> snap = new ArrayList<>();
        ChildSaFilter filter = new ChildSaFilter("", "", new byte[0], req.getOwnerNodeId(), false);
        for (byte[] v : cluster.childSas().values(filter)) {
            snap.add(SaEvent.newBuilder().setRevision(snapshotRevision).setObservedAtMs(now)
                    .setType(SaEventType.SA_EVENT_TYPE_SNAPSHOT_CHILD_SA).setChildSa(Records.parseChild(v)).build());
        }
        for (byte[] v : cluster.ikeSas().values()) {
            IkeSaRecord r = Records.parseIke(v);
            snap.add(SaEvent.newBuilder().setRevision(snapshotRevision).setObservedAtMs(now)
                    .setType(SaEventType.SA_EVENT_TYPE_SNAPSHOT_IKE_SA).setIkeSa(r).build());
        }
        sub.snapshot(snap, SaEvent.newBuilder().setRevision(snapshotRevision).setObservedAtMs(now)
                .setType(SaEventType.SA_EVENT_TYPE_SNAPSHOT_END).build());
        return sub;
    }

    public void unsubscribe(Subscription sub) {
        subscribers.remove(sub);
        sub.close();
    }

    public int subscriberCount() {
        return subscribers.size();
    }

    private void publish(List<SaEvent.Builder> events) {
        long now = System.currentTimeMillis();
        List<SaEvent> built = new ArrayList<>(events.size());
        synchronized (this) {
            for (SaEvent.Builder b : events) {
                SaEvent e = b.setRevision(++revision).setObservedAtMs(now).build();
                if (log.size() == logSize) {
                    log.removeFirst();
                }
                log.addLast(e);
                built.add(e);
            }
            for (Subscription s : subscribers) {
                for (SaEvent e : built) {
                    s.live(e);
                }
            }
        }
    }

    /** Classifies one change of a CHILD SA record; see the class comment. */
    static List<SaEvent.Builder> classify(ChildSaRecord old, ChildSaRecord now) {
        List<SaEvent.Builder> out = new ArrayList<>(2);
        if (now == null) {
            out.add(SaEvent.newBuilder().setType(SaEventType.SA_EVENT_TYPE_CHILD_SA_DELETED)
                    .setChildSa(ChildSaRecord.newBuilder().setId(old.getId())));
            return out;
        }
        if (old == null) {
            out.add(SaEvent.newBuilder().setType(Records.isLive(now)
                    ? SaEventType.SA_EVENT_TYPE_CHILD_SA_PUT : SaEventType.SA_EVENT_TYPE_CHILD_SA_DELETED).setChildSa(now));
            return out;
        }
        if (old.getGeneration() == now.getGeneration()) {
            return out; // counters only
        }
        if (now.getState() == ChildSaState.CHILD_SA_STATE_DELETED && old.getState() != ChildSaState.CHILD_SA_STATE_DELETED) {
            out.add(SaEvent.newBuilder().setType(SaEventType.SA_EVENT_TYPE_CHILD_SA_DELETED).setChildSa(now));
            return out;
        }
        if (now.getOwnerEpoch() != old.getOwnerEpoch()) {
            out.add(SaEvent.newBuilder().setType(SaEventType.SA_EVENT_TYPE_OWNERSHIP_CHANGED).setChildSa(now)
                    .setOwnership(OwnershipChange.newBuilder().setPreviousOwnerNodeId(old.getOwnerNodeId())
                            .setNewOwnerNodeId(now.getOwnerNodeId()).setReason(now.getOwnerReason())));
        }
        if (now.hasSoftExpiry() && !old.hasSoftExpiry()) {
            out.add(SaEvent.newBuilder().setType(SaEventType.SA_EVENT_TYPE_LIFETIME_EXPIRED).setChildSa(now)
                    .setLifetime(LifetimeEvent.newBuilder().setHard(false).setLimit(now.getSoftExpiry().getLimit())));
        }
        if (now.hasHardExpiry() && !old.hasHardExpiry()) {
            out.add(SaEvent.newBuilder().setType(SaEventType.SA_EVENT_TYPE_LIFETIME_EXPIRED).setChildSa(now)
                    .setLifetime(LifetimeEvent.newBuilder().setHard(true).setLimit(now.getHardExpiry().getLimit())));
        }
        if (out.isEmpty()) {
            out.add(SaEvent.newBuilder().setType(SaEventType.SA_EVENT_TYPE_CHILD_SA_PUT).setChildSa(now));
        }
        return out;
    }

    private final class ChildListener implements EntryAddedListener<String, byte[]>,
            EntryUpdatedListener<String, byte[]>, EntryRemovedListener<String, byte[]>,
            EntryMergedListener<String, byte[]> {

        private void on(EntryEvent<String, byte[]> e, boolean removed) {
            try {
                ChildSaRecord old = e.getOldValue() == null ? null : Records.parseChild(e.getOldValue());
                ChildSaRecord now = removed || e.getValue() == null ? null : Records.parseChild(e.getValue());
                if (old == null && now == null) {
                    if (removed) {
                        old = ChildSaRecord.newBuilder().setId(e.getKey()).build();
                    } else {
                        return;
                    }
                }
                List<SaEvent.Builder> events = classify(old, now);
                if (!events.isEmpty()) {
                    publish(events);
                    childObserver.accept(now != null ? now : ChildSaRecord.newBuilder().setId(e.getKey())
                            .setState(ChildSaState.CHILD_SA_STATE_DELETED).build());
                }
            } catch (RuntimeException ex) {
                LOG.log(System.Logger.Level.WARNING, "watch: cannot publish change of child SA " + e.getKey() + ": "
                        + ex.getMessage());
            }
        }

        @Override
        public void entryAdded(EntryEvent<String, byte[]> e) {
            on(e, false);
        }

        @Override
        public void entryUpdated(EntryEvent<String, byte[]> e) {
            on(e, false);
        }

        @Override
        public void entryRemoved(EntryEvent<String, byte[]> e) {
            on(e, true);
        }

        @Override
        public void entryMerged(EntryEvent<String, byte[]> e) {
            on(e, false);
        }
    }

    private final class IkeListener implements EntryAddedListener<String, byte[]>,
            EntryUpdatedListener<String, byte[]>, EntryRemovedListener<String, byte[]>,
            EntryMergedListener<String, byte[]> {

        private void put(EntryEvent<String, byte[]> e) {
            if (e.getValue() != null) {
                publish(List.of(SaEvent.newBuilder().setType(SaEventType.SA_EVENT_TYPE_IKE_SA_PUT)
                        .setIkeSa(Records.parseIke(e.getValue()))));
            }
        }

        @Override
        public void entryAdded(EntryEvent<String, byte[]> e) {
            put(e);
        }

        @Override
        public void entryUpdated(EntryEvent<String, byte[]> e) {
            put(e);
        }

        @Override
        public void entryMerged(EntryEvent<String, byte[]> e) {
            put(e);
        }

        @Override
        public void entryRemoved(EntryEvent<String, byte[]> e) {
            publish(List.of(SaEvent.newBuilder().setType(SaEventType.SA_EVENT_TYPE_IKE_SA_DELETED)
                    .setIkeSa(IkeSaRecord.newBuilder().setId(e.getKey()))));
        }
    }

    @Override
    public void close() {
        try {
            cluster.childSas().removeEntryListener(childListener);
            cluster.ikeSas().removeEntryListener(ikeListener);
        } catch (RuntimeException ignored) {
            // instance already gone
        }
        subscribers.forEach(Subscription::close);
        subscribers.clear();
    }
}
