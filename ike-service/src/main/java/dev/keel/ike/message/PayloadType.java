package dev.keel.ike.message;

/** IKEv2 payload types (RFC 7296 §3.2, RFC 7383 for SKF); unknown types are kept as ints by UnknownPayload. */
public enum PayloadType {
    NO_NEXT_PAYLOAD(0),
    SA(33),
    KE(34),
    IDI(35),
    IDR(36),
    CERT(37),
    CERTREQ(38),
    AUTH(39),
    NONCE(40),
    NOTIFY(41),
    DELETE(42),
    VENDOR_ID(43),
    TSI(44),
    TSR(45),
    SK(46),
    CP(47),
    EAP(48),
    GSPM(49),
    IDG(50),
    GSA(51),
    KD(52),
    SKF(53),
    PS(54);

    private final int value;

    PayloadType(int value) {
        this.value = value;
    }

    /** The number on the wire. */
    public int value() {
        return value;
    }

    /** The constant with wire number {@code value}, or null when Keel does not know it (callers keep the int). */
    public static PayloadType of(int value) {
        for (PayloadType t : values()) {
            if (t.value == value) {
                return t;
            }
        }
        return null;
    }
}
