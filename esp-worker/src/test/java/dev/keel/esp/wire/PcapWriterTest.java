package dev.keel.esp.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class PcapWriterTest {

    private static final HexFormat HEX = HexFormat.of();

    @Test
    void classicHeaderWithLinktypeRawAndOneRecord() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (PcapWriter w = PcapWriter.to(out)) {
            w.write(1_000_002L, new byte[] {0x45, 1, 2});
        }
        ByteBuffer b = ByteBuffer.wrap(out.toByteArray()).order(ByteOrder.LITTLE_ENDIAN);

        assertThat(b.getInt()).isEqualTo(0xa1b2c3d4);
        assertThat(b.getShort()).isEqualTo((short) 2);
        assertThat(b.getShort()).isEqualTo((short) 4);
        b.getInt();
        b.getInt();
        assertThat(b.getInt()).isEqualTo(262_144);
        assertThat(b.getInt()).isEqualTo(PcapWriter.LINKTYPE_RAW);
        assertThat(b.getInt()).isEqualTo(1); // seconds
        assertThat(b.getInt()).isEqualTo(2); // microseconds
        assertThat(b.getInt()).isEqualTo(3);
        assertThat(b.getInt()).isEqualTo(3);
        assertThat(b.remaining()).isEqualTo(3);
    }

    @Test
    void ipv4HeaderChecksumMatchesAWorkedExample() {
        // The widely used worked example (a UDP packet 192.168.0.1 -> 192.168.0.199): checksum b861.
        byte[] example = HEX.parseHex("450000730000400040110000c0a80001c0a800c7");
        assertThat(PcapWriter.internetChecksum(example, 0, 20)).isEqualTo(0xb861);
        byte[] p = PcapWriter.ipv4((Inet4Address) InetAddress.ofLiteral("192.168.0.1"),
                (Inet4Address) InetAddress.ofLiteral("192.168.0.199"), 17, new byte[0x73 - 20]);
        assertThat(PcapWriter.internetChecksum(p, 0, 20)).as("a header with its checksum sums to zero").isZero();
    }

    @Test
    void udpChecksumVerifiesOverThePseudoHeaderForBothFamilies() {
        for (String[] pair : new String[][] {{"192.0.2.1", "192.0.2.2"}, {"2001:db8::1", "2001:db8::2"}}) {
            InetAddress s = InetAddress.ofLiteral(pair[0]);
            InetAddress d = InetAddress.ofLiteral(pair[1]);
            byte[] payload = HEX.parseHex("0000c0de000000010102030405");
            byte[] udp = PcapWriter.udp(s, d, 4500, 4500, payload);
            byte[] pseudo = ByteBuffer.allocate(2 * s.getAddress().length + 8)
                    .put(s.getAddress()).put(d.getAddress()).putInt(udp.length).putInt(17).array();
            byte[] all = ByteBuffer.allocate(pseudo.length + udp.length + 1).put(pseudo).put(udp).array();

            assertThat(udp[6] | udp[7]).isNotZero();
            assertThat(PcapWriter.internetChecksum(all, 0, all.length)).as(pair[0]).isZero();
        }
    }

    @Test
    void espInUdpUsesPort4500BothWays() {
        byte[] p = PcapWriter.espInUdp(InetAddress.ofLiteral("2001:db8::1"), InetAddress.ofLiteral("2001:db8::2"),
                new byte[12]);
        assertThat(p).hasSize(40 + 8 + 12);
        assertThat(p[0] >>> 4).isEqualTo(6);
        assertThat(p[6]).isEqualTo((byte) 17);
        assertThat(ByteBuffer.wrap(p, 40, 4).getShort()).isEqualTo((short) 4500);
        assertThat(ByteBuffer.wrap(p, 42, 2).getShort()).isEqualTo((short) 4500);
    }

    @Test
    void mixedFamiliesAreRejected() {
        assertThatThrownBy(() -> PcapWriter.espInUdp(InetAddress.ofLiteral("192.0.2.1"),
                InetAddress.ofLiteral("2001:db8::2"), new byte[1])).isInstanceOf(IllegalArgumentException.class);
    }
}
