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
 * Binds an inbound SPI to an SA on the SPI map (SPI -> SA id; "" = reserved by AllocateSpi,
 * with a TTL). Binding a reserved or free SPI succeeds and makes the entry permanent; an SPI
 * bound to another SA is refused. Result: null on success, else the SA id holding it.
 * {@link #release} undoes a binding, only if it is still this SA's.
 */
public final class SpiBindProcessor implements EntryProcessor<Integer, String, String>, IdentifiedDataSerializable {

    /** The value of a reservation not yet bound to an SA. */
    public static final String RESERVED = "";

    private String saId;
    private boolean release;
    /** What process() wrote, for the backup: the SA id (bound, no expiry), or null (released). */
    private transient boolean changed;

    SpiBindProcessor() {}

    public SpiBindProcessor(String saId) {
        this(saId, false);
    }

    private SpiBindProcessor(String saId, boolean release) {
        this.saId = saId;
        this.release = release;
    }

    /** Removes the binding if the SPI is bound to {@code saId}; result null. */
    public static SpiBindProcessor release(String saId) {
        return new SpiBindProcessor(saId, true);
    }

    @Override
    public String process(Map.Entry<Integer, String> entry) {
        changed = false;
        String current = entry.getValue();
        if (release) {
            if (saId.equals(current)) {
                entry.setValue(null);
                changed = true;
            }
            return null;
        }
        if (current != null && !current.equals(RESERVED) && !current.equals(saId)) {
            return current;
        }
        // ttl 0 = no expiry: a bound SPI lives until its SA is deleted.
        ((ExtendedMapEntry<Integer, String>) entry).setValue(saId, 0, TimeUnit.SECONDS);
        changed = true;
        return null;
    }

    @Override
    public EntryProcessor<Integer, String, String> getBackupProcessor() {
        return changed ? new SadSerialization.SetOne<>(release ? null : saId, true) : null;
    }

    @Override
    public int getFactoryId() {
        return SadSerialization.FACTORY_ID;
    }

    @Override
    public int getClassId() {
        return SadSerialization.SPI_BIND;
    }

    @Override
    public void writeData(ObjectDataOutput out) throws IOException {
        out.writeString(saId);
        out.writeBoolean(release);
    }

    @Override
    public void readData(ObjectDataInput in) throws IOException {
        saId = in.readString();
        release = in.readBoolean();
    }
}
