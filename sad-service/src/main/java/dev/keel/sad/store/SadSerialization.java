package dev.keel.sad.store;

import com.hazelcast.map.EntryProcessor;
import com.hazelcast.map.ExtendedMapEntry;
import com.hazelcast.nio.ObjectDataInput;
import com.hazelcast.nio.ObjectDataOutput;
import com.hazelcast.nio.serialization.IdentifiedDataSerializable;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * sad-service's IdentifiedDataSerializable processors: their factory (registered on every member
 * by {@link #register}) and the backup processor that stores exactly what a primary wrote.
 * IdentifiedDataSerializable instead of Java serialization: an install whose processor was
 * Java-serialized measured twice the CPU (docs/benchmarks.md).
 */
public final class SadSerialization {

    /** Factory id of sad-service's processors. */
    static final int FACTORY_ID = 0x6b65; // "ke"
    static final int INSERT = 4;
    static final int SET_ONE = 5;
    static final int SPI_BIND = 6;

    private SadSerialization() {}

    /** Registers the factory on a Hazelcast configuration. */
    public static void register(com.hazelcast.config.Config config) {
        config.getSerializationConfig().addDataSerializableFactory(FACTORY_ID, typeId -> switch (typeId) {
            case INSERT -> new InsertProcessor();
            case SET_ONE -> new SetOne<>();
            case SPI_BIND -> new SpiBindProcessor();
            default -> null;
        });
    }

    /**
     * Backup side of a single-key processor: stores exactly the value the primary wrote (null
     * removes). {@code permanent}: set with no expiry, replacing an SPI reservation's TTL.
     */
    public static final class SetOne<K, V, R> implements EntryProcessor<K, V, R>, IdentifiedDataSerializable {
        private Object value;
        private boolean permanent;

        SetOne() {}

        public SetOne(Object value, boolean permanent) {
            this.value = value;
            this.permanent = permanent;
        }

        @Override
        @SuppressWarnings("unchecked")
        public R process(Map.Entry<K, V> entry) {
            if (permanent && value != null) {
                ((ExtendedMapEntry<K, V>) entry).setValue((V) value, 0, TimeUnit.SECONDS);
            } else {
                entry.setValue((V) value);
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
            return SET_ONE;
        }

        @Override
        public void writeData(ObjectDataOutput out) throws IOException {
            out.writeBoolean(permanent);
            out.writeObject(value);
        }

        @Override
        public void readData(ObjectDataInput in) throws IOException {
            permanent = in.readBoolean();
            value = in.readObject();
        }
    }
}
