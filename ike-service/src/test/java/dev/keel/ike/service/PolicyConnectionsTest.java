package dev.keel.ike.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.core.sa.IpsecMode;
import dev.keel.core.ts.TrafficSelector;
import dev.keel.ike.config.IkeConnection;
import dev.keel.proto.CoreMapping;
import dev.keel.proto.v1.Auth;
import dev.keel.proto.v1.AuthMethod;
import dev.keel.proto.v1.Child;
import dev.keel.proto.v1.Connection;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** policy-service's connections read as the engine's: selectors and modes as every service reads them. */
class PolicyConnectionsTest {

    private static final Map<String, byte[]> SECRETS = Map.of("psk-b", new byte[32]);

    private static Connection connection(Child child) {
        return Connection.newBuilder().setName("site-b").setVersion(2)
                .addLocalAddrs("192.0.2.1").addRemoteAddrs("198.51.100.7")
                .setLocal(Auth.newBuilder().setMethod(AuthMethod.AUTH_METHOD_PSK).setId("gw-a.example").setSecretRef("psk-b"))
                .setRemote(Auth.newBuilder().setMethod(AuthMethod.AUTH_METHOD_PSK).setId("gw-b.example"))
                .addProposals("aes256gcm16-prfsha256-x25519")
                .addChildren(child).build();
    }

    private static Child.Builder child() {
        return Child.newBuilder().setName("net").setMode(dev.keel.proto.v1.IpsecMode.IPSEC_MODE_TRANSPORT)
                .addLocalTs(CoreMapping.selector(TrafficSelector.parse("10.1.0.0/16")))
                .addRemoteTs(CoreMapping.selector(TrafficSelector.parse("10.2.0.0/16[tcp/443]")))
                .addEspProposals("aes256gcm16");
    }

    @Test
    void aChildReadsItsSelectorsAndMode() {
        IkeConnection c = PolicyConnections.of(connection(child().build()), SECRETS, 500);

        var net = c.child("net").orElseThrow();
        assertThat(net.localTs()).containsExactly(TrafficSelector.parse("10.1.0.0/16"));
        assertThat(net.remoteTs()).containsExactly(TrafficSelector.parse("10.2.0.0/16[tcp/443]"));
        assertThat(net.mode()).isEqualTo(IpsecMode.TRANSPORT);
    }

    @Test
    void aBadSelectorIsRefusedNamingConnectionChildAndField() {
        // Before: core's bare "protocol 300 is out of range 0-255", naming neither connection nor field.
        var bad = child().setRemoteTs(0, CoreMapping.selector(TrafficSelector.parse("10.2.0.0/16")).toBuilder()
                .setIpProtocol(300)).build();

        assertThatThrownBy(() -> PolicyConnections.of(connection(bad), SECRETS, 500))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("connection 'site-b' child 'net': remote_ts[0].ip_protocol: 300 is not in 0..255");
    }

    @Test
    void aChildWithoutAModeIsRefusedNotTakenForTunnel() {
        var unspecified = child().setMode(dev.keel.proto.v1.IpsecMode.IPSEC_MODE_UNSPECIFIED).build();

        assertThatThrownBy(() -> PolicyConnections.of(connection(unspecified), SECRETS, 500))
                .hasMessage("connection 'site-b' child 'net': mode: IPSEC_MODE_UNSPECIFIED is not TUNNEL or TRANSPORT");
    }
}
