package dev.keel.sad.store;

import com.hazelcast.map.EntryProcessor;
import com.hazelcast.query.Predicate;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.OwnershipReason;
import java.io.Serial;
import java.util.HashMap;
import java.util.Map;

/**
 * The maintenance pass over CHILD SAs, run by the oldest member (one claimant):
 * <ol>
 *   <li>takeover: an SA whose owner incarnation is not a live member gets a new owner: its
 *       node again if that node is live under a new incarnation, otherwise the one
 *       {@link Records#chooseOwner} picks among the live members ({@link Records#successor});</li>
 *   <li>time lifetimes: soft / hard expiry by age;</li>
 *   <li>tombstones older than the retention period are purged.</li>
 * </ol>
 * It runs in two steps: a query with {@link #due()} finds the keys that need work (evaluated on
 * the partition owners only, no backups touched), then {@code executeOnKeys} applies this
 * processor to those keys. The processor is deterministic in its fields (clock and member set
 * captured when built), so the backup replica re-runs it (backup processor = this) and reaches
 * the same bytes; this also holds for multi-key operations, where a single backup processor
 * serves every key of a partition.
 */
public final class MaintenanceProcessor implements EntryProcessor<String, byte[], Object> {

    @Serial
    private static final long serialVersionUID = 1L;

    private final long nowMs;
    private final HashMap<String, String> liveMembers;
    private final long replayMargin;
    private final long tombstoneRetentionMs;

    /**
     * @param liveMembers member UUID -> node id of every live member
     */
    public MaintenanceProcessor(long nowMs, Map<String, String> liveMembers, long replayMargin,
            long tombstoneRetentionMs) {
        this.nowMs = nowMs;
        this.liveMembers = new HashMap<>(liveMembers);
        this.replayMargin = replayMargin;
        this.tombstoneRetentionMs = tombstoneRetentionMs;
    }

    /** The record after maintenance: {@code r} itself when nothing is due, null to purge. */
    ChildSaRecord next(ChildSaRecord r) {
        if (!Records.isLive(r)) {
            return nowMs - r.getDeletedAtMs() >= tombstoneRetentionMs ? null : r;
        }
        ChildSaRecord u = r;
        if (!liveMembers.isEmpty() && !liveMembers.containsKey(r.getOwnerMember())) {
            String member = Records.successor(r.getId(), r.getOwnerNodeId(), liveMembers);
            u = ClaimProcessor.reassign(u, liveMembers.get(member), member,
                    OwnershipReason.OWNERSHIP_REASON_TAKEOVER, replayMargin, nowMs);
        }
        return Records.applyLifetimes(u, nowMs);
    }

    @Override
    public Object process(Map.Entry<String, byte[]> entry) {
        byte[] value = entry.getValue();
        if (value == null) {
            return null;
        }
        ChildSaRecord r = Records.parseChild(value);
        ChildSaRecord u = next(r);
        if (u == null) {
            entry.setValue(null);
        } else if (u != r) {
            entry.setValue(u.toByteArray());
        } else {
            return null;
        }
        return Boolean.TRUE; // changed: counted by the caller (null results are not returned)
    }

    @Override
    public EntryProcessor<String, byte[], Object> getBackupProcessor() {
        return this;
    }

    /** Selects the entries this pass would change. */
    public Predicate<String, byte[]> due() {
        return new Due(this);
    }

    private record Due(MaintenanceProcessor pass) implements Predicate<String, byte[]> {
        @Serial
        private static final long serialVersionUID = 1L;

        @Override
        public boolean apply(Map.Entry<String, byte[]> entry) {
            byte[] v = entry.getValue();
            if (v == null) {
                return false;
            }
            ChildSaRecord r = Records.parseChild(v);
            return pass.next(r) != r;
        }
    }
}
