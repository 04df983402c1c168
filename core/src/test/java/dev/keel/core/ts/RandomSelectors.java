package dev.keel.core.ts;

import dev.keel.core.net.IpAddress;
import dev.keel.core.net.IpRange;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Seeded generators for the selector property tests, over small neighbourhoods (10.0.0.0-15 and
 * 2001:db8::0-f, plus a few far-away edges) so that overlaps are common.
 */
final class RandomSelectors {

    private static final long V4_BASE = 0x0A00_0000L; // 10.0.0.0
    private static final long V6_HI = 0x2001_0db8_0000_0000L; // 2001:db8::/64

    private static final IpAddress[] V4_FAR = {IpAddress.ofIpv4(0), IpAddress.ofIpv4(-1)};
    private static final IpAddress[] V6_FAR = {IpAddress.ofIpv6(0, 0), IpAddress.ofIpv6(-1L, -1L),
            IpAddress.ofIpv6(V6_HI, -1L), IpAddress.ofIpv6(V6_HI + 1, 0)};
    private static final int[] EDGE_PORTS = {0x0800, 0x0801, 65534, 65535};
    private static final int[] SELECTOR_PROTOCOLS = {0, 0, 6, 6, 6, 17, 1, 47};
    private static final int[] PACKET_PROTOCOLS = {6, 6, 17, 1, 58, 47, 50};

    /** A packet side: protocol, address and port (or NO_PORT). */
    record Packet(int protocol, IpAddress address, int port) {

        boolean matches(TrafficSelector ts) {
            return ts.matches(protocol, address, port);
        }
    }

    private RandomSelectors() {
    }

    /** Near the family's base 4 times in 5, else one of its far addresses. */
    static IpAddress address(Random r, boolean ipv6) {
        if (r.nextInt(5) == 4) {
            IpAddress[] far = ipv6 ? V6_FAR : V4_FAR;
            return far[r.nextInt(far.length)];
        }
        int offset = r.nextInt(16);
        return ipv6 ? IpAddress.ofIpv6(V6_HI, offset) : IpAddress.ofIpv4((int) (V4_BASE + offset));
    }

    /** A port from {@code lowest}..10 four times in five, else one of the edge ports. */
    private static int port(Random r, int lowest) {
        return r.nextInt(5) == 4 ? EDGE_PORTS[r.nextInt(EDGE_PORTS.length)] : lowest + r.nextInt(11 - lowest);
    }

    /** {start, end}: any or opaque for a protocol without ports, else also (2 in 3) a small range. */
    static int[] ports(Random r, int protocol) {
        if (!Protocols.hasPorts(protocol) || r.nextInt(3) == 0) {
            return r.nextBoolean() ? new int[] {0, 65535} : new int[] {65535, 0};
        }
        int a = port(r, 0);
        int b = port(r, 0);
        return new int[] {Math.min(a, b), Math.max(a, b)};
    }

    private static IpRange between(IpAddress x, IpAddress y) {
        return x.compareTo(y) <= 0 ? IpRange.of(x, y) : IpRange.of(y, x);
    }

    /** IPv6 one time in four; a range between two nearby addresses, a protocol and its ports. */
    static TrafficSelector selector(Random r) {
        boolean ipv6 = r.nextInt(4) == 3;
        IpRange range = between(address(r, ipv6), address(r, ipv6));
        int protocol = SELECTOR_PROTOCOLS[r.nextInt(SELECTOR_PROTOCOLS.length)];
        int[] ports = ports(r, protocol);
        return TrafficSelector.of(range, protocol, ports[0], ports[1]);
    }

    /** One to six selectors. */
    static List<TrafficSelector> selectorList(Random r) {
        int n = 1 + r.nextInt(6);
        List<TrafficSelector> list = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            list.add(selector(r));
        }
        return list;
    }

    /** A protocol (IPv6 one time in four), an address of either family and a port, NO_PORT or an edge. */
    static Packet packet(Random r) {
        int protocol = PACKET_PROTOCOLS[r.nextInt(PACKET_PROTOCOLS.length)];
        IpAddress address = address(r, r.nextInt(4) == 3);
        return new Packet(protocol, address, port(r, -1));
    }

    /**
     * Pairs of selectors: a third independent, two thirds "closely related", with the second built
     * from the first's range (or a part of it) and protocol with fresh ports, so that
     * near-containment is common; half of the related pairs come in reverse order.
     */
    static TrafficSelector[] pair(Random r) {
        int kind = r.nextInt(3);
        if (kind == 0) {
            TrafficSelector a = selector(r);
            return new TrafficSelector[] {a, selector(r)};
        }
        TrafficSelector a = selector(r);
        IpAddress x = address(r, a.isIpv6());
        IpAddress y = address(r, a.isIpv6());
        boolean shrink = r.nextBoolean();
        int[] protocols = {a.protocol(), a.protocol(), 0, 6, 17};
        int protocol = protocols[r.nextInt(protocols.length)];
        int[] ports = ports(r, protocol);
        IpRange range = a.addressRange();
        if (shrink) {
            range = range.intersect(between(x, y)).orElse(range);
        }
        TrafficSelector b = TrafficSelector.of(range, protocol, ports[0], ports[1]);
        return kind == 1 ? new TrafficSelector[] {a, b} : new TrafficSelector[] {b, a};
    }
}
