package dev.keel.sad.store;

import dev.keel.sad.Validation;

import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.Direction;
import dev.keel.proto.v1.OwnershipReason;
import java.util.Map;
import java.util.Set;

/**
 * Makes a node the owner of a CHILD SA (ClaimOwnership). Allowed when the node already owns it,
 * when the current owner's incarnation is no longer a cluster member, or when the caller names
 * the current owner (planned move). The owner epoch rises; an inbound SA's replay floor becomes
 * the previous owner's checkpoint + margin (docs/ha.md); an outbound SA's next lease starts at the
 * high-water mark anyway.
 */
public final class ClaimProcessor extends OwnershipClaim {

    ClaimProcessor() {} // for Hazelcast

    public ClaimProcessor(String nodeId, String memberUuid, String expectedOwner, Set<String> liveMembers,
            long nowMs) {
        super(nodeId, memberUuid, expectedOwner, liveMembers, nowMs);
    }

    @Override
    protected OpResult apply(Map.Entry<String, byte[]> entry) {
        ChildSaRecord r = liveChild(entry);
        if (ours(r.getOwnerNodeId(), r.getOwnerMember())) {
            return OpResult.ok(entry.getValue());
        }
        OpResult refused = refusal("child SA " + r.getId(), r.getOwnerNodeId(), r.getOwnerMember());
        if (refused != null) {
            return refused;
        }
        ChildSaRecord u = reassign(r, nodeId, memberUuid, reason(r.getOwnerMember()), nowMs);
        return OpResult.ok(write(entry, u));
    }

    /**
     * The ownership change itself, shared with the takeover scan. Inbound: the previous owner's
     * data plane accepted nothing above checkpoint + margin (it enforces that bound), so the new
     * owner's floor is that sum, and its checkpoint starts there with the {@link #takeoverMargin}:
     * it may accept up to floor + that margin before its own first checkpoint (docs/ha.md).
     */
    static ChildSaRecord reassign(ChildSaRecord r, String nodeId, String memberUuid, OwnershipReason reason,
            long nowMs) {
        ChildSaRecord.Builder b = r.toBuilder()
                .setOwnerNodeId(nodeId)
                .setOwnerMember(memberUuid)
                .setOwnerEpoch(r.getOwnerEpoch() + 1)
                .setOwnerReason(reason)
                .setGeneration(r.getGeneration() + 1)
                .setUpdatedAtMs(nowMs);
        if (r.getDirection() == Direction.DIRECTION_INBOUND) {
            long floor = takeoverFloor(r.getReplayCheckpoint(), r.getReplayMargin(), r.getReplayFloor());
            b.setReplayFloor(floor).setReplayCheckpoint(floor)
                    .setReplayMargin(takeoverMargin(r.getReplayCheckpoint(), r.getReplayFloor(), r.getReplayMargin()));
        }
        return b.build();
    }

    /** How many times the previous owner's margin a new owner may accept above the floor before its first checkpoint. */
    static final long TAKEOVER_MARGIN_FACTOR = 4;

    /**
     * The margin a new owner starts with: {@link #TAKEOVER_MARGIN_FACTOR} times the previous
     * owner's, at most 2^32. The previous owner sized its margin for about 0.6 s of the flow
     * (docs/ha.md, "Sizing the margin"), but by the time a takeover reaches the data plane (1–2 s
     * after a kill) the peer has moved its sequence numbers on by the whole outage: with the same
     * margin its first packets would lie above the limit and wait for the new owner's first
     * checkpoint, a round trip to a busy SAD. The new owner's first checkpoint sizes the margin
     * to its traffic again; until then a second takeover would start this much higher.
     *
     * <p>Only a margin the owner's own checkpoints sized is multiplied: one still at the floor
     * (no checkpoint since the last takeover, or a new SA's initial margin, both 0) is kept, so
     * takeovers and claims in a row (a claim going back and forth) raise the floor by the same
     * margin each time, not by a margin that grows fourfold at each.
     */
    static long takeoverMargin(long checkpoint, long floor, long margin) {
        if (checkpoint == floor) {
            return margin;
        }
        return Math.min(margin * TAKEOVER_MARGIN_FACTOR, Validation.MAX_REPLAY_MARGIN);
    }

    /** max(floor, checkpoint + margin), unsigned: the floor never goes down. */
    static long takeoverFloor(long checkpoint, long margin, long floor) {
        long limit = Records.replayLimit(checkpoint, margin);
        return Long.compareUnsigned(limit, floor) > 0 ? limit : floor;
    }

    @Override
    public int getClassId() {
        return SadSerialization.CLAIM;
    }
}
