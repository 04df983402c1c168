package dev.keel.ike.crypto;

import dev.keel.core.transform.KeyExchangeTransform;
import java.security.SecureRandom;
import java.util.Arrays;
import org.bouncycastle.math.ec.rfc7748.X25519;
import org.bouncycastle.math.ec.rfc7748.X448;

/** Curve25519 / Curve448 (RFC 8031, RFC 7748): raw little-endian u-coordinates. */
final class MontgomeryKeyExchange implements KeyExchange {

    private final KeyExchangeTransform transform;
    private final byte[] privateKey;
    private final byte[] publicValue;
    private boolean closed;

    /** {@code privateKey} is the raw 32/56-byte scalar (clamped by the X25519/X448 function). */
    MontgomeryKeyExchange(KeyExchangeTransform transform, byte[] privateKey) {
        this.transform = transform;
        int len = transform.publicValueLength();
        if (privateKey.length != len) {
            throw new IllegalArgumentException(transform.ianaName() + " private key must be " + len + " bytes");
        }
        this.privateKey = privateKey.clone();
        this.publicValue = new byte[len];
        if (transform == KeyExchangeTransform.CURVE25519) {
            X25519.scalarMultBase(this.privateKey, 0, publicValue, 0);
        } else {
            X448.scalarMultBase(this.privateKey, 0, publicValue, 0);
        }
    }

    static MontgomeryKeyExchange generate(KeyExchangeTransform transform, SecureRandom random) {
        byte[] k = new byte[transform.publicValueLength()];
        random.nextBytes(k);
        try {
            return new MontgomeryKeyExchange(transform, k);
        } finally {
            Arrays.fill(k, (byte) 0);
        }
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
        int len = transform.publicValueLength();
        PeerValue.check(closed, transform, "public value", peerPublicValue, len);
        byte[] secret = new byte[len];
        // X25519/X448 accept any u (RFC 7748 §5); the all-zero output from a low-order point is
        // what must be refused (RFC 8031 §2), which these functions report as false.
        boolean ok = transform == KeyExchangeTransform.CURVE25519
                ? X25519.calculateAgreement(privateKey, 0, peerPublicValue, 0, secret, 0)
                : X448.calculateAgreement(privateKey, 0, peerPublicValue, 0, secret, 0);
        int acc = 0;
        for (byte b : secret) {
            acc |= b;
        }
        if (!ok || acc == 0) {
            Arrays.fill(secret, (byte) 0);
            throw new InvalidKeyExchangeException(InvalidKeyExchangeException.Reason.ALL_ZERO_SECRET,
                    transform.ianaName() + ": the peer's public value gives the all-zero shared secret");
        }
        return secret;
    }

    @Override
    public void close() {
        closed = true;
        Arrays.fill(privateKey, (byte) 0);
    }

    @Override
    public String toString() {
        return "MontgomeryKeyExchange[" + transform.ianaName() + "]";
    }
}
