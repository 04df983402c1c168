package dev.keel.esp.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.keel.esp.packet.EspInUdp;

/**
 * RFC 3948 §2 classification of what arrives on UDP 4500, checked against the RFC's rules written
 * out again here: the single byte 0xFF is a NAT-keepalive (§2.3); four zero bytes are the non-ESP
 * marker in front of an IKE message, which needs its 28-byte header (§2.2); anything else of at
 * least 8 bytes (SPI and sequence number) is ESP; the rest is malformed. Seeds: strongSwan's 4500
 * datagrams (bench/fuzz/capture-ike-seeds.sh).
 */
class EspInUdpFuzzTest {

    @FuzzTest(maxDuration = "15s")
    void classify(byte[] datagram) {
        // classify at an offset too, as the receive path does inside a larger buffer
        byte[] framed = new byte[datagram.length + 3];
        System.arraycopy(datagram, 0, framed, 3, datagram.length);
        EspInUdp.Kind kind = EspInUdp.classify(framed, 3, datagram.length);

        assertThat(kind).isEqualTo(EspInUdp.classify(datagram, 0, datagram.length)).isEqualTo(expected(datagram));
    }

    private static EspInUdp.Kind expected(byte[] d) {
        if (d.length == 1 && (d[0] & 0xff) == 0xff) {
            return EspInUdp.Kind.NAT_KEEPALIVE;
        }
        boolean marker = d.length >= 4 && d[0] == 0 && d[1] == 0 && d[2] == 0 && d[3] == 0;
        if (marker) {
            return d.length >= 4 + 28 ? EspInUdp.Kind.IKE : EspInUdp.Kind.MALFORMED;
        }
        return d.length >= 8 ? EspInUdp.Kind.ESP : EspInUdp.Kind.MALFORMED;
    }
}
