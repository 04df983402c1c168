package dev.keel.sad.store;

import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.OwnershipReason;
import dev.keel.sad.keys.RecordMac;
import java.io.Serial;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The maintenance pass over CHILD SAs, run by the oldest member (one claimant):
 * <ol>
 *   <li>takeover: an SA whose owner incarnation is not a live member gets a new owner: its
 *       node again if that node is live under a new incarnation, otherwise the one
 *       {@link Records#chooseOwner} picks among the live members ({@link Records#successor});</li>
 *   <li>time lifetimes: soft / hard expiry by age;</li>
 *   <li>tombstones older than the retention period are purged.</li>
 * </ol>
 * Records are read with {@link ChildSaFields} (the few fields the pass needs) and a takeover
 * patches the owner fields in the bytes; only a lifetime transition parses the whole record.
 * It runs in two steps ({@link MaintenancePass}): the {@link #due()} query is evaluated on the
 * partition owners only (no backups touched); the backup replica re-runs the pass and reaches the
 * same bytes, also in multi-key operations, where a single backup processor serves every key of a
 * partition.
 *
 * <p>A record that fails its integrity check is left as it is (no new owner, no expiry, no purge)
 * and answered {@link #REFUSED}; the result of a change is {@link #CHANGED}.
 */
public final class MaintenanceProcessor extends MaintenancePass {

    @Serial
    private static final long serialVersionUID = 1L;

    private final long tombstoneRetentionMs;
    /** Shared by the partition threads that run this instance (local operations are not copied). */
    private transient volatile ConcurrentHashMap<String, byte[]> utf8Cache;

    /**
     * @param liveMembers member UUID -> node id of every live member
     */
    public MaintenanceProcessor(long nowMs, Map<String, String> liveMembers, long tombstoneRetentionMs) {
        super(nowMs, liveMembers);
        this.tombstoneRetentionMs = tombstoneRetentionMs;
    }

    /** The record after maintenance: {@code r} itself when nothing is due, null to purge. */
    ChildSaRecord next(ChildSaRecord r) {
        if (!Records.isLive(r)) {
            return nowMs - r.getDeletedAtMs() >= tombstoneRetentionMs ? null : r;
        }
        ChildSaRecord u = r;
        if (orphan(r.getOwnerMember())) {
            String member = Records.successor(r.getId(), r.getOwnerNodeId(), liveMembers);
            u = ClaimProcessor.reassign(u, liveMembers.get(member), member,
                    OwnershipReason.OWNERSHIP_REASON_TAKEOVER, nowMs);
        }
        return Records.applyLifetimes(u, nowMs);
    }

    @Override
    protected RecordMac.Scope scope() {
        return RecordMac.Scope.CHILD_SA;
    }

    @Override
    protected Object apply(Map.Entry<String, byte[]> entry, byte[] value, RecordMac mac) {
        // Fast path: read the few fields the pass needs and patch the owner fields in place; the
        // full parse only for what the patch does not cover (a lifetime transition, an odd layout).
        ChildSaFields f = ChildSaFields.read(value);
        if (f.canonical() && !f.lifetimeDue(nowMs)) {
            if (!f.isLive()) {
                if (nowMs - f.deletedAtMs() < tombstoneRetentionMs) {
                    return null;
                }
                entry.setValue(null);
                return CHANGED;
            }
            if (!orphan(f.ownerMember())) {
                return null;
            }
            String member = Records.successor(f.id(), f.ownerNodeId(), liveMembers);
            entry.setValue(f.reassign(mac, entry.getKey(), utf8(liveMembers.get(member)), utf8(member),
                    OwnershipReason.OWNERSHIP_REASON_TAKEOVER, nowMs));
            return CHANGED;
        }
        ChildSaRecord r = Records.parseChild(value);
        ChildSaRecord u = next(r);
        if (u == null) {
            entry.setValue(null);
        } else if (u != r) {
            entry.setValue(Records.sealed(mac, entry.getKey(), u));
        } else {
            return null;
        }
        return CHANGED; // counted by the caller (null results are not returned)
    }

    @Override
    boolean isDue(byte[] value) {
        ChildSaFields f = ChildSaFields.read(value);
        if (!f.canonical()) {
            ChildSaRecord r = Records.parseChild(value);
            return next(r) != r;
        }
        if (!f.isLive()) {
            return nowMs - f.deletedAtMs() >= tombstoneRetentionMs;
        }
        return orphan(f.ownerMember()) || f.lifetimeDue(nowMs);
    }

    /** The UTF-8 bytes of a member UUID or node id, encoded once per pass (there are a few). */
    private byte[] utf8(String s) {
        ConcurrentHashMap<String, byte[]> cache = utf8Cache;
        if (cache == null) {
            cache = new ConcurrentHashMap<>(); // a race makes two; each is right
            utf8Cache = cache;
        }
        return cache.computeIfAbsent(s, k -> k.getBytes(StandardCharsets.UTF_8));
    }
}
