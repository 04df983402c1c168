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
 * The operations on the SPI map (inbound SPI -> SA id; "" = reserved by AllocateSpi, with a TTL).
 * Result: null when done, else what holds the SPI.
 * <ul>
 *   <li>{@link #SpiBindProcessor(String) bind}: binding a reserved or free SPI succeeds and makes
 *       the entry permanent; an SPI bound to another SA is refused;</li>
 *   <li>{@link #release}: removes a binding, only if it is still this SA's;</li>
 *   <li>{@link #reserve}: reserves a free SPI for a while (AllocateSpi);</li>
 *   <li>{@link #retire}: keeps a deleted SA's binding for a while instead of removing it, so that
 *       the SPI is not handed out again while the SA's tombstone, whose id may name the SPI, lives.</li>
 * </ul>
 */
public final class SpiBindProcessor implements EntryProcessor<Integer, String, String>, IdentifiedDataSerializable {

    /** The value of a reservation not yet bound to an SA. */
    public static final String RESERVED = "";

    private static final byte BIND = 0;
    private static final byte RELEASE = 1;
    private static final byte RESERVE = 2;
    private static final byte RETIRE = 3;

    private String saId;
    private byte mode;
    /** The TTL of a reservation or a retired binding. */
    private int seconds;
    /** Whether process() changed the entry (then a backup is sent), and to what. */
    private transient boolean changed;
    private transient String written;
    private transient int writtenTtl;

    SpiBindProcessor() {}

    /** Binds the SPI to {@code saId}. */
    public SpiBindProcessor(String saId) {
        this(saId, BIND, 0);
    }

    private SpiBindProcessor(String saId, byte mode, int seconds) {
        this.saId = saId;
        this.mode = mode;
        this.seconds = seconds;
    }

    /** Removes the binding if the SPI is bound to {@code saId}. */
    public static SpiBindProcessor release(String saId) {
        return new SpiBindProcessor(saId, RELEASE, 0);
    }

    /** Reserves the SPI for {@code seconds} (above 0) if nothing holds it. */
    public static SpiBindProcessor reserve(int seconds) {
        return new SpiBindProcessor(RESERVED, RESERVE, seconds);
    }

    /** Lets the binding to {@code saId}, if it is still that SA's, run out in {@code seconds} (above 0). */
    public static SpiBindProcessor retire(String saId, int seconds) {
        return new SpiBindProcessor(saId, RETIRE, seconds);
    }

    @Override
    public String process(Map.Entry<Integer, String> entry) {
        changed = false;
        written = null;
        String current = entry.getValue();
        switch (mode) {
            case RELEASE -> {
                if (saId.equals(current)) {
                    entry.setValue(null);
                    written = null;
                    changed = true;
                }
                return null;
            }
            case RETIRE -> {
                if (saId.equals(current)) {
                    setWithTtl(entry, saId, seconds);
                }
                return null;
            }
            case RESERVE -> {
                if (current != null) {
                    return current;
                }
                setWithTtl(entry, RESERVED, seconds);
                return null;
            }
            default -> {
                if (current != null && !current.equals(RESERVED) && !current.equals(saId)) {
                    return current;
                }
                setWithTtl(entry, saId, 0); // ttl 0 = no expiry: a bound SPI lives until its SA is deleted
                return null;
            }
        }
    }

    private void setWithTtl(Map.Entry<Integer, String> entry, String value, int ttlSeconds) {
        ((ExtendedMapEntry<Integer, String>) entry).setValue(value, ttlSeconds, TimeUnit.SECONDS);
        written = value;
        writtenTtl = ttlSeconds;
        changed = true;
    }

    @Override
    public EntryProcessor<Integer, String, String> getBackupProcessor() {
        return changed ? new SadSerialization.SetOne<>(written, writtenTtl) : null; // exactly what the primary did
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
        out.writeByte(mode);
        out.writeInt(seconds);
    }

    @Override
    public void readData(ObjectDataInput in) throws IOException {
        saId = in.readString();
        mode = in.readByte();
        seconds = in.readInt();
    }
}
