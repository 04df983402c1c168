package dev.keel.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** {@code gateway.raw_esp} and {@code gateway.nat_keepalive}: NAT traversal settings of the node (docs/gateway.md). */
class GatewayNatSettingsTest {

    private static final String BASE = """
            gateway:
              address: 127.0.0.1
              plaintext: {virtual_wire: {bind: 127.0.0.1:20001, host: 127.0.0.1:21001}}
            """;

    @Test
    void defaultsAreEspInUdpOnlyAndStrongSwansKeepaliveInterval() {
        GatewaySettings s = valid(BASE);
        assertThat(s.rawEsp()).isFalse();
        assertThat(s.natKeepalive()).isEqualTo(Duration.ofSeconds(20));
    }

    @Test
    void bothAreRead() {
        GatewaySettings s = valid(BASE + """
                  raw_esp: yes
                  nat_keepalive: 5s
                """);
        assertThat(s.rawEsp()).isTrue();
        assertThat(s.natKeepalive()).isEqualTo(Duration.ofSeconds(5));
        assertThat(valid(BASE + "  nat_keepalive: 0s\n").natKeepalive()).as("0s: no keepalives").isZero();
    }

    @Test
    void badValuesNameFileLineAndKeyPath() {
        GatewaySettingsReader.Result r = GatewaySettingsReader.read("node.yaml", BASE + """
                  raw_esp: sometimes
                  nat_keepalive: often
                """);
        assertThat(r).isInstanceOf(GatewaySettingsReader.Result.Invalid.class);
        assertThat(((GatewaySettingsReader.Result.Invalid) r).problems())
                .anyMatch(p -> p.startsWith("node.yaml:4:") && p.contains("gateway.raw_esp: expected true or false"))
                .anyMatch(p -> p.startsWith("node.yaml:5:") && p.contains("gateway.nat_keepalive"))
                .hasSize(2);
    }

    private static GatewaySettings valid(String yaml) {
        GatewaySettingsReader.Result r = GatewaySettingsReader.read("node.yaml", yaml);
        assertThat(r).as(r.toString()).isInstanceOf(GatewaySettingsReader.Result.Valid.class);
        return ((GatewaySettingsReader.Result.Valid) r).settings();
    }
}
