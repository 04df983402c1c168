package dev.keel.ike.crypto;

import dev.keel.core.transform.PrfTransform;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import java.util.Objects;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The negotiated IKE PRF (HMAC-SHA1 for interop, HMAC-SHA2-256/384/512; RFC 7296 §2.13,
 * RFC 4868 §2.4) and prf+. Stateless apart from a cached {@link Mac}; not thread-safe.
 */
public final class Prf {

    /** RFC 7296 §2.13: the counter octet runs from 0x01 to 0xff. */
    public static final int MAX_PRF_PLUS_ITERATIONS = 255;

    private final PrfTransform transform;
    private final Mac mac;

    private Prf(PrfTransform transform) {
        this.transform = transform;
        try {
            this.mac = Mac.getInstance(transform.jcaName());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("JDK lacks " + transform.jcaName(), e);
        }
    }

    /** A PRF for {@code transform}. */
    public static Prf of(PrfTransform transform) {
        return new Prf(Objects.requireNonNull(transform, "transform"));
    }

    public PrfTransform transform() {
        return transform;
    }

    /** Output length in bytes. */
    public int outputLength() {
        return transform.outputLength();
    }

    /** prf(key, data[0] | data[1] | ...). HMAC takes a key of any length (RFC 2104 §3). */
    public byte[] compute(byte[] key, byte[]... data) {
        init(key);
        for (byte[] d : data) {
            mac.update(d);
        }
        return mac.doFinal();
    }

    /**
     * prf+(key, seed) truncated to {@code length} bytes: T1 = prf(K, S | 0x01),
     * Tn = prf(K, Tn-1 | S | n) (RFC 7296 §2.13).
     *
     * @throws IllegalArgumentException when more than 255 iterations would be needed
     */
    public byte[] plus(byte[] key, byte[] seed, int length) {
        if (length < 0 || length > MAX_PRF_PLUS_ITERATIONS * outputLength()) {
            throw new IllegalArgumentException("prf+ cannot produce " + length + " bytes with "
                    + transform.ianaName() + " (255 iterations give at most " + MAX_PRF_PLUS_ITERATIONS * outputLength() + ")");
        }
        init(key);
        byte[] out = new byte[length];
        byte[] t = new byte[0];
        int filled = 0;
        for (int i = 1; filled < length; i++) {
            mac.update(t);
            mac.update(seed);
            mac.update((byte) i);
            byte[] next = mac.doFinal();
            Arrays.fill(t, (byte) 0);
            t = next;
            int n = Math.min(t.length, length - filled);
            System.arraycopy(t, 0, out, filled, n);
            filled += n;
        }
        Arrays.fill(t, (byte) 0);
        return out;
    }

    private void init(byte[] key) {
        Objects.requireNonNull(key, "key");
        if (key.length == 0) {
            throw new IllegalArgumentException("empty PRF key"); // SecretKeySpec refuses it too
        }
        try {
            mac.init(new SecretKeySpec(key, transform.jcaName()));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("PRF init failed", e);
        }
    }

    @Override
    public String toString() {
        return "Prf[" + transform.ianaName() + "]";
    }
}
