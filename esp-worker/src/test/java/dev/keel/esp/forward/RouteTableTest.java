package dev.keel.esp.forward;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.packet.IpPacketInfo;
import dev.keel.core.ts.TrafficSelector;
import dev.keel.esp.packet.InnerPackets;
import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

class RouteTableTest {

    private static final InetSocketAddress P1 = new InetSocketAddress("127.0.0.2", 4500);
    private static final InetSocketAddress P2 = new InetSocketAddress("127.0.0.3", 4500);

    private final RouteTable table = new RouteTable();
    private final IpPacketInfo info = new IpPacketInfo();

    private Route lookup(byte[] pkt) {
        assertThat(info.parse(pkt, 0, pkt.length)).isTrue();
        return table.lookup(pkt, info);
    }

    @Test
    void firstMatchingRouteWinsOnDestinationProtocolAndPort() {
        Route web = new Route(TrafficSelector.parse("10.2.0.0/16[tcp/5201]"), null, P1);
        Route rest = new Route(TrafficSelector.parse("10.2.0.0/16"), null, P2);
        table.add(web);
        table.add(rest);
        assertThat(lookup(InnerPackets.ipv4(InnerPackets.V4_A, InnerPackets.V4_B, 6, 10, 1))).isSameAs(web);
        assertThat(lookup(InnerPackets.ipv4(InnerPackets.V4_A, InnerPackets.V4_B, 17, 10, 1))).isSameAs(rest);
        assertThat(lookup(InnerPackets.ipv4(InnerPackets.V4_B, InnerPackets.V4_A, 17, 10, 1))).isNull();
        assertThat(lookup(InnerPackets.ipv6(17, 10, 1))).isNull();
    }

    @Test
    void removedRoutesNoLongerMatch() {
        table.add(new Route(TrafficSelector.parse("10.2.0.0/16"), null, P1));
        table.add(new Route(TrafficSelector.parse("2001:db8:2::/48"), null, P2));
        assertThat(lookup(InnerPackets.ipv6(17, 10, 1))).isNotNull();
        assertThat(table.removeIf(r -> r.peer().equals(P2))).isEqualTo(1);
        assertThat(lookup(InnerPackets.ipv6(17, 10, 1))).isNull();
        assertThat(table.all()).hasSize(1);
    }
}
