package dev.keel.esp.sa;

import dev.keel.core.crypto.PacketCiphers;
import dev.keel.core.proposal.Protocol;

/**
 * The cryptographic half of ESP (or, as {@link AhSuite}, of AH) for one SA on one thread: fills in the IV and ICV of an
 * outbound packet and verifies-then-decrypts an inbound one, at the ESP layout
 * {@code SPI | seq | IV | payload+trailer | ICV} (RFC 4303 §2).
 */
public sealed interface EspCipherSuite extends AutoCloseable permits AeadSuite, SplitSuite, AhSuite {

    /** Bytes of IV after the ESP header. */
    int ivLength();

    /** Bytes of ICV after the encrypted payload. */
    int icvLength();

    /** The alignment of payload + padding + 2 trailer bytes (RFC 4303 §2.4): at least 4. */
    int alignment();

    /**
     * Writes the IV, encrypts {@code ptLen} bytes after it in place and appends the ICV.
     * SPI and the low 32 sequence bits are already at {@code buf[esp, esp+8)}.
     */
    void seal(byte[] buf, int esp, int ptLen, long seq, boolean esn);

    /**
     * Verifies the ICV of the ESP packet {@code buf[esp, esp+len)} and only then decrypts its
     * payload in place.
     *
     * @return the plaintext length (payload + padding + trailer), or -1 when the ICV fails or
     *     the length cannot be a valid packet of this suite
     */
    int open(byte[] buf, int esp, int len, long seq, boolean esn);

    /** Zeroizes the keys. */
    @Override
    void close();

    /** A new suite for {@code spec}'s transforms and keys. */
    static EspCipherSuite create(EspSaSpec spec) {
        if (spec.protocol() == Protocol.AH) {
            return new AhSuite(PacketCiphers.integrity(spec.integrity(), spec.integrityKey()));
        }
        if (spec.encryption().isAead()) {
            return new AeadSuite(PacketCiphers.aead(spec.encryption(), spec.encryptionKey()));
        }
        return new SplitSuite(PacketCiphers.normal(spec.encryption(), spec.encryptionKey()),
                PacketCiphers.integrity(spec.integrity(), spec.integrityKey()));
    }
}
