package dev.keel.core.transform;

/** Key exchange methods (transform type 4; "Diffie-Hellman groups" in RFC 7296 §3.3.2). */
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
    CURVE448(32, "CURVE448", Family.MONTGOMERY, 56);

    /** How the public value is formed. */
    public enum Family {
        NONE,
        /** RFC 3526 groups: the public value is g^x mod p, left-padded to the prime's length. */
        MODP,
        /** RFC 5903: x || y, each coordinate padded to the field size. */
        ECP,
        /** RFC 8031: the raw u-coordinate. */
        MONTGOMERY
    }

    private final int id;
    private final String ianaName;
    private final Family family;
    private final int publicValueLength;

    KeyExchangeTransform(int id, String ianaName, Family family, int publicValueLength) {
        this.id = id;
        this.ianaName = ianaName;
        this.family = family;
        this.publicValueLength = publicValueLength;
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

    /** Length in bytes of the Key Exchange Data in a KE payload. */
    public int publicValueLength() {
        return publicValueLength;
    }

    /** The transform with this IANA number, or null. */
    public static KeyExchangeTransform byId(int id) {
        return Transform.byId(values(), id);
    }
}
