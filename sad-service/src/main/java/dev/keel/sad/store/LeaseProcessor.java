package dev.keel.sad.store;

import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.ChildSaState;
import dev.keel.proto.v1.Direction;
import dev.keel.sad.SadException.Kind;
import java.io.Serial;
import java.util.Map;

/**
 * Grants the next block {@code [start, start + count)} of an outbound SA's sequence numbers to
 * its owner and raises the lease high-water mark to {@code start + count} (see
 * {@link RecordProcessor} for why the grant is on the backup before the caller has it).
 *
 * <p>{@code a} of the result is the start, {@code b} the end (exclusive), {@code c} the owner epoch.
 */
public final class LeaseProcessor extends RecordProcessor {

    @Serial
    private static final long serialVersionUID = 1L;

    /** The largest block one call may take. */
    public static final int MAX_COUNT = 1 << 20;

    private final String nodeId;
    private final int count;

    public LeaseProcessor(String nodeId, int count) {
        this.nodeId = nodeId;
        this.count = count;
    }

    @Override
    protected OpResult apply(Map.Entry<String, byte[]> entry) {
        byte[] bytes = entry.getValue();
        if (bytes == null) {
            return OpResult.refuse(Kind.NOT_FOUND, "child SA " + entry.getKey() + " does not exist");
        }
        ChildSaRecord r = openChild(entry);
        OpResult refusal = Checks.usableBy(r, nodeId, Direction.DIRECTION_OUTBOUND, "lease sequence numbers");
        if (refusal != null) {
            return refusal;
        }
        long start = r.getLeaseHighWater() == 0 ? 1 : r.getLeaseHighWater(); // unsigned: never Math.max
        long end = start + count;
        boolean exhausted = r.getEsn()
                ? Long.compareUnsigned(end, start) <= 0 // wrapped past 2^64 - 1
                : end > (1L << 32);
        if (exhausted) {
            return OpResult.refuse(Kind.RESOURCE_EXHAUSTED, "child SA " + r.getId() + ": sequence space exhausted at "
                    + Long.toUnsignedString(start) + " (" + (r.getEsn() ? "ESN" : "32-bit") + "); rekey the SA");
        }
        write(entry, r.toBuilder().setLeaseHighWater(end));
        return OpResult.ok(null, start, end, r.getOwnerEpoch());
    }

    /** Shared state / ownership / direction checks. */
    static final class Checks {
        private Checks() {}

        static OpResult usableBy(ChildSaRecord r, String nodeId, Direction direction, String what) {
            if (r.getState() == ChildSaState.CHILD_SA_STATE_DELETED) {
                return OpResult.refuse(Kind.FAILED_PRECONDITION, "child SA " + r.getId() + " is deleted");
            }
            if (r.getState() == ChildSaState.CHILD_SA_STATE_EXPIRED) {
                return OpResult.refuse(Kind.FAILED_PRECONDITION,
                        "child SA " + r.getId() + " reached its hard lifetime; cannot " + what);
            }
            if (direction != null && r.getDirection() != direction) {
                return OpResult.refuse(Kind.FAILED_PRECONDITION, "child SA " + r.getId() + " is "
                        + r.getDirection().name().substring("DIRECTION_".length()).toLowerCase()
                        + "; cannot " + what);
            }
            if (!r.getOwnerNodeId().equals(nodeId)) {
                return OpResult.refuse(Kind.FAILED_PRECONDITION, "child SA " + r.getId() + " is owned by node '"
                        + r.getOwnerNodeId() + "', not '" + nodeId + "' (owner epoch " + r.getOwnerEpoch() + ")");
            }
            return null;
        }
    }
}
