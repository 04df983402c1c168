package dev.keel.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.esp.config.PlaintextConfig;
import dev.keel.policy.config.ConfigLoader;
import dev.keel.policy.config.ConfigResult;
import dev.keel.policy.config.PolicyConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which remote prefixes a TUN gateway routes when its device comes up, and at which metric. */
class LanRoutesTest {

    @TempDir
    Path dir;

    @Test
    void everyChildsRemoteSelectorsFromStartAtTheStandbyMetricWhenTheOwnerIsPreferred() throws Exception {
        assertThat(LanRoutes.atStart(load()).stream().map(Object::toString))
                .containsExactly("10.2.0.0/24", "10.4.0.0/24", "10.3.0.0/24");
        assertThat(PlaintextConfig.Routes.ALL.baseMetric()).isZero();
        assertThat(PlaintextConfig.Routes.OWNER_PREFERRED.baseMetric())
                .isEqualTo(PlaintextConfig.Routes.STANDBY_METRIC).isGreaterThan(PlaintextConfig.Routes.OWNER_METRIC);
    }

    private PolicyConfig load() throws Exception {
        Files.writeString(dir.resolve("psk.txt"), "0123456789abcdef0123456789");
        Path file = dir.resolve("keel.yaml");
        Files.writeString(file, """
                secrets:
                  psk: {file: psk.txt}
                connections:
                  peer:
                    local_addrs: 192.0.2.1
                    remote_addrs: 192.0.2.2
                    local: {auth: psk, id: a.keel.test, secret: psk}
                    remote: {auth: psk, id: b.keel.test}
                    children:
                      net: {local_ts: 10.1.0.0/24, remote_ts: [10.2.0.0/24, 10.4.0.0/24]}
                      trapped: {local_ts: 10.1.0.0/24, remote_ts: 10.3.0.0/24, start_action: trap}
                """);
        ConfigResult r = new ConfigLoader(Map.<String, String>of()::get).loadFile(file);
        assertThat(r).as(r.toString()).isInstanceOf(ConfigResult.Valid.class);
        return ((ConfigResult.Valid) r).config();
    }
}
