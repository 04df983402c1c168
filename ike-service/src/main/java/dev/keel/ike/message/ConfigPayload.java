package dev.keel.ike.message;

import java.util.ArrayList;
import java.util.List;

/** Configuration payload, CP (RFC 7296 §3.15): CFG type and attributes kept as type/value. */
public record ConfigPayload(int cfgType, List<ConfigPayload.Attribute> attributes) implements IkePayload {
    /** CFG_REQUEST. */
    public static final int CFG_REQUEST = 1;
    /** CFG_REPLY. */
    public static final int CFG_REPLY = 2;
    /** CFG_SET. */
    public static final int CFG_SET = 3;
    /** CFG_ACK. */
    public static final int CFG_ACK = 4;

    /** One configuration attribute (§3.15.1): 15-bit type and a value of any length (0 = request). */
    public record Attribute(int type, byte[] value) {}

    /** Parses a CP body: type (1), reserved (3), attributes of type (2, high bit reserved), length (2), value. */
    public static ConfigPayload decode(byte[] body) throws PayloadException {
        WireReader r = new WireReader(body);
        int cfgType = r.u8("CFG type");
        r.bytes(3, "CP reserved");
        List<Attribute> attributes = new ArrayList<>();
        while (r.hasRemaining()) {
            int type = r.u16("CP attribute type") & 0x7FFF;
            int length = r.u16("CP attribute length");
            attributes.add(new Attribute(type, r.bytes(length, "CP attribute " + type + " value")));
        }
        return new ConfigPayload(cfgType, List.copyOf(attributes));
    }

    @Override
    public int type() {
        return PayloadType.CP.value();
    }

    @Override
    public byte[] encodeBody() {
        WireWriter w = new WireWriter().u8(cfgType).u8(0).u16(0);
        for (Attribute a : attributes) {
            w.u16(a.type() & 0x7FFF).u16(a.value().length).bytes(a.value());
        }
        return w.toByteArray();
    }
}
