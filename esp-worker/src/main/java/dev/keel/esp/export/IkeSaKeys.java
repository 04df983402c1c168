package dev.keel.esp.export;

import dev.keel.core.transform.EncryptionTransform;
import dev.keel.core.transform.IntegrityTransform;

/**
 * What Wireshark needs to decrypt one IKEv2 SA: the two SPIs, the negotiated encryption and
 * integrity transforms and the four keys of RFC 7296 §2.14 (SK_d and SK_p are not needed).
 *
 * <p>The arrays are held, not copied (see {@link EspSaKeys}); {@link #toString()} names no key.
 *
 * @param initiatorSpi the IKE SA initiator's SPI, as on the wire (big-endian)
 * @param responderSpi the IKE SA responder's SPI
 * @param encryption the IKE SA's encryption transform
 * @param skEi SK_ei: cipher key plus salt for an AEAD transform (RFC 5282 §7.1)
 * @param skEr SK_er, same length as SK_ei
 * @param integrity the IKE SA's integrity transform, NONE with a combined-mode cipher
 * @param skAi SK_ai, empty for NONE
 * @param skAr SK_ar, empty for NONE
 */
public record IkeSaKeys(long initiatorSpi, long responderSpi,
        EncryptionTransform encryption, byte[] skEi, byte[] skEr,
        IntegrityTransform integrity, byte[] skAi, byte[] skAr) {

    public IkeSaKeys {
        KeyChecks.encryptionKey(encryption, skEi, "SK_ei");
        KeyChecks.encryptionKey(encryption, skEr, "SK_er");
        if (skEi.length != skEr.length) {
            throw new IllegalArgumentException("SK_ei and SK_er differ in length");
        }
        KeyChecks.integrityKey(integrity, skAi, "SK_ai");
        KeyChecks.integrityKey(integrity, skAr, "SK_ar");
        KeyChecks.pairing(encryption, integrity, true);
    }

    /** The cipher key length in bytes, without the salt. */
    public int cipherKeyLength() {
        return skEi.length - encryption.saltLength();
    }

    @Override
    public String toString() {
        return "IkeSaKeys[" + String.format("%016x_i %016x_r", initiatorSpi, responderSpi) + ", "
                + encryption.ianaName() + "/" + integrity.ianaName() + ", keys redacted]";
    }
}
