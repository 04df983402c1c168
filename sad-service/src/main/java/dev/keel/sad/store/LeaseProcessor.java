package dev.keel.sad.store;

import com.hazelcast.nio.ObjectDataInput;
import com.hazelcast.nio.ObjectDataOutput;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.Direction;
import dev.keel.sad.SadException.Kind;
import java.io.IOException;
import java.util.Map;

/**
 * Grants the next block {@code [start, start + count)} of an outbound SA's sequence numbers to
 * its owner and raises the lease high-water mark to {@code start + count} (see
 * {@link RecordProcessor} for why the grant is on the backup before the caller has it).
 *
 * <p>{@code a} of the result is the start, {@code b} the end (exclusive), {@code c} the owner epoch.
 */
public final class LeaseProcessor extends RecordProcessor {

    /** The largest block one call may take. */
    public static final int MAX_COUNT = 1 << 20;

    private String nodeId;
    private int count;

    LeaseProcessor() {} // for Hazelcast

    public LeaseProcessor(String nodeId, int count) {
        this.nodeId = nodeId;
        this.count = count;
    }

    @Override
    protected OpResult apply(Map.Entry<String, byte[]> entry) {
        ChildSaRecord r = ownedChild(entry, nodeId, Direction.DIRECTION_OUTBOUND, "lease sequence numbers");
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

    @Override
    public int getClassId() {
        return SadSerialization.LEASE;
    }

    @Override
    public void writeData(ObjectDataOutput out) throws IOException {
        out.writeString(nodeId);
        out.writeInt(count);
    }

    @Override
    public void readData(ObjectDataInput in) throws IOException {
        nodeId = in.readString();
        count = in.readInt();
    }
}
