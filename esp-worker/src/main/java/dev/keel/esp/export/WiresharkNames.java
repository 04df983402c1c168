package dev.keel.esp.export;

import dev.keel.core.transform.EncryptionTransform;
import dev.keel.core.transform.IntegrityTransform;
import java.util.Optional;

/**
 * The algorithm names Wireshark's UAT tables use, which are value-string labels, not IANA names.
 *
 * <p>Checked against Wireshark's {@code epan/dissectors/packet-ipsec.c}
 * ({@code esp_encryption_type_vals}, {@code esp_authentication_type_vals}), against the
 * strings in Debian's libwireshark 4.0.17, and against strongSwan's
 * {@code save_keys_listener.c}. A name Wireshark does not know makes tshark reject the whole
 * {@code -o uat:} option, so an algorithm without a name yields empty, never a guess.
 */
final class WiresharkNames {

    private WiresharkNames() {
    }

    /** The {@code esp_sa} "Encryption" label. The ICV length is part of the AES-GCM name. */
    static Optional<String> espEncryption(EncryptionTransform t) {
        return Optional.of(switch (t) {
            case NULL -> "NULL";
            case AES_CBC -> "AES-CBC [RFC3602]";
            case AES_GCM_8 -> "AES-GCM with 8 octet ICV [RFC4106]";
            case AES_GCM_12 -> "AES-GCM with 12 octet ICV [RFC4106]";
            case AES_GCM_16 -> "AES-GCM with 16 octet ICV [RFC4106]";
            // Wireshark 4.2 and later; 4.0 rejects the line (its table has no ChaCha20).
            case CHACHA20_POLY1305 -> "ChaCha20 with Poly1305 [RFC7634]";
        });
    }

    /** The {@code esp_sa} "Authentication" label; combined-mode ciphers pair with NULL. */
    static Optional<String> espIntegrity(IntegrityTransform t) {
        return Optional.of(switch (t) {
            case NONE -> "NULL";
            case HMAC_SHA1_96 -> "HMAC-SHA-1-96 [RFC2404]";
            case HMAC_SHA2_256_128 -> "HMAC-SHA-256-128 [RFC4868]";
            case HMAC_SHA2_384_192 -> "HMAC-SHA-384-192 [RFC4868]";
            case HMAC_SHA2_512_256 -> "HMAC-SHA-512-256 [RFC4868]";
        });
    }
}
