package dev.keel.core.transform;

/** Pseudorandom functions (transform type 2) used for IKE key derivation (RFC 7296 §2.13). */
public enum PrfTransform implements Transform {
    HMAC_SHA1(2, "PRF_HMAC_SHA1", "HmacSHA1", 20),
    HMAC_SHA2_256(5, "PRF_HMAC_SHA2_256", "HmacSHA256", 32),
    HMAC_SHA2_384(6, "PRF_HMAC_SHA2_384", "HmacSHA384", 48),
    HMAC_SHA2_512(7, "PRF_HMAC_SHA2_512", "HmacSHA512", 64);

    private final int id;
    private final String ianaName;
    private final String jcaName;
    private final int outputLength;

    PrfTransform(int id, String ianaName, String jcaName, int outputLength) {
        this.id = id;
        this.ianaName = ianaName;
        this.jcaName = jcaName;
        this.outputLength = outputLength;
    }

    @Override
    public TransformType type() {
        return TransformType.PRF;
    }

    @Override
    public int id() {
        return id;
    }

    @Override
    public String ianaName() {
        return ianaName;
    }

    /** The JCA Mac algorithm name. */
    public String jcaName() {
        return jcaName;
    }

    /** Output size in bytes, which is also the preferred key size (RFC 7296 §2.14, RFC 4868 §2.4). */
    public int outputLength() {
        return outputLength;
    }

    /** The transform with this IANA number, or null. */
    public static PrfTransform byId(int id) {
        return Transform.byId(values(), id);
    }
}
