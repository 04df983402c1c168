package dev.keel.ike.crypto;

/**
 * The peer's Key Exchange Data cannot be used (RFC 6989, RFC 8031 §2): the engine answers with
 * INVALID_SYNTAX (RFC 7296 §3.10.1). The message names the group and the reason, never a value.
 */
public final class InvalidKeyExchangeException extends Exception {

    /** Why the peer's public value was refused. */
    public enum Reason {
        /** Not exactly {@code KeyExchangeTransform.publicValueLength()} bytes. */
        WRONG_LENGTH,
        /** MODP y outside (1, p-1), or an ECP point not on the curve / at infinity. */
        INVALID_PUBLIC_VALUE,
        /** X25519/X448 gave the all-zero shared secret (a low-order point, RFC 8031 §2). */
        ALL_ZERO_SECRET
    }

    private final Reason reason;

    public InvalidKeyExchangeException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
