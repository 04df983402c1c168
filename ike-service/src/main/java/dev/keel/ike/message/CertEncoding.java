package dev.keel.ike.message;

/** IKEv2 certificate encodings (RFC 7296 §3.6). */
public enum CertEncoding {
    PKCS7_WRAPPED_X509(1),
    PGP(2),
    DNS_SIGNED_KEY(3),
    X509_SIGNATURE(4),
    KERBEROS_TOKEN(6),
    CRL(7),
    ARL(8),
    SPKI(9),
    X509_ATTRIBUTE(10),
    RAW_RSA_KEY(11),
    HASH_AND_URL_X509_CERT(12),
    HASH_AND_URL_X509_BUNDLE(13);

    private final int value;

    CertEncoding(int value) {
        this.value = value;
    }

    /** The number on the wire. */
    public int value() {
        return value;
    }

    /** The constant with wire number {@code value}, or null when Keel does not know it (callers keep the int). */
    public static CertEncoding of(int value) {
        for (CertEncoding t : values()) {
            if (t.value == value) {
                return t;
            }
        }
        return null;
    }
}
