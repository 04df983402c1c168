package dev.keel.sad.store;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import com.hazelcast.query.extractor.ValueCollector;
import com.hazelcast.query.extractor.ValueExtractor;
import dev.keel.proto.v1.ChildSaRecord;
import java.io.IOException;

/**
 * The {@value #ATTRIBUTE} query attribute of a stored ChildSaRecord: its owner_member, read by
 * scanning the protobuf bytes for that one field (no full parse, since Hazelcast re-extracts on
 * every update of the record, leases included). A hash index on it lets the takeover after a
 * member leaves find exactly that member's SAs instead of scanning all of them.
 */
public final class OwnerMemberExtractor implements ValueExtractor<byte[], Object> {

    public static final String ATTRIBUTE = "ownerMember";

    @Override
    public void extract(byte[] target, Object argument, ValueCollector<Object> collector) {
        if (target != null) {
            collector.addObject(ownerMember(target));
        }
    }

    static String ownerMember(byte[] record) {
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
