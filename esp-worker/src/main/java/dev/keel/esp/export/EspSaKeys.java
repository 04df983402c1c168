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
        KeyChecks.encryptionKey(encryption, encryptionKey, "encryption key");
        KeyChecks.integrityKey(integrity, integrityKey, "integrity key");
        KeyChecks.pairing(encryption, integrity, false);
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
