package dev.keel.sad.store;

import com.hazelcast.map.EntryProcessor;
import com.hazelcast.nio.ObjectDataInput;
import com.hazelcast.nio.ObjectDataOutput;
import com.hazelcast.nio.serialization.IdentifiedDataSerializable;
import java.io.IOException;
import java.util.Map;

/**
 * Put-if-absent of one CHILD SA record as an asynchronous entry processor ({@code submitToKey};
 * IMap has no asynchronous putIfAbsent). Result: null when inserted, {@link Boolean#FALSE} when the
 * id exists (nothing changed). The backup is {@link SadSerialization.SetValues}-like: exactly the bytes
 * inserted. Serialized as IdentifiedDataSerializable (the record bytes and nothing else): an
 * earlier version with Java serialization doubled the CPU of an install.
 *
 * <p>The record comes tagged by the member that validated the request ({@link dev.keel.sad.keys.RecordMac})
 * and its tag is not checked here: an insert with a bad tag is no worse than a raw put by a rogue
 * member, and every reader refuses both; the install path saves the check.
 */
public final class InsertProcessor implements EntryProcessor<String, byte[], Boolean>, IdentifiedDataSerializable {

    private byte[] record;
    private transient boolean inserted;

    InsertProcessor() {}

    public InsertProcessor(byte[] record) {
        this.record = record;
    }

    @Override
    public Boolean process(Map.Entry<String, byte[]> entry) {
        inserted = false;
        if (entry.getValue() != null) {
            return Boolean.FALSE;
        }
        entry.setValue(record);
        inserted = true;
        return null;
    }

    @Override
    public EntryProcessor<String, byte[], Boolean> getBackupProcessor() {
        return inserted ? new SadSerialization.SetOne<>(record, SadSerialization.SetOne.MAP_DEFAULT_TTL) : null;
    }

    @Override
    public int getFactoryId() {
        return SadSerialization.FACTORY_ID;
    }

    @Override
    public int getClassId() {
        return SadSerialization.INSERT;
    }

    @Override
    public void writeData(ObjectDataOutput out) throws IOException {
        out.writeByteArray(record);
    }

    @Override
    public void readData(ObjectDataInput in) throws IOException {
        record = in.readByteArray();
    }
}
