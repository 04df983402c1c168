package dev.keel.core.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.Timeout.ThreadMode;

/** Properties of addresses, prefixes and ranges over {@link RandomNet} draws, one fixed seed per test. */
// A broken ordering can send main-code loops (e.g. IpRange.toPrefixes) spinning: fail, don't hang.
@Timeout(value = 60, threadMode = ThreadMode.SEPARATE_THREAD)
class NetPropertiesTest {

    @Test
    void textRoundTrips() {
        long seed = 1101;
        Random r = new Random(seed);
        for (int i = 0; i < 1000; i++) {
            IpAddress a = RandomNet.address(r);
            assertThat(IpAddress.parse(a.toString())).as("seed %d try %d: %s", seed, i, a).isEqualTo(a);
        }
    }

    @Test
    void bytesRoundTrip() {
        long seed = 1102;
        Random r = new Random(seed);
        for (int i = 0; i < 1000; i++) {
            IpAddress a = RandomNet.address(r);
            assertThat(IpAddress.fromBytes(a.bytes())).as("seed %d try %d: %s", seed, i, a).isEqualTo(a);
        }
    }

    @Test
    void canonicalTextHasNoLeadingZerosOrUppercaseAndOneDoubleColon() {
        long seed = 1103;
        Random r = new Random(seed);
        for (int i = 0; i < 500; i++) {
            String s = RandomNet.address(r).toString();
            String at = "seed %d try %d: %s".formatted(seed, i, s);
            assertThat(s).as(at).isEqualTo(s.toLowerCase()).hasSizeLessThanOrEqualTo(45);
            assertThat(s.indexOf("::")).as(at).isEqualTo(s.lastIndexOf("::"));
            if (!s.contains(".")) { // IPv6 without a dotted-quad tail
                for (String g : s.split(":")) {
                    assertThat(g.length() <= 1 || g.charAt(0) != '0').as("%s: group %s", at, g).isTrue();
                }
            }
        }
    }

    @Test
    void orderingMatchesUnsignedByteOrdering() {
        long seed = 1104;
        Random r = new Random(seed);
        for (int i = 0; i < 1000; i++) {
            IpAddress a = RandomNet.address(r);
            IpAddress b = RandomNet.address(r);
            String at = "seed %d try %d: %s vs %s".formatted(seed, i, a, b);
            int expected = a.isIpv6() != b.isIpv6()
                    ? (a.isIpv6() ? 1 : -1)
                    : Arrays.compareUnsigned(a.bytes(), b.bytes());
            assertThat(Integer.signum(a.compareTo(b))).as(at).isEqualTo(Integer.signum(expected));
            assertThat(a.compareTo(b) == 0).as(at).isEqualTo(a.equals(b));
        }
    }

    @Test
    void nextAndPreviousAreInverse() {
        long seed = 1105;
        Random r = new Random(seed);
        for (int i = 0; i < 500; i++) {
            IpAddress a = RandomNet.address(r);
            String at = "seed %d try %d: %s".formatted(seed, i, a);
            IpAddress n = a.next();
            if (n == null) {
                assertThat(a).as(at).isEqualTo(a.family().max());
            } else {
                assertThat(n).as(at).isGreaterThan(a);
                assertThat(n.previous()).as(at).isEqualTo(a);
            }
        }
    }

    @Test
    void prefixesCoverTheRangeExactlyAndMinimally() {
        long seed = 1106;
        Random r = new Random(seed);
        for (int t = 0; t < 500; t++) {
            IpRange range = RandomNet.range(r);
            String at = "seed %d try %d: %s".formatted(seed, t, range);
            List<IpPrefix> ps = range.toPrefixes();
            assertThat(ps).as(at).isNotEmpty().hasSizeLessThanOrEqualTo(2 * range.family().bitLength());
            assertThat(ps.getFirst().first()).as(at).isEqualTo(range.start());
            assertThat(ps.getLast().last()).as(at).isEqualTo(range.end());
            for (int i = 1; i < ps.size(); i++) {
                assertThat(ps.get(i - 1).last().next()).as("%s: prefix %d", at, i).isEqualTo(ps.get(i).first());
            }
            assertThat(ps.size() == 1).as(at).isEqualTo(range.isPrefix());
            if (range.isPrefix()) {
                assertThat(range.toPrefix().toRange()).as(at).isEqualTo(range);
            }
        }
    }

    @Test
    void prefixContainmentAgreesWithItsRange() {
        long seed = 1107;
        Random r = new Random(seed);
        for (int i = 0; i < 500; i++) {
            IpAddress a = RandomNet.address(r);
            IpAddress probe = RandomNet.address(r);
            int length = RandomNet.prefixLength(r);
            String at = "seed %d try %d: %s/%d probe %s".formatted(seed, i, a, length, probe);
            IpPrefix p = IpPrefix.containing(a, Math.min(length, a.family().bitLength()));
            assertThat(p.contains(a)).as(at).isTrue();
            assertThat(p.contains(probe)).as(at).isEqualTo(p.toRange().contains(probe));
            assertThat(IpPrefix.parse(p.toString())).as(at).isEqualTo(p);
            assertThat(p.toRange().isPrefix()).as(at).isTrue();
            assertThat(p.toRange().toPrefix()).as(at).isEqualTo(p);
        }
    }

    @Test
    void rangeIntersectionIsCommutativeAndExact() {
        long seed = 1108;
        Random r = new Random(seed);
        for (int i = 0; i < 500; i++) {
            IpRange a = RandomNet.range(r);
            IpRange b = RandomNet.range(r);
            IpAddress probe = RandomNet.address(r);
            String at = "seed %d try %d: %s & %s probe %s".formatted(seed, i, a, b, probe);
            Optional<IpRange> meet = a.intersect(b);
            assertThat(meet).as(at).isEqualTo(b.intersect(a));
            boolean inBoth = a.contains(probe) && b.contains(probe);
            assertThat(meet.map(m -> m.contains(probe)).orElse(false)).as(at).isEqualTo(inBoth);
            meet.ifPresent(m -> assertThat(a.contains(m) && b.contains(m)).as(at).isTrue());
            assertThat(IpRange.parse(a.toString())).as(at).isEqualTo(a);
            byte[] buf = new byte[20];
            probe.copyTo(buf, 3);
            assertThat(a.contains(buf, 3, probe.isIpv6())).as(at).isEqualTo(a.contains(probe));
        }
    }
}
