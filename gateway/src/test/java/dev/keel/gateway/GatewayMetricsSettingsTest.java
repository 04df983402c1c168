package dev.keel.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

/** The node file's {@code metrics:} section: off when absent, an address when given, a bad one named. */
class GatewayMetricsSettingsTest {

    private static final String BASE = """
            gateway:
              address: 127.0.0.1
              plaintext: {virtual_wire: {bind: 127.0.0.1:20001, host: 127.0.0.1:21001}}
            """;

    @Test
    void absentMeansNoEndpoint() {
        assertThat(valid(BASE).metrics()).isNull();
    }

    @Test
    void listenIsTheEndpointsAddress() {
        assertThat(valid(BASE + "metrics: {listen: \"127.0.0.1:9464\"}\n").metrics())
                .isEqualTo(new InetSocketAddress("127.0.0.1", 9464));
        assertThat(valid(BASE + "metrics:\n  listen: \"[::1]:9100\"\n").metrics())
                .isEqualTo(new InetSocketAddress("::1", 9100));
        assertThat(valid(BASE + "metrics: {listen: 10.0.0.1}\n").metrics()).as("the default port")
                .isEqualTo(new InetSocketAddress("10.0.0.1", 9464));
    }

    @Test
    void aBadSectionNamesFileLineAndKeyPath() {
        assertThat(problems(BASE + "metrics: {listen: \"localhost:9464\"}\n")).singleElement().asString()
                .startsWith("node.yaml:4:19: metrics.listen: ").contains("localhost");
        assertThat(problems(BASE + "metrics: {listen: \"127.0.0.1:70000\"}\n")).containsExactly(
                "node.yaml:4:19: metrics.listen: port '70000' is not a number 0-65535");
        assertThat(problems(BASE + "metrics: {address: \"127.0.0.1:9464\"}\n")).containsExactly(
                "node.yaml:4:11: metrics.address: unknown key 'address'; expected one of listen",
                "node.yaml:4:10: metrics.listen: missing");
        assertThat(problems(BASE + "metrics: on\n")).containsExactly(
                "node.yaml:4:10: metrics: expected a mapping of keys to values, found a boolean");
    }

    private static GatewaySettings valid(String yaml) {
        GatewaySettingsReader.Result r = GatewaySettingsReader.read("node.yaml", yaml);
        assertThat(r).as(r.toString()).isInstanceOf(GatewaySettingsReader.Result.Valid.class);
        return ((GatewaySettingsReader.Result.Valid) r).settings();
    }

    private static java.util.List<String> problems(String yaml) {
        GatewaySettingsReader.Result r = GatewaySettingsReader.read("node.yaml", yaml);
        assertThat(r).isInstanceOf(GatewaySettingsReader.Result.Invalid.class);
        return ((GatewaySettingsReader.Result.Invalid) r).problems();
    }
}
