package dev.keel.core.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class IpAddressTest {

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', textBlock = """
            0.0.0.0                               | 0.0.0.0
            255.255.255.255                       | 255.255.255.255
            192.0.2.1                             | 192.0.2.1
            10.0.0.10                             | 10.0.0.10
            ::                                    | ::
            ::1                                   | ::1
            1::                                   | 1::
            0:0:0:0:0:0:0:1                       | ::1
            # RFC 5952 section 2.1-2.3: many spellings of one address, one canonical form (section 4)
            2001:db8:0:0:1:0:0:1                  | 2001:db8::1:0:0:1
            2001:0db8:0:0:1:0:0:1                 | 2001:db8::1:0:0:1
            2001:db8::1:0:0:1                     | 2001:db8::1:0:0:1
            2001:db8::0:1:0:0:1                   | 2001:db8::1:0:0:1
            2001:0db8::1:0:0:1                    | 2001:db8::1:0:0:1
            2001:db8:0:0:1::1                     | 2001:db8::1:0:0:1
            2001:db8:0000:0:1::1                  | 2001:db8::1:0:0:1
            2001:DB8:0:0:1::1                     | 2001:db8::1:0:0:1
            # RFC 5952 section 4.1: leading zeros suppressed
            2001:0db8::0001                       | 2001:db8::1
            # RFC 5952 section 4.2.1: '::' used to its maximum
            2001:db8:0:0:0:0:2:1                  | 2001:db8::2:1
            # RFC 5952 section 4.2.2: a single 16-bit zero field is not shortened
            2001:db8:0:1:1:1:1:1                  | 2001:db8:0:1:1:1:1:1
            # RFC 5952 section 4.2.3: longest run, and the first of equal runs
            2001:0:0:1:0:0:0:1                    | 2001:0:0:1::1
            2001:db8:0:0:1:0:0:1                  | 2001:db8::1:0:0:1
            # RFC 5952 section 4.3: lowercase
            2001:DB8::ABCD                        | 2001:db8::abcd
            # RFC 5952 section 5: IPv4-mapped addresses keep the dotted quad
            ::ffff:192.0.2.1                      | ::ffff:192.0.2.1
            0:0:0:0:0:ffff:c000:0201              | ::ffff:192.0.2.1
            # RFC 4291 section 2.2 form 3: embedded IPv4 elsewhere is printed in hex
            ::192.0.2.1                           | ::c000:201
            64:ff9b::192.0.2.33                   | 64:ff9b::c000:221
            1:2:3:4:5:6:1.2.3.4                   | 1:2:3:4:5:6:102:304
            ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff | ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff
            1:0:0:0:1:0:0:0                       | 1::1:0:0:0
            """)
    void parsesAndPrintsCanonically(String text, String canonical) {
        IpAddress a = IpAddress.parse(text);
        assertThat(a).hasToString(canonical);
        assertThat(IpAddress.parse(canonical)).isEqualTo(a);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '\'', textBlock = """
            ''                    | invalid IP address "": the address is empty
            1.2.3                 | invalid IP address "1.2.3": has 3 octets; expected four dotted decimal octets
            1.2.3.4.5             | invalid IP address "1.2.3.4.5": more than four octets
            1.2.3.256             | invalid IP address "1.2.3.256": octet 256 is out of range 0-255
            1.2.3.1000            | invalid IP address "1.2.3.1000": octet 1000 is out of range 0-255
            01.2.3.4              | invalid IP address "01.2.3.4": octet 01 has a leading zero
            1..2.3                | invalid IP address "1..2.3": empty octet; expected four dotted decimal octets
            1.2.3.                | invalid IP address "1.2.3.": empty octet; expected four dotted decimal octets
            1.2.3.4x              | invalid IP address "1.2.3.4x": unexpected character 'x' in an IPv4 address
            x1.2.3.4              | invalid IP address "x1.2.3.4": unexpected character 'x' in an IPv4 address
            -1.2.3.4              | invalid IP address "-1.2.3.4": unexpected character '-' in an IPv4 address
            ' 1.2.3.4'            | invalid IP address " 1.2.3.4": whitespace is not allowed
            '1.2.3.4 '            | invalid IP address "1.2.3.4 ": whitespace is not allowed
            fe80::1%eth0          | invalid IP address "fe80::1%eth0": zone ids ('%...') are not allowed
            [::1]                 | invalid IP address "[::1]": brackets are not allowed around an address
            example.com           | invalid IP address "example.com": unexpected character 'e' in an IPv4 address
            :                     | invalid IP address ":": starts with a single ':'
            :1::2                 | invalid IP address ":1::2": starts with a single ':'
            1:                    | invalid IP address "1:": ends with a single ':'
            :::                   | invalid IP address ":::": empty group (':::' or a second '::' is not allowed)
            1::2::3               | invalid IP address "1::2::3": '::' may appear only once
            1:2:3:4:5:6:7         | invalid IP address "1:2:3:4:5:6:7": has 7 groups; expected eight, or '::' for zeros
            1:2:3:4:5:6:7:8:9     | invalid IP address "1:2:3:4:5:6:7:8:9": more than eight groups
            1:2:3:4:5:6:7::8      | invalid IP address "1:2:3:4:5:6:7::8": '::' must stand for at least one zero group (RFC 4291 §2.2)
            12345::               | invalid IP address "12345::": group 12345 has more than four hex digits
            2001:db8::g           | invalid IP address "2001:db8::g": unexpected character 'g' in an IPv6 address
            1:2:3:4:5:6:7:1.2.3.4 | invalid IP address "1:2:3:4:5:6:7:1.2.3.4": the embedded IPv4 address must be in the last 32 bits
            ::1.2.3.4:5           | invalid IP address "::1.2.3.4:5": unexpected character ':' in an IPv4 address
            ::ffff:1.2.3.256      | invalid IP address "::ffff:1.2.3.256": octet 256 is out of range 0-255
            1.2.3.4::             | invalid IP address "1.2.3.4::": unexpected character ':' in an IPv4 address
            """)
    void rejectsMalformedTextSayingWhy(String text, String message) {
        assertThatThrownBy(() -> IpAddress.parse(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(message);
    }

    @Test
    void hostileTextIsQuotedEscapedAndCut() {
        assertThatThrownBy(() -> IpAddress.parse("1.2.3.4\n"))
                .hasMessage("invalid IP address \"1.2.3.4\\u000a\": whitespace is not allowed");
        assertThatThrownBy(() -> IpAddress.parse("1.2.3.\u0664"))
                .hasMessage("invalid IP address \"1.2.3.\\u0664\": unexpected character U+0664 in an IPv4 address");
        String longText = "1".repeat(1000);
        assertThatThrownBy(() -> IpAddress.parse(longText))
                .hasMessage("invalid IP address \"" + "1".repeat(64) + "...\": too long for an IP address");
    }

    @Test
    void neverResolvesNames() {
        assertThatThrownBy(() -> IpAddress.parse("localhost")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void convertsToAndFromBytes() {
        IpAddress v4 = IpAddress.parse("192.0.2.1");
        assertThat(v4.bytes()).containsExactly(192, 0, 2, 1);
        assertThat(IpAddress.fromBytes(new byte[] {(byte) 192, 0, 2, 1})).isEqualTo(v4);
        assertThat(v4.lowBits()).isEqualTo(0xC0000201L);
        assertThat(v4.highBits()).isZero();

        IpAddress v6 = IpAddress.parse("2001:db8::ff00:42:8329");
        byte[] raw = HexFormat.of().parseHex("20010db8000000000000ff0000428329");
        assertThat(v6.bytes()).isEqualTo(raw);
        assertThat(IpAddress.fromBytes(raw)).isEqualTo(v6);

        byte[] packet = new byte[40];
        v6.copyTo(packet, 8);
        assertThat(IpAddress.fromBytes(packet, 8, true)).isEqualTo(v6);
        v4.copyTo(packet, 30);
        assertThat(IpAddress.fromBytes(packet, 30, false)).isEqualTo(v4);

        byte[] copy = v4.bytes();
        copy[0] = 0;
        assertThat(v4).hasToString("192.0.2.1");
    }

    @Test
    void rejectsOtherByteLengths() {
        assertThatThrownBy(() -> IpAddress.fromBytes(new byte[5]))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("an IP address is 4 or 16 bytes long, not 5");
        assertThatThrownBy(() -> IpAddress.fromBytes(new byte[10], 0, true))
                .isInstanceOf(IndexOutOfBoundsException.class);
    }

    @Test
    void stepsAndStopsAtTheEnds() {
        assertThat(IpAddress.parse("10.0.0.255").next()).isEqualTo(IpAddress.parse("10.0.1.0"));
        assertThat(IpAddress.parse("10.0.1.0").previous()).isEqualTo(IpAddress.parse("10.0.0.255"));
        assertThat(IpAddress.parse("::ffff:ffff:ffff:ffff").next()).isEqualTo(IpAddress.parse("0:0:0:1::"));
        assertThat(IpAddress.parse("0:0:0:1::").previous()).isEqualTo(IpAddress.parse("::ffff:ffff:ffff:ffff"));
        assertThat(IpFamily.IPV4.max().next()).isNull();
        assertThat(IpFamily.IPV4.min().previous()).isNull();
        assertThat(IpFamily.IPV6.max().next()).isNull();
        assertThat(IpFamily.IPV6.min().previous()).isNull();
        assertThat(IpFamily.IPV4.max()).hasToString("255.255.255.255");
        assertThat(IpFamily.IPV6.min()).hasToString("::");
    }

    @Test
    void ordersIpv4BeforeIpv6ThenUnsigned() {
        assertThat(IpAddress.parse("255.255.255.255")).isLessThan(IpAddress.parse("::"));
        assertThat(IpAddress.parse("127.0.0.1")).isLessThan(IpAddress.parse("128.0.0.0"));
        assertThat(IpAddress.parse("7fff::")).isLessThan(IpAddress.parse("8000::"));
        assertThat(IpAddress.parse("::7fff:ffff:ffff:ffff")).isLessThan(IpAddress.parse("::8000:0:0:0"));
        assertThat(IpAddress.parse("::1")).isNotEqualTo(IpAddress.parse("0.0.0.1"));
    }

    @Test
    void familiesAndFactories() {
        assertThat(IpAddress.ofIpv4(0xC0000201)).isEqualTo(IpAddress.parse("192.0.2.1"));
        assertThat(IpAddress.ofIpv6(0x20010db800000000L, 1)).isEqualTo(IpAddress.parse("2001:db8::1"));
        assertThat(IpAddress.parse("::").isIpv6()).isTrue();
        assertThat(IpAddress.parse("0.0.0.0").isIpv4()).isTrue();
        assertThat(IpAddress.parse("::").family()).isEqualTo(IpFamily.IPV6);
        assertThat(IpFamily.IPV6.bitLength()).isEqualTo(128);
        assertThat(IpFamily.IPV4.byteLength()).isEqualTo(4);
    }
}
