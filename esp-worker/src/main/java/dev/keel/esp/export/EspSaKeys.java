package dev.keel.esp.export;

import dev.keel.core.transform.EncryptionTransform;
import dev.keel.core.transform.IntegrityTransform;
import dev.keel.esp.sa.EspSaSpec;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.Objects;

/**
 * What Wireshark needs to decrypt one ESP SA (one direction): its outer addresses, SPI,
 * algorithms and keys.
 *
 * <p>The arrays are held, not copied, so that no extra copy of a key outlives the caller's
 * zeroization; the caller must not change them while a line is formatted. {@link #toString()}
 * names no key.
 *
 * @param source outer source address of packets on this SA
 * @param destination outer destination address; same family as {@code source}
 * @param spi the SPI, as the unsigned 32-bit value carried in the ESP header
 * @param encryption the encryption transform
 * @param encryptionKey the cipher key followed by the salt of an AEAD transform (RFC 4106
 *     §8.1, RFC 7634 §2), i.e. the keying material exactly as taken from KEYMAT; empty for NULL
 * @param integrity the integrity transform, NONE with a combined-mode cipher
 * @param integrityKey the integrity key; empty for NONE
 */
public record EspSaKeys(InetAddress source, InetAddress destination, int spi,
        EncryptionTransform encryption, byte[] encryptionKey,
        IntegrityTransform integrity, byte[] integrityKey) {

    public EspSaKeys {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(destination, "destination");
        if ((source instanceof Inet4Address) != (destination instanceof Inet4Address)) {
            throw new IllegalArgumentException("source and destination differ in address family");
        }
        Objects.requireNonNull(encryption, "encryption");
        Objects.requireNonNull(encryptionKey, "encryption key");
        int cipherKey = encryptionKey.length - encryption.saltLength();
        if (cipherKey < 0 || !encryption.acceptsKeyLength(cipherKey)) {
            throw new IllegalArgumentException("encryption key is " + encryptionKey.length + " bytes, not a valid "
                    + encryption.ianaName() + " key" + (encryption.saltLength() > 0
                            ? " plus " + encryption.saltLength() + " bytes of salt" : ""));
        }
        Objects.requireNonNull(integrity, "integrity");
        Objects.requireNonNull(integrityKey, "integrity key");
        if (integrityKey.length != integrity.keyLength()) {
            throw new IllegalArgumentException("integrity key is " + integrityKey.length + " bytes, "
                    + integrity.ianaName() + " takes " + integrity.keyLength());
        }
        // A combined-mode cipher carries its own ICV, so it pairs with NONE and only with NONE.
        if (encryption.isAead() && integrity != IntegrityTransform.NONE) {
            throw new IllegalArgumentException(encryption.ianaName() + " is combined-mode; integrity must be NONE, not "
                    + integrity.ianaName());
        }
        if (encryption == EncryptionTransform.NULL && integrity == IntegrityTransform.NONE) {
            throw new IllegalArgumentException(encryption.ianaName() + " needs an integrity transform");
        }
    }

    /** The keys of an installed SA between the given outer endpoints. */
    public static EspSaKeys of(EspSaSpec spec, InetAddress source, InetAddress destination) {
        return new EspSaKeys(source, destination, spec.spi(), spec.encryption(), spec.encryptionKey(),
                spec.integrity(), spec.integrityKey());
    }

    /** True when the outer header is IPv6. */
    public boolean ipv6() {
        return !(source instanceof Inet4Address);
    }

    @Override
    public String toString() {
        return "EspSaKeys[" + source.getHostAddress() + " -> " + destination.getHostAddress()
                + ", spi=" + String.format("0x%08x", spi) + ", " + encryption.ianaName() + "/"
                + integrity.ianaName() + ", keys redacted]";
    }
}
