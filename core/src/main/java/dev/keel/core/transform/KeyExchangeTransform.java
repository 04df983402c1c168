package dev.keel.core.transform;

/**
 * Key exchange methods (transform type 4, "Diffie-Hellman groups" in RFC 7296 §3.3.2, and the
 * Additional Key Exchange types 6-12 of RFC 9370, which share this registry).
 */
public enum KeyExchangeTransform implements Transform {
    /** Explicit "none": no PFS for a CHILD_SA. */
    NONE(0, "NONE", Family.NONE, 0),
    MODP_2048(14, "MODP_2048", Family.MODP, 256),
    MODP_3072(15, "MODP_3072", Family.MODP, 384),
    MODP_4096(16, "MODP_4096", Family.MODP, 512),
    MODP_6144(17, "MODP_6144", Family.MODP, 768),
    MODP_8192(18, "MODP_8192", Family.MODP, 1024),
    ECP_256(19, "ECP_256", Family.ECP, 64),
    ECP_384(20, "ECP_384", Family.ECP, 96),
    ECP_521(21, "ECP_521", Family.ECP, 132),
    CURVE25519(31, "CURVE25519", Family.MONTGOMERY, 32),
    CURVE448(32, "CURVE448", Family.MONTGOMERY, 56),
    /** FIPS 203 ML-KEM (draft-ietf-ipsecme-ikev2-mlkem): the initiator sends ek, the responder c. */
    ML_KEM_512(35, "ML_KEM_512", Family.KEM, 800, 768),
    ML_KEM_768(36, "ML_KEM_768", Family.KEM, 1184, 1088),
    ML_KEM_1024(37, "ML_KEM_1024", Family.KEM, 1568, 1568);

    /** How the public value is formed. */
    public enum Family {
        NONE,
        /** RFC 3526 groups: the public value is g^x mod p, left-padded to the prime's length. */
        MODP,
        /** RFC 5903: x || y, each coordinate padded to the field size. */
        ECP,
        /** RFC 8031: the raw u-coordinate. */
        MONTGOMERY,
        /**
         * A key encapsulation mechanism: the initiator's data is an encapsulation key, the
         * responder's a ciphertext made with it, so the two differ in length and role.
         */
        KEM
    }

    private final int id;
    private final String ianaName;
    private final Family family;
    private final int publicValueLength;
    private final int responseLength;

    KeyExchangeTransform(int id, String ianaName, Family family, int publicValueLength) {
        this(id, ianaName, family, publicValueLength, publicValueLength);
    }

    KeyExchangeTransform(int id, String ianaName, Family family, int publicValueLength, int responseLength) {
        this.id = id;
        this.ianaName = ianaName;
        this.family = family;
        this.publicValueLength = publicValueLength;
        this.responseLength = responseLength;
    }

    @Override
    public TransformType type() {
        return TransformType.KE;
    }

    @Override
    public int id() {
        return id;
    }

    @Override
    public String ianaName() {
        return ianaName;
    }

    public Family family() {
        return family;
    }

    /** Length in bytes of the initiator's Key Exchange Data in a KE payload (for a KEM, the encapsulation key). */
    public int publicValueLength() {
        return publicValueLength;
    }

    /** Length in bytes of the responder's Key Exchange Data: the same as the initiator's, except for a KEM (its ciphertext). */
    public int responseLength() {
        return responseLength;
    }

    /** The transform with this IANA number, or null. */
    public static KeyExchangeTransform byId(int id) {
        return Transform.byId(values(), id);
    }
}
