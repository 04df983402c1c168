package dev.keel.sad.store;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.core.HazelcastInstanceAware;
import com.hazelcast.map.EntryProcessor;
import com.hazelcast.nio.ObjectDataInput;
import com.hazelcast.nio.ObjectDataOutput;
import com.hazelcast.nio.serialization.IdentifiedDataSerializable;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

/**
 * Puts CHILD SA records if absent, many keys in one {@code executeOnKeys} call (one operation per
 * member, each partition's share on its partition thread). Result per key: null when inserted,
 * {@link Boolean#FALSE} when a record with that id already exists (nothing changed). The backup
 * of each partition carries only that partition's inserted records ({@link BatchWrites}).
 * Serialized as IdentifiedDataSerializable: id and record bytes, nothing else.
 */
public final class InsertBatch implements EntryProcessor<String, byte[], Boolean>, HazelcastInstanceAware,
        IdentifiedDataSerializable {

    private Map<String, byte[]> records;
    private final transient long instance = BatchWrites.newInstanceId();
    private transient HazelcastInstance hz;

    InsertBatch() {}

    /** @param records SA id -> ChildSaRecord bytes */
    public InsertBatch(Map<String, byte[]> records) {
        this.records = records;
    }

    @Override
    public void setHazelcastInstance(HazelcastInstance hazelcastInstance) {
        this.hz = hazelcastInstance;
    }

    @Override
    public Boolean process(Map.Entry<String, byte[]> entry) {
        BatchWrites.enter(instance, hz, entry.getKey());
        byte[] record = records.get(entry.getKey());
        if (record == null) {
            return null;
        }
        if (entry.getValue() != null) {
            return Boolean.FALSE;
        }
        entry.setValue(record);
        BatchWrites.written(entry.getKey(), record);
        return null;
    }

    @Override
    public EntryProcessor<String, byte[], Boolean> getBackupProcessor() {
        return BatchWrites.backup(instance, false);
    }

    @Override
    public int getFactoryId() {
        return BatchWrites.FACTORY_ID;
    }

    @Override
    public int getClassId() {
        return BatchWrites.INSERT_BATCH;
    }

    @Override
    public void writeData(ObjectDataOutput out) throws IOException {
        out.writeInt(records.size());
        for (Map.Entry<String, byte[]> e : records.entrySet()) {
            out.writeString(e.getKey());
            out.writeByteArray(e.getValue());
        }
    }

    @Override
    public void readData(ObjectDataInput in) throws IOException {
        int n = in.readInt();
        records = new HashMap<>(Math.max(4, n * 2));
        for (int i = 0; i < n; i++) {
            records.put(in.readString(), in.readByteArray());
        }
    }
}
