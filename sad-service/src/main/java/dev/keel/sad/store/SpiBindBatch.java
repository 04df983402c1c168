package dev.keel.sad.store;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.core.HazelcastInstanceAware;
import com.hazelcast.map.EntryProcessor;
import com.hazelcast.map.ExtendedMapEntry;
import com.hazelcast.nio.ObjectDataInput;
import com.hazelcast.nio.ObjectDataOutput;
import com.hazelcast.nio.serialization.IdentifiedDataSerializable;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@link SpiBindProcessor}'s bind for many SPIs in one {@code executeOnKeys} call: binds each SPI
 * (free or reserved, or already bound to the same SA) to its SA id with no expiry; result per key
 * null when bound, else the SA id holding the SPI. Backups carry only each partition's bindings.
 */
public final class SpiBindBatch implements EntryProcessor<Integer, String, String>, HazelcastInstanceAware,
        IdentifiedDataSerializable {

    private Map<Integer, String> bindings;
    private final transient long instance = BatchWrites.newInstanceId();
    private transient HazelcastInstance hz;

    SpiBindBatch() {}

    /** @param bindings SPI -> SA id */
    public SpiBindBatch(Map<Integer, String> bindings) {
        this.bindings = bindings;
    }

    @Override
    public void setHazelcastInstance(HazelcastInstance hazelcastInstance) {
        this.hz = hazelcastInstance;
    }

    @Override
    public String process(Map.Entry<Integer, String> entry) {
        BatchWrites.enter(instance, hz, entry.getKey());
        String saId = bindings.get(entry.getKey());
        if (saId == null) {
            return null;
        }
        String current = entry.getValue();
        if (current != null && !current.equals(SpiBindProcessor.RESERVED) && !current.equals(saId)) {
            return current;
        }
        // ttl 0 = no expiry: a bound SPI lives until its SA is deleted.
        ((ExtendedMapEntry<Integer, String>) entry).setValue(saId, 0, TimeUnit.SECONDS);
        BatchWrites.written(entry.getKey(), saId);
        return null;
    }

    @Override
    public EntryProcessor<Integer, String, String> getBackupProcessor() {
        return BatchWrites.backup(instance, true);
    }

    @Override
    public int getFactoryId() {
        return BatchWrites.FACTORY_ID;
    }

    @Override
    public int getClassId() {
        return BatchWrites.SPI_BIND_BATCH;
    }

    @Override
    public void writeData(ObjectDataOutput out) throws IOException {
        out.writeInt(bindings.size());
        for (Map.Entry<Integer, String> e : bindings.entrySet()) {
            out.writeInt(e.getKey());
            out.writeString(e.getValue());
        }
    }

    @Override
    public void readData(ObjectDataInput in) throws IOException {
        int n = in.readInt();
        bindings = new HashMap<>(Math.max(4, n * 2));
        for (int i = 0; i < n; i++) {
            bindings.put(in.readInt(), in.readString());
        }
    }
}
