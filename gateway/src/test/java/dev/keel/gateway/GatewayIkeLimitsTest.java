package dev.keel.gateway;

import dev.keel.ike.engine.IkeSettings;
import dev.keel.ike.session.RetransmitPolicy;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** {@code gateway.ike}: the half-open limits of the IKE responder, read from the node's file. */
class GatewayIkeLimitsTest {

    private static final String BASE = """
            gateway:
              address: 127.0.0.1
              plaintext: {virtual_wire: {bind: 127.0.0.1:20001, host: 127.0.0.1:21001}}
            """;

    @Test
    void absentSectionGivesTheDefaults() {
        assertThat(valid(BASE).ikeLimits()).isEqualTo(IkeSettings.DEFAULT);
    }

    @Test
    void everyLimitIsReadUnderItsStrongSwanName() {
        IkeSettings l = valid(BASE + """
                  ike: {half_open_timeout: 10s, init_limit_half_open: 500, block_threshold: 7, cookie_threshold: 50,
                        cookie_threshold_ip: 3, cookie_secret_lifetime: 2m}
                """).ikeLimits();
        assertThat(l).isEqualTo(new IkeSettings(50, 3, 500, 7, Duration.ofSeconds(10), Duration.ofMinutes(2)));
    }

    @Test
    void retransmissionsAreReadAsStrongSwanWritesThem() {
        IkeSettings s = valid(BASE + "  ike: {retransmit_timeout: 1.5, retransmit_base: 1.4, retransmit_tries: 3}\n")
                .ikeLimits();
        assertThat(s.retransmit()).isEqualTo(new RetransmitPolicy(Duration.ofMillis(1500), 1.4, 3));
        assertThat(valid(BASE + "  ike: {retransmit_timeout: 500ms}\n").ikeLimits().retransmit().timeout())
                .isEqualTo(Duration.ofMillis(500));
        assertThat(IkeSettings.DEFAULT.with("retransmit_timeout", "2s").retransmit())
                .as("ike-service's --ike reads the same").isEqualTo(new RetransmitPolicy(Duration.ofSeconds(2), 1.8, 5));
        GatewaySettingsReader.Result r = GatewaySettingsReader.read("node.yaml", BASE
                + "  ike: {retransmit_base: 0.5, retransmit_tries: 50, retransmit_timeout: 0}\n");
        assertThat(((GatewaySettingsReader.Result.Invalid) r).problems()).containsExactlyInAnyOrder(
                "node.yaml:4:26: gateway.ike.retransmit_base: '0.5' is not a factor of at least 1, such as 1.8",
                "node.yaml:4:49: gateway.ike.retransmit_tries: 50 is out of range 0-20",
                "node.yaml:4:73: gateway.ike.retransmit_timeout: must be longer than 0s");
    }

    @Test
    void fragmentSizeIsReadBesideTheLimits() {
        assertThat(valid(BASE).ikeLimits().fragmentSize()).isEqualTo(1280);
        assertThat(valid(BASE + "  ike: {fragment_size: 1400}\n").ikeLimits())
                .isEqualTo(IkeSettings.DEFAULT.withFragmentSize(1400));
        GatewaySettingsReader.Result r = GatewaySettingsReader.read("node.yaml", BASE + "  ike: {fragment_size: 500}\n");
        assertThat(((GatewaySettingsReader.Result.Invalid) r).problems()).containsExactly(
                "node.yaml:4:24: gateway.ike.fragment_size: 500 is below 576 (IPv4's minimum datagram);"
                        + " 0 picks the family's minimum");
    }

    @Test
    void badValuesNameFileLineAndKeyPath() {
        GatewaySettingsReader.Result r = GatewaySettingsReader.read("node.yaml", BASE + """
                  ike: {half_open_timeout: 0s, block_threshold: 0, cookie_treshold: 5}
                """);
        assertThat(r).isInstanceOf(GatewaySettingsReader.Result.Invalid.class);
        assertThat(((GatewaySettingsReader.Result.Invalid) r).problems()).containsExactlyInAnyOrder(
                "node.yaml:4:28: gateway.ike.half_open_timeout: must be longer than 0s",
                "node.yaml:4:49: gateway.ike.block_threshold: 0 is out of range 1-1000000",
                "node.yaml:4:52: gateway.ike.cookie_treshold: unknown key 'cookie_treshold'; did you mean"
                        + " 'cookie_threshold'?");
    }

    private static GatewaySettings valid(String yaml) {
        GatewaySettingsReader.Result r = GatewaySettingsReader.read("node.yaml", yaml);
        assertThat(r).as(r.toString()).isInstanceOf(GatewaySettingsReader.Result.Valid.class);
        return ((GatewaySettingsReader.Result.Valid) r).settings();
    }
}
