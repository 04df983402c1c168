package dev.keel.sad.watch;

import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.LifetimeEvent;
import dev.keel.proto.v1.OwnershipChange;
import dev.keel.proto.v1.SaEvent;
import dev.keel.proto.v1.SaEventType;
import dev.keel.sad.keys.TamperedRecordException;
import dev.keel.sad.store.Records;

/**
 * One entry of the hub's log. A CHILD SA change keeps the stored record bytes and the few fields
 * the subscription filter needs; its {@link SaEvent} (a full parse of the record) is built only
 * when a Watch stream sends it, once per key-stripping variant, so a member without subscribers
 * (or whose subscribers filter the SA out) never parses the record. The record's integrity tag is
 * checked there too, once: an event whose record fails it is never sent ({@link #event} null).
 */
final class HubEvent {

    final SaEventType type;
    /** Owner node of the record the event carries; "" for an id-only record. */
    final String ownerNodeId;
    /** For an ownership change, the owner before; else null. */
    final String previousOwnerNodeId;
    /** Which record the event carries (the subscription filter treats them differently). */
    final boolean childSa;
    final boolean ikeSa;
    private final SaEvent prebuilt;
    private final Record record;
    private final boolean hard;
    long revision;
    long observedAtMs;
    private volatile SaEvent full;
    private volatile SaEvent stripped;

    private HubEvent(SaEventType type, String ownerNodeId, String previousOwnerNodeId, boolean childSa,
            boolean ikeSa, SaEvent prebuilt, Record record, boolean hard) {
        this.type = type;
        this.ownerNodeId = ownerNodeId;
        this.previousOwnerNodeId = previousOwnerNodeId;
        this.childSa = childSa;
        this.ikeSa = ikeSa;
        this.prebuilt = prebuilt;
        this.record = record;
        this.hard = hard;
    }

    /** An event built already (snapshots, IKE SA changes); revision and time are taken from it or set later. */
    static HubEvent of(SaEvent e) {
        String owner = e.hasChildSa() ? e.getChildSa().getOwnerNodeId()
                : e.hasIkeSa() ? e.getIkeSa().getOwnerNodeId() : "";
        HubEvent h = new HubEvent(e.getType(), owner, e.hasOwnership() ? e.getOwnership().getPreviousOwnerNodeId() : null,
                e.hasChildSa(), e.hasIkeSa(), e, null, false);
        h.revision = e.getRevision();
        h.observedAtMs = e.getObservedAtMs();
        return h;
    }

    /** A CHILD SA event carrying {@code record}: PUT, DELETED. */
    static HubEvent child(SaEventType type, Record record) {
        return new HubEvent(type, record.ownerNodeId, null, true, false, null, record, false);
    }

    static HubEvent ownershipChanged(Record record, String previousOwnerNodeId) {
        return new HubEvent(SaEventType.SA_EVENT_TYPE_OWNERSHIP_CHANGED, record.ownerNodeId, previousOwnerNodeId,
                true, false, null, record, false);
    }

    static HubEvent lifetimeExpired(Record record, boolean hard) {
        return new HubEvent(SaEventType.SA_EVENT_TYPE_LIFETIME_EXPIRED, record.ownerNodeId, null, true, false, null,
                record, hard);
    }

    /**
     * The event as sent: with the record's wrapped keys or without them; null when its record
     * failed its integrity check (counted and logged by the check).
     */
    SaEvent event(boolean withKeys) {
        SaEvent e = withKeys ? full : stripped;
        if (e == null) {
            if (record != null && !record.verified()) {
                return null;
            }
            e = build(withKeys);
            if (withKeys) {
                full = e;
            } else {
                stripped = e;
            }
        }
        return e;
    }

    private SaEvent build(boolean withKeys) {
        if (prebuilt != null) {
            SaEvent e = prebuilt.getRevision() == revision && prebuilt.getObservedAtMs() == observedAtMs ? prebuilt
                    : prebuilt.toBuilder().setRevision(revision).setObservedAtMs(observedAtMs).build();
            if (withKeys) {
                return e;
            }
            if (e.hasChildSa() && e.getChildSa().hasKeys()) {
                return e.toBuilder().setChildSa(Records.withoutKeys(e.getChildSa())).build();
            }
            if (e.hasIkeSa() && e.getIkeSa().hasKeys()) {
                return e.toBuilder().setIkeSa(Records.withoutKeys(e.getIkeSa())).build();
            }
            return e;
        }
        ChildSaRecord r = record.parsed();
        SaEvent.Builder b = SaEvent.newBuilder().setRevision(revision).setObservedAtMs(observedAtMs).setType(type)
                .setChildSa(withKeys ? r : Records.withoutKeys(r));
        if (type == SaEventType.SA_EVENT_TYPE_OWNERSHIP_CHANGED) {
            b.setOwnership(OwnershipChange.newBuilder().setPreviousOwnerNodeId(previousOwnerNodeId)
                    .setNewOwnerNodeId(r.getOwnerNodeId()).setReason(r.getOwnerReason()));
        } else if (type == SaEventType.SA_EVENT_TYPE_LIFETIME_EXPIRED) {
            b.setLifetime(LifetimeEvent.newBuilder().setHard(hard)
                    .setLimit(hard ? r.getHardExpiry().getLimit() : r.getSoftExpiry().getLimit()));
        }
        return b.build();
    }

    /**
     * The record of one change, shared by the events it gave: the stored bytes and the map key, or
     * only the id.
     */
    static final class Record {
        private final byte[] bytes;
        private final String id;
        final String ownerNodeId;
        private volatile ChildSaRecord parsed;
        /** 0 not checked yet, 1 passed, -1 failed. */
        private volatile int check;

        private Record(byte[] bytes, String id, String ownerNodeId) {
            this.bytes = bytes;
            this.id = id;
            this.ownerNodeId = ownerNodeId;
        }

        /** A stored record, under its map key. */
        static Record stored(String key, byte[] bytes, String ownerNodeId) {
            return new Record(bytes, key, ownerNodeId);
        }

        /** A deletion notice: the record carries only the SA id. */
        static Record idOnly(String id) {
            return new Record(null, id, "");
        }

        /** Whether the record passes its integrity check (an id-only record has nothing to check). */
        boolean verified() {
            int c = check;
            if (c == 0) { // two streams may both check; each gets the same answer
                try {
                    parsed = bytes == null ? ChildSaRecord.newBuilder().setId(id).build() : Records.verifiedChild(id, bytes);
                    c = 1;
                } catch (TamperedRecordException e) {
                    c = -1;
                }
                check = c;
            }
            return c > 0;
        }

        /** The record; only after {@link #verified()} answered true. */
        ChildSaRecord parsed() {
            return parsed;
        }
    }
}
