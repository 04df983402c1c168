package dev.keel.sad.store;

import com.hazelcast.config.SerializerConfig;
import com.hazelcast.map.EntryProcessor;
import com.hazelcast.map.ExtendedMapEntry;
import com.hazelcast.nio.ObjectDataInput;
import com.hazelcast.nio.ObjectDataOutput;
import com.hazelcast.nio.serialization.IdentifiedDataSerializable;
import com.hazelcast.nio.serialization.StreamSerializer;
import dev.keel.sad.SadException;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * How sad-service's processors and their answers cross members: the IdentifiedDataSerializable
 * factory of every processor and the serializer of {@link OpResult} (registered on every member by
 * {@link #register}), and the backup processor that stores exactly what a primary wrote. Not Java
 * serialization: an install whose processor was Java-serialized measured twice the CPU, and the
 * other processors' Java serialization was a sixth of a member's CPU at setup load
 * (docs/benchmarks.md).
 */
public final class SadSerialization {

    /** Factory id of sad-service's processors. */
    static final int FACTORY_ID = 0x6b65; // "ke"
    static final int INSERT = 4;
    static final int SET_ONE = 5;
    static final int SPI_BIND = 6;
    static final int UPDATE = 7;
    static final int DELETE = 8;
    static final int LEASE = 9;
    static final int CHECKPOINT = 10;
    static final int USAGE = 11;
    static final int IKE_UPSERT = 12;
    static final int CLAIM = 13;
    static final int IKE_CLAIM = 14;
    /** Type id of {@link OpResultSerializer} (custom serializers' ids are positive and distinct). */
    static final int OP_RESULT_TYPE = 0x6b65_01;

    private SadSerialization() {}

    /** Registers the factory on a Hazelcast configuration. */
    public static void register(com.hazelcast.config.Config config) {
        config.getSerializationConfig().addDataSerializableFactory(FACTORY_ID, typeId -> switch (typeId) {
            case INSERT -> new InsertProcessor();
            case SET_ONE -> new SetOne<>();
            case SPI_BIND -> new SpiBindProcessor();
            case UPDATE -> new UpdateProcessor();
            case DELETE -> new DeleteProcessor();
            case LEASE -> new LeaseProcessor();
            case CHECKPOINT -> new CheckpointProcessor();
            case USAGE -> new UsageProcessor();
            case IKE_UPSERT -> new IkeUpsertProcessor();
            case CLAIM -> new ClaimProcessor();
            case IKE_CLAIM -> new IkeClaimProcessor();
            default -> null;
        });
        config.getSerializationConfig().addSerializerConfig(new SerializerConfig().setTypeClass(OpResult.class)
                .setImplementation(new OpResultSerializer()));
    }

    /** Every record processor's answer crosses members this way (it is a record: no IdentifiedDataSerializable). */
    static final class OpResultSerializer implements StreamSerializer<OpResult> {
        private static final SadException.Kind[] KINDS = SadException.Kind.values();

        @Override
        public int getTypeId() {
            return OP_RESULT_TYPE;
        }

        @Override
        public void write(ObjectDataOutput out, OpResult r) throws IOException {
            out.writeByte(r.refusal() == null ? -1 : r.refusal().ordinal());
            out.writeString(r.message());
            out.writeByteArray(r.record());
            out.writeLong(r.a());
            out.writeLong(r.b());
            out.writeLong(r.c());
        }

        @Override
        public OpResult read(ObjectDataInput in) throws IOException {
            int kind = in.readByte();
            if (kind >= KINDS.length) {
                throw new IOException("OpResult with refusal kind " + kind + " of " + KINDS.length);
            }
            return new OpResult(kind < 0 ? null : KINDS[kind], in.readString(), in.readByteArray(), in.readLong(),
                    in.readLong(), in.readLong());
        }
    }

    /**
     * Backup side of a single-key processor: stores exactly the value the primary wrote (null
     * removes), with the TTL the primary gave it: {@link #MAP_DEFAULT_TTL}, 0 (none) or seconds.
     */
    public static final class SetOne<K, V, R> implements EntryProcessor<K, V, R>, IdentifiedDataSerializable {
        /** Store as a plain put does (the map's TTL, none for sad-service's maps). */
        public static final int MAP_DEFAULT_TTL = -1;

        private Object value;
        private int ttlSeconds;

        SetOne() {}

        public SetOne(Object value, int ttlSeconds) {
            this.value = value;
            this.ttlSeconds = ttlSeconds;
        }

        @Override
        @SuppressWarnings("unchecked")
        public R process(Map.Entry<K, V> entry) {
            if (ttlSeconds >= 0 && value != null) {
                ((ExtendedMapEntry<K, V>) entry).setValue((V) value, ttlSeconds, TimeUnit.SECONDS);
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
            out.writeInt(ttlSeconds);
            out.writeObject(value);
        }

        @Override
        public void readData(ObjectDataInput in) throws IOException {
            ttlSeconds = in.readInt();
            value = in.readObject();
        }
    }
}
