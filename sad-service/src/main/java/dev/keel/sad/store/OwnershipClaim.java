package dev.keel.sad.store;

import dev.keel.proto.v1.OwnershipReason;
import dev.keel.sad.SadException.Kind;
import com.hazelcast.nio.ObjectDataInput;
import com.hazelcast.nio.ObjectDataOutput;
import java.io.IOException;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;

/**
 * The rule of ClaimOwnership, for CHILD SA and IKE SA records alike: a node may make a record its
 * own when it owns it already, when the owner's incarnation is no longer a cluster member
 * (takeover), or when the caller names the current owner (planned move).
 */
abstract class OwnershipClaim extends RecordProcessor {

    String nodeId;
    String memberUuid;
    long nowMs;
    private String expectedOwner;
    private HashSet<String> liveMembers;

    OwnershipClaim() {} // for Hazelcast

    OwnershipClaim(String nodeId, String memberUuid, String expectedOwner, Set<String> liveMembers, long nowMs) {
        this.nodeId = nodeId;
        this.memberUuid = memberUuid;
        this.expectedOwner = expectedOwner;
        this.liveMembers = new HashSet<>(liveMembers);
        this.nowMs = nowMs;
    }

    /** Whether this node's incarnation owns the record already (the claim changes nothing). */
    final boolean ours(String ownerNodeId, String ownerMember) {
        return ownerNodeId.equals(nodeId) && ownerMember.equals(memberUuid);
    }

    /**
     * The refusal of a claim on {@code what} (e.g. "child SA x") owned by a live node the caller
     * did not name; null when the claim may go ahead.
     */
    final OpResult refusal(String what, String ownerNodeId, String ownerMember) {
        boolean planned = !expectedOwner.isEmpty() && expectedOwner.equals(ownerNodeId);
        if (liveMembers.contains(ownerMember) && !planned && !ownerNodeId.equals(nodeId)) {
            return OpResult.refuse(Kind.FAILED_PRECONDITION, what + " is owned by live node '" + ownerNodeId
                    + "'; name it in expected_owner_node_id to move it");
        }
        return null;
    }

    /** Why the record moves: a claim from a live owner, or a takeover from a departed one. */
    final OwnershipReason reason(String ownerMember) {
        return liveMembers.contains(ownerMember) ? OwnershipReason.OWNERSHIP_REASON_CLAIM
                : OwnershipReason.OWNERSHIP_REASON_TAKEOVER;
    }

    @Override
    public final void writeData(ObjectDataOutput out) throws IOException {
        out.writeString(nodeId);
        out.writeString(memberUuid);
        out.writeString(expectedOwner);
        out.writeStringArray(liveMembers.toArray(String[]::new));
        out.writeLong(nowMs);
    }

    @Override
    public final void readData(ObjectDataInput in) throws IOException {
        nodeId = in.readString();
        memberUuid = in.readString();
        expectedOwner = in.readString();
        liveMembers = new HashSet<>(Arrays.asList(in.readStringArray()));
        nowMs = in.readLong();
    }
}
