package dev.keel.ike.message;

import dev.keel.core.net.IpAddress;
import dev.keel.core.ts.TrafficSelector;
import java.util.ArrayList;
import java.util.List;

/**
 * Traffic Selector payload TSi or TSr (RFC 7296 §3.13). The wire form keeps every selector,
 * including types Keel does not support; {@link #toTrafficSelectors()} converts IPv4 (type 7)
 * and IPv6 (type 8) ranges and reports the others.
 */
public record TsPayload(boolean initiator, List<TsPayload.Selector> selectors) implements IkePayload {
    /** TS_IPV4_ADDR_RANGE. */
    public static final int TS_IPV4_ADDR_RANGE = 7;
    /** TS_IPV6_ADDR_RANGE. */
    public static final int TS_IPV6_ADDR_RANGE = 8;

    /**
     * One selector substructure (§3.13.1): TS type, IP protocol, and the bytes after the
     * Selector Length field (ports and addresses for types 7 and 8).
     */
    public record Selector(int tsType, int ipProtocol, byte[] body) {}

    /** The convertible selectors in order, and one line per selector that was not convertible. */
    public record Conversion(List<TrafficSelector> selectors, List<String> unsupported) {}

    /** A TSi ({@code initiator}) or TSr payload for {@code selectors}. */
    public static TsPayload of(boolean initiator, List<TrafficSelector> selectors) {
        List<Selector> out = new ArrayList<>();
        for (TrafficSelector ts : selectors) {
            byte[] body = new WireWriter().u16(ts.startPort()).u16(ts.endPort())
                    .bytes(ts.startAddress().bytes()).bytes(ts.endAddress().bytes()).toByteArray();
            out.add(new Selector(ts.type().number(), ts.protocol(), body));
        }
        return new TsPayload(initiator, List.copyOf(out));
    }

    /** Parses a TS body: count (1), reserved (3), selectors; types 7 and 8 must be 16 and 40 bytes long. */
    public static TsPayload decode(boolean initiator, byte[] body) throws PayloadException {
        WireReader r = new WireReader(body);
        int count = r.u8("number of TSs");
        r.bytes(3, "TS reserved");
        if (count == 0) {
            throw new PayloadException("TS payload with no traffic selector");
        }
        List<Selector> out = new ArrayList<>();
        for (int i = 1; i <= count; i++) {
            int tsType = r.u8("TS " + i + " type");
            int protocol = r.u8("TS " + i + " IP protocol");
            int length = r.u16("TS " + i + " length");
            int expected = tsType == TS_IPV4_ADDR_RANGE ? 16 : tsType == TS_IPV6_ADDR_RANGE ? 40 : -1;
            if (length < 4 || expected > 0 && length != expected) {
                throw new PayloadException("TS " + i + " of type " + tsType + " has length " + length);
            }
            out.add(new Selector(tsType, protocol, r.bytes(length - 4, "TS " + i + " body")));
        }
        r.expectEnd("TS payload with " + count + " selectors");
        return new TsPayload(initiator, List.copyOf(out));
    }

    /** Converts types 7 and 8 to core selectors; other types and invalid ranges are reported, not thrown. */
    public Conversion toTrafficSelectors() {
        List<TrafficSelector> ok = new ArrayList<>();
        List<String> bad = new ArrayList<>();
        for (Selector s : selectors) {
            if (s.tsType() != TS_IPV4_ADDR_RANGE && s.tsType() != TS_IPV6_ADDR_RANGE) {
                bad.add("unsupported TS type " + s.tsType());
                continue;
            }
            boolean v6 = s.tsType() == TS_IPV6_ADDR_RANGE;
            int addrLen = v6 ? 16 : 4;
            byte[] b = s.body();
            if (b.length != 4 + 2 * addrLen) {
                bad.add("TS type " + s.tsType() + " with a body of " + b.length + " bytes");
                continue;
            }
            int startPort = (b[0] & 0xFF) << 8 | b[1] & 0xFF;
            int endPort = (b[2] & 0xFF) << 8 | b[3] & 0xFF;
            try {
                ok.add(TrafficSelector.of(IpAddress.fromBytes(b, 4, v6), IpAddress.fromBytes(b, 4 + addrLen, v6),
                        s.ipProtocol(), startPort, endPort));
            } catch (IllegalArgumentException e) {
                bad.add("TS type " + s.tsType() + ": " + e.getMessage());
            }
        }
        return new Conversion(List.copyOf(ok), List.copyOf(bad));
    }

    @Override
    public int type() {
        return (initiator ? PayloadType.TSI : PayloadType.TSR).value();
    }

    @Override
    public byte[] encodeBody() {
        WireWriter w = new WireWriter().u8(selectors.size()).u8(0).u16(0);
        for (Selector s : selectors) {
            w.u8(s.tsType()).u8(s.ipProtocol()).u16(4 + s.body().length).bytes(s.body());
        }
        return w.toByteArray();
    }
}
