package dev.keel.sad.store;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import com.hazelcast.query.Predicate;
import dev.keel.proto.v1.ChildSaRecord;
import java.io.IOException;
import java.io.Serial;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;

/**
 * Selects the CHILD SAs owned by one member incarnation: the takeover query after that member
 * left. It reads only the owner_member field from the protobuf bytes (no full parse), so the
 * scan costs little per record.
 *
 * <p>A Hazelcast hash index on this attribute was tried (docs/benchmarks.md): it removes the
 * scan but costs memory per SA and an extraction on every lease, and the scan is not where a
 * large takeover spends its time, so the maps carry no index.
 */
public final class OwnedByMember implements Predicate<String, byte[]> {

    @Serial
    private static final long serialVersionUID = 1L;

    private final String member;

    public OwnedByMember(String member) {
        this.member = member;
    }

    private transient byte[] memberUtf8;

    @Override
    public boolean apply(Map.Entry<String, byte[]> entry) {
        byte[] v = entry.getValue();
        if (v == null) {
            return false;
        }
        if (memberUtf8 == null) {
            memberUtf8 = member.getBytes(StandardCharsets.UTF_8);
        }
        return ownerMemberIs(v, memberUtf8);
    }

    /** Whether the owner_member field of a stored ChildSaRecord is these UTF-8 bytes (compared undecoded). */
    public static boolean ownerMemberIs(byte[] record, byte[] memberUtf8) {
        try {
            CodedInputStream in = CodedInputStream.newInstance(record);
            boolean found = false;
            boolean equal = memberUtf8.length == 0;
            int tag;
            while ((tag = in.readTag()) != 0) {
                if (WireFormat.getTagFieldNumber(tag) == ChildSaRecord.OWNER_MEMBER_FIELD_NUMBER
                        && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                    int length = in.readRawVarint32();
                    int at = in.getTotalBytesRead();
                    if (length < 0 || at + length > record.length) {
                        throw new IOException("owner_member overruns the record");
                    }
                    found = true; // the last occurrence counts, as in the parser
                    equal = Arrays.equals(record, at, at + length, memberUtf8, 0, memberUtf8.length);
                    in.skipRawBytes(length);
                } else if (!in.skipField(tag)) {
                    break;
                }
            }
            return found ? equal : memberUtf8.length == 0;
        } catch (IOException e) {
            throw new IllegalStateException("stored CHILD SA record is not a ChildSaRecord: " + e.getMessage());
        }
    }

    /** The owner_member field of a stored ChildSaRecord ("" when unset). */
    public static String ownerMember(byte[] record) {
        try {
            CodedInputStream in = CodedInputStream.newInstance(record);
            int tag;
            while ((tag = in.readTag()) != 0) {
                if (WireFormat.getTagFieldNumber(tag) == ChildSaRecord.OWNER_MEMBER_FIELD_NUMBER
                        && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                    return in.readStringRequireUtf8();
                }
                if (!in.skipField(tag)) {
                    break;
                }
            }
            return "";
        } catch (IOException e) {
            throw new IllegalStateException("stored CHILD SA record is not a ChildSaRecord: " + e.getMessage());
        }
    }
}
