package dev.keel.core.transform;

/** IKEv2 transform types (RFC 7296 §3.3.2, IANA "Transform Type Values"). */
public enum TransformType {
    ENCR(1),
    PRF(2),
    INTEG(3),
    KE(4),
    ESN(5);

    private final int id;

    TransformType(int id) {
        this.id = id;
    }

    /** The IANA number carried in a Transform substructure. */
    public int id() {
        return id;
    }

    /** The type with this IANA number, or null when Keel does not know it. */
    public static TransformType byId(int id) {
        for (TransformType t : values()) {
            if (t.id == id) {
                return t;
            }
        }
        return null;
    }
}
