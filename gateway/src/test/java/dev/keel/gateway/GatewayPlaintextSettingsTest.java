package dev.keel.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.net.IpAddress;
import dev.keel.core.net.InterfaceAddress;
import dev.keel.esp.config.PlaintextConfig;
import dev.keel.esp.plain.PlaintextPort;
import dev.keel.esp.tun.TunPort;
import dev.keel.esp.wire.SystemTests;
import dev.keel.policy.config.PolicyConfig;
import java.net.InetSocketAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@code gateway.plaintext} is read by esp-worker's reader: the gateway takes every key the data
 * plane supports ({@code path_mtu}, {@code offload} too) and they reach the device it opens.
 */
class GatewayPlaintextSettingsTest {

    private static final String NODE = """
            gateway:
              address: 127.0.0.1
              plaintext:
            """;

    @Test
    void pathMtuAndOffloadReachTheTunSettings() {
        PlaintextConfig.Tun t = tun("tun: {name: kg0, path_mtu: 1300, offload: true, addresses: [192.168.7.1/24]}");
        assertThat(t).isEqualTo(new PlaintextConfig.Tun("kg0",
                List.of(new InterfaceAddress(IpAddress.parse("192.168.7.1"), 24)), 0, 1300, true));
        assertThat(GatewayNode.tunMtu(t)).isEqualTo(1200);
    }

    @Test
    void withoutThoseKeysTheTunIsWhatItWas() {
        PlaintextConfig.Tun t = tun("tun: {}");
        assertThat(t).isEqualTo(new PlaintextConfig.Tun("keel0", List.of(), 0, 1500, false));
        assertThat(GatewayNode.tunMtu(t)).isEqualTo(1400);
        assertThat(GatewayNode.tunMtu(tun("tun: {name: keel0, mtu: 1400}"))).isEqualTo(1400);
        assertThat(GatewayNode.tunMtu(tun("tun: {mtu: 9000, path_mtu: 9000}"))).isEqualTo(9000);
    }

    @Test
    void tunRoutesPreferTheOwnerByDefaultWhenTheClusterNamesOtherMembers() {
        String pair = "\n  cluster: {bind: 127.0.0.1:5701, members: [127.0.0.1:5701, 127.0.0.2:5701], kek_file: k.hex}";
        String alone = "\n  cluster: {bind: 127.0.0.1:5701, members: [127.0.0.1:5701]}";
        assertThat(tun("tun: {}").routes()).isEqualTo(PlaintextConfig.Routes.ALL);
        assertThat(tun("tun: {}" + alone).routes()).isEqualTo(PlaintextConfig.Routes.ALL);
        assertThat(tun("tun: {}" + pair).routes()).isEqualTo(PlaintextConfig.Routes.OWNER_PREFERRED);
        assertThat(tun("tun: {routes: all}" + pair).routes()).isEqualTo(PlaintextConfig.Routes.ALL);
        assertThat(tun("tun: {routes: owner_preferred}").routes()).isEqualTo(PlaintextConfig.Routes.OWNER_PREFERRED);
        assertThat(problems("tun: {routes: mine}" + pair)).containsExactly(
                "node.yaml:4:19: gateway.plaintext.tun.routes: 'mine' is not one of all, owner_preferred");
    }

    @Test
    void theVirtualWireIsTwoIpEndpoints() {
        assertThat(settings("virtual_wire: {bind: 127.0.0.1:20001, host: 127.0.0.1:21001}").plaintext()).isEqualTo(
                new PlaintextConfig.VirtualWire(new InetSocketAddress("127.0.0.1", 20001),
                        new InetSocketAddress("127.0.0.1", 21001)));
    }

    @Test
    void problemsNameFileLineColumnAndKeyPath() {
        assertThat(problems("tun: {name: this-name-is-too-long, offload: maybe, mtu: 70000}")).containsExactly(
                "node.yaml:4:17: gateway.plaintext.tun.name: 'this-name-is-too-long' is not a Linux interface name"
                        + " (1 to 15 printable ASCII characters without '/', ':' or spaces, not '.' or '..')",
                "node.yaml:4:61: gateway.plaintext.tun.mtu: 70000 is out of range 576-65535",
                "node.yaml:4:49: gateway.plaintext.tun.offload: expected true or false, found a string");
        assertThat(problems("virtual_wire: {bind: 127.0.0.1:20001, host: 127.0.0.1:0}")).containsExactly(
                "node.yaml:4:49: gateway.plaintext.virtual_wire.host: port 0: give the port the plaintext host"
                        + " receives on");
        assertThat(problems("{tun: {}, virtual_wire: {}}")).containsExactly(
                "node.yaml:4:5: gateway.plaintext: give exactly one of 'tun' or 'virtual_wire'");
    }

    @Test
    void theOpenedTunHasTheOffloadAndMtuOfTheFile() throws Exception {
        SystemTests.assumeRoot();
        GatewaySettings gs = settings("tun: {name: 'kgwt%d', path_mtu: 1300, offload: true}");
        PlaintextPort port = GatewayNode.openPlaintext(null, gs, PolicyConfig.empty());
        try (var device = ((TunPort) port).device()) {
            assertThat(device.offload()).isTrue();
            assertThat(device.mtu()).isEqualTo(1200);
            assertThat(((TunPort) port).innerMtu()).isEqualTo(1200);
        }
    }

    private static PlaintextConfig.Tun tun(String plaintext) {
        return (PlaintextConfig.Tun) settings(plaintext).plaintext();
    }

    private static GatewaySettings settings(String plaintext) {
        GatewaySettingsReader.Result r = GatewaySettingsReader.read("node.yaml", NODE + "    " + plaintext + "\n");
        assertThat(r).as(r.toString()).isInstanceOf(GatewaySettingsReader.Result.Valid.class);
        return ((GatewaySettingsReader.Result.Valid) r).settings();
    }

    private static List<String> problems(String plaintext) {
        GatewaySettingsReader.Result r = GatewaySettingsReader.read("node.yaml", NODE + "    " + plaintext + "\n");
        assertThat(r).as(r.toString()).isInstanceOf(GatewaySettingsReader.Result.Invalid.class);
        return ((GatewaySettingsReader.Result.Invalid) r).problems();
    }
}
