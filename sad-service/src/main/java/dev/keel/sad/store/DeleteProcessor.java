package dev.keel.sad.store;

import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.ChildSaState;
import dev.keel.sad.SadException.Kind;
import java.io.Serial;
import java.util.Map;

/**
 * Turns a CHILD SA into a tombstone: state DELETED, wrapped keys dropped, counters kept (so a
 * merge with a side that still has the SA keeps the deletion and the highest counters).
 * Deleting a tombstone again answers the tombstone (deletes are retried by IKE).
 */
public final class DeleteProcessor extends RecordProcessor {

    @Serial
    private static final long serialVersionUID = 1L;

    private final long nowMs;

    public DeleteProcessor(long nowMs) {
        this.nowMs = nowMs;
    }

    @Override
    protected OpResult apply(Map.Entry<String, byte[]> entry) {
        byte[] value = entry.getValue();
        if (value == null) {
            return OpResult.refuse(Kind.NOT_FOUND, "child SA " + entry.getKey() + " does not exist");
        }
        ChildSaRecord r = Records.parseChild(value);
        if (!Records.isLive(r)) {
            return OpResult.ok(value);
        }
        ChildSaRecord t = r.toBuilder()
                .clearKeys()
                .setState(ChildSaState.CHILD_SA_STATE_DELETED)
                .setDeletedAtMs(nowMs)
                .setUpdatedAtMs(nowMs)
                .setGeneration(r.getGeneration() + 1)
                .build();
        return OpResult.ok(write(entry, t.toByteArray()));
    }
}
