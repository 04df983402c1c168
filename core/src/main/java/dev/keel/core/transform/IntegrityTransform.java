package dev.keel.core.transform;

/** Integrity algorithms (transform type 3): truncated HMACs (RFC 2404, RFC 4868). */
public enum IntegrityTransform implements Transform {
    /** Explicit "none", as sent with combined-mode ciphers in ESP proposals. */
    NONE(0, "NONE", null, 0, 0, null),
    HMAC_SHA1_96(2, "AUTH_HMAC_SHA1_96", "HmacSHA1", 20, 12, PrfTransform.HMAC_SHA1),
    HMAC_SHA2_256_128(12, "AUTH_HMAC_SHA2_256_128", "HmacSHA256", 32, 16, PrfTransform.HMAC_SHA2_256),
    HMAC_SHA2_384_192(13, "AUTH_HMAC_SHA2_384_192", "HmacSHA384", 48, 24, PrfTransform.HMAC_SHA2_384),
    HMAC_SHA2_512_256(14, "AUTH_HMAC_SHA2_512_256", "HmacSHA512", 64, 32, PrfTransform.HMAC_SHA2_512);

    private final int id;
    private final String ianaName;
    private final String jcaName;
    private final int keyLength;
    private final int icvLength;
    private final PrfTransform matchingPrf;

    IntegrityTransform(int id, String ianaName, String jcaName, int keyLength, int icvLength,
            PrfTransform matchingPrf) {
        this.id = id;
        this.ianaName = ianaName;
        this.jcaName = jcaName;
        this.keyLength = keyLength;
        this.icvLength = icvLength;
        this.matchingPrf = matchingPrf;
    }

    @Override
    public TransformType type() {
        return TransformType.INTEG;
    }

    @Override
    public int id() {
        return id;
    }

    @Override
    public String ianaName() {
        return ianaName;
    }

    /** The JCA Mac algorithm name, null for NONE. */
    public String jcaName() {
        return jcaName;
    }

    /** Key size in bytes (RFC 4868 §2.1: the hash output size). */
    public int keyLength() {
        return keyLength;
    }

    /** Bytes of the truncated ICV. */
    public int icvLength() {
        return icvLength;
    }

    /** The PRF on the same hash, implied for IKE proposals that name no PRF (strongSwan's rule). */
    public PrfTransform matchingPrf() {
        return matchingPrf;
    }

    /** The transform with this IANA number, or null. */
    public static IntegrityTransform byId(int id) {
        return Transform.byId(values(), id);
    }
}
