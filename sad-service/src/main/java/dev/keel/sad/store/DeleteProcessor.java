package dev.keel.sad.store;

import com.hazelcast.nio.ObjectDataInput;
import com.hazelcast.nio.ObjectDataOutput;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.ChildSaState;
import dev.keel.sad.keys.TamperedRecordException;
import java.io.IOException;
import java.util.Map;

/**
 * Turns a CHILD SA into a tombstone: state DELETED, wrapped keys dropped, counters kept (so a
 * merge with a side that still has the SA keeps the deletion and the highest counters).
 * Deleting a tombstone again answers the tombstone (deletes are retried by IKE).
 *
 * <p>A record that fails its integrity check is not used: it is replaced by a bare tombstone (id,
 * state, times), so the IKE service's delete still ends the SA and the maintenance pass purges it.
 * Nothing of the refused record is kept, not even its SPI, so its inbound SPI stays bound.
 */
public final class DeleteProcessor extends RecordProcessor {

    private long nowMs;
    private int kekId;

    /** @param kekId the KEK that tags a bare tombstone (the caller's) */
    DeleteProcessor() {} // for Hazelcast

    public DeleteProcessor(long nowMs, int kekId) {
        this.nowMs = nowMs;
        this.kekId = kekId;
    }

    @Override
    protected OpResult apply(Map.Entry<String, byte[]> entry) {
        ChildSaRecord r;
        try {
            r = existingChild(entry);
        } catch (TamperedRecordException e) {
            tagWith(kekId);
            return OpResult.ok(write(entry, ChildSaRecord.newBuilder().setId(entry.getKey())
                    .setState(ChildSaState.CHILD_SA_STATE_DELETED).setDeletedAtMs(nowMs).setUpdatedAtMs(nowMs)
                    .setGeneration(1)));
        }
        if (!Records.isLive(r)) {
            return OpResult.ok(entry.getValue());
        }
        return OpResult.ok(write(entry, r.toBuilder()
                .clearKeys()
                .setState(ChildSaState.CHILD_SA_STATE_DELETED)
                .setDeletedAtMs(nowMs)
                .setUpdatedAtMs(nowMs)
                .setGeneration(r.getGeneration() + 1)));
    }

    @Override
    public int getClassId() {
        return SadSerialization.DELETE;
    }

    @Override
    public void writeData(ObjectDataOutput out) throws IOException {
        out.writeLong(nowMs);
        out.writeInt(kekId);
    }

    @Override
    public void readData(ObjectDataInput in) throws IOException {
        nowMs = in.readLong();
        kekId = in.readInt();
    }
}
