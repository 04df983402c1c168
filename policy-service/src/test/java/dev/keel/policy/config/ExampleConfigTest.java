package dev.keel.policy.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The documented example loads and compiles to the SPD docs/configuration.md describes. */
class ExampleConfigTest {

    @Test
    void exampleLoads(@TempDir Path dir) throws Exception {
        Path example = Path.of("..", "docs", "examples", "policy-site-to-site.yaml");
        Path copy = dir.resolve("keel.yaml");
        Files.copy(example, copy);
        Files.writeString(dir.resolve("site-c.key"), "-----BEGIN PRIVATE KEY-----\n...\n");
        ConfigResult r = new ConfigLoader(Map.of("KEEL_PSK_SITE_B", "example-psk-for-the-test")::get).loadFile(copy);
        assertThat(r).as(r.toString()).isInstanceOf(ConfigResult.Valid.class);
        PolicyConfig c = ((ConfigResult.Valid) r).config();
        assertThat(c.compiled()).extracting(p -> p.entry().toString()).containsExactly(
                "site-c/gre 192.0.2.1/32[gre] === 203.0.113.7/32[gre] PROTECT",
                "mgmt-ssh 10.1.99.0/24 === 10.2.0.9/32[tcp/22] BYPASS",
                "site-b/lan 10.1.0.0/16 === 10.20.0.0/24[tcp/443] PROTECT",
                "site-b/lan 10.1.0.0/16 === 10.2.0.0/16 PROTECT",
                "site-c/lan 10.1.0.0/16 === 10.3.0.0/16 PROTECT",
                "no-leaks 10.1.0.0/16 === 0.0.0.0/0 DISCARD");
        assertThat(c.connection("site-b").orElseThrow().children().get(0).lifetime().lifeTime().toMinutes()).isEqualTo(66);
    }
}
