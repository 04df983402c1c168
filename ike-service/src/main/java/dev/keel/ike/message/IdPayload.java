package dev.keel.ike.message;

/** Identification payload IDi or IDr (RFC 7296 §3.5): ID type and data; {@link #identity()} is the domain value. */
public record IdPayload(boolean initiator, int idType, byte[] data) implements IkePayload {

    /** The IDi ({@code initiator}) or IDr payload carrying {@code identity}. */
    public static IdPayload of(boolean initiator, IkeIdentity identity) {
        return new IdPayload(initiator, identity.type(), identity.data());
    }

    /** Parses an ID body: type (1), reserved (3), data; IPv4 data must be 4 bytes and IPv6 16. */
    public static IdPayload decode(boolean initiator, byte[] body) throws PayloadException {
        WireReader r = new WireReader(body);
        int type = r.u8("ID type");
        r.bytes(3, "ID reserved");
        byte[] data = r.rest();
        if (data.length == 0) {
            throw new PayloadException("ID payload has no identification data");
        }
        if (type == IdType.ID_IPV4_ADDR.value() && data.length != 4
                || type == IdType.ID_IPV6_ADDR.value() && data.length != 16) {
            throw new PayloadException("ID of type " + IdType.of(type) + " has " + data.length + " bytes");
        }
        return new IdPayload(initiator, type, data);
    }

    /** The identity as a domain value (unknown ID types included, printed as hex). */
    public IkeIdentity identity() {
        return IkeIdentity.of(idType, data);
    }

    @Override
    public int type() {
        return (initiator ? PayloadType.IDI : PayloadType.IDR).value();
    }

    @Override
    public byte[] encodeBody() {
        return new WireWriter().u8(idType).u8(0).u16(0).bytes(data).toByteArray();
    }
}
