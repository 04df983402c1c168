package dev.keel.ike.crypto;

import dev.keel.core.transform.KeyExchangeTransform;
import java.math.BigInteger;
import java.security.SecureRandom;
import org.bouncycastle.asn1.x9.X9ECParameters;
import org.bouncycastle.crypto.ec.CustomNamedCurves;
import org.bouncycastle.crypto.params.ECDomainParameters;
import org.bouncycastle.math.ec.ECCurve;
import org.bouncycastle.math.ec.ECPoint;
import org.bouncycastle.math.ec.FixedPointCombMultiplier;
import org.bouncycastle.util.BigIntegers;

/** ECDH over the NIST prime curves (RFC 5903): public value x || y, secret x, no 0x04 prefix. */
final class EcpKeyExchange implements KeyExchange {

    private final KeyExchangeTransform transform;
    private final ECDomainParameters domain;
    private final int fieldLength;
    private BigInteger d;
    private final byte[] publicValue;

    EcpKeyExchange(KeyExchangeTransform transform, BigInteger privateKey) {
        this.transform = transform;
        this.domain = domain(transform);
        this.fieldLength = transform.publicValueLength() / 2;
        this.d = privateKey;
        ECPoint q = new FixedPointCombMultiplier().multiply(domain.getG(), d).normalize();
        this.publicValue = new byte[2 * fieldLength];
        BigIntegers.asUnsignedByteArray(q.getAffineXCoord().toBigInteger(), publicValue, 0, fieldLength);
        BigIntegers.asUnsignedByteArray(q.getAffineYCoord().toBigInteger(), publicValue, fieldLength, fieldLength);
    }

    static EcpKeyExchange generate(KeyExchangeTransform transform, SecureRandom random) {
        BigInteger n = domain(transform).getN();
        // uniform in [1, n-1]
        BigInteger d = BigIntegers.createRandomInRange(BigInteger.ONE, n.subtract(BigInteger.ONE), random);
        return new EcpKeyExchange(transform, d);
    }

    static ECDomainParameters domain(KeyExchangeTransform transform) {
        String name = switch (transform) {
            case ECP_256 -> "secp256r1";
            case ECP_384 -> "secp384r1";
            case ECP_521 -> "secp521r1";
            default -> throw new IllegalArgumentException("not an ECP group: " + transform.ianaName());
        };
        X9ECParameters x9 = CustomNamedCurves.getByName(name);
        return new ECDomainParameters(x9);
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
        PeerValue.check(d == null, transform, "public value", peerPublicValue, 2 * fieldLength);
        ECCurve curve = domain.getCurve();
        BigInteger field = curve.getField().getCharacteristic();
        BigInteger x = new BigInteger(1, java.util.Arrays.copyOfRange(peerPublicValue, 0, fieldLength));
        BigInteger y = new BigInteger(1, java.util.Arrays.copyOfRange(peerPublicValue, fieldLength, 2 * fieldLength));
        if (x.compareTo(field) >= 0 || y.compareTo(field) >= 0) {
            throw invalid("coordinate not below the field prime");
        }
        ECPoint peer;
        try {
            // RFC 6989 §2.3: the point must be on the curve; validatePoint checks the equation.
            peer = curve.validatePoint(x, y);
        } catch (RuntimeException e) {
            throw invalid("point not on the curve");
        }
        if (peer.isInfinity()) {
            throw invalid("point at infinity");
        }
        // The NIST curves have cofactor 1, so every on-curve point other than infinity has order n.
        ECPoint s = peer.multiply(d).normalize();
        if (s.isInfinity()) {
            throw invalid("shared point at infinity");
        }
        return BigIntegers.asUnsignedByteArray(fieldLength, s.getAffineXCoord().toBigInteger());
    }

    private InvalidKeyExchangeException invalid(String why) {
        return new InvalidKeyExchangeException(InvalidKeyExchangeException.Reason.INVALID_PUBLIC_VALUE,
                transform.ianaName() + ": " + why);
    }

    @Override
    public void close() {
        d = null;
    }

    @Override
    public String toString() {
        return "EcpKeyExchange[" + transform.ianaName() + "]";
    }
}
