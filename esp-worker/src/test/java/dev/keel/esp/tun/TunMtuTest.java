package dev.keel.esp.tun;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.packet.PacketBuffer;
import dev.keel.core.sa.IpsecMode;
import dev.keel.esp.packet.EncapOutcome;
import dev.keel.esp.packet.EspCounters;
import dev.keel.esp.packet.EspEncapsulator;
import dev.keel.esp.packet.InnerPackets;
import dev.keel.esp.packet.Suites;
import dev.keel.esp.raw.OuterTransport;
import dev.keel.esp.sa.EspSaSpec;
import dev.keel.esp.sa.OutboundSa;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The TUN MTU is the largest inner packet whose ESP packet still fits the path: checked against
 * what the encapsulator really emits, for every suite, both transports and both outer families.
 */
class TunMtuTest {

    @ParameterizedTest
    @EnumSource(Suites.class)
    void innerMtuIsTheLargestInnerPacketThatFitsThePath(Suites suite) {
        EspSaSpec spec = suite.spec(0x1000, IpsecMode.TUNNEL, true);
        for (OuterTransport transport : OuterTransport.values()) {
            for (boolean outerV6 : new boolean[] {false, true}) {
                for (int pathMtu : new int[] {1280, 1500, 9000}) {
                    int inner = TunMtu.innerMtu(pathMtu, outerV6, transport, spec);
                    int outerHeaders = (outerV6 ? 40 : 20) + transport.headerBytes();
                    String where = suite + " " + transport + (outerV6 ? " over IPv6" : " over IPv4") + ", path " + pathMtu;
                    assertThat(outerHeaders + espLength(spec, inner)).as(where + ": inner " + inner).isLessThanOrEqualTo(pathMtu);
                    assertThat(outerHeaders + espLength(spec, inner + 1)).as(where + ": inner " + (inner + 1)).isGreaterThan(pathMtu);
                }
            }
        }
    }

    @Test
    void rawEspLeavesTheEightBytesOfTheUdpHeaderToTheInnerPacket() {
        EspSaSpec gcm = Suites.AES128_GCM16.spec(0x1000, IpsecMode.TUNNEL, true);
        // 1500 - 20 (IPv4) - 8 (UDP) - 8 (ESP header) - 8 (IV) - 16 (ICV) = 1440, minus the 2 trailer bytes
        assertThat(TunMtu.innerMtu(1500, false, OuterTransport.UDP_ENCAP, gcm)).isEqualTo(1438);
        assertThat(TunMtu.innerMtu(1500, false, OuterTransport.RAW_ESP, gcm)).isEqualTo(1446);
        assertThat(TunMtu.innerMtu(1500, false, OuterTransport.RAW_ESP, List.of())).isEqualTo(1400);
    }

    /** Bytes of the ESP packet (header to ICV) the encapsulator makes from an inner IPv4 packet of {@code innerLength}. */
    private static int espLength(EspSaSpec spec, int innerLength) {
        OutboundSa sa = new OutboundSa(spec, null);
        PacketBuffer pkt = new PacketBuffer(16_384);
        byte[] inner = InnerPackets.ipv4(17, innerLength - 28, 1);
        assertThat(inner).hasSize(innerLength);
        pkt.set(inner, 0, inner.length);
        assertThat(new EspEncapsulator(new EspCounters()).encapsulate(sa, pkt)).isEqualTo(EncapOutcome.PROTECTED);
        return pkt.length();
    }
}
