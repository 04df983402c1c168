package dev.keel.esp.raw;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** What a raw socket read is cut to before decapsulation, and the sockaddr written for sendto. */
class RawEspFramesTest {

    private static final HexFormat HEX = HexFormat.of();

    private static MemorySegment seg(String hex) {
        return MemorySegment.ofArray(HEX.parseHex(hex));
    }

    @Test
    void ipv4HeaderIsStrippedByItsIhl() {
        // A 20-byte IPv4 header (protocol 0x32 = 50), then SPI 0xc0000001 and sequence 1.
        String v4 = "4500001c0000400040320000" + "0a4d0001" + "0a4d0002" + "c0000001" + "00000001";
        assertThat(RawEspTransport.espStart(seg(v4), 28, false)).isEqualTo(20);
        // IHL 6: one word of options.
        String opts = "4600" + "0020" + "00004000" + "40320000" + "0a4d0001" + "0a4d0002" + "01010100" + "c0000001" + "00000001";
        assertThat(RawEspTransport.espStart(seg(opts), 32, false)).isEqualTo(24);
    }

    @Test
    void ipv6ReadsStartWithTheEspHeader() {
        assertThat(RawEspTransport.espStart(seg("c000000100000001aabb"), 10, true)).isZero();
    }

    @Test
    void nonEspBytesAreRefused() {
        String header = "4500001c0000400040320000" + "0a4d0001" + "0a4d0002";
        assertThat(RawEspTransport.espStart(seg(header + "00000000" + "00000001"), 28, false)).as("SPI 0").isEqualTo(-1);
        assertThat(RawEspTransport.espStart(seg(header + "c0000001"), 24, false)).as("no sequence").isEqualTo(-1);
        assertThat(RawEspTransport.espStart(seg("6500001c0000400040320000" + "0a4d0001" + "0a4d0002" + "c0000001"
                + "00000001"), 28, false)).as("version 6 on an IPv4 socket").isEqualTo(-1);
        assertThat(RawEspTransport.espStart(seg("4f00001c0000400040320000" + "0a4d0001" + "0a4d0002" + "c0000001"
                + "00000001"), 28, false)).as("IHL beyond the read").isEqualTo(-1);
        assertThat(RawEspTransport.espStart(seg("4400001c0000400040320000" + "0a4d0001" + "0a4d0002" + "c0000001"
                + "00000001"), 28, false)).as("IHL below 5").isEqualTo(-1);
        assertThat(RawEspTransport.espStart(seg("450000"), 3, false)).isEqualTo(-1);
        assertThat(RawEspTransport.espStart(seg("00000000aabbccdd"), 8, true)).isEqualTo(-1);
        assertThat(RawEspTransport.espStart(seg("c0000001"), 4, true)).isEqualTo(-1);
    }

    @Test
    void sockaddrsMatchTheLinuxLayout() throws Exception {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sa = a.allocate(28);
            assertThat(RawEspTransport.writeSockaddr(sa, InetAddress.getByName("10.77.0.2"))).isEqualTo(16);
            // sin_family AF_INET (2, little-endian host order), sin_port 0, sin_addr, 8 zero bytes.
            assertThat(HEX.formatHex(sa.asSlice(0, 16).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE)))
                    .isEqualTo("020000000a4d00020000000000000000");
            assertThat(RawEspTransport.writeSockaddr(sa, InetAddress.getByName("fd00::2"))).isEqualTo(28);
            assertThat(HEX.formatHex(sa.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE)))
                    .isEqualTo("0a00" + "0000" + "00000000" + "fd000000000000000000000000000002" + "00000000");
        }
    }
}
