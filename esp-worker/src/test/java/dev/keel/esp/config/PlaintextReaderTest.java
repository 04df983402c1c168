package dev.keel.esp.config;

import dev.keel.core.net.InterfaceAddress;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.config.ConfigProblem;
import dev.keel.core.config.Nodes;
import dev.keel.core.config.Problems;
import dev.keel.core.config.YamlText;
import dev.keel.core.net.IpAddress;
import java.net.InetSocketAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The one reader of a plaintext side, as the worker and the gateway use it. */
class PlaintextReaderTest {

    private static final PlaintextReader.TunDefaults DEFAULTS = new PlaintextReader.TunDefaults("kt%d", false);

    @Test
    void tunTakesEveryKeyTheDataPlaneSupportsAndTheCallersDefaults() {
        assertThat(read("tun: {}")).isEqualTo(new PlaintextConfig.Tun("kt%d", List.of(), 0, 1500, false));
        assertThat(read("tun: {name: kt0, addresses: [192.168.1.1/24, '2001:db8::1/64'], mtu: 1400, path_mtu: 9000,"
                + " offload: true}")).isEqualTo(new PlaintextConfig.Tun("kt0",
                        List.of(new InterfaceAddress(IpAddress.parse("192.168.1.1"), 24),
                                new InterfaceAddress(IpAddress.parse("2001:db8::1"), 64)), 1400, 9000, true));
        assertThat(read("tun: {mtu: auto}")).isEqualTo(new PlaintextConfig.Tun("kt%d", List.of(), 0, 1500, false));
    }

    @Test
    void routesIsASettingOfADataPlaneThatFollowsOwnership() {
        PlaintextReader.TunDefaults fed = new PlaintextReader.TunDefaults("kt%d", false, PlaintextConfig.Routes.OWNER_PREFERRED);
        assertThat(((PlaintextConfig.Tun) read("tun: {}", fed)).routes()).isEqualTo(PlaintextConfig.Routes.OWNER_PREFERRED);
        assertThat(((PlaintextConfig.Tun) read("tun: {routes: all}", fed)).routes()).isEqualTo(PlaintextConfig.Routes.ALL);
        assertThat(((PlaintextConfig.Tun) read("tun: {}")).routes()).isEqualTo(PlaintextConfig.Routes.ALL);
        assertThat(problems("tun: {routes: some}", fed)).containsExactly(
                "p.yaml:1:15: plaintext.tun.routes: 'some' is not one of all, owner_preferred");
        assertThat(problems("tun: {routes: owner_preferred}", DEFAULTS)).containsExactly(
                "p.yaml:1:15: plaintext.tun.routes: not a setting of this program: its SAs are its own, and it routes"
                        + " every SA's remote selectors (routes: owner_preferred is the gateway's, docs/ha.md)");
    }

    @Test
    void virtualWireIsTwoIpEndpoints() {
        assertThat(read("virtual_wire: {bind: 127.0.0.1:0, host: '[::1]:21001'}")).isEqualTo(
                new PlaintextConfig.VirtualWire(new InetSocketAddress("127.0.0.1", 0), new InetSocketAddress("::1", 21001)));
    }

    @Test
    void everyProblemNamesItsPlaceAndKeyPath() {
        assertThat(problems("tun: {name: 'a b', addresses: [10.0.0.1], mtu: 100, pathmtu: 1500, offload: maybe}"))
                .containsExactly(
                        "p.yaml:1:53: plaintext.tun.pathmtu: unknown key 'pathmtu'; did you mean 'path_mtu'?",
                        "p.yaml:1:13: plaintext.tun.name: 'a b' is not a Linux interface name (1 to 15 printable"
                                + " ASCII characters without '/', ':' or spaces, not '.' or '..')",
                        "p.yaml:1:32: plaintext.tun.addresses[0]: '10.0.0.1' needs a prefix length, e.g. 10.0.0.1/24",
                        "p.yaml:1:48: plaintext.tun.mtu: 100 is out of range 576-65535",
                        "p.yaml:1:77: plaintext.tun.offload: expected true or false, found a string");
        assertThat(problems("{tun: {}, virtual_wire: {}}")).containsExactly(
                "p.yaml:1:1: plaintext: give exactly one of 'tun' or 'virtual_wire'");
        assertThat(problems("virtual_wire: {bind: 127.0.0.1:1}")).containsExactly(
                "p.yaml:1:15: plaintext.virtual_wire.host: missing");
    }

    @Test
    void theVirtualWireSendsToARealPort() {
        // A datagram to port 0 never arrives; the gateway refused it before the readers were one.
        assertThat(problems("virtual_wire: {bind: 127.0.0.1:1, host: 127.0.0.1:0}")).containsExactly(
                "p.yaml:1:41: plaintext.virtual_wire.host: port 0: give the port the plaintext host receives on");
    }

    private static PlaintextConfig read(String yaml) {
        return read(yaml, DEFAULTS);
    }

    private static PlaintextConfig read(String yaml, PlaintextReader.TunDefaults defaults) {
        Problems problems = new Problems("p.yaml");
        PlaintextConfig c = PlaintextReader.read(new Nodes(problems), YamlText.compose(yaml, 1000, problems, ""),
                "plaintext", defaults);
        assertThat(problems.list()).isEmpty();
        return c;
    }

    private static List<String> problems(String yaml) {
        return problems(yaml, DEFAULTS);
    }

    private static List<String> problems(String yaml, PlaintextReader.TunDefaults defaults) {
        Problems problems = new Problems("p.yaml");
        PlaintextReader.read(new Nodes(problems), YamlText.compose(yaml, 1000, problems, ""), "plaintext", defaults);
        return problems.list().stream().map(ConfigProblem::toString).toList();
    }
}
