package dev.keel.sad.store;

import com.hazelcast.nio.ObjectDataInput;
import com.hazelcast.nio.ObjectDataOutput;
import dev.keel.proto.v1.ChildSaRecord;
import java.io.IOException;
import java.util.Map;

/**
 * Records the data plane's byte and packet totals (each only moves up) and applies the byte and
 * packet lifetimes at once, so a crossing is published without waiting for the periodic scan.
 */
public final class UsageProcessor extends RecordProcessor {

    private String nodeId;
    private long bytes;
    private long packets;
    private long nowMs;

    UsageProcessor() {} // for Hazelcast

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

    @Override
    public int getClassId() {
        return SadSerialization.USAGE;
    }

    @Override
    public void writeData(ObjectDataOutput out) throws IOException {
        out.writeString(nodeId);
        out.writeLong(bytes);
        out.writeLong(packets);
        out.writeLong(nowMs);
    }

    @Override
    public void readData(ObjectDataInput in) throws IOException {
        nodeId = in.readString();
        bytes = in.readLong();
        packets = in.readLong();
        nowMs = in.readLong();
    }
}
