package dev.keel.esp.packet;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.esp.packet.EspInUdp.Kind;
import org.junit.jupiter.api.Test;

/** RFC 3948 §2 demultiplexing on UDP 4500. */
class EspInUdpTest {

    @Test
    void keepaliveIsTheSingleByteFf() {
        assertThat(EspInUdp.classify(new byte[] {(byte) 0xff}, 0, 1)).isEqualTo(Kind.NAT_KEEPALIVE);
        assertThat(EspInUdp.classify(new byte[] {(byte) 0xff, 0}, 0, 2)).isEqualTo(Kind.MALFORMED);
        byte[] b = new byte[1];
        assertThat(EspInUdp.writeNatKeepalive(b, 0)).isEqualTo(1);
        assertThat(EspInUdp.classify(b, 0, 1)).isEqualTo(Kind.NAT_KEEPALIVE);
    }

    @Test
    void zeroMarkerIntroducesIke() {
        byte[] ike = new byte[4 + 28];
        ike[5] = 1; // initiator SPI, non-zero
        assertThat(EspInUdp.classify(ike, 0, ike.length)).isEqualTo(Kind.IKE);
        assertThat(EspInUdp.classify(ike, 0, 20)).as("marker with a truncated IKE header").isEqualTo(Kind.MALFORMED);
    }

    @Test
    void nonZeroSpiIsEsp() {
        byte[] esp = {0, 0, 1, 0, 0, 0, 0, 1};
        assertThat(EspInUdp.classify(esp, 0, 8)).isEqualTo(Kind.ESP);
        assertThat(EspInUdp.classify(esp, 0, 7)).isEqualTo(Kind.MALFORMED);
        assertThat(EspInUdp.classify(esp, 0, 0)).isEqualTo(Kind.MALFORMED);
    }

    @Test
    void udpHeaderCarriesPortsAndLength() {
        byte[] b = new byte[8];
        EspInUdp.writeUdpHeader(b, 0, 4500, 4501, 100);
        assertThat(b).containsExactly(0x11, 0x94, 0x11, 0x95, 0, 108, 0, 0);
    }
}
