package dev.keel.policy.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.net.IpAddress;
import org.junit.jupiter.api.Test;

/** A hub-sized configuration: 10,000 policies load, order and index without conflicts. */
class LargeConfigTest {

    @Test
    void tenThousandNestedAndDisjointPolicies() {
        StringBuilder y = new StringBuilder("policies:\n");
        for (int i = 0; i < 5000; i++) {
            String net = "172." + (16 + i / 256) + "." + (i % 256);
            // A protected-looking /24 dropped, with one host inside it bypassed: nested, so no conflict.
            y.append("  - {name: drop-").append(i).append(", local_ts: 10.0.0.0/8, remote_ts: ").append(net)
                    .append(".0/24, action: drop}\n");
            y.append("  - {name: pass-").append(i).append(", local_ts: 10.0.0.0/8, remote_ts: \"").append(net)
                    .append(".7[tcp/22]\", action: bypass}\n");
        }
        ConfigResult r = new ConfigLoader(k -> null).loadText("big.yaml", y.toString());
        assertThat(r).isInstanceOf(ConfigResult.Valid.class);
        PolicyConfig c = ((ConfigResult.Valid) r).config();
        assertThat(c.compiled()).hasSize(10_000);
        byte[] src = IpAddress.parse("10.1.2.3").bytes();
        byte[] host = IpAddress.parse("172.35.135.7").bytes(); // i = 4999
        assertThat(c.spd().lookup(6, false, src, 0, 40000, host, 0, 22).name()).isEqualTo("pass-4999");
        assertThat(c.spd().lookup(6, false, src, 0, 40000, host, 0, 23).name()).isEqualTo("drop-4999");
    }
}
