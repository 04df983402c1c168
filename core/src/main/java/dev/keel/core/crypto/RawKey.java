package dev.keel.core.crypto;

import java.util.Arrays;
import javax.crypto.SecretKey;

/**
 * A raw secret key that, unlike {@link javax.crypto.spec.SecretKeySpec}, can be destroyed: the
 * one copy it holds is zeroized by {@link #destroy()}. JCA providers that keep their own copy
 * (SunJCE GCM keeps the last encryption key, AESCrypt the last cipher key) are wiped separately by
 * re-initialising them with a dummy key; see the ciphers' {@code close()}.
 */
final class RawKey implements SecretKey {

    private final String algorithm;
    private final byte[] key;
    private boolean destroyed;

    RawKey(String algorithm, byte[] src, int off, int len) {
        this.algorithm = algorithm;
        this.key = Arrays.copyOfRange(src, off, off + len);
    }

    @Override
    public String getAlgorithm() {
        return algorithm;
    }

    @Override
    public String getFormat() {
        return "RAW";
    }

    /** A fresh copy, as {@link java.security.Key#getEncoded()} requires (providers zeroize it). */
    @Override
    public byte[] getEncoded() {
        if (destroyed) {
            throw new IllegalStateException("key destroyed");
        }
        return key.clone();
    }

    int length() {
        return key.length;
    }

    @Override
    public void destroy() {
        Arrays.fill(key, (byte) 0);
        destroyed = true;
    }

    @Override
    public boolean isDestroyed() {
        return destroyed;
    }

    /** Never the key bytes. */
    @Override
    public String toString() {
        return "RawKey[" + algorithm + ", " + key.length * 8 + " bits]";
    }
}
