package dev.keel.ike.message;

/** IKEv2 exchange types (RFC 7296 §3.1, IKE_INTERMEDIATE of RFC 9242); others are kept as the header's int. */
public enum ExchangeType {
    IKE_SA_INIT(34),
    IKE_AUTH(35),
    CREATE_CHILD_SA(36),
    INFORMATIONAL(37),
    /** RFC 9242: between IKE_SA_INIT and IKE_AUTH, here one per RFC 9370 additional key exchange. */
    IKE_INTERMEDIATE(43);

    private final int value;

    ExchangeType(int value) {
        this.value = value;
    }

    /** The number on the wire. */
    public int value() {
        return value;
    }

    /** The constant with wire number {@code value}, or null when Keel does not know it (callers keep the int). */
    public static ExchangeType of(int value) {
        for (ExchangeType t : values()) {
            if (t.value == value) {
                return t;
            }
        }
        return null;
    }
}
