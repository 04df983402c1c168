package dev.keel.sad.store;

import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.IkeSaRecord;
import dev.keel.sad.keys.KeyEncryptionKey;
import dev.keel.sad.keys.RecordMac;
import java.security.SecureRandom;
import java.util.AbstractMap.SimpleEntry;
import java.util.Arrays;
import java.util.Map;

/**
 * A record tag key for tests that run processors, merge rules or the Watch hub without a cluster:
 * a random KEK, open for the whole test JVM, and records stored as sad-service stores them.
 */
public final class TestTags {

    /** The tag key of this JVM's test KEK. */
    public static final RecordMac MAC;

    static {
        byte[] k = new byte[KeyEncryptionKey.LENGTH];
        new SecureRandom().nextBytes(k);
        MAC = RecordMac.open(KeyEncryptionKey.of(k));
    }

    private TestTags() {}

    /** The stored bytes of a CHILD SA record under its id. */
    public static byte[] sealed(ChildSaRecord r) {
        return Records.sealed(MAC, r.getId(), r);
    }

    /** The stored bytes of an IKE SA record under its id. */
    public static byte[] sealed(IkeSaRecord r) {
        return Records.sealed(MAC, r.getId(), r.toBuilder());
    }

    /** Arbitrary record bytes (e.g. laid out oddly on purpose) with a valid CHILD SA tag for {@code key}. */
    public static byte[] sealedBytes(String key, byte[] body) {
        byte[] out = Arrays.copyOf(body, body.length + RecordMac.TAG_FIELD_BYTES);
        MAC.seal(RecordMac.Scope.CHILD_SA, key, out, body.length);
        return out;
    }

    /** A map entry holding a CHILD SA record as stored. */
    public static Map.Entry<String, byte[]> entry(ChildSaRecord r) {
        return new SimpleEntry<>(r.getId(), sealed(r));
    }

    /** The record without its tag (to compare with a record built in a test). */
    public static ChildSaRecord untagged(ChildSaRecord r) {
        return r.getRecordTag().isEmpty() ? r : r.toBuilder().clearRecordTag().build();
    }
}
