package dev.keel.sad.store;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.WireFormat;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.ChildSaState;
import dev.keel.proto.v1.Direction;
import dev.keel.proto.v1.Lifetime;
import dev.keel.proto.v1.OwnershipReason;
import java.io.IOException;
import java.util.Arrays;

/**
 * The few fields of a stored {@link ChildSaRecord} that ownership, maintenance and Watch need,
 * read from the protobuf bytes in one pass without building the record, and
 * {@link #reassign}, which rewrites only the owner fields and copies every other byte.
 *
 * <p>Why: a takeover of 50,000 SAs spent most of its CPU parsing and re-serializing whole records
 * (keys, selectors, endpoints) to change seven scalars (docs/sad.md, "Takeover"). The patch keeps
 * the record canonical, i.e. byte-identical to what {@code toByteArray()} of the parsed and
 * modified record gives (fields in number order, each once, defaults omitted), so repeated
 * takeovers never grow a record and primary and backup stay byte-identical. Stored records are
 * always canonical (written by {@code toByteArray()} or by this patch); when the top-level
 * layout is not ({@link #canonical()} false: fields out of order, a scalar twice, an unexpected
 * wire type) callers fall back to the full parse.
 */
public final class ChildSaFields {

    private final byte[] record;
    /** Triples (field number, start offset, end offset) of every top-level field, in order; null unless patching. */
    private int[] spans;
    private int count;
    private boolean canonical = true;

    private String id = "";
    private int direction;
    private int lifetimeOffset = -1;
    private int lifetimeLength;
    private long createdAtMs;
    private long updatedAtMs;
    private String ownerNodeId = "";
    private String ownerMember = "";
    private long ownerEpoch;
    private long replayCheckpoint;
    private long replayFloor;
    private int state;
    private long generation;
    private long bytes;
    private long packets;
    private boolean softExpiry;
    private boolean hardExpiry;
    private long deletedAtMs;
    private int ownerReason;

    private ChildSaFields(byte[] record, boolean forPatch) {
        this.record = record;
        this.spans = forPatch ? new int[3 * 40] : null;
    }

    /**
     * Reads a stored record.
     *
     * @throws IllegalStateException when the bytes are not a protobuf message (as
     *         {@link Records#parseChild} does)
     */
    public static ChildSaFields read(byte[] record) {
        return read(record, false);
    }

    /** Reads a stored record and notes where each field lies, for {@link #reassign}. */
    public static ChildSaFields readForPatch(byte[] record) {
        return read(record, true);
    }

    private static ChildSaFields read(byte[] record, boolean forPatch) {
        ChildSaFields f = new ChildSaFields(record, forPatch);
        try {
            f.scan();
        } catch (IOException | RuntimeException e) {
            throw new IllegalStateException("stored CHILD SA record is not a ChildSaRecord: " + e.getMessage());
        }
        return f;
    }

    private void scan() throws IOException {
        CodedInputStream in = CodedInputStream.newInstance(record);
        int last = 0;
        while (true) {
            int start = in.getTotalBytesRead();
            int tag = in.readTag();
            if (tag == 0) {
                break;
            }
            int number = WireFormat.getTagFieldNumber(tag);
            int wire = WireFormat.getTagWireType(tag);
            if (number < last || (number == last && !repeatable(number))) {
                canonical = false;
            }
            last = number;
            if (!readKnown(in, number, wire)) {
                if (number <= ChildSaRecord.OWNER_REASON_FIELD_NUMBER && !wireTypeFits(number, wire)) {
                    canonical = false; // protobuf would keep it as an unknown field, moved to the end
                }
                if (!in.skipField(tag)) {
                    break;
                }
            }
            if (spans != null) {
                if (3 * count + 3 > spans.length) {
                    spans = Arrays.copyOf(spans, spans.length * 2);
                }
                spans[3 * count] = number;
                spans[3 * count + 1] = start;
                spans[3 * count + 2] = in.getTotalBytesRead();
                count++;
            }
        }
    }

    /** Repeated fields and unknown (newer) fields may occur more than once in a row. */
    private static boolean repeatable(int number) {
        return number == ChildSaRecord.LOCAL_TS_FIELD_NUMBER || number == ChildSaRecord.REMOTE_TS_FIELD_NUMBER
                || number > ChildSaRecord.OWNER_REASON_FIELD_NUMBER;
    }

    private static boolean wireTypeFits(int number, int wire) {
        return switch (number) {
            case 1, 2, 3, 4, 9, 10, 15, 18, 19, 20, 23, 24, 33, 34 -> wire == WireFormat.WIRETYPE_LENGTH_DELIMITED;
            case 5 -> wire == WireFormat.WIRETYPE_FIXED32;
            default -> wire == WireFormat.WIRETYPE_VARINT;
        };
    }

    /** Reads a field this class keeps; false when the field is to be skipped. */
    private boolean readKnown(CodedInputStream in, int number, int wire) throws IOException {
        boolean varint = wire == WireFormat.WIRETYPE_VARINT;
        boolean delimited = wire == WireFormat.WIRETYPE_LENGTH_DELIMITED;
        switch (number) {
            case ChildSaRecord.ID_FIELD_NUMBER -> {
                if (!delimited) {
                    return false;
                }
                id = in.readStringRequireUtf8();
            }
            case ChildSaRecord.DIRECTION_FIELD_NUMBER -> {
                if (!varint) {
                    return false;
                }
                direction = in.readEnum();
            }
            case ChildSaRecord.LIFETIME_FIELD_NUMBER -> {
                if (!delimited) {
                    return false;
                }
                lifetimeLength = in.readRawVarint32();
                lifetimeOffset = in.getTotalBytesRead();
                in.skipRawBytes(lifetimeLength);
            }
            case ChildSaRecord.CREATED_AT_MS_FIELD_NUMBER -> {
                if (!varint) {
                    return false;
                }
                createdAtMs = in.readInt64();
            }
            case ChildSaRecord.UPDATED_AT_MS_FIELD_NUMBER -> {
                if (!varint) {
                    return false;
                }
                updatedAtMs = in.readInt64();
            }
            case ChildSaRecord.OWNER_NODE_ID_FIELD_NUMBER -> {
                if (!delimited) {
                    return false;
                }
                ownerNodeId = in.readStringRequireUtf8();
            }
            case ChildSaRecord.OWNER_MEMBER_FIELD_NUMBER -> {
                if (!delimited) {
                    return false;
                }
                ownerMember = in.readStringRequireUtf8();
            }
            case ChildSaRecord.OWNER_EPOCH_FIELD_NUMBER -> {
                if (!varint) {
                    return false;
                }
                ownerEpoch = in.readUInt64();
            }
            case ChildSaRecord.REPLAY_CHECKPOINT_FIELD_NUMBER -> {
                if (!varint) {
                    return false;
                }
                replayCheckpoint = in.readUInt64();
            }
            case ChildSaRecord.REPLAY_FLOOR_FIELD_NUMBER -> {
                if (!varint) {
                    return false;
                }
                replayFloor = in.readUInt64();
            }
            case ChildSaRecord.STATE_FIELD_NUMBER -> {
                if (!varint) {
                    return false;
                }
                state = in.readEnum();
            }
            case ChildSaRecord.GENERATION_FIELD_NUMBER -> {
                if (!varint) {
                    return false;
                }
                generation = in.readUInt64();
            }
            case ChildSaRecord.BYTES_FIELD_NUMBER -> {
                if (!varint) {
                    return false;
                }
                bytes = in.readUInt64();
            }
            case ChildSaRecord.PACKETS_FIELD_NUMBER -> {
                if (!varint) {
                    return false;
                }
                packets = in.readUInt64();
            }
            case ChildSaRecord.SOFT_EXPIRY_FIELD_NUMBER -> {
                if (!delimited) {
                    return false;
                }
                softExpiry = true;
                in.skipRawBytes(in.readRawVarint32());
            }
            case ChildSaRecord.HARD_EXPIRY_FIELD_NUMBER -> {
                if (!delimited) {
                    return false;
                }
                hardExpiry = true;
                in.skipRawBytes(in.readRawVarint32());
            }
            case ChildSaRecord.DELETED_AT_MS_FIELD_NUMBER -> {
                if (!varint) {
                    return false;
                }
                deletedAtMs = in.readInt64();
            }
            case ChildSaRecord.OWNER_REASON_FIELD_NUMBER -> {
                if (!varint) {
                    return false;
                }
                ownerReason = in.readEnum();
            }
            default -> {
                return false;
            }
        }
        return true;
    }

    /** False when the bytes are not laid out as {@code toByteArray()} writes them: use the full parse. */
    public boolean canonical() {
        return canonical;
    }

    public String id() {
        return id;
    }

    public String ownerNodeId() {
        return ownerNodeId;
    }

    public String ownerMember() {
        return ownerMember;
    }

    public long ownerEpoch() {
        return ownerEpoch;
    }

    public long generation() {
        return generation;
    }

    public long updatedAtMs() {
        return updatedAtMs;
    }

    public long deletedAtMs() {
        return deletedAtMs;
    }

    public int ownerReasonValue() {
        return ownerReason;
    }

    public int stateValue() {
        return state;
    }

    public ChildSaState state() {
        ChildSaState s = ChildSaState.forNumber(state);
        return s == null ? ChildSaState.UNRECOGNIZED : s;
    }

    public boolean hasSoftExpiry() {
        return softExpiry;
    }

    public boolean hasHardExpiry() {
        return hardExpiry;
    }

    /** As {@link Records#isLive}. */
    public boolean isLive() {
        return state != ChildSaState.CHILD_SA_STATE_DELETED_VALUE;
    }

    /** Whether {@link Records#applyLifetimes} at {@code nowMs} would change the record. */
    public boolean lifetimeDue(long nowMs) {
        if (!isLive() || lifetimeOffset < 0 || (softExpiry && hardExpiry)) {
            return false;
        }
        Lifetime l;
        try {
            l = Lifetime.parseFrom(CodedInputStream.newInstance(record, lifetimeOffset, lifetimeLength));
        } catch (IOException e) {
            throw new IllegalStateException("stored CHILD SA record has a malformed lifetime: " + e.getMessage());
        }
        return (!softExpiry && Records.reached(createdAtMs, bytes, packets, nowMs, l.getSoftSeconds(),
                        l.getSoftBytes(), l.getSoftPackets()) != null)
                || (!hardExpiry && Records.reached(createdAtMs, bytes, packets, nowMs, l.getHardSeconds(),
                        l.getHardBytes(), l.getHardPackets()) != null);
    }

    /**
     * The record with a new owner, byte-identical to
     * {@code ClaimProcessor.reassign(parsed, ...).toByteArray()}: owner node and member, epoch + 1,
     * reason, generation + 1, updated_at; for an inbound SA the replay floor raised to checkpoint
     * + margin (never lowered). Only for a {@link #canonical()} record read with
     * {@link #readForPatch}.
     */
    public byte[] reassign(String nodeId, String memberUuid, OwnershipReason reason, long replayMargin,
            long nowMs) {
        if (!canonical || spans == null) {
            throw new IllegalStateException("not a canonical record read for a patch: use the full parse");
        }
        long floor = replayFloor;
        if (direction == Direction.DIRECTION_INBOUND_VALUE) {
            long candidate = replayCheckpoint + replayMargin;
            if (Long.compareUnsigned(candidate, replayFloor) > 0) {
                floor = candidate;
            }
        }
        // The changed fields in field-number order, each with its new value.
        int[] numbers = {
            ChildSaRecord.UPDATED_AT_MS_FIELD_NUMBER, ChildSaRecord.OWNER_NODE_ID_FIELD_NUMBER,
            ChildSaRecord.OWNER_MEMBER_FIELD_NUMBER, ChildSaRecord.OWNER_EPOCH_FIELD_NUMBER,
            ChildSaRecord.REPLAY_FLOOR_FIELD_NUMBER, ChildSaRecord.GENERATION_FIELD_NUMBER,
            ChildSaRecord.OWNER_REASON_FIELD_NUMBER,
        };
        long[] values = {nowMs, 0, 0, ownerEpoch + 1, floor, generation + 1, reason.getNumber()};
        String[] texts = {null, nodeId, memberUuid, null, null, null, null};
        int size = record.length;
        for (int i = 0; i < count; i++) {
            if (Arrays.binarySearch(numbers, spans[3 * i]) >= 0) {
                size -= spans[3 * i + 2] - spans[3 * i + 1];
            }
        }
        for (int k = 0; k < numbers.length; k++) {
            size += encodedSize(numbers[k], values[k], texts[k]);
        }
        byte[] out = new byte[size];
        CodedOutputStream o = CodedOutputStream.newInstance(out);
        try {
            int k = 0;
            int runStart = -1;
            int runEnd = -1;
            for (int i = 0; i < count; i++) {
                int number = spans[3 * i];
                boolean replaced = false;
                while (k < numbers.length && numbers[k] <= number) {
                    if (runStart >= 0) {
                        o.writeRawBytes(record, runStart, runEnd - runStart);
                        runStart = -1;
                    }
                    write(o, numbers[k], values[k], texts[k]);
                    replaced |= numbers[k] == number;
                    k++;
                }
                if (!replaced && Arrays.binarySearch(numbers, number) < 0) {
                    if (runStart < 0) {
                        runStart = spans[3 * i + 1];
                    }
                    runEnd = spans[3 * i + 2];
                }
            }
            if (runStart >= 0) {
                o.writeRawBytes(record, runStart, runEnd - runStart);
            }
            for (; k < numbers.length; k++) {
                write(o, numbers[k], values[k], texts[k]);
            }
            o.checkNoSpaceLeft();
        } catch (IOException e) {
            throw new IllegalStateException("CHILD SA record patch miscounted its size", e);
        }
        return out;
    }

    /** Encoded size of one patched field as proto3 writes it: nothing for a default value. */
    private static int encodedSize(int number, long value, String text) {
        if (text != null) {
            return text.isEmpty() ? 0 : CodedOutputStream.computeStringSize(number, text);
        }
        if (value == 0) {
            return 0;
        }
        return switch (number) {
            case ChildSaRecord.UPDATED_AT_MS_FIELD_NUMBER -> CodedOutputStream.computeInt64Size(number, value);
            case ChildSaRecord.OWNER_REASON_FIELD_NUMBER -> CodedOutputStream.computeEnumSize(number, (int) value);
            default -> CodedOutputStream.computeUInt64Size(number, value);
        };
    }

    private static void write(CodedOutputStream o, int number, long value, String text) throws IOException {
        if (text != null) {
            if (!text.isEmpty()) {
                o.writeString(number, text);
            }
            return;
        }
        if (value == 0) {
            return;
        }
        switch (number) {
            case ChildSaRecord.UPDATED_AT_MS_FIELD_NUMBER -> o.writeInt64(number, value);
            case ChildSaRecord.OWNER_REASON_FIELD_NUMBER -> o.writeEnum(number, (int) value);
            default -> o.writeUInt64(number, value);
        }
    }
}
