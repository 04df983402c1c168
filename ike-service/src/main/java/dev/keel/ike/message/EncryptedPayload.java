package dev.keel.ike.message;

/**
 * Encrypted and Authenticated payload, SK (RFC 7296 §3.14), as it sits on the wire: the type of
 * the first inner payload (the generic header's Next Payload) and the sealed body
 * {@code IV || ciphertext || ICV}. A decoded {@link IkeMessage} holds the opened inner payloads
 * instead; this record appears only where a caller handles SK bodies itself.
 */
public record EncryptedPayload(int firstInnerPayload, byte[] body) implements IkePayload {

    /** Keeps an SK body as is; the cipher judges it. */
    public static EncryptedPayload decode(int firstInnerPayload, byte[] body) {
        return new EncryptedPayload(firstInnerPayload, body.clone());
    }

    @Override
    public int type() {
        return PayloadType.SK.value();
    }

    @Override
    public byte[] encodeBody() {
        return body.clone();
    }
}
