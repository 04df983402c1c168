package dev.keel.ike.crypto;

import dev.keel.core.transform.KeyExchangeTransform;

/** The checks every {@link KeyExchange} makes before it uses the peer's Key Exchange Data. */
final class PeerValue {

    private PeerValue() {
    }

    /**
     * Throws unless the key exchange is still open and {@code value} (the peer's {@code what}, e.g.
     * "public value") has exactly {@code required} bytes.
     */
    static void check(boolean closed, KeyExchangeTransform transform, String what, byte[] value, int required)
            throws InvalidKeyExchangeException {
        if (closed) {
            throw new IllegalStateException("key exchange closed");
        }
        if (value == null || value.length != required) {
            throw new InvalidKeyExchangeException(InvalidKeyExchangeException.Reason.WRONG_LENGTH,
                    transform.ianaName() + ": " + what + " of " + (value == null ? 0 : value.length) + " bytes, "
                            + required + " required");
        }
    }
}
