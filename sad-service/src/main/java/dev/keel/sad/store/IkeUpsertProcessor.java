package dev.keel.sad.store;

import dev.keel.proto.v1.IkeSaRecord;
import java.io.Serial;
import java.util.Map;

/**
 * Creates or replaces an IKE SA record. On replace: message IDs never go backwards, creation
 * time, owner epoch and (when the new record has none) the wrapped keys are kept. A stored record
 * that fails its integrity check is not replaced (DATA_LOSS): delete it first.
 */
public final class IkeUpsertProcessor extends RecordProcessor {

    @Serial
    private static final long serialVersionUID = 1L;

    private final byte[] record;
    private final long nowMs;
    private final int kekId;

    /** @param kekId the KEK that tags a new record (the caller's) */
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
            b.setCreatedAtMs(nowMs).setGeneration(1).setOwnerEpoch(1);
        } else {
            IkeSaRecord old = openIke(entry);
            b.setCreatedAtMs(old.getCreatedAtMs())
                    .setGeneration(old.getGeneration() + 1)
                    .setOwnerEpoch(old.getOwnerMember().equals(n.getOwnerMember())
                            ? old.getOwnerEpoch() : old.getOwnerEpoch() + 1)
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
}
