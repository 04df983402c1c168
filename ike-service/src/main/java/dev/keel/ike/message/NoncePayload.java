package dev.keel.ike.message;

/** Nonce payload Ni/Nr (RFC 7296 §3.9): 16 to 256 random bytes. */
public record NoncePayload(byte[] nonce) implements IkePayload {
    /** Shortest nonce allowed (§3.9: at least 128 bits). */
    public static final int MIN_LENGTH = 16;
    /** Longest nonce allowed (§3.9: at most 2048 bits). */
    public static final int MAX_LENGTH = 256;

    /** Parses a nonce body, rejecting lengths outside 16..256. */
    public static NoncePayload decode(byte[] body) throws PayloadException {
        if (body.length < MIN_LENGTH || body.length > MAX_LENGTH) {
            throw new PayloadException("nonce of " + body.length + " bytes is outside 16..256");
        }
        return new NoncePayload(body.clone());
    }

    @Override
    public int type() {
        return PayloadType.NONCE.value();
    }

    @Override
    public byte[] encodeBody() {
        return nonce.clone();
    }
}
