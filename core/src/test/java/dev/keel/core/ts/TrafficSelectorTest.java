package dev.keel.core.ts;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.core.net.IpAddress;
import dev.keel.core.net.IpFamily;
import dev.keel.core.net.IpPrefix;
import dev.keel.core.net.IpRange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class TrafficSelectorTest {

    private static final int TCP = 6;
    private static final int UDP = 17;
    private static final int ICMP = 1;
    private static final int GRE = 47;

    private static IpAddress ip(String s) {
        return IpAddress.parse(s);
    }

    private static TrafficSelector ts(String s) {
        return TrafficSelector.parse(s);
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', textBlock = """
            10.0.0.0/16                    | 10.0.0.0/16
            10.0.0.1-10.0.0.9              | 10.0.0.1-10.0.0.9
            10.0.0.1..10.0.0.9             | 10.0.0.1-10.0.0.9
            10.0.0.0-10.0.0.255            | 10.0.0.0/24
            192.0.2.1                      | 192.0.2.1/32
            192.0.2.1-192.0.2.1            | 192.0.2.1/32
            0.0.0.0/0                      | 0.0.0.0/0
            ::/0                           | ::/0
            2001:db8::1                    | 2001:db8::1/128
            2001:DB8::/32                  | 2001:db8::/32
            2001:db8::1-2001:db8::5        | 2001:db8::1-2001:db8::5
            ::ffff:10.0.0.0/104            | ::ffff:10.0.0.0/104
            10.0.0.0/8[tcp]                | 10.0.0.0/8[tcp]
            10.0.0.0/8[TCP]                | 10.0.0.0/8[tcp]
            10.0.0.0/8[6]                  | 10.0.0.0/8[tcp]
            10.0.0.0/8[tcp/80]             | 10.0.0.0/8[tcp/80]
            10.0.0.0/8[tcp/0]              | 10.0.0.0/8[tcp/0]
            10.0.0.0/8[tcp/any]            | 10.0.0.0/8[tcp]
            10.0.0.0/8[tcp/%any]           | 10.0.0.0/8[tcp]
            10.0.0.0/8[tcp/0-65535]        | 10.0.0.0/8[tcp]
            10.0.0.0/8[udp/1000-2000]      | 10.0.0.0/8[udp/1000-2000]
            10.0.0.0/8[17/53]              | 10.0.0.0/8[udp/53]
            10.0.0.0/8[udp/opaque]         | 10.0.0.0/8[udp/opaque]
            10.0.0.0/8[udp/%OPAQUE]        | 10.0.0.0/8[udp/opaque]
            10.0.0.0/8[any]                | 10.0.0.0/8
            10.0.0.0/8[%any]               | 10.0.0.0/8
            10.0.0.0/8[0]                  | 10.0.0.0/8
            10.0.0.0/8[any/any]            | 10.0.0.0/8
            10.0.0.0/8[any/opaque]         | 10.0.0.0/8[any/opaque]
            10.0.0.0/8[gre]                | 10.0.0.0/8[gre]
            10.0.0.0/8[gre/opaque]         | 10.0.0.0/8[gre/opaque]
            10.0.0.0/8[esp]                | 10.0.0.0/8[esp]
            10.0.0.0/8[250]                | 10.0.0.0/8[250]
            10.0.0.0/8[sctp/5060]          | 10.0.0.0/8[sctp/5060]
            10.0.0.0/8[icmp]               | 10.0.0.0/8[icmp]
            10.0.0.0/8[icmp/8]             | 10.0.0.0/8[icmp/8]
            10.0.0.0/8[icmp/3(1)]          | 10.0.0.0/8[icmp/3(1)]
            10.0.0.0/8[icmp/769]           | 10.0.0.0/8[icmp/3(1)]
            10.0.0.0/8[icmp/3-3(255)]      | 10.0.0.0/8[icmp/3-3(255)]
            10.0.0.0/8[icmp/0-8]           | 10.0.0.0/8[icmp/0-8]
            2001:db8::/32[ipv6-icmp/128]   | 2001:db8::/32[ipv6-icmp/128]
            2001:db8::/32[icmp6/135]       | 2001:db8::/32[ipv6-icmp/135]
            2001:db8::/32[icmpv6]          | 2001:db8::/32[ipv6-icmp]
            2001:db8::/32[ipv6-mh/5]       | 2001:db8::/32[mobility-header/5]
            """)
    void parsesSwanctlSyntaxAndPrintsCanonically(String text, String canonical) {
        TrafficSelector t = ts(text);
        assertThat(t).hasToString(canonical);
        assertThat(ts(canonical)).isEqualTo(t);
    }

    @Test
    void exposesTheWireFields() {
        TrafficSelector t = ts("10.0.0.1-10.0.0.9[udp/1000-2000]");
        assertThat(t.type()).isEqualTo(TsType.TS_IPV4_ADDR_RANGE);
        assertThat(t.type().number()).isEqualTo(7);
        assertThat(t.protocol()).isEqualTo(UDP);
        assertThat(t.startPort()).isEqualTo(1000);
        assertThat(t.endPort()).isEqualTo(2000);
        assertThat(t.startAddress()).isEqualTo(ip("10.0.0.1"));
        assertThat(t.endAddress()).isEqualTo(ip("10.0.0.9"));
        assertThat(t.isIpv6()).isFalse();

        TrafficSelector v6 = ts("::/0");
        assertThat(v6.type()).isEqualTo(TsType.TS_IPV6_ADDR_RANGE);
        assertThat(v6.type().number()).isEqualTo(8);
        assertThat(v6.protocol()).isZero();
        assertThat(v6.startPort()).isZero();
        assertThat(v6.endPort()).isEqualTo(65535);
        assertThat(v6.isAnyPort()).isTrue();
        assertThat(v6).isEqualTo(TrafficSelector.all(IpFamily.IPV6));

        TrafficSelector opaque = ts("10.0.0.0/8[udp/opaque]");
        assertThat(opaque.startPort()).isEqualTo(65535);
        assertThat(opaque.endPort()).isZero();
        assertThat(opaque.isOpaquePort()).isTrue();

        assertThat(ts("10.0.0.0/8[icmp/3(1)]").startPort()).isEqualTo(TrafficSelector.icmpPort(3, 1)).isEqualTo(0x0301);
        assertThat(ts("10.0.0.0/8[icmp/8]").startPort()).isEqualTo(0x0800);

        assertThat(TsType.fromNumber(7)).isEqualTo(TsType.TS_IPV4_ADDR_RANGE);
        assertThat(TsType.fromNumber(8)).isEqualTo(TsType.TS_IPV6_ADDR_RANGE);
        assertThatThrownBy(() -> TsType.fromNumber(10)).hasMessage("unsupported traffic selector type 10");
    }

    @Test
    void resolvesDynamicOnlyWhenGivenTheAddress() {
        assertThat(TrafficSelector.parse("dynamic", ip("192.0.2.7"))).isEqualTo(TrafficSelector.host(ip("192.0.2.7")));
        assertThat(TrafficSelector.parse("dynamic[tcp/22]", ip("2001:db8::7")))
                .hasToString("2001:db8::7/128[tcp/22]");
        assertThat(TrafficSelector.host(ip("192.0.2.7")).isHost()).isTrue();
        assertThat(TrafficSelector.host(ip("192.0.2.7"))).hasToString("192.0.2.7/32");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '\'', textBlock = """
            dynamic                   | invalid traffic selector "dynamic": 'dynamic' must be resolved to the tunnel or virtual IP address first; use parse(text, address) or TrafficSelector.host(address)
            dynamic[tcp]              | invalid traffic selector "dynamic[tcp]": 'dynamic' must be resolved to the tunnel or virtual IP address first; use parse(text, address) or TrafficSelector.host(address)
            ''                        | invalid traffic selector "": missing address; use 0.0.0.0/0 or ::/0 for any address
            [icmp/8]                  | invalid traffic selector "[icmp/8]": missing address; use 0.0.0.0/0 or ::/0 for any address
            %any                      | invalid traffic selector "%any": use 0.0.0.0/0 or ::/0 for any address
            10.0.0.0/8[tcp            | invalid traffic selector "10.0.0.0/8[tcp": missing ']' after '['
            10.0.0.0/8]               | invalid traffic selector "10.0.0.0/8]": ']' without '['
            10.0.0.0/8[tcp]x          | invalid traffic selector "10.0.0.0/8[tcp]x": unexpected text after ']'
            10.0.0.0/8[[tcp]]         | invalid traffic selector "10.0.0.0/8[[tcp]]": more than one '['
            10.0.0.0/8[]              | invalid traffic selector "10.0.0.0/8[]": missing protocol in '[...]'; use 'any' for all protocols
            10.0.0.0/8[/80]           | invalid traffic selector "10.0.0.0/8[/80]": missing protocol in '[...]'; use 'any' for all protocols
            10.0.0.0/8[foo]           | invalid traffic selector "10.0.0.0/8[foo]": unknown protocol "foo"; use a number 0-255, 'any' or one of: tcp, udp, icmp, ipv6-icmp (icmp6), sctp, udplite, dccp, gre, esp, ah, ipv6, ipencap, igmp, ospf, pim, vrrp, l2tp, mobility-header (ipv6-mh)
            10.0.0.0/8[256]           | invalid traffic selector "10.0.0.0/8[256]": protocol 256 is out of range 0-255
            10.0.0.0/8[06]            | invalid traffic selector "10.0.0.0/8[06]": protocol "06" has a leading zero
            10.0.0.0/8[tcp/http]      | invalid traffic selector "10.0.0.0/8[tcp/http]": port "http" is not a number (service names are not supported)
            10.0.0.0/8[tcp/70000]     | invalid traffic selector "10.0.0.0/8[tcp/70000]": port 70000 is out of range 0-65535
            10.0.0.0/8[tcp/99999999999] | invalid traffic selector "10.0.0.0/8[tcp/99999999999]": port 99999999999 is out of range 0-65535
            10.0.0.0/8[tcp/080]       | invalid traffic selector "10.0.0.0/8[tcp/080]": port "080" has a leading zero
            10.0.0.0/8[tcp/-1]        | invalid traffic selector "10.0.0.0/8[tcp/-1]": missing port number
            10.0.0.0/8[tcp/]          | invalid traffic selector "10.0.0.0/8[tcp/]": missing port number
            10.0.0.0/8[tcp/2000-1000] | invalid traffic selector "10.0.0.0/8[tcp/2000-1000]": port range "2000-1000" is reversed
            10.0.0.0/8[tcp/1-2-3]     | invalid traffic selector "10.0.0.0/8[tcp/1-2-3]": port "2-3" is not a number (service names are not supported)
            10.0.0.0/8[gre/80]        | invalid traffic selector "10.0.0.0/8[gre/80]": protocol gre (47) has no ports; only any or opaque ports are allowed
            10.0.0.0/8[any/80]        | invalid traffic selector "10.0.0.0/8[any/80]": a port restriction needs a protocol with ports, e.g. tcp or udp, not any protocol
            10.0.0.0/8[icmp/256(1)]   | invalid traffic selector "10.0.0.0/8[icmp/256(1)]": ICMP type 256 is out of range 0-255
            10.0.0.0/8[icmp/3(1]      | invalid traffic selector "10.0.0.0/8[icmp/3(1]": ICMP type(code) "3(1" is missing its ')'
            10.0.0.0/8[icmp/3()]      | invalid traffic selector "10.0.0.0/8[icmp/3()]": missing ICMP code
            10.0.0.1/8                | invalid traffic selector "10.0.0.1/8": invalid IP prefix "10.0.0.1/8": host bits are set; the network is 10.0.0.0/8
            10.0.0.300/8[tcp]         | invalid traffic selector "10.0.0.300/8[tcp]": invalid IP prefix "10.0.0.300/8": octet 300 is out of range 0-255
            10.0.0.1-::1              | invalid traffic selector "10.0.0.1-::1": invalid IP range "10.0.0.1-::1": mixes IPv4 and IPv6
            10.0.0.9-10.0.0.1         | invalid traffic selector "10.0.0.9-10.0.0.1": invalid IP range "10.0.0.9-10.0.0.1": start 10.0.0.9 is above end 10.0.0.1
            10.0.0.9..10.0.0.1        | invalid traffic selector "10.0.0.9..10.0.0.1": range start 10.0.0.9 is above its end 10.0.0.1
            fe80::1%eth0/64           | invalid traffic selector "fe80::1%eth0/64": invalid IP prefix "fe80::1%eth0/64": zone ids ('%...') are not allowed
            10.0.0.0/8 [tcp]          | invalid traffic selector "10.0.0.0/8 [tcp]": invalid IP prefix "10.0.0.0/8 ": prefix length "8 " is not a number 0-32
            vpn.example.com           | invalid traffic selector "vpn.example.com": invalid IP address "vpn.example.com": unexpected character 'v' in an IPv4 address
            """)
    void rejectsMalformedTextSayingWhy(String text, String message) {
        assertThatThrownBy(() -> ts(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(message);
    }

    @Test
    void rejectsOverlongText() {
        String text = "10.0.0.0/8[tcp/" + "1".repeat(300) + "]";
        assertThatThrownBy(() -> ts(text))
                .hasMessage("invalid traffic selector \"" + text.substring(0, 64) + "...\": too long (at most 200 characters)");
    }

    @Test
    void factoryEnforcesRfc7296Section3_13_1() {
        IpRange r = IpPrefix.parse("10.0.0.0/8").toRange();
        assertThatThrownBy(() -> TrafficSelector.of(r, 256, 0, 65535))
                .hasMessage("protocol 256 is out of range 0-255");
        assertThatThrownBy(() -> TrafficSelector.of(r, TCP, 0, 65536))
                .hasMessage("port range 0-65536 is out of range 0-65535");
        assertThatThrownBy(() -> TrafficSelector.of(r, TCP, 90, 80))
                .hasMessage("port range 90-80 is reversed (only 65535-0, OPAQUE, may be)");
        assertThatThrownBy(() -> TrafficSelector.of(r, 0, 80, 80))
                .hasMessage("a port restriction needs a protocol with ports, e.g. tcp or udp, not any protocol");
        assertThat(TrafficSelector.of(r, GRE, 65535, 0).isOpaquePort()).isTrue();
        assertThat(TrafficSelector.of(ip("10.0.0.1"), ip("10.0.0.2"), TCP, 22, 22)).hasToString("10.0.0.1-10.0.0.2[tcp/22]");
    }

    @Test
    void matchesOneSideOfAPacketWithoutIpAddressObjects() {
        TrafficSelector web = ts("192.0.2.0/24[tcp/80-443]");
        byte[] header = new byte[20];
        ip("192.0.2.77").copyTo(header, 12); // IPv4 source address offset
        assertThat(web.matches(TCP, header, 12, false, 80)).isTrue();
        assertThat(web.matches(TCP, header, 12, false, 443)).isTrue();
        assertThat(web.matches(TCP, header, 12, false, 444)).isFalse();
        assertThat(web.matches(UDP, header, 12, false, 80)).isFalse();
        assertThat(web.matches(TCP, header, 12, true, 80)).as("family mismatch").isFalse();
        assertThat(web.matches(TCP, header, 12, false, TrafficSelector.NO_PORT)).as("fragment").isFalse();
        ip("192.0.3.1").copyTo(header, 12);
        assertThat(web.matches(TCP, header, 12, false, 80)).isFalse();

        TrafficSelector v6 = ts("2001:db8::/32");
        byte[] v6header = new byte[40];
        ip("2001:db8:1::1").copyTo(v6header, 24);
        assertThat(v6.matches(GRE, v6header, 24, true, TrafficSelector.NO_PORT)).isTrue();
        assertThat(v6.matches(TCP, v6header, 24, true, 22)).isTrue();
        assertThat(v6.matches(TCP, v6header, 8, true, 22)).isFalse();
    }

    @Test
    void opaqueAndAnyPortsFollowRfc4301() {
        TrafficSelector any = ts("10.0.0.0/8");
        TrafficSelector opaque = ts("10.0.0.0/8[any/opaque]");
        TrafficSelector udpOpaque = ts("10.0.0.0/8[udp/opaque]");
        TrafficSelector dns = ts("10.0.0.0/8[udp/53]");
        IpAddress a = ip("10.1.2.3");

        // Packet without ports: protocol has none, or a non-initial fragment.
        assertThat(any.matches(GRE, a, TrafficSelector.NO_PORT)).isTrue();
        assertThat(opaque.matches(GRE, a, TrafficSelector.NO_PORT)).isTrue();
        assertThat(opaque.matches(GRE, a, 53)).as("GRE has no ports whatever is passed").isTrue();
        assertThat(dns.matches(UDP, a, TrafficSelector.NO_PORT)).isFalse();
        assertThat(udpOpaque.matches(UDP, a, TrafficSelector.NO_PORT)).isTrue();

        // Packet with ports.
        assertThat(any.matches(UDP, a, 53)).isTrue();
        assertThat(dns.matches(UDP, a, 53)).isTrue();
        assertThat(opaque.matches(UDP, a, 53)).isFalse();
        assertThat(udpOpaque.matches(UDP, a, 53)).isFalse();
    }

    @Test
    void icmpTypeAndCodeAreThePort() {
        TrafficSelector echo = ts("0.0.0.0/0[icmp/8]");
        TrafficSelector unreachable = ts("0.0.0.0/0[icmp/3-3(255)]");
        IpAddress a = ip("198.51.100.1");
        assertThat(echo.matches(ICMP, a, TrafficSelector.icmpPort(8, 0))).isTrue();
        assertThat(echo.matches(ICMP, a, TrafficSelector.icmpPort(0, 0))).isFalse();
        assertThat(unreachable.matches(ICMP, a, TrafficSelector.icmpPort(3, 4))).isTrue();
        assertThat(unreachable.matches(ICMP, a, TrafficSelector.icmpPort(4, 0))).isFalse();
        assertThatThrownBy(() -> TrafficSelector.icmpPort(256, 0))
                .hasMessage("ICMP type 256 or code 0 is out of range 0-255");
    }

    @Test
    void intersectsLikeAResponderNarrows() {
        assertThat(ts("10.0.0.0/8").intersect(ts("10.1.0.0/16[tcp/80]"))).contains(ts("10.1.0.0/16[tcp/80]"));
        assertThat(ts("10.0.0.0/24[tcp/1-100]").intersect(ts("10.0.0.128/25[tcp/50-200]")))
                .contains(ts("10.0.0.128/25[tcp/50-100]"));
        assertThat(ts("10.0.0.0/24[tcp]").intersect(ts("10.0.0.0/24[udp]"))).isEmpty();
        assertThat(ts("10.0.0.0/24[tcp/1-10]").intersect(ts("10.0.0.0/24[tcp/11-20]"))).isEmpty();
        assertThat(ts("10.0.0.0/24").intersect(ts("10.0.1.0/24"))).isEmpty();
        assertThat(ts("0.0.0.0/0").intersect(ts("::/0"))).isEmpty();
        assertThat(ts("10.0.0.0/8[udp/opaque]").intersect(ts("10.0.0.0/8"))).contains(ts("10.0.0.0/8[udp/opaque]"));
        assertThat(ts("10.0.0.0/8[any/opaque]").intersect(ts("10.0.0.0/8[udp]"))).contains(ts("10.0.0.0/8[udp/opaque]"));
        assertThat(ts("10.0.0.0/8[udp/opaque]").intersect(ts("10.0.0.0/8[udp/53]"))).isEmpty();
        assertThat(ts("10.0.0.1-10.0.0.9").intersect(ts("10.0.0.8/29"))).contains(ts("10.0.0.8-10.0.0.9"));
    }

    @Test
    void containmentIsSubsetOfMatches() {
        assertThat(ts("10.0.0.0/8").contains(ts("10.1.0.0/16[tcp/80]"))).isTrue();
        assertThat(ts("10.1.0.0/16[tcp/80]").isSubsetOf(ts("10.0.0.0/8"))).isTrue();
        assertThat(ts("10.0.0.0/8[tcp]").contains(ts("10.1.0.0/16"))).isFalse();
        assertThat(ts("10.0.0.0/8[tcp]").contains(ts("10.1.0.0/16[tcp/opaque]"))).isTrue();
        assertThat(ts("10.0.0.0/8[tcp/1-100]").contains(ts("10.1.0.0/16[tcp/opaque]"))).isFalse();
        assertThat(ts("10.0.0.0/8[tcp/opaque]").contains(ts("10.1.0.0/16[tcp/80]"))).isFalse();
        assertThat(ts("0.0.0.0/0").contains(ts("::/0"))).isFalse();
        assertThat(ts("0.0.0.0/0").contains(ip("192.0.2.1"))).isTrue();
    }

    @Test
    void sortsLikeStrongSwan() {
        assertThat(java.util.stream.Stream.of("::/0", "10.0.0.0/24", "10.0.0.0/8[udp]", "10.0.0.0/8", "9.0.0.0/8",
                        "10.0.0.0/8[tcp/80]", "10.0.0.0/8[tcp]").map(TrafficSelector::parse).sorted()
                .map(TrafficSelector::toString))
                .containsExactly("9.0.0.0/8", "10.0.0.0/8", "10.0.0.0/8[tcp]", "10.0.0.0/8[tcp/80]", "10.0.0.0/8[udp]",
                        "10.0.0.0/24", "::/0");
    }
}
