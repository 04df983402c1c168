package dev.keel.core.net;

import java.util.Random;

/**
 * Seeded generators for the address property tests: addresses biased towards zero runs, the ends
 * of the space and IPv4-mapped ones, same-family ranges, and prefix lengths with their edge cases.
 */
final class RandomNet {

    private static final int[] V4_EDGES = {0, -1, 1, 0x7FFFFFFF, 0x80000000};
    private static final int[] LENGTH_EDGES = {0, 1, 31, 32, 63, 64, 65, 127, 128};

    private RandomNet() {
    }

    /** One of IPv4, IPv6 or IPv4-mapped IPv6, each a third of the time. */
    static IpAddress address(Random r) {
        return r.nextInt(3) == 0 ? ipv4(r) : ipv6OrMapped(r);
    }

    /** Any 32 bits half the time, else one of the IPv4 edge cases. */
    static IpAddress ipv4(Random r) {
        return IpAddress.ofIpv4(r.nextBoolean() ? r.nextInt() : V4_EDGES[r.nextInt(V4_EDGES.length)]);
    }

    /** Eight groups, each 0 (4 in 8), ffff (1 in 8) or anything (3 in 8); or an IPv4-mapped address. */
    static IpAddress ipv6OrMapped(Random r) {
        if (r.nextBoolean()) {
            return IpAddress.ofIpv6(0, 0xFFFF_0000_0000L | (r.nextInt() & 0xFFFF_FFFFL));
        }
        long hi = 0;
        long lo = 0;
        for (int i = 0; i < 4; i++) {
            hi = hi << 16 | group(r);
        }
        for (int i = 0; i < 4; i++) {
            lo = lo << 16 | group(r);
        }
        return IpAddress.ofIpv6(hi, lo);
    }

    private static int group(Random r) {
        int w = r.nextInt(8);
        return w < 4 ? 0 : w == 4 ? 0xFFFF : r.nextInt(0x1_0000);
    }

    /**
     * A range between two addresses of one family. Two independent {@link #address} draws agree on
     * IPv4 with weight 1/9 and on IPv6 with 4/9, so the family is IPv4 one time in five.
     */
    static IpRange range(Random r) {
        boolean ipv6 = r.nextInt(5) != 0;
        IpAddress a = ipv6 ? ipv6OrMapped(r) : ipv4(r);
        IpAddress b = ipv6 ? ipv6OrMapped(r) : ipv4(r);
        return a.compareTo(b) <= 0 ? IpRange.of(a, b) : IpRange.of(b, a);
    }

    /** A prefix length 0-128, one time in four an edge case around the 32/64/128 boundaries. */
    static int prefixLength(Random r) {
        return r.nextInt(4) == 0 ? LENGTH_EDGES[r.nextInt(LENGTH_EDGES.length)] : r.nextInt(129);
    }
}
