package dev.keel.proto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import dev.keel.core.sa.IpsecMode;
import dev.keel.core.spd.SpdAction;
import dev.keel.core.spd.SpdEntry;
import dev.keel.core.ts.TrafficSelector;
import dev.keel.proto.v1.Endpoint;
import dev.keel.proto.v1.PolicyAction;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class CoreMappingTest {

    private static final dev.keel.proto.v1.TrafficSelector NET = CoreMapping.selector(TrafficSelector.parse("10.1.0.0/16"));

    @ParameterizedTest
    @ValueSource(strings = {"10.1.0.0/16", "10.0.0.1-10.0.0.9[tcp/80]", "2001:db8::/32[udp/1000-2000]",
            "0.0.0.0/0[icmp/3(1)]", "10.0.0.0/8[any/opaque]", "::/0"})
    void selectorsSurviveTheRoundTrip(String text) {
        TrafficSelector ts = TrafficSelector.parse(text);
        assertThat(CoreMapping.selector(CoreMapping.selector(ts), "ts")).isEqualTo(ts);
    }

    @Test
    void everySelectorRefusalNamesItsField() {
        refused(b -> b.setStartAddress(ByteString.copyFrom(new byte[5])), "ts.start_address: 5 bytes, want 4 (IPv4) or 16 (IPv6)");
        refused(b -> b.setEndAddress(ByteString.EMPTY), "ts.end_address: 0 bytes, want 4 (IPv4) or 16 (IPv6)");
        refused(b -> b.setEndAddress(ByteString.copyFrom(new byte[16])), "ts.end_address: address family differs from start_address");
        refused(b -> b.setEndAddress(ByteString.copyFrom(new byte[] {10, 0, 0, 0})), "ts.end_address: is below start_address");
        refused(b -> b.setIpProtocol(256), "ts.ip_protocol: 256 is not in 0..255");
        refused(b -> b.setIpProtocol(6).setStartPort(70000), "ts.start_port: 70000 is not in 0..65535");
        refused(b -> b.setIpProtocol(6).setEndPort(65536), "ts.end_port: 65536 is not in 0..65535");
        refused(b -> b.setIpProtocol(6).setStartPort(9).setEndPort(8), "ts: port range 9-8 is reversed");
        refused(b -> b.setStartPort(80).setEndPort(80), "ts: a port restriction needs a protocol with ports");
    }

    @Test
    void uint32FieldsAboveTwoToThe31AreOutOfRangeNotNegative() {
        // Java reads these uint32 fields as negative ints: a signed "> 255" check let them through.
        refused(b -> b.setIpProtocol(-1), "ts.ip_protocol: 4294967295 is not in 0..255");
        refused(b -> b.setIpProtocol(6).setStartPort(Integer.MIN_VALUE), "ts.start_port: 2147483648 is not in 0..65535");
        assertThatThrownBy(() -> CoreMapping.endpoint(endpoint(new byte[] {1, 2, 3, 4}, -1), "peer"))
                .hasMessage("peer.port: 4294967295 is not in 0..65535");
    }

    @Test
    void listsNameTheIndex() {
        var bad = NET.toBuilder().setIpProtocol(300).build();
        assertThatThrownBy(() -> CoreMapping.selectors(List.of(NET, bad), "child_sa.local_ts"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("child_sa.local_ts[1].ip_protocol: 300");
        assertThat(CoreMapping.selectors(List.of(NET, NET), "x")).hasSize(2);
    }

    @Test
    void endpointsRoundTripAndRefuseBadAddressesAndPorts() throws Exception {
        InetAddress v6 = InetAddress.getByName("2001:db8::7");
        Endpoint e = CoreMapping.endpoint(v6, 4500);
        assertThat(CoreMapping.endpoint(e, "peer")).isEqualTo(new InetSocketAddress(v6, 4500));
        assertThat(CoreMapping.endpoint(InetAddress.getByName("192.0.2.1"), 0).getPort()).isZero();

        assertThatThrownBy(() -> CoreMapping.endpoint(endpoint(new byte[3], 4500), "child_sa.local"))
                .hasMessage("child_sa.local.address: 3 bytes, want 4 (IPv4) or 16 (IPv6)");
        assertThatThrownBy(() -> CoreMapping.endpoint(endpoint(new byte[4], 70000), "child_sa.peer"))
                .hasMessage("child_sa.peer.port: 70000 is not in 0..65535");
    }

    @Test
    void spdEntriesRoundTripWithTheirTextAndChild() {
        TrafficSelector local = TrafficSelector.parse("10.1.0.0/16");
        TrafficSelector remote = TrafficSelector.parse("10.2.0.9[tcp/22]");
        SpdEntry protect = SpdEntry.protect("site-b", "net", local, remote);
        SpdEntry bypass = SpdEntry.of("mgmt", local, remote, SpdAction.BYPASS);

        dev.keel.proto.v1.SpdEntry wire = CoreMapping.spdEntry(protect).setOrder(3).build();
        assertThat(wire.getLocalText()).isEqualTo("10.1.0.0/16");
        assertThat(wire.getRemoteText()).isEqualTo("10.2.0.9/32[tcp/22]");
        assertThat(wire.getConnection()).isEqualTo("site-b");
        assertThat(wire.getChild()).isEqualTo("net");
        assertThat(CoreMapping.spd(List.of(wire, CoreMapping.spdEntry(bypass).build()), "spd"))
                .containsExactly(protect, bypass);
    }

    @Test
    void spdEntryRefusalsNameTheEntry() {
        var ok = CoreMapping.spdEntry(SpdEntry.of("open", TrafficSelector.parse("10.1.0.0/16"),
                TrafficSelector.parse("10.2.0.0/16"), SpdAction.BYPASS)).build();
        assertThatThrownBy(() -> CoreMapping.spd(List.of(ok, ok.toBuilder().setAction(PolicyAction.POLICY_ACTION_PROTECT)
                .build()), "spd")).hasMessage("spd[1]: PROTECT without connection and child");
        assertThatThrownBy(() -> CoreMapping.spdEntry(ok.toBuilder().setAction(PolicyAction.POLICY_ACTION_UNSPECIFIED)
                .build(), "spd[0]")).hasMessageStartingWith("spd[0].action: POLICY_ACTION_UNSPECIFIED");
        assertThatThrownBy(() -> CoreMapping.spdEntry(ok.toBuilder().setRemote(CoreMapping.selector(
                TrafficSelector.parse("2001:db8::/32"))).build(), "spd[0]"))
                .hasMessageStartingWith("spd[0]: selectors 10.1.0.0/16 and 2001:db8::/32 differ in family");
        assertThatThrownBy(() -> CoreMapping.spdEntry(ok.toBuilder().setLocal(ok.getLocal().toBuilder()
                .setStartAddress(ByteString.copyFrom(new byte[2]))).build(), "spd[0]"))
                .hasMessageStartingWith("spd[0].local.start_address: 2 bytes");
    }

    @Test
    void modesMapBothWaysAndUnspecifiedIsRefused() {
        for (IpsecMode m : IpsecMode.values()) {
            assertThat(CoreMapping.mode(CoreMapping.mode(m), "mode")).isEqualTo(m);
        }
        assertThatThrownBy(() -> CoreMapping.mode(dev.keel.proto.v1.IpsecMode.IPSEC_MODE_UNSPECIFIED, "child_sa.mode"))
                .hasMessage("child_sa.mode: IPSEC_MODE_UNSPECIFIED is not TUNNEL or TRANSPORT");
    }

    private static void refused(UnaryOperator<dev.keel.proto.v1.TrafficSelector.Builder> change, String message) {
        dev.keel.proto.v1.TrafficSelector ts = change.apply(NET.toBuilder()).build();
        assertThatThrownBy(() -> CoreMapping.selector(ts, "ts"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith(message);
    }

    private static Endpoint endpoint(byte[] address, int port) {
        return Endpoint.newBuilder().setAddress(ByteString.copyFrom(address)).setPort(port).build();
    }
}
