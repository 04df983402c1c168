package dev.keel.sad.store;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.EntryProcessor;
import com.hazelcast.map.ExtendedMapEntry;
import com.hazelcast.nio.ObjectDataInput;
import com.hazelcast.nio.ObjectDataOutput;
import com.hazelcast.nio.serialization.DataSerializableFactory;
import com.hazelcast.nio.serialization.IdentifiedDataSerializable;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What a multi-key processor wrote in the partition it is running on, so that its backup carries
 * exactly those values and nothing of the other partitions' share.
 *
 * <p>{@code executeOnKeys} runs one processor instance for every partition of a member (one
 * partition thread each) and asks it for a backup processor per partition, on that partition's
 * thread, right after processing the partition's keys. A processor therefore records its writes in
 * a per-thread slot tagged with (instance, partition); the slot is reset when the thread moves to
 * another partition or instance, and {@link #backup} turns it into a {@link SetValues}. Without
 * this the backup processor would be the whole batch again, once per partition.
 */
public final class BatchWrites {

    /** IdentifiedDataSerializable factory id of sad-service's processors (registered by SadCluster). */
    static final int FACTORY_ID = 0x6b65; // "ke"
    static final int SET_VALUES = 1;
    static final int INSERT_BATCH = 2;
    static final int SPI_BIND_BATCH = 3;

    private static final AtomicLong INSTANCES = new AtomicLong();
    private static final ThreadLocal<Slot> SLOT = ThreadLocal.withInitial(Slot::new);

    private BatchWrites() {}

    /** A fresh id for a processor instance (also for each deserialized copy). */
    static long newInstanceId() {
        return INSTANCES.incrementAndGet();
    }

    /** Marks the start of work on {@code key} by processor {@code instance}; resets the slot on a new partition. */
    static void enter(long instance, HazelcastInstance hz, Object key) {
        int partition = hz.getPartitionService().getPartition(key).getPartitionId();
        Slot s = SLOT.get();
        if (s.instance != instance || s.partition != partition) {
            s.instance = instance;
            s.partition = partition;
            s.values.clear();
        }
    }

    static void written(Object key, Object value) {
        SLOT.get().values.put(key, value);
    }

    /** The backup processor for what {@code instance} wrote in the current partition; null if nothing. */
    static <K, V, R> EntryProcessor<K, V, R> backup(long instance, boolean permanent) {
        Slot s = SLOT.get();
        if (s.instance != instance || s.values.isEmpty()) {
            return null;
        }
        return new SetValues<>(new HashMap<>(s.values), permanent);
    }

    private static final class Slot {
        long instance;
        int partition = -1;
        final HashMap<Object, Object> values = new HashMap<>();
    }

    /** The factory Hazelcast uses to read sad-service's processors (no Java serialization). */
    static final class Factory implements DataSerializableFactory {
        @Override
        public IdentifiedDataSerializable create(int typeId) {
            return switch (typeId) {
                case SET_VALUES -> new SetValues<>();
                case INSERT_BATCH -> new InsertBatch();
                case SPI_BIND_BATCH -> new SpiBindBatch();
                default -> null;
            };
        }
    }

    /** Registers the factory on a Hazelcast configuration. */
    public static void register(com.hazelcast.config.Config config) {
        config.getSerializationConfig().addDataSerializableFactory(FACTORY_ID, new Factory());
    }

    /**
     * Backup side of a batch: stores exactly the values the primary wrote for the keys it is
     * applied to (keys without a value are left alone). {@code permanent}: set with no expiry,
     * replacing an SPI reservation's TTL as the primary did.
     */
    static final class SetValues<K, V, R> implements EntryProcessor<K, V, R>, IdentifiedDataSerializable {
        private Map<Object, Object> values;
        private boolean permanent;

        SetValues() {}

        SetValues(Map<Object, Object> values, boolean permanent) {
            this.values = values;
            this.permanent = permanent;
        }

        @Override
        @SuppressWarnings("unchecked")
        public R process(Map.Entry<K, V> entry) {
            Object v = values.get(entry.getKey());
            if (v != null) {
                if (permanent) {
                    ((ExtendedMapEntry<K, V>) entry).setValue((V) v, 0, TimeUnit.SECONDS);
                } else {
                    entry.setValue((V) v);
                }
            }
            return null;
        }

        @Override
        public EntryProcessor<K, V, R> getBackupProcessor() {
            return null;
        }

        @Override
        public int getFactoryId() {
            return FACTORY_ID;
        }

        @Override
        public int getClassId() {
            return SET_VALUES;
        }

        @Override
        public void writeData(ObjectDataOutput out) throws IOException {
            out.writeBoolean(permanent);
            out.writeInt(values.size());
            for (Map.Entry<Object, Object> e : values.entrySet()) {
                out.writeObject(e.getKey());
                out.writeObject(e.getValue());
            }
        }

        @Override
        public void readData(ObjectDataInput in) throws IOException {
            permanent = in.readBoolean();
            int n = in.readInt();
            values = new HashMap<>(Math.max(4, n * 2));
            for (int i = 0; i < n; i++) {
                values.put(in.readObject(), in.readObject());
            }
        }
    }
}
