package dev.keel.sad.store;

import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.Direction;
import dev.keel.sad.SadException.Kind;
import java.io.Serial;
import java.util.Map;

/** Raises an inbound SA's replay checkpoint to the reported right edge (never lowers it). */
public final class CheckpointProcessor extends RecordProcessor {

    @Serial
    private static final long serialVersionUID = 1L;

    private final String nodeId;
    private final long rightEdge;

    public CheckpointProcessor(String nodeId, long rightEdge) {
        this.nodeId = nodeId;
        this.rightEdge = rightEdge;
    }

    @Override
    protected OpResult apply(Map.Entry<String, byte[]> entry) {
        byte[] bytes = entry.getValue();
        if (bytes == null) {
            return OpResult.refuse(Kind.NOT_FOUND, "child SA " + entry.getKey() + " does not exist");
        }
        ChildSaRecord r = openChild(entry);
        OpResult refusal = LeaseProcessor.Checks.usableBy(r, nodeId, Direction.DIRECTION_INBOUND, "checkpoint replay");
        if (refusal != null) {
            return refusal;
        }
        if (Long.compareUnsigned(rightEdge, r.getReplayCheckpoint()) <= 0) {
            return OpResult.ok(null, r.getReplayCheckpoint(), 0);
        }
        write(entry, r.toBuilder().setReplayCheckpoint(rightEdge));
        return OpResult.ok(null, rightEdge, 0);
    }
}
