package dev.keel.ike.crypto;

import dev.keel.core.transform.KeyExchangeTransform;
import java.security.SecureRandom;
import java.util.Objects;

/**
 * One side of an IKEv2 key exchange (RFC 7296 §1.2, §3.4): a fresh private value whose public
 * value goes into the KE payload, and the shared secret g^ir computed from the peer's KE data.
 * Single use, not thread-safe; {@link #close()} forgets the private value.
 *
 * <p>Implementations: MODP groups 14-18 (RFC 3526), ECP groups 19-21 (RFC 5903), Curve25519 and
 * Curve448 (RFC 8031), all on Bouncy Castle's lightweight API (measured faster than the JDK for
 * X25519 and P-256, see bench/IkeKeyExchangeBenchmark).
 */
public interface KeyExchange extends AutoCloseable {

    /** The negotiated group. */
    KeyExchangeTransform transform();

    /** The Key Exchange Data to send, exactly {@code transform().publicValueLength()} bytes (a copy). */
    byte[] publicValue();

    /**
     * The shared secret g^ir for the peer's Key Exchange Data: for MODP left-padded to the prime
     * length (RFC 7296 §2.14), for ECP the x coordinate padded to the field size (RFC 5903 §7),
     * for Curve25519/448 the raw X25519/X448 output (RFC 8031 §2).
     *
     * @throws InvalidKeyExchangeException when the peer's value has the wrong length, is not a
     *     valid element of the group (RFC 6989), or gives the all-zero secret (RFC 8031 §2)
     */
    byte[] sharedSecret(byte[] peerPublicValue) throws InvalidKeyExchangeException;

    /** Zeroizes the private value (best effort for BigInteger-based groups). */
    @Override
    void close();

    /**
     * A new key pair for {@code transform}, drawing the private value from {@code random}.
     *
     * @throws IllegalArgumentException for NONE or a group Keel does not implement
     */
    static KeyExchange create(KeyExchangeTransform transform, SecureRandom random) {
        Objects.requireNonNull(transform, "transform");
        Objects.requireNonNull(random, "random");
        return switch (transform.family()) {
            case MODP -> ModpKeyExchange.generate(transform, random);
            case ECP -> EcpKeyExchange.generate(transform, random);
            case MONTGOMERY -> MontgomeryKeyExchange.generate(transform, random);
            case NONE -> throw new IllegalArgumentException("no key exchange for " + transform.ianaName());
        };
    }
}
