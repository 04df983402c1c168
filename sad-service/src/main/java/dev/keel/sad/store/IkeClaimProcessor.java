package dev.keel.sad.store;

import dev.keel.proto.v1.IkeSaRecord;
import dev.keel.proto.v1.OwnershipReason;
import dev.keel.sad.SadException.Kind;
import java.io.Serial;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Makes a node the owner of an IKE SA record (ClaimOwnership with {@code ike_sa_id}), by the rule
 * of {@link ClaimProcessor}: allowed when the node already owns it, when the owner's incarnation
 * is no longer a cluster member, or when the caller names the current owner. The owner epoch
 * rises, so the previous owner's next write is refused ({@link IkeUpsertProcessor}) and the new
 * owner's IKE service takes the record over. Message IDs, keys and the cached response are kept.
 */
public final class IkeClaimProcessor extends RecordProcessor {

    @Serial
    private static final long serialVersionUID = 1L;

    private final String nodeId;
    private final String memberUuid;
    private final String expectedOwner;
    private final HashSet<String> liveMembers;
    private final long nowMs;

    public IkeClaimProcessor(String nodeId, String memberUuid, String expectedOwner, Set<String> liveMembers,
            long nowMs) {
        this.nodeId = nodeId;
        this.memberUuid = memberUuid;
        this.expectedOwner = expectedOwner;
        this.liveMembers = new HashSet<>(liveMembers);
        this.nowMs = nowMs;
    }

    @Override
    protected OpResult apply(Map.Entry<String, byte[]> entry) {
        if (entry.getValue() == null) {
            return OpResult.refuse(Kind.NOT_FOUND, "IKE SA " + entry.getKey() + " does not exist");
        }
        IkeSaRecord r = openIke(entry);
        if (r.getOwnerNodeId().equals(nodeId) && r.getOwnerMember().equals(memberUuid)) {
            return OpResult.ok(entry.getValue());
        }
        boolean ownerAlive = liveMembers.contains(r.getOwnerMember());
        boolean planned = !expectedOwner.isEmpty() && expectedOwner.equals(r.getOwnerNodeId());
        if (ownerAlive && !planned && !r.getOwnerNodeId().equals(nodeId)) {
            return OpResult.refuse(Kind.FAILED_PRECONDITION, "IKE SA " + r.getId() + " is owned by live node '"
                    + r.getOwnerNodeId() + "'; name it in expected_owner_node_id to move it");
        }
        return OpResult.ok(write(entry, r.toBuilder()
                .setOwnerNodeId(nodeId)
                .setOwnerMember(memberUuid)
                .setOwnerEpoch(r.getOwnerEpoch() + 1)
                .setOwnerReason(ownerAlive ? OwnershipReason.OWNERSHIP_REASON_CLAIM
                        : OwnershipReason.OWNERSHIP_REASON_TAKEOVER)
                .setGeneration(r.getGeneration() + 1)
                .setUpdatedAtMs(nowMs)));
    }
}
