package dev.keel.sad.store;

import dev.keel.proto.v1.ChildSaRecord;
import java.io.Serial;
import java.util.Map;

/**
 * Records the data plane's byte and packet totals (each only moves up) and applies the byte and
 * packet lifetimes at once, so a crossing is published without waiting for the periodic scan.
 */
public final class UsageProcessor extends RecordProcessor {

    @Serial
    private static final long serialVersionUID = 1L;

    private final String nodeId;
    private final long bytes;
    private final long packets;
    private final long nowMs;

    public UsageProcessor(String nodeId, long bytes, long packets, long nowMs) {
        this.nodeId = nodeId;
        this.bytes = bytes;
        this.packets = packets;
        this.nowMs = nowMs;
    }

    @Override
    protected OpResult apply(Map.Entry<String, byte[]> entry) {
        ChildSaRecord r = existingChild(entry);
        OpResult refusal = usableBy(r, nodeId, null, "report usage");
        if (refusal != null && !r.hasHardExpiry()) {
            return refusal;
        }
        if (refusal != null) {
            return OpResult.ok(entry.getValue()); // expired: totals no longer matter, report the state
        }
        boolean moved = Long.compareUnsigned(packets, r.getPackets()) > 0;
        ChildSaRecord u = r.toBuilder()
                .setBytes(Long.compareUnsigned(bytes, r.getBytes()) > 0 ? bytes : r.getBytes())
                .setPackets(moved ? packets : r.getPackets())
                .setLastUsedAtMs(moved ? Math.max(nowMs, r.getLastUsedAtMs()) : r.getLastUsedAtMs())
                .build();
        u = Records.applyLifetimes(u, nowMs);
        if (u.equals(r)) {
            return OpResult.ok(entry.getValue());
        }
        return OpResult.ok(write(entry, u));
    }
}
