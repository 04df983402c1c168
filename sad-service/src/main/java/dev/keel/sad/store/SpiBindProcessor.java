package dev.keel.sad.store;

import com.hazelcast.map.EntryProcessor;
import com.hazelcast.map.ExtendedMapEntry;
import java.io.Serial;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Binds an inbound SPI to an SA on the SPI map (SPI -> SA id; "" = reserved by AllocateSpi,
 * with a TTL). Binding a reserved or free SPI succeeds and makes the entry permanent; an SPI
 * bound to another SA is refused. Result: null on success, else the SA id holding it.
 * {@link #release} undoes a binding, only if it is still this SA's.
 */
public final class SpiBindProcessor implements EntryProcessor<Integer, String, String> {

    @Serial
    private static final long serialVersionUID = 2L;

    /** The value of a reservation not yet bound to an SA. */
    public static final String RESERVED = "";

    private final String saId;
    private final boolean release;

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
        String current = entry.getValue();
        if (release) {
            if (saId.equals(current)) {
                entry.setValue(null);
            }
            return null;
        }
        if (current != null && !current.equals(RESERVED) && !current.equals(saId)) {
            return current;
        }
        // ttl 0 = no expiry: a bound SPI lives until its SA is deleted.
        ((ExtendedMapEntry<Integer, String>) entry).setValue(saId, 0, TimeUnit.SECONDS);
        return null;
    }

    @Override
    public EntryProcessor<Integer, String, String> getBackupProcessor() {
        return this;
    }
}
