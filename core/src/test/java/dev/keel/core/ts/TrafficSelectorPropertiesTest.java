package dev.keel.core.ts;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.ts.RandomSelectors.Packet;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.Timeout.ThreadMode;

/**
 * Algebraic properties of selectors over {@link RandomSelectors} draws (small neighbourhoods, so
 * that overlaps are common), one fixed seed per test.
 */
// A broken ordering can send main-code loops (e.g. IpRange.toPrefixes) spinning: fail, don't hang.
@Timeout(value = 60, threadMode = ThreadMode.SEPARATE_THREAD)
class TrafficSelectorPropertiesTest {

    @Test
    void intersectionIsCommutativeAndWithinBoth() {
        long seed = 2201;
        Random r = new Random(seed);
        for (int i = 0; i < 1000; i++) {
            TrafficSelector[] pair = RandomSelectors.pair(r);
            TrafficSelector a = pair[0];
            TrafficSelector b = pair[1];
            String at = "seed %d try %d: %s & %s".formatted(seed, i, a, b);
            Optional<TrafficSelector> meet = a.intersect(b);
            assertThat(meet).as(at).isEqualTo(b.intersect(a));
            meet.ifPresent(x -> {
                assertThat(a.contains(x)).as("%s: a contains %s", at, x).isTrue();
                assertThat(b.contains(x)).as("%s: b contains %s", at, x).isTrue();
            });
            assertThat(a.intersect(a)).as(at).contains(a);
        }
    }

    @Test
    void aPacketMatchesTheIntersectionIffItMatchesBoth() {
        long seed = 2202;
        Random r = new Random(seed);
        for (int i = 0; i < 1500; i++) {
            TrafficSelector[] pair = RandomSelectors.pair(r);
            TrafficSelector a = pair[0];
            TrafficSelector b = pair[1];
            Packet p = RandomSelectors.packet(r);
            String at = "seed %d try %d: %s & %s, %s".formatted(seed, i, a, b, p);
            boolean both = p.matches(a) && p.matches(b);
            assertThat(a.intersect(b).map(p::matches).orElse(false)).as(at).isEqualTo(both);
        }
    }

    @Test
    void containsIffIntersectionIsTheOther() {
        long seed = 2203;
        Random r = new Random(seed);
        for (int i = 0; i < 1500; i++) {
            TrafficSelector[] pair = RandomSelectors.pair(r);
            TrafficSelector a = pair[0];
            TrafficSelector b = pair[1];
            Packet p = RandomSelectors.packet(r);
            String at = "seed %d try %d: %s & %s, %s".formatted(seed, i, a, b, p);
            assertThat(a.contains(b)).as(at).isEqualTo(a.intersect(b).equals(Optional.of(b)));
            assertThat(b.isSubsetOf(a)).as(at).isEqualTo(a.contains(b));
            if (a.contains(b) && p.matches(b)) {
                assertThat(p.matches(a)).as(at).isTrue();
            }
        }
    }

    @Test
    void textRoundTrips() {
        long seed = 2204;
        Random r = new Random(seed);
        for (int i = 0; i < 1000; i++) {
            TrafficSelector a = RandomSelectors.selector(r);
            assertThat(TrafficSelector.parse(a.toString())).as("seed %d try %d: %s", seed, i, a).isEqualTo(a);
        }
    }

    @Test
    void byteMatchingAgreesWithAddressMatching() {
        long seed = 2205;
        Random r = new Random(seed);
        for (int i = 0; i < 1000; i++) {
            TrafficSelector a = RandomSelectors.selector(r);
            Packet p = RandomSelectors.packet(r);
            byte[] buf = new byte[24];
            p.address().copyTo(buf, 5);
            assertThat(a.matches(p.protocol(), buf, 5, p.address().isIpv6(), p.port()))
                    .as("seed %d try %d: %s, %s", seed, i, a, p)
                    .isEqualTo(p.matches(a));
        }
    }

    @Test
    void orderingIsConsistentWithEquals() {
        long seed = 2206;
        Random r = new Random(seed);
        for (int i = 0; i < 1000; i++) {
            TrafficSelector a = RandomSelectors.selector(r);
            TrafficSelector b = RandomSelectors.selector(r);
            String at = "seed %d try %d: %s vs %s".formatted(seed, i, a, b);
            assertThat(a.compareTo(b) == 0).as(at).isEqualTo(a.equals(b));
            assertThat(Integer.signum(a.compareTo(b))).as(at).isEqualTo(-Integer.signum(b.compareTo(a)));
            if (a.equals(b)) {
                assertThat(a.hashCode()).as(at).isEqualTo(b.hashCode());
            }
        }
    }

    @Test
    void narrowingMatchesExactlyWhatBothListsMatch() {
        long seed = 2207;
        Random r = new Random(seed);
        for (int t = 0; t < 500; t++) {
            List<TrafficSelector> proposed = RandomSelectors.selectorList(r);
            List<TrafficSelector> configured = RandomSelectors.selectorList(r);
            Packet p = RandomSelectors.packet(r);
            String at = "seed %d try %d: %s & %s, %s".formatted(seed, t, proposed, configured, p);
            List<TrafficSelector> narrowed = TrafficSelectors.narrow(proposed, configured);
            boolean inBoth = proposed.stream().anyMatch(p::matches) && configured.stream().anyMatch(p::matches);
            assertThat(narrowed.stream().anyMatch(p::matches)).as("%s -> %s", at, narrowed).isEqualTo(inBoth);
            assertThat(TrafficSelectors.isSubsetOf(narrowed, proposed)).as("%s -> %s", at, narrowed).isTrue();
            assertThat(TrafficSelectors.isSubsetOf(narrowed, configured)).as("%s -> %s", at, narrowed).isTrue();
            for (int i = 0; i < narrowed.size(); i++) {
                for (int j = 0; j < narrowed.size(); j++) {
                    if (i != j) {
                        assertThat(narrowed.get(i).contains(narrowed.get(j)))
                                .as("%s: redundant result %d in %s", at, j, narrowed).isFalse();
                    }
                }
            }
            assertThat(TrafficSelectors.parseList(TrafficSelectors.format(proposed))).as(at).isEqualTo(proposed);
        }
    }
}
