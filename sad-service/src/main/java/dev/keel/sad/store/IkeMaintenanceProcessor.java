package dev.keel.sad.store;

import dev.keel.proto.v1.IkeSaRecord;
import dev.keel.proto.v1.OwnershipReason;
import dev.keel.sad.keys.RecordMac;
import java.io.Serial;
import java.util.Map;

/**
 * Takeover of IKE SAs whose owner left, like {@link MaintenanceProcessor} for CHILD SAs (a record
 * that fails its integrity check is left alone: {@link #REFUSED}).
 */
public final class IkeMaintenanceProcessor extends MaintenancePass {

    @Serial
    private static final long serialVersionUID = 1L;

    public IkeMaintenanceProcessor(long nowMs, Map<String, String> liveMembers) {
        super(nowMs, liveMembers);
    }

    @Override
    protected RecordMac.Scope scope() {
        return RecordMac.Scope.IKE_SA;
    }

    @Override
    boolean isDue(byte[] value) {
        return orphan(Records.parseIke(value).getOwnerMember());
    }

    @Override
    protected Object apply(Map.Entry<String, byte[]> entry, byte[] value, RecordMac mac) {
        IkeSaRecord r = Records.parseIke(value);
        if (!orphan(r.getOwnerMember())) {
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
}
