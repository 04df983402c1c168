package dev.keel.sad.store;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import com.hazelcast.query.Predicate;
import dev.keel.proto.v1.ChildSaRecord;
import java.io.IOException;
import java.io.Serial;
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

    @Override
    public boolean apply(Map.Entry<String, byte[]> entry) {
        byte[] v = entry.getValue();
        return v != null && member.equals(ownerMember(v));
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
