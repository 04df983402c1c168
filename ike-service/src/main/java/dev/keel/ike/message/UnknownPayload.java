package dev.keel.ike.message;

/**
 * A payload of a type Keel does not parse, kept as it arrived (strongSwan's unknown_payload). A
 * critical one makes the message fail with UNSUPPORTED_CRITICAL_PAYLOAD (RFC 7296 §2.5), so only
 * non-critical ones ever appear in a decoded message.
 */
public record UnknownPayload(int type, boolean critical, byte[] body) implements IkePayload {

    @Override
    public byte[] encodeBody() {
        return body.clone();
    }
}
