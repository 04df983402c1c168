package dev.keel.core.crypto;

import dev.keel.core.transform.EncryptionTransform;
import dev.keel.core.transform.IntegrityTransform;

/**
 * Makes the per-packet crypto of an ESP SA from negotiated transforms and keying material
 * (RFC 7296 §2.17 order: encryption key, then salt, then integrity key). Every instance is bound to
 * one key, is not thread-safe, and must be {@code close()}d when the SA ends.
 *
 * <p>Lengths are checked here; an {@link IllegalArgumentException} names the transform and the
 * lengths, never a key byte.
 */
public final class PacketCiphers {

    private PacketCiphers() {
    }

    /**
     * A combined-mode cipher: AES-GCM (RFC 4106) or ChaCha20-Poly1305 (RFC 7634), on the engine
     * {@link AeadEngine#selected()} names (OpenSSL when usable, else the JCA).
     *
     * @param keyAndSalt the cipher key followed by the 4-byte salt (copied; the caller should wipe it)
     */
    public static AeadCipher aead(EncryptionTransform transform, byte[] keyAndSalt) {
        check(transform, keyAndSalt);
        return aead(transform, keyAndSalt, AeadEngine.selected());
    }

    /** {@link #aead(EncryptionTransform, byte[])} on a given engine (tests compare the two). */
    static AeadCipher aead(EncryptionTransform transform, byte[] keyAndSalt, AeadEngine engine) {
        check(transform, keyAndSalt);
        if (engine == AeadEngine.OPENSSL) {
            return new OpenSslAead(transform, keyAndSalt);
        }
        return switch (transform) {
            case AES_GCM_8, AES_GCM_12, AES_GCM_16 -> new AesGcmCipher(transform, keyAndSalt);
            case CHACHA20_POLY1305 -> new ChaCha20Poly1305Cipher(transform, keyAndSalt);
            default -> throw new IllegalArgumentException("unsupported AEAD: " + transform.ianaName());
        };
    }

    private static void check(EncryptionTransform transform, byte[] keyAndSalt) {
        if (transform == null || !transform.isAead()) {
            throw new IllegalArgumentException("not a combined-mode transform: " + name(transform));
        }
        if (keyAndSalt == null) {
            throw new IllegalArgumentException(transform.ianaName() + ": no keying material");
        }
        int keyLength = keyAndSalt.length - transform.saltLength();
        if (keyLength <= 0 || !transform.acceptsKeyLength(keyLength)) {
            throw new IllegalArgumentException(transform.ianaName() + ": keying material of "
                    + keyAndSalt.length + " bytes is not a valid key plus " + transform.saltLength()
                    + "-byte salt");
        }
        switch (transform) {
            case AES_GCM_8, AES_GCM_12, AES_GCM_16, CHACHA20_POLY1305 -> { }
            default -> throw new IllegalArgumentException("unsupported AEAD: " + transform.ianaName());
        }
    }

    /**
     * A normal-mode cipher: AES-CBC (RFC 3602) or NULL (RFC 2410, empty key).
     *
     * @param key the cipher key (copied; the caller should wipe it)
     */
    public static NormalCipher normal(EncryptionTransform transform, byte[] key) {
        if (transform == null || transform.isAead()) {
            throw new IllegalArgumentException("not a normal-mode transform: " + name(transform));
        }
        int length = key == null ? 0 : key.length;
        if (!transform.acceptsKeyLength(length)) {
            throw new IllegalArgumentException(transform.ianaName() + ": a key of " + length
                    + " bytes is not valid");
        }
        return switch (transform) {
            case NULL -> NullCipher.INSTANCE;
            case AES_CBC -> new AesCbcCipher(transform, key);
            default -> throw new IllegalArgumentException("unsupported cipher: " + transform.ianaName());
        };
    }

    /**
     * A truncated HMAC (RFC 2404, RFC 4868) whose key is exactly the hash length (RFC 4868 §2.1.1).
     *
     * @param key the integrity key (copied; the caller should wipe it)
     */
    public static IntegrityMac integrity(IntegrityTransform transform, byte[] key) {
        if (transform == null || transform == IntegrityTransform.NONE) {
            throw new IllegalArgumentException("not an integrity algorithm: " + name(transform));
        }
        int length = key == null ? 0 : key.length;
        if (length != transform.keyLength()) {
            throw new IllegalArgumentException(transform.ianaName() + ": a key of " + length
                    + " bytes is not valid, " + transform.keyLength() + " required");
        }
        return new HmacIntegrity(transform, key);
    }

    private static String name(Object transform) {
        return transform == null ? "null" : transform.toString();
    }
}
