package dev.keel.sad.store;

import com.hazelcast.nio.ObjectDataInput;
import com.hazelcast.nio.ObjectDataOutput;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.Direction;
import java.io.IOException;
import java.util.Map;

/**
 * Records an inbound SA's replay checkpoint with the margin its data plane may accept above it
 * (docs/ha.md, "Inbound replay floor after a takeover"). The stored pair only moves forward in
 * the order (checkpoint up, then margin down): a pair is stored when its checkpoint is higher, or
 * equal with a smaller margin. That order is the order in which one data plane sends its pairs,
 * so a request applied late (a retry, a call whose answer was lost) can never replace a newer
 * one, and the stored pair does not depend on the order the calls arrive in.
 */
public final class CheckpointProcessor extends RecordProcessor {

    private String nodeId;
    private long rightEdge;
    private long margin;

    CheckpointProcessor() {} // for Hazelcast

    public CheckpointProcessor(String nodeId, long rightEdge, long margin) {
        this.nodeId = nodeId;
        this.rightEdge = rightEdge;
        this.margin = margin;
    }

    /** Answers {@code a} = the stored checkpoint, {@code b} = the stored margin, after the call. */
    @Override
    protected OpResult apply(Map.Entry<String, byte[]> entry) {
        ChildSaRecord r = ownedChild(entry, nodeId, Direction.DIRECTION_INBOUND, "checkpoint replay");
        int c = Long.compareUnsigned(rightEdge, r.getReplayCheckpoint());
        if (c < 0 || (c == 0 && Long.compareUnsigned(margin, r.getReplayMargin()) >= 0)) {
            return OpResult.ok(null, r.getReplayCheckpoint(), r.getReplayMargin());
        }
        write(entry, r.toBuilder().setReplayCheckpoint(rightEdge).setReplayMargin(margin));
        return OpResult.ok(null, rightEdge, margin);
    }

    @Override
    public int getClassId() {
        return SadSerialization.CHECKPOINT;
    }

    @Override
    public void writeData(ObjectDataOutput out) throws IOException {
        out.writeString(nodeId);
        out.writeLong(rightEdge);
        out.writeLong(margin);
    }

    @Override
    public void readData(ObjectDataInput in) throws IOException {
        nodeId = in.readString();
        rightEdge = in.readLong();
        margin = in.readLong();
    }
}
