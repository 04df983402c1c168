package dev.keel.sad.store;

import com.hazelcast.query.Predicate;
import java.io.Serial;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * Selects the CHILD SAs owned by one member incarnation: the takeover query after that member
 * left. It compares only the owner_member bytes of each record ({@link ChildSaFields}, no full
 * parse, no string decoded), so the scan costs little per record.
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

    private transient volatile byte[] memberUtf8;

    @Override
    public boolean apply(Map.Entry<String, byte[]> entry) {
        byte[] v = entry.getValue();
        if (v == null) {
            return false;
        }
        byte[] utf8 = memberUtf8;
        if (utf8 == null) {
            utf8 = member.getBytes(StandardCharsets.UTF_8);
            memberUtf8 = utf8;
        }
        return ownerMemberIs(v, utf8);
    }

    /** Whether the owner_member field of a stored ChildSaRecord is these UTF-8 bytes (compared undecoded). */
    public static boolean ownerMemberIs(byte[] record, byte[] memberUtf8) {
        return ChildSaFields.read(record).ownerMemberIs(memberUtf8);
    }

    /** The owner_member field of a stored ChildSaRecord ("" when unset). */
    public static String ownerMember(byte[] record) {
        return ChildSaFields.read(record).ownerMember();
    }
}
