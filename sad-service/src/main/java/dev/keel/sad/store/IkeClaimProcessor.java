package dev.keel.sad.store;

import dev.keel.proto.v1.IkeSaRecord;
import dev.keel.sad.SadException.Kind;
import java.util.Map;
import java.util.Set;

/**
 * Makes a node the owner of an IKE SA record (ClaimOwnership with {@code ike_sa_id}), by the rule
 * of {@link OwnershipClaim}, as for a CHILD SA ({@link ClaimProcessor}). The owner epoch
 * rises, so the previous owner's next write is refused ({@link IkeUpsertProcessor}) and the new
 * owner's IKE service takes the record over. Message IDs, keys and the cached response are kept.
 */
public final class IkeClaimProcessor extends OwnershipClaim {

    IkeClaimProcessor() {} // for Hazelcast

    public IkeClaimProcessor(String nodeId, String memberUuid, String expectedOwner, Set<String> liveMembers,
            long nowMs) {
        super(nodeId, memberUuid, expectedOwner, liveMembers, nowMs);
    }

    @Override
    protected OpResult apply(Map.Entry<String, byte[]> entry) {
        if (entry.getValue() == null) {
            return OpResult.refuse(Kind.NOT_FOUND, "IKE SA " + entry.getKey() + " does not exist");
        }
        IkeSaRecord r = openIke(entry);
        if (ours(r.getOwnerNodeId(), r.getOwnerMember())) {
            return OpResult.ok(entry.getValue());
        }
        OpResult refused = refusal("IKE SA " + r.getId(), r.getOwnerNodeId(), r.getOwnerMember());
        if (refused != null) {
            return refused;
        }
        return OpResult.ok(write(entry, r.toBuilder()
                .setOwnerNodeId(nodeId)
                .setOwnerMember(memberUuid)
                .setOwnerEpoch(r.getOwnerEpoch() + 1)
                .setOwnerReason(reason(r.getOwnerMember()))
                .setGeneration(r.getGeneration() + 1)
                .setUpdatedAtMs(nowMs)));
    }

    @Override
    public int getClassId() {
        return SadSerialization.IKE_CLAIM;
    }
}
