package dev.keel.sad.store;

import com.hazelcast.nio.ObjectDataInput;
import com.hazelcast.nio.ObjectDataOutput;
import dev.keel.proto.v1.IkeSaRecord;
import dev.keel.proto.v1.OwnershipReason;
import dev.keel.sad.SadException;
import java.io.IOException;
import java.util.Map;

/**
 * Creates or replaces an IKE SA record. Only the owner replaces a record: a writer whose owner
 * member is not the stored one is refused (FAILED_PRECONDITION), so a node that lost the IKE SA
 * in a takeover or a merge cannot overwrite the new owner's state. On replace: message IDs never
 * go backwards; creation time, owner epoch and reason and (when the new record has none) the
 * wrapped keys are kept. A stored record that fails its integrity check is not replaced
 * (DATA_LOSS): delete it first.
 */
public final class IkeUpsertProcessor extends RecordProcessor {

    private byte[] record;
    private long nowMs;
    private int kekId;

    /** @param kekId the KEK that tags a new record (the caller's) */
    IkeUpsertProcessor() {} // for Hazelcast

    public IkeUpsertProcessor(IkeSaRecord record, long nowMs, int kekId) {
        this.record = record.toByteArray();
        this.nowMs = nowMs;
        this.kekId = kekId;
    }

    @Override
    protected OpResult apply(Map.Entry<String, byte[]> entry) {
        IkeSaRecord n = Records.parseIke(record);
        byte[] value = entry.getValue();
        IkeSaRecord.Builder b = n.toBuilder().setUpdatedAtMs(nowMs);
        if (value == null) {
            tagWith(kekId);
            b.setCreatedAtMs(nowMs).setGeneration(1).setOwnerEpoch(1)
                    .setOwnerReason(OwnershipReason.OWNERSHIP_REASON_UNSPECIFIED);
        } else {
            IkeSaRecord old = openIke(entry);
            if (!old.getOwnerMember().equals(n.getOwnerMember())) {
                return OpResult.refuse(SadException.Kind.FAILED_PRECONDITION, "IKE SA " + entry.getKey()
                        + " is owned by node '" + old.getOwnerNodeId() + "' (owner epoch " + old.getOwnerEpoch()
                        + "); only its owner replaces it");
            }
            b.setCreatedAtMs(old.getCreatedAtMs())
                    .setGeneration(old.getGeneration() + 1)
                    .setOwnerEpoch(old.getOwnerEpoch())
                    .setOwnerReason(old.getOwnerReason())
                    .setNextRequestMessageId(maxU32(old.getNextRequestMessageId(), n.getNextRequestMessageId()))
                    .setNextExpectedMessageId(maxU32(old.getNextExpectedMessageId(), n.getNextExpectedMessageId()));
            if (!n.hasKeys()) {
                b.setKeys(old.getKeys());
            }
        }
        return OpResult.ok(write(entry, b));
    }

    static int maxU32(int a, int b) {
        return Integer.compareUnsigned(a, b) >= 0 ? a : b;
    }

    @Override
    public int getClassId() {
        return SadSerialization.IKE_UPSERT;
    }

    @Override
    public void writeData(ObjectDataOutput out) throws IOException {
        out.writeByteArray(record);
        out.writeLong(nowMs);
        out.writeInt(kekId);
    }

    @Override
    public void readData(ObjectDataInput in) throws IOException {
        record = in.readByteArray();
        nowMs = in.readLong();
        kekId = in.readInt();
    }
}
