package dev.keel.core.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class IpPrefixAndRangeTest {

    private static IpAddress ip(String s) {
        return IpAddress.parse(s);
    }

    @Test
    void parsesPrefixesAndBareAddresses() {
        IpPrefix p = IpPrefix.parse("10.1.0.0/16");
        assertThat(p.address()).isEqualTo(ip("10.1.0.0"));
        assertThat(p.length()).isEqualTo(16);
        assertThat(p.first()).isEqualTo(ip("10.1.0.0"));
        assertThat(p.last()).isEqualTo(ip("10.1.255.255"));
        assertThat(p).hasToString("10.1.0.0/16");
        assertThat(IpPrefix.parse("192.0.2.1")).isEqualTo(IpPrefix.of(ip("192.0.2.1"), 32));
        assertThat(IpPrefix.parse("2001:db8::1")).hasToString("2001:db8::1/128");
        assertThat(IpPrefix.parse("0.0.0.0/0").toRange()).isEqualTo(IpRange.all(IpFamily.IPV4));
        assertThat(IpPrefix.parse("::/0").last()).isEqualTo(IpFamily.IPV6.max());
        assertThat(IpPrefix.parse("2001:db8::/32").last()).isEqualTo(ip("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"));
        assertThat(IpPrefix.parse("2001:db8::/65").last()).isEqualTo(ip("2001:db8::7fff:ffff:ffff:ffff"));
    }

    @Test
    void containsAddressesOfItsOwnFamilyOnly() {
        IpPrefix p = IpPrefix.parse("10.1.0.0/16");
        assertThat(p.contains(ip("10.1.200.3"))).isTrue();
        assertThat(p.contains(ip("10.2.0.0"))).isFalse();
        assertThat(p.contains(ip("::a01:0"))).isFalse();
        assertThat(IpPrefix.parse("0.0.0.0/0").contains(ip("255.255.255.255"))).isTrue();
        assertThat(IpPrefix.parse("2001:db8::/64").contains(ip("2001:db8::ffff:ffff:ffff:ffff"))).isTrue();
        assertThat(IpPrefix.parse("2001:db8::/64").contains(ip("2001:db8:0:1::"))).isFalse();
        assertThat(p.contains(IpPrefix.parse("10.1.2.0/24"))).isTrue();
        assertThat(IpPrefix.parse("10.1.2.0/24").contains(p)).isFalse();
    }

    @Test
    void containingClearsHostBits() {
        assertThat(IpPrefix.containing(ip("10.1.2.3"), 16)).hasToString("10.1.0.0/16");
        assertThat(IpPrefix.containing(ip("2001:db8::1"), 0)).hasToString("::/0");
        assertThat(IpPrefix.containing(ip("2001:db8:1234:5678::1"), 36)).hasToString("2001:db8:1000::/36");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '\'', textBlock = """
            10.1.2.3/16     | invalid IP prefix "10.1.2.3/16": host bits are set; the network is 10.1.0.0/16
            2001:db8::1/32  | invalid IP prefix "2001:db8::1/32": host bits are set; the network is 2001:db8::/32
            10.0.0.0/33     | invalid IP prefix "10.0.0.0/33": prefix length 33 is out of range 0-32 for IPv4
            ::/129          | invalid IP prefix "::/129": prefix length 129 is out of range 0-128 for IPv6
            10.0.0.0/       | invalid IP prefix "10.0.0.0/": missing prefix length after '/'
            10.0.0.0/08     | invalid IP prefix "10.0.0.0/08": prefix length 08 has a leading zero
            10.0.0.0/-8     | invalid IP prefix "10.0.0.0/-8": prefix length "-8" is not a number 0-32
            10.0.0.0/8/8    | invalid IP prefix "10.0.0.0/8/8": more than one '/'
            10.0.0.0/1000   | invalid IP prefix "10.0.0.0/1000": prefix length "1000" is not a number 0-32
            /8              | invalid IP prefix "/8": the address is empty
            10.0.0.300/8    | invalid IP prefix "10.0.0.300/8": octet 300 is out of range 0-255
            """)
    void rejectsMalformedPrefixesSayingWhy(String text, String message) {
        assertThatThrownBy(() -> IpPrefix.parse(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(message);
    }

    @Test
    void constructorRejectsHostBitsNamingTheNetwork() {
        assertThatThrownBy(() -> IpPrefix.of(ip("192.0.2.77"), 24))
                .hasMessage("192.0.2.77/24 has host bits set; the network is 192.0.2.0/24");
        assertThatThrownBy(() -> IpPrefix.of(ip("192.0.2.0"), 40))
                .hasMessage("prefix length 40 is out of range 0-32 for IPv4");
    }

    @Test
    void rangesParseAndValidate() {
        IpRange r = IpRange.parse("10.0.0.1-10.0.0.9");
        assertThat(r.start()).isEqualTo(ip("10.0.0.1"));
        assertThat(r.end()).isEqualTo(ip("10.0.0.9"));
        assertThat(r).hasToString("10.0.0.1-10.0.0.9");
        assertThat(IpRange.parse("2001:db8::1")).isEqualTo(IpRange.of(ip("2001:db8::1")));
        assertThat(IpRange.parse("2001:db8::1")).hasToString("2001:db8::1");
        assertThatThrownBy(() -> IpRange.parse("10.0.0.9-10.0.0.1"))
                .hasMessage("invalid IP range \"10.0.0.9-10.0.0.1\": start 10.0.0.9 is above end 10.0.0.1");
        assertThatThrownBy(() -> IpRange.parse("10.0.0.1-::1"))
                .hasMessage("invalid IP range \"10.0.0.1-::1\": mixes IPv4 and IPv6");
        assertThatThrownBy(() -> IpRange.parse("10.0.0.1-10.0.0.2-10.0.0.3"))
                .hasMessage("invalid IP range \"10.0.0.1-10.0.0.2-10.0.0.3\": more than one '-'");
        assertThatThrownBy(() -> IpRange.parse("10.0.0.1-"))
                .hasMessage("invalid IP range \"10.0.0.1-\": the address is empty");
        assertThatThrownBy(() -> IpRange.of(ip("10.0.0.9"), ip("10.0.0.1")))
                .hasMessage("range start 10.0.0.9 is above its end 10.0.0.1");
        assertThatThrownBy(() -> IpRange.of(ip("::"), ip("10.0.0.1")))
                .hasMessage("range ::-10.0.0.1 mixes IPv4 and IPv6");
    }

    @Test
    void rangeSetOperations() {
        IpRange a = IpRange.parse("10.0.0.0-10.0.0.100");
        IpRange b = IpRange.parse("10.0.0.50-10.0.1.0");
        assertThat(a.intersect(b)).contains(IpRange.parse("10.0.0.50-10.0.0.100"));
        assertThat(a.intersect(IpRange.parse("10.0.0.101-10.0.0.200"))).isEmpty();
        assertThat(a.intersect(IpRange.all(IpFamily.IPV6))).isEmpty();
        assertThat(a.contains(ip("10.0.0.100"))).isTrue();
        assertThat(a.contains(ip("10.0.0.101"))).isFalse();
        assertThat(a.contains(IpRange.parse("10.0.0.5-10.0.0.6"))).isTrue();
        assertThat(a.overlaps(b)).isTrue();

        byte[] pkt = {0, 0, 10, 0, 0, 100};
        assertThat(a.contains(pkt, 2, false)).isTrue();
        assertThat(a.contains(pkt, 2, true)).isFalse();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            10.0.0.0-10.0.0.255                   | 10.0.0.0/24
            0.0.0.0-255.255.255.255               | 0.0.0.0/0
            192.0.2.1-192.0.2.1                   | 192.0.2.1/32
            ::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff | ::/0
            2001:db8::-2001:db8::ffff:ffff:ffff:ffff | 2001:db8::/64
            2001:db8::-2001:db8:0:1:ffff:ffff:ffff:ffff | 2001:db8::/63
            ::-0:0:0:1::                          | -
            10.0.0.1-10.0.0.2                     | -
            10.0.0.0-10.0.0.2                     | -
            """)
    void detectsExactPrefixes(String range, String prefix) {
        IpRange r = IpRange.parse(range);
        if (prefix.equals("-")) {
            assertThat(r.isPrefix()).isFalse();
            assertThatThrownBy(r::toPrefix).isInstanceOf(IllegalStateException.class)
                    .hasMessage("range " + r + " is not a single prefix");
        } else {
            assertThat(r.isPrefix()).isTrue();
            assertThat(r.toPrefix()).hasToString(prefix);
            assertThat(r.toPrefixes()).containsExactly(IpPrefix.parse(prefix));
        }
    }

    @Test
    void splitsRangesIntoMinimalPrefixes() {
        assertThat(IpRange.parse("10.0.0.1-10.0.0.9").toPrefixes()).map(IpPrefix::toString)
                .containsExactly("10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/30", "10.0.0.8/31");
        assertThat(IpRange.parse("0.0.0.1-255.255.255.255").toPrefixes()).hasSize(32);
        assertThat(IpRange.parse("::1-ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe").toPrefixes()).hasSize(254);
        assertThat(IpRange.parse("::-0:0:0:1::").toPrefixes()).map(IpPrefix::toString)
                .isEqualTo(List.of("::/64", "0:0:0:1::/128"));
    }
}
