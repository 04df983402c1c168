package dev.keel.esp.sa;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.core.packet.IpPacketInfo;
import dev.keel.core.ts.TrafficSelectors;
import dev.keel.esp.packet.InnerPackets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** RFC 4301 §5.2: inner packets are checked against the SA's selectors, both sides and ports. */
class SelectorPolicyTest {

    // InnerPackets sends from 10.1.0.5:40000 to 10.2.0.7:5201 (v4) and 2001:db8:1::5 -> 2001:db8:2::7 (v6).
    private final IpPacketInfo info = new IpPacketInfo();

    private boolean permits(SelectorPolicy policy, byte[] packet) {
        assertThat(info.parse(packet, 0, packet.length)).isTrue();
        return policy.permits(packet, info);
    }

    @Test
    void sourceMustBeRemoteAndDestinationLocal() {
        SelectorPolicy p = new SelectorPolicy(TrafficSelectors.parseList("10.2.0.0/16"), TrafficSelectors.parseList("10.1.0.0/16"));
        assertThat(permits(p, InnerPackets.ipv4(17, 10, 1))).isTrue();
        SelectorPolicy reversed = new SelectorPolicy(p.remote(), p.local());
        assertThat(permits(reversed, InnerPackets.ipv4(17, 10, 1))).isFalse();
    }

    @Test
    void protocolAndPortsCount() {
        SelectorPolicy tcpOnly = new SelectorPolicy(TrafficSelectors.parseList("10.2.0.0/16[tcp/5201]"),
                TrafficSelectors.parseList("10.1.0.0/16[tcp]"));
        assertThat(permits(tcpOnly, InnerPackets.ipv4(6, 10, 1))).isTrue();
        assertThat(permits(tcpOnly, InnerPackets.ipv4(17, 10, 1))).isFalse();
        SelectorPolicy otherPort = new SelectorPolicy(TrafficSelectors.parseList("10.2.0.0/16[tcp/80]"),
                TrafficSelectors.parseList("10.1.0.0/16"));
        assertThat(permits(otherPort, InnerPackets.ipv4(6, 10, 1))).isFalse();
    }

    @Test
    void icmpTypeIsMatchedAsAPort() {
        // InnerPackets' ICMP is an echo request: type 8, code 0.
        SelectorPolicy echo = new SelectorPolicy(TrafficSelectors.parseList("10.2.0.0/16[icmp/8]"),
                TrafficSelectors.parseList("10.1.0.0/16[icmp/8]"));
        assertThat(permits(echo, InnerPackets.ipv4(1, 10, 1))).isTrue();
        SelectorPolicy unreachable = new SelectorPolicy(TrafficSelectors.parseList("10.2.0.0/16[icmp/3]"),
                TrafficSelectors.parseList("10.1.0.0/16"));
        assertThat(permits(unreachable, InnerPackets.ipv4(1, 10, 1))).isFalse();
    }

    @Test
    void familiesDoNotMix() {
        SelectorPolicy v4 = new SelectorPolicy(TrafficSelectors.parseList("0.0.0.0/0"), TrafficSelectors.parseList("0.0.0.0/0"));
        assertThat(permits(v4, InnerPackets.ipv6(17, 10, 1))).isFalse();
        SelectorPolicy both = new SelectorPolicy(TrafficSelectors.parseList("0.0.0.0/0, ::/0"),
                TrafficSelectors.parseList("0.0.0.0/0, ::/0"));
        assertThat(permits(both, InnerPackets.ipv6(58, 10, 1))).isTrue();
        assertThat(permits(both, InnerPackets.ipv4(1, 10, 1))).isTrue();
    }

    @Test
    void emptySidesAreRefused() {
        assertThatThrownBy(() -> new SelectorPolicy(List.of(), TrafficSelectors.parseList("::/0")))
                .hasMessageContaining("at least one");
    }
}
