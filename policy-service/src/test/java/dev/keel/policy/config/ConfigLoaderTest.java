package dev.keel.policy.config;

import dev.keel.core.config.ConfigProblem;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.net.IpAddress;
import dev.keel.core.sa.ChildLifetime;
import dev.keel.core.sa.IpsecMode;
import dev.keel.core.spd.SpdAction;
import dev.keel.core.spd.SpdEntry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One test per class of configuration mistake, each asserting the file, key path and message. */
class ConfigLoaderTest {

    static final String PSK = "correct horse battery staple";
    static final Map<String, String> ENV = Map.of("KEEL_PSK_B", PSK);

    @TempDir
    Path dir;

    private final ConfigLoader loader = new ConfigLoader(ENV::get);

    static final String GOOD = """
            secrets:
              site-b-psk: {env: KEEL_PSK_B}
            connections:
              site-b:
                local_addrs: 192.0.2.1
                remote_addrs: [198.51.100.2]
                local: {auth: psk, id: gw-a.example, secret: site-b-psk}
                remote: {auth: psk, id: gw-b.example}
                proposals: [aes256gcm16-prfsha256-x25519]
                dpd_delay: 30s
                children:
                  net:
                    local_ts: 10.1.0.0/16
                    remote_ts: [10.2.0.0/16, "10.3.0.0/24[tcp/443]"]
                    esp_proposals: aes256gcm16
                    rekey_time: 1h
                    rekey_bytes: 1G
                    start_action: trap
                  host:
                    mode: transport
            policies:
              - {name: ssh-mgmt, local_ts: 10.1.0.0/16, remote_ts: "10.2.0.9[tcp/22]", action: bypass}
            """;

    private Path write(String name, String text) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, text);
        return p;
    }

    private List<ConfigProblem> problems(String yaml) {
        ConfigResult r = loader.loadText("keel.yaml", yaml);
        assertThat(r).isInstanceOf(ConfigResult.Invalid.class);
        return ((ConfigResult.Invalid) r).problems();
    }

    private ConfigProblem onlyProblem(String yaml) {
        List<ConfigProblem> ps = problems(yaml);
        assertThat(ps).as(ps.toString()).hasSize(1);
        return ps.get(0);
    }

    private PolicyConfig valid(String yaml) {
        ConfigResult r = loader.loadText("keel.yaml", yaml);
        assertThat(r).as(r.toString()).isInstanceOf(ConfigResult.Valid.class);
        return ((ConfigResult.Valid) r).config();
    }

    @Test
    void goodConfigurationWithDefaults() {
        PolicyConfig c = valid(GOOD);
        ConnectionConfig b = c.connection("site-b").orElseThrow();
        assertThat(b.version()).isEqualTo(2);
        assertThat(b.localAddrs()).containsExactly("192.0.2.1");
        assertThat(b.local()).isEqualTo(new AuthConfig(AuthMethod.PSK, "gw-a.example", "site-b-psk"));
        assertThat(b.dpdDelay()).isEqualTo(Duration.ofSeconds(30));
        assertThat(b.encap()).isFalse();
        ChildConfig net = b.children().get(0);
        assertThat(net.remoteTs()).hasToString("[10.2.0.0/16, 10.3.0.0/24[tcp/443]]");
        // swanctl's defaults: life = rekey + 10%, rand = life - rekey.
        assertThat(net.lifetime()).isEqualTo(new ChildLifetime(new ChildLifetime.Limit(3_600_000, 3_960_000, 360_000),
                new ChildLifetime.Limit(1L << 30, (1L << 30) + (1L << 30) / 10, (1L << 30) / 10),
                ChildLifetime.Limit.NONE));
        assertThat(net.startAction()).isEqualTo(StartAction.TRAP);
        assertThat(net.dpdAction()).isEqualTo(DpdAction.CLEAR);
        assertThat(net.closeAction()).isEqualTo(CloseAction.NONE);
        assertThat(net.replayWindow()).isEqualTo(1024);
        assertThat(net.mode()).isEqualTo(IpsecMode.TUNNEL);
        // "host" takes every default, including dynamic selectors resolved to the single addresses.
        ChildConfig host = b.children().get(1);
        assertThat(host.mode()).isEqualTo(IpsecMode.TRANSPORT);
        assertThat(host.localTs()).hasToString("[192.0.2.1/32]");
        assertThat(host.remoteTs()).hasToString("[198.51.100.2/32]");
        assertThat(host.espProposals()).hasToString("[aes256gcm16, aes128gcm16]");
        assertThat(c.secrets().get("site-b-psk").copy()).isEqualTo(PSK.getBytes());
    }

    @Test
    void spdIsOrderedMostSpecificFirstWithinPriority() {
        PolicyConfig c = valid(GOOD);
        assertThat(c.compiled()).extracting(p -> p.entry().toString()).containsExactly(
                "site-b/host 192.0.2.1/32 === 198.51.100.2/32 PROTECT",
                "ssh-mgmt 10.1.0.0/16 === 10.2.0.9/32[tcp/22] BYPASS",
                "site-b/net 10.1.0.0/16 === 10.3.0.0/24[tcp/443] PROTECT",
                "site-b/net 10.1.0.0/16 === 10.2.0.0/16 PROTECT");
        // The bypass carved out of site-b/net wins for SSH to 10.2.0.9 although written after it.
        byte[] src = IpAddress.parse("10.1.0.7").bytes();
        byte[] dst = IpAddress.parse("10.2.0.9").bytes();
        assertThat(c.spd().lookup(6, false, src, 0, 50000, dst, 0, 22).action()).isEqualTo(SpdAction.BYPASS);
        assertThat(c.spd().lookup(6, false, src, 0, 50000, dst, 0, 80).name()).isEqualTo("site-b/net");
    }

    @Test
    void priorityOrdersBeforeSpecificity() {
        PolicyConfig c = valid("""
                policies:
                  - {name: wide, local_ts: 10.0.0.0/8, remote_ts: 0.0.0.0/0, action: drop, priority: 10}
                  - {name: narrow, local_ts: 10.0.0.1, remote_ts: 10.9.9.9, action: bypass}
                """);
        assertThat(c.compiled()).extracting(p -> p.entry().name()).containsExactly("wide", "narrow");
    }

    @Test
    void invalidYamlNamesLineAndColumn() {
        ConfigProblem p = onlyProblem("connections:\n  a: {local_addrs: [1.2.3.4\n  b: 2\n");
        assertThat(p.file()).isEqualTo("keel.yaml");
        assertThat(p.path()).isEmpty();
        assertThat(p.line()).isEqualTo(3);
        assertThat(p.message()).startsWith("invalid YAML: ");
        assertThat(p.toString()).startsWith("keel.yaml:3:");
    }

    @Test
    void unknownKeySuggestsTheClosest() {
        ConfigProblem p = onlyProblem(GOOD.replace("rekey_bytes: 1G", "rekey_byte: 1G"));
        assertThat(p.path()).isEqualTo("connections.site-b.children.net.rekey_byte");
        assertThat(p.message()).isEqualTo("unknown key 'rekey_byte'; did you mean 'rekey_bytes'?");
        assertThat(p.line()).isEqualTo(17);
    }

    @Test
    void unknownKeyFarFromAnyListsTheKeys() {
        ConfigProblem p = onlyProblem(GOOD.replace("policies:", "frobnicate: 1\npolicies:"));
        assertThat(p.path()).isEqualTo("frobnicate");
        assertThat(p.message()).startsWith("unknown key 'frobnicate'; expected one of ");
    }

    @Test
    void wrongTypes() {
        List<ConfigProblem> ps = problems(GOOD.replace("dpd_delay: 30s", "dpd_delay: [30]")
                .replace("local_addrs: 192.0.2.1", "local_addrs: 192.0.2.1\n    encap: maybe"));
        assertThat(ps).extracting(ConfigProblem::path, ConfigProblem::message).containsExactlyInAnyOrder(
                org.assertj.core.groups.Tuple.tuple("connections.site-b.encap", "expected true or false, found a string"),
                org.assertj.core.groups.Tuple.tuple("connections.site-b.dpd_delay",
                        "expected a duration such as 30s, 10m or 1h, found a list"));
    }

    @Test
    void badPrefixReusesCoreMessage() {
        ConfigProblem p = onlyProblem(GOOD.replace("remote_addrs: [198.51.100.2]", "remote_addrs: [198.51.100.2/33]"));
        assertThat(p.path()).isEqualTo("connections.site-b.remote_addrs[0]");
        assertThat(p.message()).contains("198.51.100.2/33");
    }

    @Test
    void hostNamesAreNotResolved() {
        ConfigProblem p = onlyProblem(GOOD.replace("remote_addrs: [198.51.100.2]",
                "remote_addrs: [198.51.100.2, vpn.example.com]"));
        assertThat(p.path()).isEqualTo("connections.site-b.remote_addrs[1]");
        assertThat(p.message()).isEqualTo(
                "'vpn.example.com' is not an IP address, prefix or range; Keel does not resolve host names");
    }

    @Test
    void badSelectorNamesTheListIndex() {
        ConfigProblem p = onlyProblem(GOOD.replace("\"10.3.0.0/24[tcp/443]\"", "\"10.3.0.0/24[tcp/http]\""));
        assertThat(p.path()).isEqualTo("connections.site-b.children.net.remote_ts[1]");
        assertThat(p.message()).startsWith("invalid traffic selector \"10.3.0.0/24[tcp/http]\"")
                .contains("not a number");
        assertThat(p.line()).isEqualTo(14);
    }

    @Test
    void badSelectorInCommaSeparatedString() {
        ConfigProblem p = onlyProblem(GOOD.replace("    local_ts: 10.1.0.0/16\n", "    local_ts: 10.1.0.0/16, 10.1.0.0/99\n"));
        assertThat(p.path()).isEqualTo("connections.site-b.children.net.local_ts[1]");
        assertThat(p.message()).contains("10.1.0.0/99");
    }

    @Test
    void badProposalNamesTheToken() {
        ConfigProblem p = onlyProblem(GOOD.replace("esp_proposals: aes256gcm16", "esp_proposals: aes256gcm16, aes257-sha256"));
        assertThat(p.path()).isEqualTo("connections.site-b.children.net.esp_proposals[1]");
        assertThat(p.message()).contains("'aes257'").contains("column 1");
    }

    @Test
    void missingSecretFileNamesThePathNotTheContent() throws IOException {
        Path cfg = write("keel.yaml", GOOD.replace("{env: KEEL_PSK_B}", "{file: psk/site-b.key}"));
        ConfigResult r = loader.loadFile(cfg);
        List<ConfigProblem> ps = ((ConfigResult.Invalid) r).problems();
        assertThat(ps).hasSize(1);
        assertThat(ps.get(0).file()).isEqualTo(cfg.toString());
        assertThat(ps.get(0).path()).isEqualTo("secrets.site-b-psk.file");
        assertThat(ps.get(0).message()).isEqualTo("secret file " + dir.resolve("psk/site-b.key") + " does not exist");
    }

    @Test
    void secretFileIsReadRelativeToTheConfigWithoutItsNewline() throws IOException {
        Files.createDirectories(dir.resolve("psk"));
        Files.writeString(dir.resolve("psk/site-b.key"), PSK + "\n");
        ConfigResult r = loader.loadFile(write("keel.yaml", GOOD.replace("{env: KEEL_PSK_B}", "{file: psk/site-b.key}")));
        PolicyConfig c = ((ConfigResult.Valid) r).config();
        assertThat(c.secrets().get("site-b-psk").copy()).isEqualTo(PSK.getBytes());
        assertThat(c.toString()).doesNotContain(PSK);
        assertThat(c.secrets().toString()).doesNotContain(PSK).contains("redacted");
    }

    @Test
    void aPreSharedKeyShorterThan20BytesIsRefusedNamingFileKeyPathAndLength() throws IOException {
        String shortPsk = "nineteen-bytes-psk!"; // 19 bytes: guessable offline from one IKE_AUTH
        Files.writeString(dir.resolve("short.key"), shortPsk + "\n");
        Path cfg = write("keel.yaml", GOOD.replace("{env: KEEL_PSK_B}", "{file: short.key}"));
        List<ConfigProblem> ps = ((ConfigResult.Invalid) loader.loadFile(cfg)).problems();
        assertThat(ps).hasSize(1);
        assertThat(ps.get(0).file()).isEqualTo(cfg.toString());
        assertThat(ps.get(0).path()).isEqualTo("connections.site-b.local.secret");
        assertThat(ps.get(0).message()).startsWith("pre-shared key 'site-b-psk' (file " + dir.resolve("short.key")
                + ") is 19 bytes; at least 20 are needed").doesNotContain(shortPsk);

        ConfigLoader fromEnv = new ConfigLoader(Map.of("KEEL_PSK_B", "short")::get);
        ConfigProblem p = ((ConfigResult.Invalid) fromEnv.loadText("keel.yaml", GOOD)).problems().getFirst();
        assertThat(p.message()).contains("(env KEEL_PSK_B) is 5 bytes");

        ConfigLoader twenty = new ConfigLoader(Map.of("KEEL_PSK_B", "twenty-bytes-psk-ok!")::get);
        assertThat(twenty.loadText("keel.yaml", GOOD)).isInstanceOf(ConfigResult.Valid.class);
    }

    @Test
    void missingEnvironmentVariable() {
        ConfigProblem p = onlyProblem(GOOD.replace("KEEL_PSK_B", "KEEL_PSK_NOPE"));
        assertThat(p.path()).isEqualTo("secrets.site-b-psk.env");
        assertThat(p.message()).isEqualTo("environment variable KEEL_PSK_NOPE is not set");
    }

    @Test
    void inlineSecretIsRejected() {
        ConfigProblem p = onlyProblem(GOOD.replace("{env: KEEL_PSK_B}", "{value: hunter2}"));
        assertThat(p.path()).isEqualTo("secrets.site-b-psk.value");
        assertThat(p.message()).startsWith("unknown key 'value'").doesNotContain("hunter2");
    }

    @Test
    void undeclaredSecretReference() {
        ConfigProblem p = onlyProblem(GOOD.replace("secret: site-b-psk", "secret: site-b-pks"));
        assertThat(p.path()).isEqualTo("connections.site-b.local.secret");
        assertThat(p.message()).isEqualTo("no secret named 'site-b-pks' under 'secrets'; did you mean 'site-b-psk'?");
    }

    @Test
    void conflictingOverlapIsRejected() {
        String yaml = GOOD + """
                  - {name: block, local_ts: 10.0.0.0/8, remote_ts: 10.2.128.0/17, action: drop}
                """;
        ConfigProblem p = onlyProblem(yaml);
        assertThat(p.path()).isEqualTo("policies[1]");
        assertThat(p.line()).isEqualTo(23);
        assertThat(p.message()).isEqualTo("local_ts[0] 10.0.0.0/8 === remote_ts[0] 10.2.128.0/17 conflicts with"
                + " connections.site-b.children.net (local_ts[0] 10.1.0.0/16 === remote_ts[0] 10.2.0.0/16): they"
                + " overlap (both select 10.1.0.0/16 === 10.2.128.0/17) and neither contains the other; both have"
                + " priority 1000, but this is DISCARD and that is PROTECT via site-b/net; make them disjoint, nest"
                + " one inside the other, or give them different priorities");
    }

    @Test
    void identicalSelectorsOfTwoChildrenConflict() {
        String yaml = GOOD.replace("  host:\n        mode: transport",
                "  copy:\n        local_ts: 10.1.0.0/16\n        remote_ts: 10.2.0.0/16");
        ConfigProblem p = onlyProblem(yaml);
        assertThat(p.path()).isEqualTo("connections.site-b.children.copy");
        assertThat(p.message()).contains("select the same packets");
    }

    @Test
    void differentPrioritiesResolveAConflict() {
        valid(GOOD + """
                  - {name: block, local_ts: 10.1.0.0/24, remote_ts: 10.2.128.0/17, action: drop, priority: 999}
                """);
    }

    @Test
    void everyProblemIsListedAtOnce() {
        List<ConfigProblem> ps = problems(GOOD.replace("KEEL_PSK_B", "NOPE")
                .replace("remote_addrs: [198.51.100.2]", "remote_addrs: [300.1.1.1]")
                .replace("rekey_time: 1h", "rekey_time: 1 hour")
                .replace("action: bypass", "action: allow"));
        assertThat(ps).extracting(ConfigProblem::path).containsExactly(
                "secrets.site-b-psk.env",
                "connections.site-b.remote_addrs[0]",
                "connections.site-b.children.net.rekey_time",
                "policies[0].action");
    }

    @Test
    void otherMistakes() {
        assertThat(onlyProblem(GOOD.replace("local_addrs: 192.0.2.1", "version: 1\n    local_addrs: 192.0.2.1")).message())
                .startsWith("IKEv1 is not supported");
        assertThat(onlyProblem(GOOD.replace("rekey_time: 1h", "rekey_time: 1h\n        life_time: 30m")).message())
                .isEqualTo("life_time (1800s) must exceed rekey_time (3600s), or the SA ends before it is rekeyed");
        assertThat(problems(GOOD.replace("local_addrs: 192.0.2.1", "local_addrs: 192.0.2.0/24")
                .replace("id: gw-a.example, ", "")))
                .extracting(ConfigProblem::path, ConfigProblem::message).containsExactly(
                        org.assertj.core.groups.Tuple.tuple("connections.site-b.local",
                                "missing key 'id': local_addrs is not a single address to default to"),
                        org.assertj.core.groups.Tuple.tuple("connections.site-b.children.host.local_ts",
                                "'dynamic' stands for our single address, but local_addrs is not one address;"
                                        + " list the selectors explicitly (dynamic is the default)"));
        assertThat(onlyProblem(GOOD.replace("dpd_delay: 30s", "dpd_delay: 30s\n    dpd_delay: 10s")).message())
                .isEqualTo("duplicate key 'dpd_delay'");
        assertThat(onlyProblem(GOOD.replace("start_action: trap", "start_action: route")).message())
                .isEqualTo("'route' is not one of none, trap, start");
        assertThat(onlyProblem("").message()).startsWith("the file has no content");
        assertThat(onlyProblem("- a\n- b\n").message()).isEqualTo("expected a mapping of keys to values, found a list");
        assertThat(onlyProblem("connections: {}\n--- \nconnections: {}\n").message()).startsWith("invalid YAML");
    }

    @Test
    void dynamicNeedsASingleAddress() {
        ConfigProblem p = onlyProblem(GOOD.replace("remote_addrs: [198.51.100.2]", "remote_addrs: [198.51.100.0/24]")
                .replace("remote: {auth: psk, id: gw-b.example}", "remote: {auth: psk, id: gw-b.example}"));
        assertThat(p.path()).isEqualTo("connections.site-b.children.host.remote_ts");
        assertThat(p.message()).startsWith("'dynamic' stands for our single address, but remote_addrs is not one address");
    }

    @Test
    void childLimitsByTimeBytesAndPacketsActionsAndReplayWindowAreRead() {
        ChildConfig c = valid(GOOD.replace("rekey_time: 1h", "rekey_time: 1h\n        life_time: 2h\n"
                + "        rand_time: 5m\n        life_bytes: 2G\n        rand_bytes: 0\n        rekey_packets: 1000000\n"
                + "        dpd_action: restart\n        close_action: trap\n        replay_window: 0"))
                .connection("site-b").orElseThrow().children().get(0);
        assertThat(c.lifetime()).isEqualTo(new ChildLifetime(new ChildLifetime.Limit(3_600_000, 7_200_000, 300_000),
                new ChildLifetime.Limit(1L << 30, 2L << 30, 0), new ChildLifetime.Limit(1_000_000, 1_100_000, 100_000)));
        assertThat(c.dpdAction()).isEqualTo(DpdAction.RESTART);
        assertThat(c.closeAction()).isEqualTo(CloseAction.TRAP);
        assertThat(c.replayWindow()).isZero();
    }

    @Test
    void aDefaultedRandomPartStaysBelowATenthOfTheRekey() {
        ChildConfig c = valid(GOOD.replace("rekey_time: 1h", "rekey_time: 6s\n        life_time: 1h"))
                .connection("site-b").orElseThrow().children().get(0);
        assertThat(c.lifetime().millis()).isEqualTo(new ChildLifetime.Limit(6_000, 3_600_000, 0));
        ChildConfig noHard = valid(GOOD.replace("rekey_time: 1h", "rekey_time: 100s\n        life_time: 0"))
                .connection("site-b").orElseThrow().children().get(0);
        assertThat(noHard.lifetime().millis()).isEqualTo(new ChildLifetime.Limit(100_000, 0, 10_000));
    }

    @Test
    void childLimitMistakesNameTheKey() {
        ConfigProblem bytes = onlyProblem(GOOD.replace("rekey_time: 1h", "rekey_time: 1h\n        life_bytes: 512M"));
        assertThat(bytes.path()).isEqualTo("connections.site-b.children.net.life_bytes");
        assertThat(bytes.message()).isEqualTo("life_bytes (536870912 bytes) must exceed rekey_bytes (1073741824 bytes),"
                + " or the SA ends before it is rekeyed");
        ConfigProblem packets = onlyProblem(GOOD.replace("rekey_time: 1h", "rekey_time: 1h\n        rekey_packets: 100\n"
                + "        rand_packets: 100"));
        assertThat(packets.path()).isEqualTo("connections.site-b.children.net.rand_packets");
        assertThat(packets.message()).isEqualTo("rand_packets (100 packets) must be shorter than rekey_packets"
                + " (100 packets), or the rekey could come at once");
        assertThat(onlyProblem(GOOD.replace("rekey_time: 1h", "rekey_time: 1h\n        replay_window: 16")).message())
                .isEqualTo("a window of 16 packets is below RFC 4303's minimum of 32; 0 turns replay protection off");
        assertThat(onlyProblem(GOOD.replace("rekey_time: 1h", "rekey_time: 1h\n        replay_window: 100000")).path())
                .isEqualTo("connections.site-b.children.net.replay_window");
        assertThat(onlyProblem(GOOD.replace("rekey_time: 1h", "rekey_time: 1h\n        close_action: restart")).message())
                .isEqualTo("'restart' is not one of none, trap, start");
    }

    @Test
    void ikeSaLifetimesDefaultAsSwanctlAndAreReadWhenGiven() {
        ConnectionConfig defaults = valid(GOOD).connection("site-b").orElseThrow();
        assertThat(defaults.rekeyTime()).isEqualTo(Duration.ofHours(4));
        assertThat(defaults.overTime()).isEqualTo(Duration.ofSeconds(1440)); // 10% of rekey_time
        assertThat(defaults.randTime()).isEqualTo(Duration.ofSeconds(1440)); // over_time

        ConnectionConfig given = valid(GOOD.replace("dpd_delay: 30s",
                "dpd_delay: 30s\n    rekey_time: 2h\n    over_time: 5m\n    rand_time: 1m\n    reauth_time: 0"))
                .connection("site-b").orElseThrow();
        assertThat(given.rekeyTime()).isEqualTo(Duration.ofHours(2));
        assertThat(given.overTime()).isEqualTo(Duration.ofMinutes(5));
        assertThat(given.randTime()).isEqualTo(Duration.ofMinutes(1));
        assertThat(given.reauthTime()).isZero();

        ConnectionConfig reauth = valid(GOOD.replace("dpd_delay: 30s", "dpd_delay: 30s\n    rekey_time: 0\n"
                + "    reauth_time: 8h")).connection("site-b").orElseThrow();
        assertThat(reauth.reauthTime()).isEqualTo(Duration.ofHours(8));
        assertThat(reauth.overTime()).isEqualTo(Duration.ofSeconds(2880)); // 10% of the longer: reauth_time
        assertThat(reauth.randTime()).isEqualTo(Duration.ofSeconds(2880));

        ConnectionConfig never = valid(GOOD.replace("dpd_delay: 30s", "dpd_delay: 30s\n    rekey_time: 0"))
                .connection("site-b").orElseThrow();
        assertThat(never.rekeyTime()).isZero();
        assertThat(never.overTime()).isZero();
    }

    @Test
    void fragmentationTakesSwanctlsValuesAndDefaultsToYes() {
        assertThat(valid(GOOD).connection("site-b").orElseThrow().fragmentation()).isEqualTo("yes");
        for (String v : List.of("yes", "accept", "force", "no")) {
            assertThat(valid(GOOD.replace("dpd_delay: 30s", "dpd_delay: 30s\n    fragmentation: " + v))
                    .connection("site-b").orElseThrow().fragmentation()).isEqualTo(v);
        }
        ConfigProblem bad = onlyProblem(GOOD.replace("dpd_delay: 30s", "dpd_delay: 30s\n    fragmentation: always"));
        assertThat(bad.path()).isEqualTo("connections.site-b.fragmentation");
        assertThat(bad.message()).isEqualTo("'always' is not one of yes, accept, force, no");
        assertThat(bad.line()).isEqualTo(11);
    }

    @Test
    void mobikeIsABooleanAndDefaultsToYesAsSwanctl() {
        assertThat(valid(GOOD).connection("site-b").orElseThrow().mobike()).isTrue();
        assertThat(valid(GOOD.replace("dpd_delay: 30s", "dpd_delay: 30s\n    mobike: no")).connection("site-b")
                .orElseThrow().mobike()).isFalse();
        ConfigProblem bad = onlyProblem(GOOD.replace("dpd_delay: 30s", "dpd_delay: 30s\n    mobike: sometimes"));
        assertThat(bad.path()).isEqualTo("connections.site-b.mobike");
        assertThat(bad.line()).isEqualTo(11);
    }

    @Test
    void ikeSaLifetimeMistakesNameFileLineAndKeyPath() {
        ConfigProblem reauth = onlyProblem(GOOD.replace("dpd_delay: 30s", "dpd_delay: 30s\n    reauth_time: 10m\n"
                + "    rand_time: 15m"));
        assertThat(reauth.path()).isEqualTo("connections.site-b.rand_time");
        assertThat(reauth.message()).isEqualTo("rand_time (900s) must be shorter than reauth_time (600s),"
                + " or the reauthentication could come at once");
        assertThat(reauth.toString()).startsWith("keel.yaml:12:");

        ConfigProblem rand = onlyProblem(GOOD.replace("dpd_delay: 30s", "dpd_delay: 30s\n    rekey_time: 10m\n"
                + "    rand_time: 10m"));
        assertThat(rand.path()).isEqualTo("connections.site-b.rand_time");
        assertThat(rand.message()).isEqualTo("rand_time (600s) must be shorter than rekey_time (600s),"
                + " or the rekey could come at once");
        assertThat(rand.line()).isEqualTo(12);

        ConfigProblem defaulted = onlyProblem(GOOD.replace("dpd_delay: 30s", "dpd_delay: 30s\n    rekey_time: 10m\n"
                + "    over_time: 1h"));
        assertThat(defaulted.path()).isEqualTo("connections.site-b.rand_time");
        assertThat(defaulted.message()).startsWith("rand_time (3600s, defaults to over_time) must be shorter");
        assertThat(defaulted.line()).as("points at over_time, where the value came from").isEqualTo(12);

        ConfigProblem bad = onlyProblem(GOOD.replace("dpd_delay: 30s", "dpd_delay: 30s\n    over_time: soon"));
        assertThat(bad.path()).isEqualTo("connections.site-b.over_time");
        assertThat(bad.line()).isEqualTo(11);
    }

    @Test
    void yamlTagsConstructNothing() {
        ConfigProblem p = onlyProblem("connections: !!javax.script.ScriptEngineManager [!!java.net.URLClassLoader []]\n");
        // SnakeYAML's tag inspector refuses global tags while composing, before any type is touched.
        assertThat(p.message()).isEqualTo("invalid YAML: Global tag is not allowed:"
                + " tag:yaml.org,2002:javax.script.ScriptEngineManager");
        assertThat(p.line()).isEqualTo(1);
    }

    @Test
    void selfReferencingAliasesDoNotLoop() {
        // The schema is walked to a fixed depth, so a recursive alias is just a wrong type.
        assertThat(problems("connections: &a {x: *a}\n")).isNotEmpty();
    }

    @Test
    void unreadableConfigFile() {
        ConfigResult r = loader.loadFile(dir.resolve("missing.yaml"));
        assertThat(((ConfigResult.Invalid) r).problems().get(0).message()).isEqualTo("cannot read the file: no such file");
    }

    @Test
    void spdEntriesMatchTheDataPlaneView() {
        PolicyConfig c = valid(GOOD);
        for (CompiledPolicy p : c.compiled()) {
            SpdEntry e = p.entry();
            assertThat(c.spd().entries()).contains(e);
        }
        assertThat(c.spd().size()).isEqualTo(c.compiled().size());
    }
}
