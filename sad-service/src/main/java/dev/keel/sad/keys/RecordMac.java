package dev.keel.sad.keys;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.MessageLite;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.IkeSaRecord;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import javax.crypto.Mac;
import javax.crypto.SecretKey;
import javax.crypto.ShortBufferException;

/**
 * The integrity tags of stored SA records (docs/sad.md, "Record integrity"): every record sad-service
 * writes ends with a {@code record_tag} field, and a record whose tag is missing or wrong is refused
 * wherever it is read to act on it. Without it, anything that reaches the Hazelcast port could
 * rewrite a record: its selectors, its peer, its wrapped keys (RFC 5649 binds no associated data),
 * or a lower lease high-water mark, i.e. sequence numbers, and so AES-GCM nonces, used twice.
 *
 * <p>The tag is the KEK id (4 bytes, big-endian) and HMAC-SHA256 under a key derived from the KEK
 * (HKDF-SHA256, label {@value #LABEL}; never the KEK itself) over
 * {@code label || scope || u32 length of the map key || map key (UTF-8) || KEK id || record bytes
 * before the tag}: the whole record, so every field is covered (id, SPI, direction, selectors, peer,
 * lease high-water mark, wrapped keys, owner, counters), and the map and key, so a valid record
 * cannot be moved under another key or into the other map. It is the record's last field (number
 * 1000; protobuf writes fields in number order), so checking it needs no parse: it is the final
 * {@value #TAG_FIELD_BYTES} bytes.
 *
 * <p>A record names the KEK that tagged it, so the code that checks it (an entry processor on any
 * member, a merge policy, a Watch stream) finds the key through the process-wide table of the KEKs
 * this process holds ({@link #open}), without Hazelcast handing it over. All members of one cluster
 * hold one KEK: the cluster name is derived from it ({@code SadCluster}).
 *
 * <p>Thread-safe; one keyed {@link Mac} per thread.
 */
public final class RecordMac implements AutoCloseable {

    /** HKDF info of the tag key. */
    static final String LABEL = "keel-sad record tag v1";
    /** The field number of {@code record_tag} in both record types. */
    public static final int TAG_FIELD = ChildSaRecord.RECORD_TAG_FIELD_NUMBER;
    /** KEK id + HMAC-SHA256. */
    public static final int TAG_LENGTH = 4 + 32;
    /** The tag as it ends a record: field key (2 bytes), length (1 byte), tag. */
    public static final int TAG_FIELD_BYTES = 3 + TAG_LENGTH;
    private static final byte[] TAG_HEADER = {(byte) ((TAG_FIELD << 3 | 2) & 0x7f | 0x80), (byte) ((TAG_FIELD << 3 | 2) >>> 7),
        (byte) TAG_LENGTH};

    static {
        if (IkeSaRecord.RECORD_TAG_FIELD_NUMBER != TAG_FIELD || CodedOutputStream.computeTagSize(TAG_FIELD) != 2) {
            throw new ExceptionInInitializerError("record_tag must be field " + TAG_FIELD + " of both records");
        }
    }

    /** Which map a record belongs to: part of what the tag covers. */
    public enum Scope {
        CHILD_SA('C'),
        IKE_SA('I');

        private final byte code;

        Scope(char code) {
            this.code = (byte) code;
        }
    }

    private static final System.Logger LOG = System.getLogger(RecordMac.class.getName());
    /** The KEKs this process holds, by KEK id, with the number of nodes that opened each. */
    private static final ConcurrentHashMap<Integer, RecordMac> OPEN = new ConcurrentHashMap<>();
    private static final AtomicLong REFUSED = new AtomicLong();
    private static final AtomicLong LAST_LOG_NANOS = new AtomicLong(System.nanoTime() - 2_000_000_000L);

    private final int kekId;
    private final SecretKey key;
    private final ThreadLocal<PerThread> macs;
    private int users;

    private RecordMac(KeyEncryptionKey kek) {
        this.kekId = kek.id();
        this.key = kek.deriveKey(LABEL, "HmacSHA256", 32);
        this.macs = ThreadLocal.withInitial(() -> new PerThread(newMac()));
    }

    /**
     * The tag key of {@code kek}, registered in this process until {@link #close()} (one
     * registration per KEK, counted: members in one JVM share it). Call once per node.
     */
    public static RecordMac open(KeyEncryptionKey kek) {
        return OPEN.compute(kek.id(), (id, current) -> {
            RecordMac m = new RecordMac(kek);
            if (current != null) {
                if (!java.security.MessageDigest.isEqual(current.key.getEncoded(), m.key.getEncoded())) {
                    throw new IllegalStateException(String.format("two different KEKs with the id %08x in one process", id));
                }
                m = current;
            }
            m.users++;
            return m;
        });
    }

    /** The tag key of a KEK this process holds, or null. */
    public static RecordMac forKekId(int kekId) {
        return OPEN.get(kekId);
    }

    public int kekId() {
        return kekId;
    }

    private Mac newMac() {
        try {
            Mac m = Mac.getInstance("HmacSHA256");
            m.init(key);
            return m;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable: " + e.getClass().getSimpleName());
        }
    }

    /**
     * {@code record} serialized with its tag ({@code record} itself must carry none: clear it
     * first), in one array.
     */
    public byte[] seal(Scope scope, String key, MessageLite record) {
        int body = record.getSerializedSize();
        byte[] out = new byte[body + TAG_FIELD_BYTES];
        try {
            CodedOutputStream o = CodedOutputStream.newInstance(out, 0, body);
            record.writeTo(o);
            o.checkNoSpaceLeft();
        } catch (IOException e) {
            throw new IllegalStateException("record serialization miscounted its size", e);
        }
        seal(scope, key, out, body);
        return out;
    }

    /**
     * Writes the tag field of the record in {@code buf[0, bodyLength)} into
     * {@code buf[bodyLength, bodyLength + TAG_FIELD_BYTES)}.
     */
    public void seal(Scope scope, String key, byte[] buf, int bodyLength) {
        if (buf.length != bodyLength + TAG_FIELD_BYTES) {
            throw new IllegalArgumentException("no room for the tag");
        }
        System.arraycopy(TAG_HEADER, 0, buf, bodyLength, TAG_HEADER.length);
        int at = putInt(buf, bodyLength + TAG_HEADER.length, kekId);
        try {
            mac(scope, key, buf, bodyLength).mac.doFinal(buf, at);
        } catch (ShortBufferException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A thread's keyed MAC and scratch space for the input's header and a computed tag. */
    private static final class PerThread {
        final Mac mac;
        byte[] header = new byte[64];
        final byte[] tag = new byte[32];

        PerThread(Mac mac) {
            this.mac = mac;
        }
    }

    /**
     * This thread's keyed MAC with the whole input given, not yet finished: label, scope, key
     * length and key, KEK id (one header, one update), then the record's bytes before the tag.
     */
    private PerThread mac(Scope scope, String key, byte[] record, int bodyLength) {
        PerThread t = macs.get();
        byte[] k = key.getBytes(StandardCharsets.UTF_8);
        int n = LABEL_BYTES.length + 1 + 4 + k.length + 4;
        if (t.header.length < n) {
            t.header = new byte[n];
        }
        byte[] h = t.header;
        System.arraycopy(LABEL_BYTES, 0, h, 0, LABEL_BYTES.length);
        int at = LABEL_BYTES.length;
        h[at++] = scope.code;
        at = putInt(h, at, k.length);
        System.arraycopy(k, 0, h, at, k.length);
        at = putInt(h, at + k.length, kekId);
        t.mac.update(h, 0, at);
        t.mac.update(record, 0, bodyLength);
        return t;
    }

    private static int putInt(byte[] b, int at, int v) {
        b[at] = (byte) (v >>> 24);
        b[at + 1] = (byte) (v >>> 16);
        b[at + 2] = (byte) (v >>> 8);
        b[at + 3] = (byte) v;
        return at + 4;
    }

    private static final byte[] LABEL_BYTES = LABEL.getBytes(StandardCharsets.US_ASCII);

    /**
     * Checks the tag of a stored record.
     *
     * @param key the map key the record is stored under
     * @return the tag key that verified it (the one to tag the record's next version with)
     * @throws TamperedRecordException when the tag is missing, names a KEK this process does not
     *         hold, or does not match; counted ({@link #refused()}) and logged, without record bytes
     */
    public static RecordMac verify(Scope scope, String key, byte[] stored) {
        int body = stored.length - TAG_FIELD_BYTES;
        if (body < 0 || stored[body] != TAG_HEADER[0] || stored[body + 1] != TAG_HEADER[1]
                || stored[body + 2] != TAG_HEADER[2]) {
            throw refuse(scope, key, "it carries no integrity tag");
        }
        int at = body + TAG_HEADER.length;
        int id = (stored[at] & 0xff) << 24 | (stored[at + 1] & 0xff) << 16 | (stored[at + 2] & 0xff) << 8
                | (stored[at + 3] & 0xff);
        RecordMac owner = OPEN.get(id);
        if (owner == null) {
            throw refuse(scope, key, String.format("it is tagged under KEK %08x, which this node does not hold", id));
        }
        PerThread t = owner.mac(scope, key, stored, body);
        byte[] expected = t.tag;
        try {
            t.mac.doFinal(expected, 0);
        } catch (ShortBufferException e) {
            throw new IllegalStateException(e);
        }
        int diff = 0; // constant time, as MessageDigest.isEqual
        for (int i = 0; i < expected.length; i++) {
            diff |= expected[i] ^ stored[at + 4 + i];
        }
        if (diff != 0) {
            throw refuse(scope, key, "its integrity tag does not match (changed outside sad-service, or moved from another key)");
        }
        return owner;
    }

    /** Whether the stored record's tag is valid (counted and logged like {@link #verify} when not). */
    public static boolean isValid(Scope scope, String key, byte[] stored) {
        try {
            verify(scope, key, stored);
            return true;
        } catch (TamperedRecordException e) {
            return false;
        }
    }

    private static TamperedRecordException refuse(Scope scope, String key, String why) {
        long n = REFUSED.incrementAndGet();
        String what = (scope == Scope.CHILD_SA ? "child SA " : "IKE SA ") + printable(key);
        long now = System.nanoTime();
        long last = LAST_LOG_NANOS.get();
        if (now - last >= 1_000_000_000L && LAST_LOG_NANOS.compareAndSet(last, now)) { // at most one line a second
            LOG.log(Level.WARNING, "refused the stored record of {0}: {1}; {2} refused by this process so far",
                    what, why, n);
        }
        return new TamperedRecordException("stored record of " + what + " refused: " + why);
    }

    /** A map key as it may appear in a message: a rogue writer chooses it. */
    private static String printable(String key) {
        StringBuilder b = new StringBuilder(Math.min(key.length(), 128) + 2).append('\'');
        for (int i = 0; i < key.length() && i < 128; i++) {
            char c = key.charAt(i);
            b.append(c >= 0x20 && c < 0x7f ? c : '?');
        }
        return b.append(key.length() > 128 ? "...'" : "'").toString();
    }

    /** Records this process refused since it started (every check, all KEKs). */
    public static long refused() {
        return REFUSED.get();
    }

    /** Ends this node's use; the key is forgotten when the last node of the process that holds it closes. */
    @Override
    public void close() {
        OPEN.computeIfPresent(kekId, (id, m) -> m != this ? m : --m.users == 0 ? null : m);
    }

    @Override
    public String toString() {
        return "RecordMac[kek=" + String.format("%08x", kekId) + "]";
    }
}
