package dev.keel.ike.message;

/** Key Exchange payload (RFC 7296 §3.4): the group number and the public value. */
public record KePayload(int group, byte[] data) implements IkePayload {

    /** Parses a KE body: group (2), reserved (2), data. */
    public static KePayload decode(byte[] body) throws PayloadException {
        WireReader r = new WireReader(body);
        int group = r.u16("KE group");
        r.u16("KE reserved");
        if (!r.hasRemaining()) {
            throw new PayloadException("KE payload has no key exchange data");
        }
        return new KePayload(group, r.rest());
    }

    @Override
    public int type() {
        return PayloadType.KE.value();
    }

    @Override
    public byte[] encodeBody() {
        return new WireWriter().u16(group).u16(0).bytes(data).toByteArray();
    }
}
