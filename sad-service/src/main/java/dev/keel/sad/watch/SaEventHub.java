package dev.keel.sad.watch;

import com.hazelcast.core.EntryEvent;
import com.hazelcast.map.listener.EntryAddedListener;
import com.hazelcast.map.listener.EntryMergedListener;
import com.hazelcast.map.listener.EntryRemovedListener;
import com.hazelcast.map.listener.EntryUpdatedListener;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.ChildSaState;
import dev.keel.proto.v1.IkeSaRecord;
import dev.keel.proto.v1.OwnershipChange;
import dev.keel.proto.v1.SaEvent;
import dev.keel.proto.v1.SaEventType;
import dev.keel.proto.v1.WatchRequest;
import dev.keel.sad.cluster.SadCluster;
import dev.keel.sad.keys.RecordMac;
import dev.keel.sad.keys.TamperedRecordException;
import dev.keel.sad.store.ChildSaFields;
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
 *
 * <p>A CHILD SA change is classified from a few fields read off the record bytes
 * ({@link ChildSaFields}) and its events keep those bytes: the record is parsed only when a Watch
 * stream sends the event ({@link HubEvent}), so a member nobody watches does little per change
 * (a takeover of 50,000 SAs is 50,000 changes on every member).
 *
 * <p>No record reaches a Watch stream without passing its integrity check ({@link RecordMac}): a
 * CHILD SA's when a stream first sends an event carrying it, an IKE SA's and every snapshot
 * record's before they are queued. A record that fails is not sent (counted and logged by the check).
 */
public final class SaEventHub implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(SaEventHub.class.getName());

    private final SadCluster cluster;
    private final String streamId;
    private final int logSize;
    private final int maxQueuedPerSubscriber;
    private final ArrayDeque<HubEvent> log;
    private final Set<Subscription> subscribers = new CopyOnWriteArraySet<>();
    private final Consumer<ChildSaRecord> childObserver;
    private final UUID childListener;
    private final UUID ikeListener;
    private long revision;

    /**
     * @param childObserver sees the id, state and owner node of every changed CHILD SA record
     *        after it is logged (the node uses it to zeroize keys of SAs deleted or moved away)
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
            long oldest = log.isEmpty() ? revision + 1 : log.peekFirst().revision;
            boolean resumable = req.getStreamId().equals(streamId)
                    && req.getAfterRevision() <= revision && req.getAfterRevision() >= oldest - 1;
            sub.start(streamId, resumable);
            if (resumable) {
                List<HubEvent> missed = new ArrayList<>();
                for (HubEvent e : log) {
                    if (e.revision > req.getAfterRevision()) {
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
        for (var e : cluster.childSas().entrySet(filter)) {
            try {
                snap.add(SaEvent.newBuilder().setRevision(snapshotRevision).setObservedAtMs(now)
                        .setType(SaEventType.SA_EVENT_TYPE_SNAPSHOT_CHILD_SA)
                        .setChildSa(Records.verifiedChild(e.getKey(), e.getValue())).build());
            } catch (TamperedRecordException refused) {
                // not sent
            }
        }
        for (var e : cluster.ikeSas().entrySet()) {
            try {
                snap.add(SaEvent.newBuilder().setRevision(snapshotRevision).setObservedAtMs(now)
                        .setType(SaEventType.SA_EVENT_TYPE_SNAPSHOT_IKE_SA)
                        .setIkeSa(Records.verifiedIke(e.getKey(), e.getValue())).build());
            } catch (TamperedRecordException refused) {
                // not sent
            }
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

    private void publish(List<HubEvent> events) {
        long now = System.currentTimeMillis();
        synchronized (this) {
            for (HubEvent e : events) {
                e.revision = ++revision;
                e.observedAtMs = now;
                if (log.size() == logSize) {
                    log.removeFirst();
                }
                log.addLast(e);
            }
            for (Subscription s : subscribers) {
                for (HubEvent e : events) {
                    s.live(e);
                }
            }
        }
    }

    /**
     * Classifies one change of a CHILD SA record (see the class comment) from the few fields it
     * needs ({@link ChildSaFields}); the events keep the new record's bytes and parse them only
     * when a Watch stream sends them.
     *
     * @param oldValue the record before, null when added (or unknown on a removal)
     * @param newValue the record after, null when removed
     */
    static List<HubEvent> classify(String key, byte[] oldValue, byte[] newValue) {
        return classify(key, oldValue, newValue, newValue == null ? null : ChildSaFields.read(newValue));
    }

    /** As above, with the new record's fields read already ({@code now}, null when removed). */
    private static List<HubEvent> classify(String key, byte[] oldValue, byte[] newValue, ChildSaFields now) {
        List<HubEvent> out = new ArrayList<>(2);
        if (newValue == null) {
            String id = oldValue == null ? key : ChildSaFields.read(oldValue).id();
            out.add(HubEvent.child(SaEventType.SA_EVENT_TYPE_CHILD_SA_DELETED, HubEvent.Record.idOnly(id)));
            return out;
        }
        HubEvent.Record record = HubEvent.Record.stored(key, newValue, now.ownerNodeId());
        if (oldValue == null) {
            out.add(HubEvent.child(now.isLive() ? SaEventType.SA_EVENT_TYPE_CHILD_SA_PUT
                    : SaEventType.SA_EVENT_TYPE_CHILD_SA_DELETED, record));
            return out;
        }
        ChildSaFields old = ChildSaFields.read(oldValue);
        if (old.generation() == now.generation()) {
            return out; // counters only
        }
        if (!now.isLive() && old.isLive()) {
            out.add(HubEvent.child(SaEventType.SA_EVENT_TYPE_CHILD_SA_DELETED, record));
            return out;
        }
        if (now.ownerEpoch() != old.ownerEpoch()) {
            out.add(HubEvent.ownershipChanged(record, old.ownerNodeId()));
        }
        if (now.hasSoftExpiry() && !old.hasSoftExpiry()) {
            out.add(HubEvent.lifetimeExpired(record, false));
        }
        if (now.hasHardExpiry() && !old.hasHardExpiry()) {
            out.add(HubEvent.lifetimeExpired(record, true));
        }
        if (out.isEmpty()) {
            out.add(HubEvent.child(SaEventType.SA_EVENT_TYPE_CHILD_SA_PUT, record));
        }
        return out;
    }

    private final class ChildListener implements EntryAddedListener<String, byte[]>,
            EntryUpdatedListener<String, byte[]>, EntryRemovedListener<String, byte[]>,
            EntryMergedListener<String, byte[]> {

        private void on(EntryEvent<String, byte[]> e, boolean removed) {
            try {
                byte[] oldValue = e.getOldValue();
                byte[] newValue = removed ? null : e.getValue();
                if (oldValue == null && newValue == null && !removed) {
                    return;
                }
                ChildSaFields now = newValue == null ? null : ChildSaFields.read(newValue);
                List<HubEvent> events = classify(e.getKey(), oldValue, newValue, now);
                if (!events.isEmpty()) {
                    publish(events);
                    childObserver.accept(observed(e.getKey(), now));
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

    /** What the observer sees of a change: id, state and owner (a removal: the id, DELETED). */
    private static ChildSaRecord observed(String key, ChildSaFields f) {
        if (f == null) {
            return ChildSaRecord.newBuilder().setId(key).setState(ChildSaState.CHILD_SA_STATE_DELETED).build();
        }
        return ChildSaRecord.newBuilder().setId(f.id()).setStateValue(f.stateValue())
                .setOwnerNodeId(f.ownerNodeId()).build();
    }

    private final class IkeListener implements EntryAddedListener<String, byte[]>,
            EntryUpdatedListener<String, byte[]>, EntryRemovedListener<String, byte[]>,
            EntryMergedListener<String, byte[]> {

        private void put(EntryEvent<String, byte[]> e) {
            if (e.getValue() == null) {
                return;
            }
            IkeSaRecord r;
            try {
                r = Records.verifiedIke(e.getKey(), e.getValue());
            } catch (TamperedRecordException refused) {
                return; // not published
            } catch (RuntimeException ex) {
                LOG.log(System.Logger.Level.WARNING, "watch: cannot publish change of IKE SA " + e.getKey() + ": "
                        + ex.getMessage());
                return;
            }
            SaEvent.Builder event = SaEvent.newBuilder().setType(SaEventType.SA_EVENT_TYPE_IKE_SA_PUT).setIkeSa(r);
            String before = previousOwner(e.getOldValue());
            if (before != null && !before.equals(r.getOwnerNodeId())) { // the previous owner stops running it
                event.setOwnership(OwnershipChange.newBuilder().setPreviousOwnerNodeId(before)
                        .setNewOwnerNodeId(r.getOwnerNodeId()).setReason(r.getOwnerReason()));
            }
            publish(List.of(HubEvent.of(event.build())));
        }

        /** The owner node of the record a change replaced, or null (none, or unreadable: the event goes without it). */
        private static String previousOwner(byte[] old) {
            if (old == null) {
                return null;
            }
            try {
                return Records.parseIke(old).getOwnerNodeId();
            } catch (RuntimeException unreadable) {
                return null;
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
            publish(List.of(HubEvent.of(SaEvent.newBuilder().setType(SaEventType.SA_EVENT_TYPE_IKE_SA_DELETED)
                    .setIkeSa(IkeSaRecord.newBuilder().setId(e.getKey())).build())));
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
