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
 */
public final class SpiBindProcessor implements EntryProcessor<Integer, String, String> {

    @Serial
    private static final long serialVersionUID = 1L;

    /** The value of a reservation not yet bound to an SA. */
    public static final String RESERVED = "";

    private final String saId;

    public SpiBindProcessor(String saId) {
        this.saId = saId;
    }

    @Override
    public String process(Map.Entry<Integer, String> entry) {
        String current = entry.getValue();
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
