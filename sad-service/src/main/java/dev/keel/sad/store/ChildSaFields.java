package dev.keel.sad.store;

import com.google.protobuf.CodedOutputStream;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.ChildSaState;
import dev.keel.proto.v1.Direction;
import dev.keel.proto.v1.OwnershipReason;
import dev.keel.sad.keys.RecordMac;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
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
 * wire type, a field after the integrity tag) callers fall back to the full parse.
 *
 * <p>The bytes are read with a cursor of its own rather than protobuf's {@code CodedInputStream}
 * and strings are decoded only when asked for: this runs for every record of a maintenance pass
 * and for every change on every member, and the allocations showed in the takeover's GC time.
 * Malformed bytes (a truncated or overlong varint, a length past the end, field number 0, wire
 * type 6 or 7) are an {@link IllegalStateException}, as {@link Records#parseChild} gives.
 */
public final class ChildSaFields {

    /** The fields {@link #reassign} writes, in field-number order. */
    private static final int[] PATCHED = {
        ChildSaRecord.UPDATED_AT_MS_FIELD_NUMBER, ChildSaRecord.OWNER_NODE_ID_FIELD_NUMBER,
        ChildSaRecord.OWNER_MEMBER_FIELD_NUMBER, ChildSaRecord.OWNER_EPOCH_FIELD_NUMBER,
        ChildSaRecord.REPLAY_CHECKPOINT_FIELD_NUMBER, ChildSaRecord.REPLAY_FLOOR_FIELD_NUMBER,
        ChildSaRecord.GENERATION_FIELD_NUMBER,
        ChildSaRecord.OWNER_REASON_FIELD_NUMBER, ChildSaRecord.REPLAY_MARGIN_FIELD_NUMBER,
    };
    private static final int MAX_GROUP_DEPTH = 100;
    /** The highest field number of ChildSaRecord this class knows; higher ones are newer, unknown fields. */
    private static final int LAST_FIELD_NUMBER = ChildSaRecord.OUTBOUND_STANDBY_FIELD_NUMBER;

    private final byte[] record;
    private int pos;
    private int limit;
    private boolean canonical = true;
    /** Bytes the fields {@link #PATCHED} take in the record (tags included). */
    private int patchedBytes;
    /** Where the record_tag field starts, or -1. */
    private int tagOffset = -1;

    private int idOffset = -1;
    private int idLength;
    private int nodeOffset = -1;
    private int nodeLength;
    private int memberOffset = -1;
    private int memberLength;
    private String id;
    private String ownerNodeId;
    private String ownerMember;
    private int direction;
    private int lifetimeOffset = -1;
    private int lifetimeLength;
    /** Lifetime fields 1..6 when read through the parser (index 0 unused). */
    private long[] lifetimeValues;
    private long createdAtMs;
    private long updatedAtMs;
    private long ownerEpoch;
    private long replayCheckpoint;
    private long replayFloor;
    private long replayMargin;
    private int state;
    private long generation;
    private long bytes;
    private long packets;
    private boolean softExpiry;
    private boolean hardExpiry;
    private long deletedAtMs;
    private int ownerReason;

    private ChildSaFields(byte[] record) {
        this.record = record;
        this.limit = record.length;
    }

    /**
     * Reads a stored record.
     *
     * @throws IllegalStateException when the bytes are not a protobuf message (as
     *         {@link Records#parseChild} does)
     */
    public static ChildSaFields read(byte[] record) {
        ChildSaFields f = new ChildSaFields(record);
        try {
            f.scan();
        } catch (IllegalStateException e) {
            // Protobuf's parser is more lenient in corners (e.g. its fast path takes a 10-byte varint
            // whose last byte has the continuation bit): never disagree with it.
            return fromParsed(record, Records.parseChild(record));
        }
        return f;
    }

    /** The fields of a record the parser read: not canonical (never patched). */
    private static ChildSaFields fromParsed(byte[] record, ChildSaRecord r) {
        ChildSaFields f = new ChildSaFields(record);
        f.canonical = false;
        f.id = r.getId();
        f.ownerNodeId = r.getOwnerNodeId();
        f.ownerMember = r.getOwnerMember();
        f.direction = r.getDirectionValue();
        if (r.hasLifetime()) {
            var l = r.getLifetime();
            f.lifetimeValues = new long[] {0, l.getSoftSeconds(), l.getHardSeconds(), l.getSoftBytes(), l.getHardBytes(),
                l.getSoftPackets(), l.getHardPackets()};
        }
        f.createdAtMs = r.getCreatedAtMs();
        f.updatedAtMs = r.getUpdatedAtMs();
        f.ownerEpoch = r.getOwnerEpoch();
        f.replayCheckpoint = r.getReplayCheckpoint();
        f.replayFloor = r.getReplayFloor();
        f.replayMargin = r.getReplayMargin();
        f.state = r.getStateValue();
        f.generation = r.getGeneration();
        f.bytes = r.getBytes();
        f.packets = r.getPackets();
        f.softExpiry = r.hasSoftExpiry();
        f.hardExpiry = r.hasHardExpiry();
        f.deletedAtMs = r.getDeletedAtMs();
        f.ownerReason = r.getOwnerReasonValue();
        return f;
    }

    private static IllegalStateException malformed(String what) {
        return new IllegalStateException("stored CHILD SA record is not a ChildSaRecord: " + what);
    }

    private long varint() {
        long result = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (pos >= limit) {
                throw malformed("truncated varint");
            }
            byte b = record[pos++];
            result |= (long) (b & 0x7f) << shift;
            if (b >= 0) {
                return result;
            }
        }
        throw malformed("varint longer than 10 bytes");
    }

    private int length() {
        long n = varint();
        if (n < 0 || n > limit - pos) {
            throw malformed("a length-delimited field runs past the end");
        }
        return (int) n;
    }

    private void need(int n) {
        if (limit - pos < n) {
            throw malformed("truncated fixed-width field");
        }
        pos += n;
    }

    /** Skips the value of a field whose tag was just read. */
    private void skip(int number, int wire, int depth) {
        switch (wire) {
            case 0 -> varint();
            case 1 -> need(8);
            case 2 -> {
                int n = length();
                pos += n;
            }
            case 5 -> need(4);
            case 3 -> { // a group (only as an unknown field in proto3): skip to its end tag
                if (depth >= MAX_GROUP_DEPTH) {
                    throw malformed("groups nested too deep");
                }
                canonical = false;
                while (true) {
                    if (pos >= limit) {
                        throw malformed("unterminated group");
                    }
                    int tag = (int) varint();
                    int n = tag >>> 3;
                    if (n == 0) {
                        throw malformed("field number 0");
                    }
                    if ((tag & 7) == 4) {
                        if (n != number) {
                            throw malformed("mismatched end of group");
                        }
                        return;
                    }
                    skip(n, tag & 7, depth + 1);
                }
            }
            default -> throw malformed("wire type " + wire);
        }
    }

    private void scan() {
        int last = 0;
        while (pos < limit) {
            int start = pos;
            int tag = (int) varint();
            int number = tag >>> 3;
            int wire = tag & 7;
            if (number == 0) {
                throw malformed("field number 0");
            }
            if (number < last || (number == last && !repeatable(number)) || tagOffset >= 0) {
                canonical = false; // out of order, repeated, or after the integrity tag (which ends a record)
            }
            if (number == RecordMac.TAG_FIELD) {
                tagOffset = start;
            }
            last = number;
            if (!readKnown(number, wire)) {
                if (number <= LAST_FIELD_NUMBER && !wireTypeFits(number, wire)) {
                    canonical = false; // protobuf would keep it as an unknown field, moved to the end
                }
                skip(number, wire, 0);
            }
            if (Arrays.binarySearch(PATCHED, number) >= 0) {
                patchedBytes += pos - start;
            }
        }
    }

    /** Repeated fields and unknown (newer) fields may occur more than once in a row. */
    private static boolean repeatable(int number) {
        return number == ChildSaRecord.LOCAL_TS_FIELD_NUMBER || number == ChildSaRecord.REMOTE_TS_FIELD_NUMBER
                || number > LAST_FIELD_NUMBER;
    }

    private static boolean wireTypeFits(int number, int wire) {
        return switch (number) {
            case 1, 2, 3, 4, 9, 10, 15, 18, 19, 20, 23, 24, 33, 34 -> wire == 2;
            case 5 -> wire == 5;
            default -> wire == 0;
        };
    }

    /** Reads a field this class keeps; false when the field is to be skipped. */
    private boolean readKnown(int number, int wire) {
        if (wire == 2) {
            switch (number) {
                case ChildSaRecord.ID_FIELD_NUMBER -> {
                    idLength = length();
                    idOffset = pos;
                    id = null;
                }
                case ChildSaRecord.OWNER_NODE_ID_FIELD_NUMBER -> {
                    nodeLength = length();
                    nodeOffset = pos;
                    ownerNodeId = null;
                }
                case ChildSaRecord.OWNER_MEMBER_FIELD_NUMBER -> {
                    memberLength = length();
                    memberOffset = pos;
                    ownerMember = null;
                }
                case ChildSaRecord.LIFETIME_FIELD_NUMBER -> {
                    lifetimeLength = length();
                    lifetimeOffset = pos;
                }
                case ChildSaRecord.SOFT_EXPIRY_FIELD_NUMBER -> {
                    softExpiry = true;
                    int n = length(); // not "pos += length()": that adds to pos as it was before the length
                    pos += n;
                    return true;
                }
                case ChildSaRecord.HARD_EXPIRY_FIELD_NUMBER -> {
                    hardExpiry = true;
                    int n = length();
                    pos += n;
                    return true;
                }
                default -> {
                    return false;
                }
            }
            pos += switch (number) {
                case ChildSaRecord.ID_FIELD_NUMBER -> idLength;
                case ChildSaRecord.OWNER_NODE_ID_FIELD_NUMBER -> nodeLength;
                case ChildSaRecord.OWNER_MEMBER_FIELD_NUMBER -> memberLength;
                default -> lifetimeLength;
            };
            return true;
        }
        if (wire != 0) {
            return false;
        }
        switch (number) {
            case ChildSaRecord.DIRECTION_FIELD_NUMBER -> direction = (int) varint();
            case ChildSaRecord.CREATED_AT_MS_FIELD_NUMBER -> createdAtMs = varint();
            case ChildSaRecord.UPDATED_AT_MS_FIELD_NUMBER -> updatedAtMs = varint();
            case ChildSaRecord.OWNER_EPOCH_FIELD_NUMBER -> ownerEpoch = varint();
            case ChildSaRecord.REPLAY_CHECKPOINT_FIELD_NUMBER -> replayCheckpoint = varint();
            case ChildSaRecord.REPLAY_FLOOR_FIELD_NUMBER -> replayFloor = varint();
            case ChildSaRecord.REPLAY_MARGIN_FIELD_NUMBER -> replayMargin = varint();
            case ChildSaRecord.STATE_FIELD_NUMBER -> state = (int) varint();
            case ChildSaRecord.GENERATION_FIELD_NUMBER -> generation = varint();
            case ChildSaRecord.BYTES_FIELD_NUMBER -> bytes = varint();
            case ChildSaRecord.PACKETS_FIELD_NUMBER -> packets = varint();
            case ChildSaRecord.DELETED_AT_MS_FIELD_NUMBER -> deletedAtMs = varint();
            case ChildSaRecord.OWNER_REASON_FIELD_NUMBER -> ownerReason = (int) varint();
            default -> {
                return false;
            }
        }
        return true;
    }

    private String text(int offset, int length) {
        return offset < 0 ? "" : new String(record, offset, length, StandardCharsets.UTF_8);
    }

    /** False when the bytes are not laid out as {@code toByteArray()} writes them: use the full parse. */
    public boolean canonical() {
        return canonical;
    }

    public String id() {
        if (id == null) {
            id = text(idOffset, idLength);
        }
        return id;
    }

    public String ownerNodeId() {
        if (ownerNodeId == null) {
            ownerNodeId = text(nodeOffset, nodeLength);
        }
        return ownerNodeId;
    }

    public String ownerMember() {
        if (ownerMember == null) {
            ownerMember = text(memberOffset, memberLength);
        }
        return ownerMember;
    }

    /** Whether owner_member is exactly these UTF-8 bytes, compared without decoding. */
    public boolean ownerMemberIs(byte[] utf8) {
        return memberOffset < 0 ? Arrays.equals(ownerMember().getBytes(StandardCharsets.UTF_8), utf8)
                : Arrays.equals(record, memberOffset, memberOffset + memberLength, utf8, 0, utf8.length);
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
        if (!isLive() || (lifetimeOffset < 0 && lifetimeValues == null) || (softExpiry && hardExpiry)) {
            return false;
        }
        if (lifetimeValues != null) {
            return lifetimeDue(nowMs, lifetimeValues);
        }
        // Lifetime: six uint64 fields, 1..6 (soft/hard seconds, bytes, packets); the last occurrence wins.
        long[] l = new long[7];
        int savedPos = pos;
        int savedLimit = limit;
        pos = lifetimeOffset;
        limit = lifetimeOffset + lifetimeLength;
        try {
            while (pos < limit) {
                int tag = (int) varint();
                int number = tag >>> 3;
                if (number == 0) {
                    throw malformed("field number 0 in lifetime");
                }
                if ((tag & 7) == 0 && number <= 6) {
                    l[number] = varint();
                } else {
                    skip(number, tag & 7, 0);
                }
            }
        } catch (IllegalStateException e) {
            // As in read(): where protobuf's parser is more lenient, take what it reads.
            var life = Records.parseChild(record).getLifetime();
            l = new long[] {0, life.getSoftSeconds(), life.getHardSeconds(), life.getSoftBytes(), life.getHardBytes(),
                life.getSoftPackets(), life.getHardPackets()};
        } finally {
            pos = savedPos;
            limit = savedLimit;
        }
        return lifetimeDue(nowMs, l);
    }

    private boolean lifetimeDue(long nowMs, long[] l) {
        return (!softExpiry && Records.reached(createdAtMs, bytes, packets, nowMs, l[1], l[3], l[5]) != null)
                || (!hardExpiry && Records.reached(createdAtMs, bytes, packets, nowMs, l[2], l[4], l[6]) != null);
    }

    /** {@link #reassign(RecordMac, String, byte[], byte[], OwnershipReason, long)} with the ids as strings. */
    public byte[] reassign(RecordMac mac, String key, String nodeId, String memberUuid, OwnershipReason reason,
            long nowMs) {
        return reassign(mac, key, nodeId.getBytes(StandardCharsets.UTF_8), memberUuid.getBytes(StandardCharsets.UTF_8),
                reason, nowMs);
    }

    /**
     * The record with a new owner, byte-identical to
     * {@code Records.sealed(mac, key, ClaimProcessor.reassign(parsed, ...))}: owner node and member, epoch + 1,
     * reason, generation + 1, updated_at; for an inbound SA the replay floor raised to checkpoint
     * + margin (never lowered), the checkpoint set to it and the margin to the takeover margin
     * ({@code ClaimProcessor.takeoverMargin}); the integrity tag made anew. Only for a
     * {@link #canonical()} record whose tag the caller checked.
     *
     * @param mac the tag key (the one that verified the record)
     * @param key the map key of the record
     * @param nodeUtf8 the new owner node id, UTF-8
     * @param memberUtf8 the new owner member UUID, UTF-8
     */
    public byte[] reassign(RecordMac mac, String key, byte[] nodeUtf8, byte[] memberUtf8, OwnershipReason reason,
            long nowMs) {
        if (!canonical) {
            throw new IllegalStateException("not a canonical record: use the full parse");
        }
        long checkpoint = replayCheckpoint;
        long floor = replayFloor;
        long margin = replayMargin;
        if (direction == Direction.DIRECTION_INBOUND_VALUE) {
            floor = ClaimProcessor.takeoverFloor(replayCheckpoint, replayMargin, replayFloor);
            checkpoint = floor;
            margin = ClaimProcessor.takeoverMargin(replayCheckpoint, replayFloor, replayMargin);
        }
        // New values of PATCHED, in its order (strings as UTF-8).
        long[] values = {nowMs, 0, 0, ownerEpoch + 1, checkpoint, floor, generation + 1, reason.getNumber(), margin};
        byte[][] texts = {null, nodeUtf8, memberUtf8, null, null, null, null, null, null};
        int end = tagOffset >= 0 ? tagOffset : record.length; // the old tag is not copied
        int size = end - patchedBytes;
        for (int k = 0; k < PATCHED.length; k++) {
            size += encodedSize(PATCHED[k], values[k], texts[k]);
        }
        byte[] out = new byte[size + RecordMac.TAG_FIELD_BYTES];
        CodedOutputStream o = CodedOutputStream.newInstance(out, 0, size);
        try {
            int k = 0;
            int runStart = 0;
            pos = 0;
            limit = end;
            while (pos < limit) {
                int start = pos;
                int tag = (int) varint();
                int number = tag >>> 3;
                skip(number, tag & 7, 0);
                if (k < PATCHED.length && PATCHED[k] <= number) {
                    // Copy what precedes this field, then the patched fields that go before or replace it.
                    o.writeRawBytes(record, runStart, start - runStart);
                    while (k < PATCHED.length && PATCHED[k] <= number) {
                        write(o, PATCHED[k], values[k], texts[k]);
                        k++;
                    }
                    runStart = Arrays.binarySearch(PATCHED, number) >= 0 ? pos : start;
                }
            }
            o.writeRawBytes(record, runStart, end - runStart);
            for (; k < PATCHED.length; k++) {
                write(o, PATCHED[k], values[k], texts[k]);
            }
            o.checkNoSpaceLeft();
        } catch (IOException e) {
            throw new IllegalStateException("CHILD SA record patch miscounted its size", e);
        } finally {
            limit = record.length;
        }
        mac.seal(RecordMac.Scope.CHILD_SA, key, out, size);
        return out;
    }

    /** Encoded size of one patched field as proto3 writes it: nothing for a default value. */
    private static int encodedSize(int number, long value, byte[] text) {
        if (text != null) {
            return text.length == 0 ? 0 : CodedOutputStream.computeByteArraySize(number, text);
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

    private static void write(CodedOutputStream o, int number, long value, byte[] text) throws IOException {
        if (text != null) {
            if (text.length != 0) {
                o.writeByteArray(number, text); // the same bytes as writeString of the decoded text
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
