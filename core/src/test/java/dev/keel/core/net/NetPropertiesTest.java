package dev.keel.core.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

class NetPropertiesTest {

    /** Addresses biased towards zero runs, the ends of the space and IPv4-mapped ones. */
    @Provide
    Arbitrary<IpAddress> addresses() {
        Arbitrary<Integer> group = Arbitraries.frequencyOf(
                Tuple.of(4, Arbitraries.just(0)),
                Tuple.of(1, Arbitraries.just(0xFFFF)),
                Tuple.of(3, Arbitraries.integers().between(0, 0xFFFF)));
        Arbitrary<IpAddress> v6 = group.list().ofSize(8).map(gs -> {
            long hi = 0;
            long lo = 0;
            for (int i = 0; i < 4; i++) {
                hi = hi << 16 | gs.get(i);
                lo = lo << 16 | gs.get(i + 4);
            }
            return IpAddress.ofIpv6(hi, lo);
        });
        Arbitrary<IpAddress> v4 = Arbitraries.oneOf(
                Arbitraries.integers().map(IpAddress::ofIpv4),
                Arbitraries.of(0, -1, 1, 0x7FFFFFFF, 0x80000000).map(IpAddress::ofIpv4));
        Arbitrary<IpAddress> mapped = Arbitraries.integers()
                .map(i -> IpAddress.ofIpv6(0, 0xFFFF_0000_0000L | (i & 0xFFFF_FFFFL)));
        return Arbitraries.oneOf(v4, v6, mapped);
    }

    @Provide
    Arbitrary<IpRange> ranges() {
        return Combinators.combine(addresses(), addresses()).filter((a, b) -> a.isIpv6() == b.isIpv6())
                .as((a, b) -> a.compareTo(b) <= 0 ? IpRange.of(a, b) : IpRange.of(b, a));
    }

    @Property(tries = 1000)
    void textRoundTrips(@ForAll("addresses") IpAddress a) {
        assertThat(IpAddress.parse(a.toString())).isEqualTo(a);
    }

    @Property(tries = 1000)
    void bytesRoundTrip(@ForAll("addresses") IpAddress a) {
        assertThat(IpAddress.fromBytes(a.bytes())).isEqualTo(a);
    }

    @Property(tries = 500)
    void canonicalTextHasNoLeadingZerosOrUppercaseAndOneDoubleColon(@ForAll("addresses") IpAddress a) {
        String s = a.toString();
        assertThat(s).isEqualTo(s.toLowerCase()).hasSizeLessThanOrEqualTo(45);
        assertThat(s.indexOf("::")).isEqualTo(s.lastIndexOf("::"));
        if (!s.contains(".")) { // IPv6 without a dotted-quad tail
            for (String g : s.split(":")) {
                assertThat(g.length() <= 1 || g.charAt(0) != '0').as("group %s of %s", g, s).isTrue();
            }
        }
    }

    @Property(tries = 1000)
    void orderingMatchesUnsignedByteOrdering(@ForAll("addresses") IpAddress a, @ForAll("addresses") IpAddress b) {
        int expected = a.isIpv6() != b.isIpv6()
                ? (a.isIpv6() ? 1 : -1)
                : Arrays.compareUnsigned(a.bytes(), b.bytes());
        assertThat(Integer.signum(a.compareTo(b))).isEqualTo(Integer.signum(expected));
        assertThat(a.compareTo(b) == 0).isEqualTo(a.equals(b));
    }

    @Property(tries = 500)
    void nextAndPreviousAreInverse(@ForAll("addresses") IpAddress a) {
        IpAddress n = a.next();
        if (n == null) {
            assertThat(a).isEqualTo(a.family().max());
        } else {
            assertThat(n).isGreaterThan(a);
            assertThat(n.previous()).isEqualTo(a);
        }
    }

    @Property(tries = 500)
    void prefixesCoverTheRangeExactlyAndMinimally(@ForAll("ranges") IpRange r) {
        List<IpPrefix> ps = r.toPrefixes();
        assertThat(ps).isNotEmpty().hasSizeLessThanOrEqualTo(2 * r.family().bitLength());
        assertThat(ps.getFirst().first()).isEqualTo(r.start());
        assertThat(ps.getLast().last()).isEqualTo(r.end());
        for (int i = 1; i < ps.size(); i++) {
            assertThat(ps.get(i - 1).last().next()).isEqualTo(ps.get(i).first());
        }
        assertThat(ps.size() == 1).isEqualTo(r.isPrefix());
        if (r.isPrefix()) {
            assertThat(r.toPrefix().toRange()).isEqualTo(r);
        }
    }

    @Property(tries = 500)
    void prefixContainmentAgreesWithItsRange(@ForAll("addresses") IpAddress a, @ForAll("addresses") IpAddress probe,
            @ForAll("lengths") int length) {
        IpPrefix p = IpPrefix.containing(a, Math.min(length, a.family().bitLength()));
        assertThat(p.contains(a)).isTrue();
        assertThat(p.contains(probe)).isEqualTo(p.toRange().contains(probe));
        assertThat(IpPrefix.parse(p.toString())).isEqualTo(p);
        assertThat(p.toRange().isPrefix()).isTrue();
        assertThat(p.toRange().toPrefix()).isEqualTo(p);
    }

    @Provide
    Arbitrary<Integer> lengths() {
        return Arbitraries.integers().between(0, 128).edgeCases(c -> c.add(0, 1, 31, 32, 63, 64, 65, 127, 128));
    }

    @Property(tries = 500)
    void rangeIntersectionIsCommutativeAndExact(@ForAll("ranges") IpRange a, @ForAll("ranges") IpRange b,
            @ForAll("addresses") IpAddress probe) {
        assertThat(a.intersect(b)).isEqualTo(b.intersect(a));
        boolean inBoth = a.contains(probe) && b.contains(probe);
        assertThat(a.intersect(b).map(r -> r.contains(probe)).orElse(false)).isEqualTo(inBoth);
        a.intersect(b).ifPresent(r -> assertThat(a.contains(r) && b.contains(r)).isTrue());
        assertThat(IpRange.parse(a.toString())).isEqualTo(a);
        byte[] buf = new byte[20];
        probe.copyTo(buf, 3);
        assertThat(a.contains(buf, 3, probe.isIpv6())).isEqualTo(a.contains(probe));
    }
}
