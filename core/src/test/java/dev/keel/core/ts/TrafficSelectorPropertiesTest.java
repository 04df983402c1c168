package dev.keel.core.ts;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.net.IpAddress;
import dev.keel.core.net.IpRange;
import java.util.List;
import java.util.Optional;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

/** Algebraic properties of selectors, over small neighbourhoods so that overlaps are common. */
class TrafficSelectorPropertiesTest {

    private static final long V4_BASE = 0x0A00_0000L; // 10.0.0.0
    private static final long V6_HI = 0x2001_0db8_0000_0000L; // 2001:db8::/64

    /** A packet side: protocol, address and port (or NO_PORT). */
    record Packet(int protocol, IpAddress address, int port) {
    }

    private static Arbitrary<IpAddress> addressOf(boolean ipv6) {
        Arbitrary<Integer> offset = Arbitraries.integers().between(0, 15);
        if (ipv6) {
            return Arbitraries.frequencyOf(Tuple.of(4, offset.map(o -> IpAddress.ofIpv6(V6_HI, o))), Tuple.of(1,
                    Arbitraries.of(IpAddress.ofIpv6(0, 0), IpAddress.ofIpv6(-1L, -1L),
                            IpAddress.ofIpv6(V6_HI, -1L), IpAddress.ofIpv6(V6_HI + 1, 0))));
        }
        return Arbitraries.frequencyOf(Tuple.of(4, offset.map(o -> IpAddress.ofIpv4((int) (V4_BASE + o)))),
                Tuple.of(1, Arbitraries.of(IpAddress.ofIpv4(0), IpAddress.ofIpv4(-1))));
    }

    private static Arbitrary<IpAddress> anyAddress() {
        return Arbitraries.frequencyOf(Tuple.of(3, addressOf(false)), Tuple.of(1, addressOf(true)));
    }

    private static Arbitrary<int[]> portsFor(int protocol) {
        Arbitrary<int[]> anyOrOpaque = Arbitraries.of(new int[] {0, 65535}, new int[] {65535, 0});
        if (!Protocols.hasPorts(protocol)) {
            return anyOrOpaque;
        }
        Arbitrary<Integer> port = Arbitraries.frequencyOf(Tuple.of(4, Arbitraries.integers().between(0, 10)),
                Tuple.of(1, Arbitraries.of(0x0800, 0x0801, 65534, 65535)));
        Arbitrary<int[]> range = Combinators.combine(port, port)
                .as((a, b) -> new int[] {Math.min(a, b), Math.max(a, b)});
        return Arbitraries.oneOf(anyOrOpaque, range, range);
    }

    @Provide
    Arbitrary<TrafficSelector> selectors() {
        return Arbitraries.of(false, false, false, true).flatMap(v6 -> Combinators.combine(addressOf(v6),
                        addressOf(v6), Arbitraries.of(0, 0, 6, 6, 6, 17, 1, 47))
                .flatAs((a, b, proto) -> portsFor(proto).map(ports -> TrafficSelector.of(
                        a.compareTo(b) <= 0 ? IpRange.of(a, b) : IpRange.of(b, a), proto, ports[0], ports[1]))));
    }

    @Provide
    Arbitrary<Packet> packets() {
        return Combinators.combine(Arbitraries.of(6, 6, 17, 1, 58, 47, 50), anyAddress(),
                        Arbitraries.frequencyOf(Tuple.of(4, Arbitraries.integers().between(-1, 10)),
                                Tuple.of(1, Arbitraries.of(0x0800, 0x0801, 65534, 65535))))
                .as(Packet::new);
    }

    private static boolean matches(TrafficSelector ts, Packet p) {
        return ts.matches(p.protocol(), p.address(), p.port());
    }

    /**
     * Pairs of selectors: half independent, half with the second built from the first's range (or
     * a part of it) and protocol with fresh ports, so that near-containment is common.
     */
    @Provide
    Arbitrary<TrafficSelector[]> pairs() {
        Arbitrary<TrafficSelector[]> independent = Combinators.combine(selectors(), selectors())
                .as((a, b) -> new TrafficSelector[] {a, b});
        Arbitrary<TrafficSelector[]> related = selectors().flatMap(a -> Combinators.combine(
                        addressOf(a.isIpv6()), addressOf(a.isIpv6()), Arbitraries.of(true, false),
                        Arbitraries.of(a.protocol(), a.protocol(), 0, 6, 17))
                .flatAs((x, y, shrink, proto) -> portsFor(proto).map(ports -> {
                    IpRange r = a.addressRange();
                    if (shrink) {
                        r = r.intersect(x.compareTo(y) <= 0 ? IpRange.of(x, y) : IpRange.of(y, x)).orElse(r);
                    }
                    TrafficSelector b = TrafficSelector.of(r, proto, ports[0], ports[1]);
                    return new TrafficSelector[] {a, b};
                })));
        return Arbitraries.oneOf(independent, related, related.map(p -> new TrafficSelector[] {p[1], p[0]}));
    }

    @Property(tries = 1000)
    void intersectionIsCommutativeAndWithinBoth(@ForAll("pairs") TrafficSelector[] pair) {
        TrafficSelector a = pair[0];
        TrafficSelector b = pair[1];
        Optional<TrafficSelector> i = a.intersect(b);
        assertThat(i).isEqualTo(b.intersect(a));
        i.ifPresent(x -> {
            assertThat(a.contains(x)).isTrue();
            assertThat(b.contains(x)).isTrue();
        });
        assertThat(a.intersect(a)).contains(a);
    }

    @Property(tries = 1500)
    void aPacketMatchesTheIntersectionIffItMatchesBoth(@ForAll("pairs") TrafficSelector[] pair,
            @ForAll("packets") Packet p) {
        TrafficSelector a = pair[0];
        TrafficSelector b = pair[1];
        boolean both = matches(a, p) && matches(b, p);
        assertThat(a.intersect(b).map(i -> matches(i, p)).orElse(false)).isEqualTo(both);
    }

    @Property(tries = 1500)
    void containsIffIntersectionIsTheOther(@ForAll("pairs") TrafficSelector[] pair, @ForAll("packets") Packet p) {
        TrafficSelector a = pair[0];
        TrafficSelector b = pair[1];
        assertThat(a.contains(b)).isEqualTo(a.intersect(b).equals(Optional.of(b)));
        assertThat(b.isSubsetOf(a)).isEqualTo(a.contains(b));
        if (a.contains(b) && matches(b, p)) {
            assertThat(matches(a, p)).isTrue();
        }
    }

    @Property(tries = 1000)
    void textRoundTrips(@ForAll("selectors") TrafficSelector a) {
        assertThat(TrafficSelector.parse(a.toString())).isEqualTo(a);
    }

    @Property(tries = 1000)
    void byteMatchingAgreesWithAddressMatching(@ForAll("selectors") TrafficSelector a, @ForAll("packets") Packet p) {
        byte[] buf = new byte[24];
        p.address().copyTo(buf, 5);
        assertThat(a.matches(p.protocol(), buf, 5, p.address().isIpv6(), p.port())).isEqualTo(matches(a, p));
    }

    @Property(tries = 1000)
    void orderingIsConsistentWithEquals(@ForAll("selectors") TrafficSelector a, @ForAll("selectors") TrafficSelector b) {
        assertThat(a.compareTo(b) == 0).isEqualTo(a.equals(b));
        assertThat(Integer.signum(a.compareTo(b))).isEqualTo(-Integer.signum(b.compareTo(a)));
        if (a.equals(b)) {
            assertThat(a.hashCode()).isEqualTo(b.hashCode());
        }
    }

    @Property(tries = 500)
    void narrowingMatchesExactlyWhatBothListsMatch(
            @ForAll("selectorLists") List<TrafficSelector> proposed,
            @ForAll("selectorLists") List<TrafficSelector> configured,
            @ForAll("packets") Packet p) {
        List<TrafficSelector> narrowed = TrafficSelectors.narrow(proposed, configured);
        boolean inBoth = proposed.stream().anyMatch(t -> matches(t, p)) && configured.stream().anyMatch(t -> matches(t, p));
        assertThat(narrowed.stream().anyMatch(t -> matches(t, p))).isEqualTo(inBoth);
        assertThat(TrafficSelectors.isSubsetOf(narrowed, proposed)).isTrue();
        assertThat(TrafficSelectors.isSubsetOf(narrowed, configured)).isTrue();
        for (int i = 0; i < narrowed.size(); i++) {
            for (int j = 0; j < narrowed.size(); j++) {
                if (i != j) {
                    assertThat(narrowed.get(i).contains(narrowed.get(j))).as("redundant result").isFalse();
                }
            }
        }
        assertThat(TrafficSelectors.parseList(TrafficSelectors.format(proposed))).isEqualTo(proposed);
    }

    @Provide
    Arbitrary<List<TrafficSelector>> selectorLists() {
        return selectors().list().ofMinSize(1).ofMaxSize(6);
    }
}
