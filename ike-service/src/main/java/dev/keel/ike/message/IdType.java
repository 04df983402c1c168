package dev.keel.ike.message;

/** IKEv2 identification types (RFC 7296 §3.5). */
public enum IdType {
    ID_IPV4_ADDR(1),
    ID_FQDN(2),
    ID_RFC822_ADDR(3),
    ID_IPV6_ADDR(5),
    ID_DER_ASN1_DN(9),
    ID_DER_ASN1_GN(10),
    ID_KEY_ID(11);

    private final int value;

    IdType(int value) {
        this.value = value;
    }

    /** The number on the wire. */
    public int value() {
        return value;
    }

    /** The constant with wire number {@code value}, or null when Keel does not know it (callers keep the int). */
    public static IdType of(int value) {
        for (IdType t : values()) {
            if (t.value == value) {
                return t;
            }
        }
        return null;
    }
}
