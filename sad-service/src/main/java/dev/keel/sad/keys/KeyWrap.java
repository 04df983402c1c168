package dev.keel.sad.keys;

import org.bouncycastle.crypto.InvalidCipherTextException;
import org.bouncycastle.crypto.engines.AESWrapPadEngine;
import org.bouncycastle.crypto.params.KeyParameter;

/**
 * AES Key Wrap with Padding (RFC 5649) under the cluster KEK, via Bouncy Castle's
 * {@link AESWrapPadEngine}. Wrapping an empty key gives an empty result (ENCR_NULL has no key).
 *
 * <p>Thread-safe: an engine is made per call (its state is a few objects).
 */
public final class KeyWrap {

    private final KeyEncryptionKey kek;

    public KeyWrap(KeyEncryptionKey kek) {
        this.kek = kek;
    }

    public int kekId() {
        return kek.id();
    }

    /** Wraps {@code key}; the caller zeroizes its plaintext afterwards. */
    public byte[] wrap(byte[] key) {
        if (key.length == 0) {
            return new byte[0];
        }
        AESWrapPadEngine engine = new AESWrapPadEngine();
        engine.init(true, new KeyParameter(kek.bytes()));
        return engine.wrap(key, 0, key.length);
    }

    /**
     * Unwraps a key wrapped under this KEK.
     *
     * @param kekId the KEK id stored with the wrapped key
     * @throws IllegalStateException when the KEK id differs or the integrity check fails
     *         (the message never contains key bytes)
     */
    public byte[] unwrap(byte[] wrapped, int kekId) {
        if (kekId != kek.id()) {
            throw new IllegalStateException(String.format(
                    "key wrapped under KEK %08x, this node holds KEK %08x", kekId, kek.id()));
        }
        if (wrapped.length == 0) {
            return new byte[0];
        }
        AESWrapPadEngine engine = new AESWrapPadEngine();
        engine.init(false, new KeyParameter(kek.bytes()));
        try {
            return engine.unwrap(wrapped, 0, wrapped.length);
        } catch (InvalidCipherTextException e) {
            throw new IllegalStateException("wrapped key failed the RFC 5649 integrity check");
        }
    }
}
