package dev.keel.esp.sa;

import dev.keel.core.proposal.Protocol;
import dev.keel.core.sa.IpsecMode;
import dev.keel.core.transform.EncryptionTransform;
import dev.keel.core.transform.IntegrityTransform;
import java.util.Arrays;
import java.util.Objects;

/**
 * Everything that defines one ESP or AH SA for the data plane: protocol, SPI, mode, suite, keys,
 * ESN and the replay window. Key arrays are owned by the spec; {@link #destroyKeys()} wipes them.
 *
 * @param spi the SPI as it appears on the wire (never 0..255, RFC 4303 §2.1)
 * @param encryptionKey cipher key followed by the salt for AEAD transforms
 * @param integrity {@link IntegrityTransform#NONE} for AEAD transforms
 * @param tfcPadTo tunnel mode only: pad inner packets shorter than this with TFC padding (0 = off)
 * @param natTraversal UDP-encapsulated across a NAT, so transport-mode checksums are rebuilt (RFC 3948 §3.1.2)
 * @param protocol {@link Protocol#ESP}, or {@link Protocol#AH} (RFC 4302): then the encryption is
 *     {@link EncryptionTransform#NULL} with no key, only the integrity transform and key count,
 *     and there is neither TFC padding nor NAT traversal
 */
public record EspSaSpec(
        int spi,
        IpsecMode mode,
        EncryptionTransform encryption,
        byte[] encryptionKey,
        IntegrityTransform integrity,
        byte[] integrityKey,
        boolean esn,
        int replayWindowSize,
        int tfcPadTo,
        boolean natTraversal,
        Protocol protocol) {

    /** An ESP SA. */
    public EspSaSpec(int spi, IpsecMode mode, EncryptionTransform encryption, byte[] encryptionKey,
            IntegrityTransform integrity, byte[] integrityKey, boolean esn, int replayWindowSize, int tfcPadTo,
            boolean natTraversal) {
        this(spi, mode, encryption, encryptionKey, integrity, integrityKey, esn, replayWindowSize, tfcPadTo,
                natTraversal, Protocol.ESP);
    }

    /** An AH SA (RFC 4302): integrity only. */
    public static EspSaSpec ah(int spi, IpsecMode mode, IntegrityTransform integrity, byte[] integrityKey, boolean esn,
            int replayWindowSize) {
        return new EspSaSpec(spi, mode, EncryptionTransform.NULL, new byte[0], integrity, integrityKey, esn,
                replayWindowSize, 0, false, Protocol.AH);
    }

    public EspSaSpec {
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(protocol, "protocol");
        if (protocol == Protocol.AH) {
            if (encryption != EncryptionTransform.NULL || integrity == IntegrityTransform.NONE) {
                throw new IllegalArgumentException("AH takes no encryption and needs an integrity transform (RFC 4302)");
            }
            if (tfcPadTo != 0 || natTraversal) {
                throw new IllegalArgumentException("AH has neither TFC padding nor NAT traversal");
            }
        } else if (protocol != Protocol.ESP) {
            throw new IllegalArgumentException("an SA of the data plane is ESP or AH, not " + protocol);
        }
        Objects.requireNonNull(encryption, "encryption");
        Objects.requireNonNull(integrity, "integrity");
        if (Integer.compareUnsigned(spi, 256) < 0) {
            throw new IllegalArgumentException("SPI " + Integer.toUnsignedString(spi) + " is reserved (0..255, RFC 4303 §2.1)");
        }
        int expectedKey = encryption.defaultKeyLength() + encryption.saltLength();
        if (encryptionKey == null || !encryption.acceptsKeyLength(encryptionKey.length - encryption.saltLength())) {
            throw new IllegalArgumentException(encryption.ianaName() + " needs a key of "
                    + (encryption.hasVariableKeyLength() ? "16, 24 or 32 bytes" : expectedKey - encryption.saltLength() + " bytes")
                    + (encryption.saltLength() > 0 ? " plus " + encryption.saltLength() + " bytes of salt" : "")
                    + ", got " + (encryptionKey == null ? "none" : encryptionKey.length + " bytes"));
        }
        if (encryption.isAead() != (integrity == IntegrityTransform.NONE)) {
            throw new IllegalArgumentException(encryption.isAead()
                    ? encryption.ianaName() + " is an AEAD transform and takes no integrity transform"
                    : encryption.ianaName() + " needs an integrity transform");
        }
        int integKeyLength = integrityKey == null ? 0 : integrityKey.length;
        if (integKeyLength != integrity.keyLength()) {
            throw new IllegalArgumentException(integrity.ianaName() + " needs a key of " + integrity.keyLength()
                    + " bytes, got " + integKeyLength);
        }
        if (replayWindowSize != 0 && (replayWindowSize < ReplayWindow.MIN_SIZE || replayWindowSize > ReplayWindow.MAX_SIZE)) {
            throw new IllegalArgumentException("replay window " + replayWindowSize + " outside "
                    + ReplayWindow.MIN_SIZE + ".." + ReplayWindow.MAX_SIZE + " (0 disables anti-replay)");
        }
        if (tfcPadTo < 0 || tfcPadTo > 65535) {
            throw new IllegalArgumentException("TFC padding target " + tfcPadTo + " outside 0..65535");
        }
        encryptionKey = encryptionKey.clone();
        integrityKey = integrityKey == null ? new byte[0] : integrityKey.clone();
    }

    /** The SPI as an unsigned hexadecimal string, as operators and logs show it. */
    public String spiHex() {
        return String.format("%08x", spi);
    }

    /** Zeroizes the key arrays (RFC 4301 §4.5 leaves it to us; DESIGN §5 requires it). */
    public void destroyKeys() {
        Arrays.fill(encryptionKey, (byte) 0);
        Arrays.fill(integrityKey, (byte) 0);
    }

    /** Keys never appear in logs or messages. */
    @Override
    public String toString() {
        if (protocol == Protocol.AH) {
            return "EspSaSpec[AH, spi=" + spiHex() + ", mode=" + mode + ", " + integrity.ianaName()
                    + (esn ? ", ESN" : "") + ", replay=" + replayWindowSize + "]";
        }
        return "EspSaSpec[spi=" + spiHex() + ", mode=" + mode + ", " + encryption.ianaName() + "/"
                + (encryptionKey.length - encryption.saltLength()) * 8 + ", " + integrity.ianaName()
                + (esn ? ", ESN" : "") + ", replay=" + replayWindowSize + "]";
    }
}
