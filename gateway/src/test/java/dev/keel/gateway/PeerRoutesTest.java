package dev.keel.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.net.IpPrefix;
import dev.keel.policy.config.ConfigLoader;
import dev.keel.policy.config.ConfigResult;
import dev.keel.policy.config.PolicyConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Remote selectors that hold an IKE peer's address and not this node's (transport mode host to
 * host, a remote network the peer is in) are routed from their own table, which Keel's own IKE
 * and ESP-in-UDP bypass.
 */
class PeerRoutesTest {

    @TempDir
    Path dir;

    @Test
    void selectorsHoldingThePeerButNotThisNodeLeaveTheMainTableForPeerRoutes() throws Exception {
        PolicyConfig policy = load("""
                  host:
                    local_addrs: 192.0.2.1
                    remote_addrs: 192.0.2.2
                    local: {auth: psk, id: a.keel.test, secret: psk}
                    remote: {auth: psk, id: b.keel.test}
                    children:
                      transport: {mode: transport, local_ts: 192.0.2.1/32, remote_ts: 192.0.2.2/32}
                      net: {local_ts: 10.1.0.0/24, remote_ts: 10.2.0.0/24}
                  v6:
                    local_addrs: 2001:db8::1
                    remote_addrs: 2001:db8::2
                    local: {auth: psk, id: a.keel.test, secret: psk}
                    remote: {auth: psk, id: b.keel.test}
                    children:
                      transport: {mode: transport, local_ts: "2001:db8::1/128", remote_ts: "2001:db8::2/128"}
                      all: {local_ts: "fd00:1::/64", remote_ts: "::/0"}
                      same-subnet: {local_ts: "fd00:1::/64", remote_ts: "2001:db8::/64"}
                  far:
                    local_addrs: 192.0.2.1
                    remote_addrs: 198.51.100.7
                    local: {auth: psk, id: a.keel.test, secret: psk}
                    remote: {auth: psk, id: d.keel.test}
                    children:
                      net: {local_ts: 10.1.0.0/24, remote_ts: 198.51.100.0/24}
                  roaming:
                    remote_addrs: "%any"
                    local: {auth: psk, id: a.keel.test, secret: psk}
                    remote: {auth: psk, id: c.keel.test}
                    children:
                      net: {local_ts: 10.1.0.0/24, remote_ts: 10.3.0.0/24}
                """);
        // ::/0 and 2001:db8::/64 hold this node's address too: the main table, as before; %any holds no address
        assertThat(LanRoutes.atStart(policy).stream().map(Object::toString))
                .containsExactly("10.2.0.0/24", "::/0", "2001:db8::/64", "10.3.0.0/24");
        assertThat(LanRoutes.holdingPeers(policy).stream().map(Object::toString))
                .containsExactly("192.0.2.2/32", "2001:db8::2/128", "198.51.100.0/24");
    }

    @Test
    void commandsDeleteLeftoverRulesThenAddTheBypassRulesTheTableRuleAndSourcedRoutes() {
        List<String> lines = PeerRoutes.commands("keel0",
                List.of(IpPrefix.parse("192.0.2.2/32"), IpPrefix.parse("::/0")), PeerRoutes.source("192.0.2.1"), 500,
                4500).stream().map(c -> String.join(" ", c)).toList();
        assertThat(lines).containsExactly(
                "-4 rule del priority 7295 ipproto udp sport 500 lookup main",
                "-4 rule del priority 7295 ipproto udp sport 4500 lookup main",
                "-4 rule del priority 7295 fwmark 7296 lookup main",
                "-4 rule del priority 7296 lookup 7296",
                "-6 rule del priority 7295 ipproto udp sport 500 lookup main",
                "-6 rule del priority 7295 ipproto udp sport 4500 lookup main",
                "-6 rule del priority 7295 fwmark 7296 lookup main",
                "-6 rule del priority 7296 lookup 7296",
                "-4 rule add priority 7295 ipproto udp sport 500 lookup main",
                "-4 rule add priority 7295 ipproto udp sport 4500 lookup main",
                "-4 rule add priority 7295 fwmark 7296 lookup main",
                "-4 rule add priority 7296 lookup 7296",
                "-6 rule add priority 7295 ipproto udp sport 500 lookup main",
                "-6 rule add priority 7295 ipproto udp sport 4500 lookup main",
                "-6 rule add priority 7295 fwmark 7296 lookup main",
                "-6 rule add priority 7296 lookup 7296",
                "route replace 192.0.2.2/32 dev keel0 table 7296 src 192.0.2.1",
                "route replace ::/0 dev keel0 table 7296");
    }

    @Test
    void oneBypassRuleWhenIkeAndNatTShareAPortAndNoSourceForAnUnspecifiedAddress() {
        assertThat(PeerRoutes.source("0.0.0.0")).isNull();
        assertThat(PeerRoutes.commands("keel0", List.of(IpPrefix.parse("192.0.2.2/32")), null, 4500, 4500).stream()
                .map(c -> String.join(" ", c)).filter(l -> l.contains(" add ") || l.startsWith("route")))
                .containsExactly("-4 rule add priority 7295 ipproto udp sport 4500 lookup main",
                        "-4 rule add priority 7295 fwmark 7296 lookup main", "-4 rule add priority 7296 lookup 7296", "route replace 192.0.2.2/32 dev keel0 table 7296");
    }

    private PolicyConfig load(String connections) throws Exception {
        Files.writeString(dir.resolve("psk.txt"), "0123456789abcdef0123456789");
        Path file = dir.resolve("keel.yaml");
        Files.writeString(file, """
                secrets:
                  psk: {file: psk.txt}
                connections:
                """ + connections);
        ConfigResult r = new ConfigLoader(Map.<String, String>of()::get).loadFile(file);
        assertThat(r).as(r.toString()).isInstanceOf(ConfigResult.Valid.class);
        return ((ConfigResult.Valid) r).config();
    }
}
