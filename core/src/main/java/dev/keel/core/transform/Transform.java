package dev.keel.core.transform;

/** One entry of the IANA IKEv2 transform registry: its type, its number and its strongSwan-style name. */
public sealed interface Transform
        permits EncryptionTransform, PrfTransform, IntegrityTransform, KeyExchangeTransform, EsnTransform {

    /** Which of the five transform types this is. */
    TransformType type();

    /** The IANA transform ID. */
    int id();

    /** The IANA name, e.g. {@code ENCR_AES_GCM_16}. */
    String ianaName();

    /** The entry of {@code values} with this IANA number, or null when Keel does not know it. */
    static <T extends Transform> T byId(T[] values, int id) {
        for (T t : values) {
            if (t.id() == id) {
                return t;
            }
        }
        return null;
    }
}
