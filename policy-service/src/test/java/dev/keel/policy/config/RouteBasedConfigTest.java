package dev.keel.policy.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.config.ConfigProblem;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code connections.NAME.interface}: a route-based connection's own interface, its defaults
 * (selectors 0.0.0.0/0 and ::/0, MTU 1400), its entries in their interface's SPD, and a refusal
 * with the key path for each mistake.
 */
class RouteBasedConfigTest {

    private final ConfigLoader loader = new ConfigLoader(Map.of("KEEL_PSK", "not-a-real-psk-for-tests")::get);

    /** Two tunnels to one cloud gateway, as AWS hands them out: one interface and one /30 each. */
    static final String TWO_TUNNELS = """
            secrets:
              psk: {env: KEEL_PSK}
            connections:
              aws1:
                local_addrs: 192.0.2.1
                remote_addrs: 198.51.100.1
                local: {auth: psk, id: 192.0.2.1, secret: psk}
                remote: {auth: psk, id: 198.51.100.1}
                interface: {name: keel-aws1, addresses: [169.254.10.2/30], mtu: 1400}
                children:
                  tun: {start_action: start}
              aws2:
                local_addrs: 192.0.2.1
                remote_addrs: 198.51.100.2
                local: {auth: psk, id: 192.0.2.1, secret: psk}
                remote: {auth: psk, id: 198.51.100.2}
                interface: {name: keel-aws2, addresses: [169.254.11.2/30]}
                children:
                  tun: {start_action: start}
              site-b:
                local_addrs: 192.0.2.1
                remote_addrs: 203.0.113.9
                local: {auth: psk, id: 192.0.2.1, secret: psk}
                remote: {auth: psk, id: 203.0.113.9}
                children:
                  net: {local_ts: 10.1.0.0/16, remote_ts: 10.2.0.0/16}
            """;

    private PolicyConfig valid(String yaml) {
        ConfigResult r = loader.loadText("keel.yaml", yaml);
        assertThat(r).as(r.toString()).isInstanceOf(ConfigResult.Valid.class);
        return ((ConfigResult.Valid) r).config();
    }

    private ConfigProblem onlyProblem(String yaml) {
        ConfigResult r = loader.loadText("keel.yaml", yaml);
        assertThat(r).isInstanceOf(ConfigResult.Invalid.class);
        List<ConfigProblem> ps = ((ConfigResult.Invalid) r).problems();
        assertThat(ps).as(ps.toString()).hasSize(1);
        return ps.getFirst();
    }

    @Test
    void routeBasedConnectionsSelectEverythingByDefaultEachInItsOwnSpd() {
        PolicyConfig c = valid(TWO_TUNNELS);
        ConnectionConfig aws1 = c.connection("aws1").orElseThrow();
        assertThat(aws1.routeBased()).isTrue();
        assertThat(aws1.iface().name()).isEqualTo("keel-aws1");
        assertThat(aws1.iface().addresses()).hasToString("[169.254.10.2/30]");
        assertThat(aws1.iface().mtu()).isEqualTo(1400);
        assertThat(c.connection("aws2").orElseThrow().iface().mtu()).as("default").isEqualTo(RouteInterface.DEFAULT_MTU);
        assertThat(c.connection("site-b").orElseThrow().routeBased()).isFalse();
        ChildConfig tun = aws1.children().getFirst();
        assertThat(tun.localTs()).hasToString("[0.0.0.0/0, ::/0]");
        assertThat(tun.remoteTs()).hasToString("[0.0.0.0/0, ::/0]");
        // Both 0.0.0.0/0 children PROTECT through different connections, yet do not conflict: different SPDs.
        assertThat(c.compiled()).extracting(p -> p.entry().toString()).contains(
                "aws1/tun 0.0.0.0/0 === 0.0.0.0/0 PROTECT on keel-aws1",
                "aws2/tun 0.0.0.0/0 === 0.0.0.0/0 PROTECT on keel-aws2",
                "aws2/tun ::/0 === ::/0 PROTECT on keel-aws2",
                "site-b/net 10.1.0.0/16 === 10.2.0.0/16 PROTECT");
    }

    @Test
    void explicitSelectorsOfARouteBasedChildStay() {
        PolicyConfig c = valid(TWO_TUNNELS.replace("tun: {start_action: start}\n  aws2:",
                "tun: {start_action: start, remote_ts: 10.0.0.0/8}\n  aws2:"));
        ChildConfig tun = c.connection("aws1").orElseThrow().children().getFirst();
        assertThat(tun.remoteTs()).hasToString("[10.0.0.0/8]");
        assertThat(tun.localTs()).hasToString("[0.0.0.0/0, ::/0]");
    }

    @Test
    void twoConnectionsCannotShareAnInterface() {
        ConfigProblem p = onlyProblem(TWO_TUNNELS.replace("name: keel-aws2", "name: keel-aws1"));
        assertThat(p.path()).isEqualTo("connections.aws2.interface.name");
        assertThat(p.message()).isEqualTo("interface 'keel-aws1' is already connections.aws1.interface.name; each"
                + " route-based connection needs an interface of its own");
    }

    @Test
    void anAddressWithoutItsPrefixLengthIsRefused() {
        ConfigProblem p = onlyProblem(TWO_TUNNELS.replace("[169.254.10.2/30]", "[169.254.10.2]"));
        assertThat(p.path()).isEqualTo("connections.aws1.interface.addresses[0]");
        assertThat(p.message()).contains("'169.254.10.2' needs a prefix length");
        p = onlyProblem(TWO_TUNNELS.replace("[169.254.10.2/30]", "[169.254.10.300/30]"));
        assertThat(p.path()).isEqualTo("connections.aws1.interface.addresses[0]");
        p = onlyProblem(TWO_TUNNELS.replace("[169.254.10.2/30]", "[169.254.10.2/33]"));
        assertThat(p.message()).contains("prefix length outside 0-32");
    }

    @Test
    void anMtuOutOfRangeIsRefused() {
        ConfigProblem p = onlyProblem(TWO_TUNNELS.replace("mtu: 1400", "mtu: 1000"));
        assertThat(p.path()).isEqualTo("connections.aws1.interface.mtu");
        assertThat(p.message()).contains("1280").contains("65535");
        assertThat(onlyProblem(TWO_TUNNELS.replace("mtu: 1400", "mtu: 70000")).path())
                .isEqualTo("connections.aws1.interface.mtu");
    }

    @Test
    void aNameTheKernelRefusesIsRefused() {
        for (String bad : List.of("keel-aws1-far-too-long", "keel/aws1", "keel:1", "\"keel aws1\"", "\"..\"")) {
            ConfigProblem p = onlyProblem(TWO_TUNNELS.replace("name: keel-aws1", "name: " + bad));
            assertThat(p.path()).as(bad).isEqualTo("connections.aws1.interface.name");
            assertThat(p.message()).as(bad).contains("is not a Linux interface name");
        }
    }

    @Test
    void anInterfaceNeedsAName() {
        ConfigProblem p = onlyProblem(TWO_TUNNELS.replace("{name: keel-aws1, addresses", "{addresses"));
        assertThat(p.path()).isEqualTo("connections.aws1.interface.name");
        assertThat(p.message()).contains("missing");
    }

    @Test
    void unknownInterfaceKeysAreRefused() {
        ConfigProblem p = onlyProblem(TWO_TUNNELS.replace("mtu: 1400", "mtus: 1400"));
        assertThat(p.path()).isEqualTo("connections.aws1.interface.mtus");
    }

    @Test
    void theCarrierFollowsTheSasUnlessSetUp() {
        PolicyConfig c = valid(TWO_TUNNELS.replace("mtu: 1400}", "mtu: 1400, carrier: up}"));
        assertThat(c.connection("aws1").orElseThrow().iface().carrier()).isEqualTo(RouteInterface.Carrier.UP);
        assertThat(c.connection("aws2").orElseThrow().iface().carrier()).as("default").isEqualTo(RouteInterface.Carrier.SA);
        ConfigProblem p = onlyProblem(TWO_TUNNELS.replace("mtu: 1400}", "mtu: 1400, carrier: down}"));
        assertThat(p.path()).isEqualTo("connections.aws1.interface.carrier");
    }

    @Test
    void aTrapChildNeedsCarrierUp() {
        Map<String, String> keyByAction = Map.of("start_action: trap", "start_action",
                "start_action: start, dpd_action: trap", "dpd_action",
                "start_action: start, close_action: trap", "close_action");
        keyByAction.forEach((action, key) -> {
            String yaml = TWO_TUNNELS.replace("tun: {start_action: start}\n  aws2:", "tun: {" + action + "}\n  aws2:");
            ConfigProblem p = onlyProblem(yaml);
            assertThat(p.path()).as(action).isEqualTo("connections.aws1.interface.carrier");
            assertThat(p.message()).as(action).startsWith("children.tun." + key + " is trap").contains("set 'carrier: up'");
            valid(yaml.replace("mtu: 1400}", "mtu: 1400, carrier: up}"));
        });
    }
}
