package dev.keel.core.proposal;

import dev.keel.core.transform.EncryptionTransform;
import java.util.Objects;

/**
 * An encryption transform with the key length it is offered with.
 *
 * <p>The key length is in bits, the unit of the Key Length attribute (RFC 7296 §3.3.5) and of
 * strongSwan's keywords, and is 0 for ciphers with a fixed key (ChaCha20-Poly1305, NULL), for
 * which the attribute must not be sent (RFC 7296 §3.3.5; RFC 7634 §4, erratum 5441). A
 * variable-key cipher always carries an explicit length, so AES-128 and AES-256 never match by
 * accident.
 *
 * @param transform the IANA encryption transform
 * @param keyBits   the key length in bits, or 0 for a fixed-key cipher
 */
public record EncryptionAlgorithm(EncryptionTransform transform, int keyBits) {

    /** Rejects a key length the transform does not take. */
    public EncryptionAlgorithm {
        Objects.requireNonNull(transform, "transform");
        if (transform.hasVariableKeyLength()) {
            if (keyBits <= 0 || keyBits % 8 != 0 || !transform.acceptsKeyLength(keyBits / 8)) {
                throw new IllegalArgumentException(
                        transform.ianaName() + " does not take a " + keyBits + "-bit key");
            }
        } else if (keyBits != 0) {
            throw new IllegalArgumentException(
                    transform.ianaName() + " has a fixed key and takes no key length, got " + keyBits);
        }
    }

    /** A fixed-key cipher, which carries no key length. */
    public static EncryptionAlgorithm of(EncryptionTransform transform) {
        return new EncryptionAlgorithm(transform, 0);
    }

    /** A variable-key cipher with the given key length in bits. */
    public static EncryptionAlgorithm of(EncryptionTransform transform, int keyBits) {
        return new EncryptionAlgorithm(transform, keyBits);
    }

    /** Whether a Key Length attribute goes with this transform on the wire (RFC 7296 §3.3.5). */
    public boolean hasKeyLengthAttribute() {
        return keyBits != 0;
    }

    /** The cipher key in bytes, excluding any salt; for fixed-key ciphers the algorithm's own size. */
    public int keyBytes() {
        return keyBits != 0 ? keyBits / 8 : transform.defaultKeyLength();
    }

    /** Whether this is a combined-mode (AEAD) cipher, which carries its own ICV. */
    public boolean isAead() {
        return transform.isAead();
    }

    /** The canonical strongSwan keyword, e.g. {@code aes256gcm16}. */
    @Override
    public String toString() {
        return ProposalKeywords.keyword(this);
    }
}
