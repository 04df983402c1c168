package dev.keel.sad.store;

import com.hazelcast.map.EntryProcessor;
import com.hazelcast.query.Predicate;
import dev.keel.proto.v1.IkeSaRecord;
import dev.keel.proto.v1.OwnershipReason;
import dev.keel.sad.keys.RecordMac;
import dev.keel.sad.keys.TamperedRecordException;
import java.io.Serial;
import java.util.HashMap;
import java.util.Map;

/**
 * Takeover of IKE SAs whose owner left, like {@link MaintenanceProcessor} for CHILD SAs (a record
 * that fails its integrity check is left alone: {@link MaintenanceProcessor#REFUSED}).
 */
public final class IkeMaintenanceProcessor implements EntryProcessor<String, byte[], Object> {

    @Serial
    private static final long serialVersionUID = 1L;

    private final long nowMs;
    private final HashMap<String, String> liveMembers;

    public IkeMaintenanceProcessor(long nowMs, Map<String, String> liveMembers) {
        this.nowMs = nowMs;
        this.liveMembers = new HashMap<>(liveMembers);
    }

    boolean orphaned(IkeSaRecord r) {
        return !liveMembers.isEmpty() && !liveMembers.containsKey(r.getOwnerMember());
    }

    @Override
    public Object process(Map.Entry<String, byte[]> entry) {
        byte[] value = entry.getValue();
        if (value == null) {
            return null;
        }
        RecordMac mac;
        try {
            mac = RecordMac.verify(RecordMac.Scope.IKE_SA, entry.getKey(), value);
        } catch (TamperedRecordException e) {
            return MaintenanceProcessor.REFUSED;
        }
        IkeSaRecord r = Records.parseIke(value);
        if (!orphaned(r)) {
            return null;
        }
        String member = Records.successor(r.getId(), r.getOwnerNodeId(), liveMembers);
        entry.setValue(Records.sealed(mac, entry.getKey(), r.toBuilder()
                .setOwnerMember(member)
                .setOwnerNodeId(liveMembers.get(member))
                .setOwnerEpoch(r.getOwnerEpoch() + 1)
                .setOwnerReason(OwnershipReason.OWNERSHIP_REASON_TAKEOVER)
                .setGeneration(r.getGeneration() + 1)
                .setUpdatedAtMs(nowMs)));
        return null;
    }

    @Override
    public EntryProcessor<String, byte[], Object> getBackupProcessor() {
        return this;
    }

    /** Selects the orphaned IKE SAs. */
    public Predicate<String, byte[]> due() {
        return new Due(this);
    }

    private record Due(IkeMaintenanceProcessor pass) implements Predicate<String, byte[]> {
        @Serial
        private static final long serialVersionUID = 1L;

        @Override
        public boolean apply(Map.Entry<String, byte[]> entry) {
            byte[] v = entry.getValue();
            return v != null && pass.orphaned(Records.parseIke(v));
        }
    }
}
