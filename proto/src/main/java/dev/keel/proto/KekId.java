package dev.keel.proto;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The id of a cluster key-encryption key as sa.proto stores it next to wrapped keys
 * ({@code WrappedChildKeys.kek_id}, {@code WrappedIkeKeys.kek_id}, the record tag): the first 4
 * bytes of SHA-256("keel-kek-id" || KEK), big-endian. sad-service, which wraps, and every process
 * that unwraps compute it here, so they always agree.
 */
public final class KekId {

    private static final byte[] LABEL = "keel-kek-id".getBytes(StandardCharsets.US_ASCII);

    private KekId() {
    }

    /** The id of {@code kek} (the key bytes are only hashed, never kept). */
    public static int of(byte[] kek) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(LABEL);
            byte[] d = sha.digest(kek);
            return (d[0] & 0xff) << 24 | (d[1] & 0xff) << 16 | (d[2] & 0xff) << 8 | (d[3] & 0xff);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }
}
