package dev.keel.ike.crypto;

import dev.keel.core.transform.KeyExchangeTransform;
import java.security.SecureRandom;
import java.util.Objects;

/**
 * The initiator's side of an IKEv2 key exchange (RFC 7296 §1.2, §3.4): a fresh private value
 * whose public value goes into the KE payload, and the shared secret computed from the
 * responder's KE data. The responder's side is {@link #respond}: for a Diffie-Hellman group both
 * sides are alike, but a KEM (ML-KEM, FIPS 203) answers the initiator's encapsulation key with a
 * ciphertext, so the responder can only form its KE data once it has the initiator's.
 * Single use, not thread-safe; {@link #close()} forgets the private value.
 *
 * <p>Implementations: MODP groups 14-18 (RFC 3526), ECP groups 19-21 (RFC 5903), Curve25519 and
 * Curve448 (RFC 8031), ML-KEM-512/768/1024 (FIPS 203, draft-ietf-ipsecme-ikev2-mlkem), all on
 * Bouncy Castle's lightweight API (measured faster than the JDK for X25519 and P-256, see
 * bench/IkeKeyExchangeBenchmark).
 */
public interface KeyExchange extends AutoCloseable {

    /** The negotiated group. */
    KeyExchangeTransform transform();

    /** The Key Exchange Data to send, exactly {@code transform().publicValueLength()} bytes (a copy). */
    byte[] publicValue();

    /**
     * The shared secret g^ir for the peer's Key Exchange Data: for MODP left-padded to the prime
     * length (RFC 7296 §2.14), for ECP the x coordinate padded to the field size (RFC 5903 §7),
     * for Curve25519/448 the raw X25519/X448 output (RFC 8031 §2), for ML-KEM the 32-byte
     * decapsulated key K of the responder's ciphertext (FIPS 203 §7.3).
     *
     * @throws InvalidKeyExchangeException when the peer's value has the wrong length, is not a
     *     valid element of the group (RFC 6989), or gives the all-zero secret (RFC 8031 §2)
     */
    byte[] sharedSecret(byte[] peerPublicValue) throws InvalidKeyExchangeException;

    /** Zeroizes the private value (best effort for BigInteger-based groups). */
    @Override
    void close();

    /**
     * A new key pair for {@code transform} on the initiator's side (for a DH group, either side),
     * drawing the private value from {@code random}.
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
            case KEM -> MlKemKeyExchange.generate(transform, random);
            case NONE -> throw new IllegalArgumentException("no key exchange for " + transform.ianaName());
        };
    }

    /**
     * The responder's side: its Key Exchange Data for the initiator's {@code initiatorValue} and
     * the shared secret. A DH group makes its own key pair; ML-KEM encapsulates to the
     * initiator's key (FIPS 203 §7.2).
     *
     * @throws InvalidKeyExchangeException when the initiator's value is not usable (wrong length,
     *     not a group element, an encapsulation key that fails the FIPS 203 §7.2 modulus check)
     * @throws IllegalArgumentException for NONE or a group Keel does not implement
     */
    static Response respond(KeyExchangeTransform transform, byte[] initiatorValue, SecureRandom random)
            throws InvalidKeyExchangeException {
        if (transform.family() == KeyExchangeTransform.Family.KEM) {
            return MlKemKeyExchange.encapsulate(transform, initiatorValue, random);
        }
        try (KeyExchange own = create(transform, random)) {
            byte[] publicValue = own.publicValue();
            return new Response(publicValue, own.sharedSecret(initiatorValue));
        }
    }

    /** The responder's Key Exchange Data and the shared secret; {@link #close()} zeroizes the secret. */
    record Response(byte[] publicValue, byte[] sharedSecret) implements AutoCloseable {
        @Override
        public void close() {
            java.util.Arrays.fill(sharedSecret, (byte) 0);
        }

        /** Sizes only. */
        @Override
        public String toString() {
            return "Response[" + publicValue.length + " bytes, secret " + sharedSecret.length + " bytes]";
        }
    }
}
