package dev.keel.ike.message;

/** Authentication payload (RFC 7296 §3.8): method and authentication data. */
public record AuthPayload(int method, byte[] data) implements IkePayload {

    /** Parses an AUTH body: method (1), reserved (3), data. */
    public static AuthPayload decode(byte[] body) throws PayloadException {
        WireReader r = new WireReader(body);
        int method = r.u8("AUTH method");
        r.bytes(3, "AUTH reserved");
        if (!r.hasRemaining()) {
            throw new PayloadException("AUTH payload has no authentication data");
        }
        return new AuthPayload(method, r.rest());
    }

    /** The method, or null when unknown. */
    public AuthMethod authMethod() {
        return AuthMethod.of(method);
    }

    @Override
    public int type() {
        return PayloadType.AUTH.value();
    }

    @Override
    public byte[] encodeBody() {
        return new WireWriter().u8(method).u8(0).u16(0).bytes(data).toByteArray();
    }
}
