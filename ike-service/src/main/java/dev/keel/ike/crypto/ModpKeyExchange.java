package dev.keel.ike.crypto;

import dev.keel.core.transform.KeyExchangeTransform;
import java.math.BigInteger;
import java.security.SecureRandom;
import org.bouncycastle.crypto.agreement.DHStandardGroups;
import org.bouncycastle.crypto.params.DHParameters;
import org.bouncycastle.util.BigIntegers;

/** Finite-field Diffie-Hellman over the RFC 3526 MODP groups 14-18, generator 2. */
final class ModpKeyExchange implements KeyExchange {

    private final KeyExchangeTransform transform;
    private final BigInteger p;
    private final int length;
    private BigInteger x;
    private final byte[] publicValue;

    ModpKeyExchange(KeyExchangeTransform transform, BigInteger privateExponent) {
        this.transform = transform;
        DHParameters params = parameters(transform);
        this.p = params.getP();
        this.length = transform.publicValueLength();
        this.x = privateExponent;
        this.publicValue = BigIntegers.asUnsignedByteArray(length, params.getG().modPow(x, p));
    }

    static ModpKeyExchange generate(KeyExchangeTransform transform, SecureRandom random) {
        int bits = exponentBits(transform);
        BigInteger x;
        do {
            x = new BigInteger(bits, random);
        } while (x.bitLength() < bits - 8); // keep the full strength; a rare redraw
        return new ModpKeyExchange(transform, x);
    }

    /**
     * Private exponent size: twice the group's symmetric strength by the larger RFC 3526 §8
     * estimate, never under 256 bits (RFC 7296 §2.12 asks for a fresh, strong exponent; the JDK's
     * default DH exponent size is not used).
     */
    static int exponentBits(KeyExchangeTransform transform) {
        return switch (transform) {
            case MODP_2048 -> 320;
            case MODP_3072 -> 420;
            case MODP_4096 -> 480;
            case MODP_6144 -> 540;
            case MODP_8192 -> 620;
            default -> throw new IllegalArgumentException("not a MODP group: " + transform.ianaName());
        };
    }

    /** The RFC 3526 prime and generator of {@code transform}. */
    static DHParameters parameters(KeyExchangeTransform transform) {
        return switch (transform) {
            case MODP_2048 -> DHStandardGroups.rfc3526_2048;
            case MODP_3072 -> DHStandardGroups.rfc3526_3072;
            case MODP_4096 -> DHStandardGroups.rfc3526_4096;
            case MODP_6144 -> DHStandardGroups.rfc3526_6144;
            case MODP_8192 -> DHStandardGroups.rfc3526_8192;
            default -> throw new IllegalArgumentException("not a MODP group: " + transform.ianaName());
        };
    }

    @Override
    public KeyExchangeTransform transform() {
        return transform;
    }

    @Override
    public byte[] publicValue() {
        return publicValue.clone();
    }

    @Override
    public byte[] sharedSecret(byte[] peerPublicValue) throws InvalidKeyExchangeException {
        PeerValue.check(x == null, transform, "public value", peerPublicValue, length);
        BigInteger y = new BigInteger(1, peerPublicValue);
        // RFC 6989 §2.1: 1 < y < p-1 excludes the trivial subgroups {1} and {1, p-1}.
        if (y.compareTo(BigInteger.ONE) <= 0 || y.compareTo(p.subtract(BigInteger.ONE)) >= 0) {
            throw new InvalidKeyExchangeException(InvalidKeyExchangeException.Reason.INVALID_PUBLIC_VALUE,
                    transform.ianaName() + ": public value outside 1 < y < p-1");
        }
        // RFC 7296 §2.14: g^ir is padded with zeros to the length of the modulus.
        return BigIntegers.asUnsignedByteArray(length, y.modPow(x, p));
    }

    @Override
    public void close() {
        x = null; // BigInteger is immutable; dropping the reference is all we can do
    }

    @Override
    public String toString() {
        return "ModpKeyExchange[" + transform.ianaName() + "]";
    }
}
