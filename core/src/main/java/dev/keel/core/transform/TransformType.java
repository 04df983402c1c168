package dev.keel.core.transform;

/**
 * IKEv2 transform types (RFC 7296 §3.3.2, IANA "Transform Type Values"), with the Additional Key
 * Exchange types ADDKE1-7 of RFC 9370 §2.2.1, whose IDs are those of KE (type 4).
 */
public enum TransformType {
    ENCR(1),
    PRF(2),
    INTEG(3),
    KE(4),
    ESN(5),
    ADDKE1(6),
    ADDKE2(7),
    ADDKE3(8),
    ADDKE4(9),
    ADDKE5(10),
    ADDKE6(11),
    ADDKE7(12);

    /** How many Additional Key Exchange types RFC 9370 defines. */
    public static final int ADDITIONAL_KEY_EXCHANGES = 7;

    private final int id;

    TransformType(int id) {
        this.id = id;
    }

    /** The IANA number carried in a Transform substructure. */
    public int id() {
        return id;
    }

    /** For ADDKE1-7 their number 1-7, else 0. */
    public int additionalKeyExchange() {
        return id >= 6 && id <= 12 ? id - 5 : 0;
    }

    /** ADDKE{@code n}, n 1-7. */
    public static TransformType additionalKeyExchange(int n) {
        if (n < 1 || n > ADDITIONAL_KEY_EXCHANGES) {
            throw new IllegalArgumentException("additional key exchange " + n + " is not 1-7");
        }
        return byId(5 + n);
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
