package dev.keel.sad.store;

import dev.keel.sad.SadException.Kind;
import java.io.Serial;
import java.util.Map;

/**
 * Stores a new record under a key that must be free (InstallChildSa): the asynchronous
 * put-if-absent the IMap API lacks. An existing record, even a tombstone, is ALREADY_EXISTS.
 */
public final class InsertProcessor extends RecordProcessor {

    @Serial
    private static final long serialVersionUID = 1L;

    private final byte[] record;

    public InsertProcessor(byte[] record) {
        this.record = record;
    }

    @Override
    protected OpResult apply(Map.Entry<String, byte[]> entry) {
        if (entry.getValue() != null) {
            return OpResult.refuse(Kind.ALREADY_EXISTS, "child_sa.id: child SA " + entry.getKey() + " already exists");
        }
        write(entry, record);
        return OpResult.ok(null);
    }
}
