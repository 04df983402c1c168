package dev.keel.ike.message;

/** IKEv2 authentication methods (RFC 7296 §3.8, RFC 4754, RFC 7427). */
public enum AuthMethod {
    RSA_DIGITAL_SIGNATURE(1),
    SHARED_KEY_MIC(2),
    DSS_DIGITAL_SIGNATURE(3),
    ECDSA_SHA256_P256(9),
    ECDSA_SHA384_P384(10),
    ECDSA_SHA512_P521(11),
    DIGITAL_SIGNATURE(14);

    private final int value;

    AuthMethod(int value) {
        this.value = value;
    }

    /** The number on the wire. */
    public int value() {
        return value;
    }

    /** The constant with wire number {@code value}, or null when Keel does not know it (callers keep the int). */
    public static AuthMethod of(int value) {
        for (AuthMethod t : values()) {
            if (t.value == value) {
                return t;
            }
        }
        return null;
    }
}
