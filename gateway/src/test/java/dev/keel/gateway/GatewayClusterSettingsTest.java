package dev.keel.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code gateway.cluster}: the embedded sad-service member's settings. */
class GatewayClusterSettingsTest {

    private static final String NODE = """
            gateway:
              address: 127.0.0.1
              plaintext:
                virtual_wire: {bind: 127.0.0.1:40999, host: 127.0.0.1:40998}
            """;

    @Test
    void theHazelcastMemberNeverBindsAWildcard() {
        for (String wildcard : List.of("0.0.0.0:5701", "'[::]:5701'")) {
            GatewaySettingsReader.Result r = GatewaySettingsReader.read("node.yaml", NODE
                    + "  cluster: {bind: " + wildcard + "}\n");
            assertThat(r).as(r.toString()).isInstanceOf(GatewaySettingsReader.Result.Invalid.class);
            assertThat(((GatewaySettingsReader.Result.Invalid) r).problems()).singleElement().asString()
                    .startsWith("node.yaml:5:").contains("gateway.cluster.bind: '")
                    .contains("is every address; give the one address of the cluster's own link");
        }
        GatewaySettingsReader.Result ok = GatewaySettingsReader.read("node.yaml", NODE + "  cluster: {bind: 10.9.0.1:5701}\n");
        assertThat(ok).as(ok.toString()).isInstanceOf(GatewaySettingsReader.Result.Valid.class);
    }

    @Test
    void membersAreIpEndpointsAndASecondMemberNeedsTheSharedKek() {
        assertThat(read(NODE + "  cluster: {bind: 10.9.0.1:5701, members: [10.9.0.1:5701]}\n"))
                .isInstanceOf(GatewaySettingsReader.Result.Valid.class);
        assertThat(((GatewaySettingsReader.Result.Invalid) read(NODE
                + "  cluster: {bind: 10.9.0.1:5701, members: [10.9.0.1:5701, '10.9.0.2:5701', nohostport]}\n"))
                .problems()).singleElement().asString()
                .startsWith("node.yaml:5:76: gateway.cluster.members[2]: ").contains("'nohostport' needs a port");
        assertThat(((GatewaySettingsReader.Result.Invalid) read(NODE
                + "  cluster: {bind: 10.9.0.1:5701, members: [10.9.0.1:5701, '10.9.0.2:5701']}\n"))
                .problems()).singleElement().asString()
                .startsWith("node.yaml:5:12: gateway.cluster.kek_file: missing: members of a cluster must share");
    }

    private static GatewaySettingsReader.Result read(String yaml) {
        return GatewaySettingsReader.read("node.yaml", yaml);
    }
}
