package dev.keel.ike.message;

/** EAP payload (RFC 7296 §3.16): one EAP message, kept opaque. */
public record EapPayload(byte[] message) implements IkePayload {

    /** Parses an EAP body; it must hold at least the 4-byte EAP header. */
    public static EapPayload decode(byte[] body) throws PayloadException {
        if (body.length < 4) {
            throw new PayloadException("EAP message of " + body.length + " bytes is shorter than its header");
        }
        return new EapPayload(body.clone());
    }

    @Override
    public int type() {
        return PayloadType.EAP.value();
    }

    @Override
    public byte[] encodeBody() {
        return message.clone();
    }
}
