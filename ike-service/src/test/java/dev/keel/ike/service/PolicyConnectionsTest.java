package dev.keel.ike.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import dev.keel.core.sa.ChildLifetime;
import dev.keel.core.sa.IpsecMode;
import dev.keel.core.ts.TrafficSelector;
import dev.keel.ike.config.ChildConnection;
import dev.keel.ike.config.IkeConnection;
import dev.keel.ike.session.TestPki;
import dev.keel.proto.CoreMapping;
import dev.keel.proto.v1.Auth;
import dev.keel.proto.v1.AuthMethod;
import dev.keel.proto.v1.Child;
import dev.keel.proto.v1.Connection;
import dev.keel.proto.v1.Lifetime;
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
    void aChildsLimitsActionsAndReplayWindowReachTheEngineAndItsSadRecords() {
        var limited = child().setRekeyTimeSeconds(3600).setLifeTimeSeconds(3960).setRandTimeSeconds(60)
                .setRekeyBytes(1_000_000).setLifeBytes(2_000_000).setRandBytes(100_000)
                .setRekeyPackets(5_000).setLifePackets(6_000).setRandPackets(0)
                .setDpdAction(dev.keel.proto.v1.DpdAction.DPD_ACTION_RESTART)
                .setCloseAction(dev.keel.proto.v1.CloseAction.CLOSE_ACTION_TRAP).setReplayWindow(0).build();
        ChildConnection net = PolicyConnections.of(connection(limited), SECRETS, 500).child("net").orElseThrow();

        assertThat(net.lifetime()).isEqualTo(new ChildLifetime(new ChildLifetime.Limit(3_600_000, 3_960_000, 60_000),
                new ChildLifetime.Limit(1_000_000, 2_000_000, 100_000), new ChildLifetime.Limit(5_000, 6_000, 0)));
        assertThat(net.dpdAction()).isEqualTo(ChildConnection.AfterClose.START);
        assertThat(net.closeAction()).isEqualTo(ChildConnection.AfterClose.TRAP);
        assertThat(net.replayWindow()).isZero();
        for (int i = 0; i < 50; i++) { // each SA's soft volume limits: rekey_* less up to rand_*
            Lifetime l = ChildSaRecords.lifetime(net);
            assertThat(l.getSoftSeconds()).isEqualTo(3600);
            assertThat(l.getHardSeconds()).isEqualTo(3960);
            assertThat(l.getSoftBytes()).isBetween(900_000L, 1_000_000L);
            assertThat(l.getHardBytes()).isEqualTo(2_000_000);
            assertThat(l.getSoftPackets()).isEqualTo(5_000);
            assertThat(l.getHardPackets()).isEqualTo(6_000);
        }

        // a policy-service that predates replay_window sends none: the default, never "off"
        assertThat(PolicyConnections.of(connection(child().build()), SECRETS, 500).child("net").orElseThrow()
                .replayWindow()).isEqualTo(1024);
    }

    @Test
    void fragmentationIsMappedAndAnUnsetOneIsSwanctlsDefault() {
        assertThat(PolicyConnections.of(connection(child().build()), SECRETS, 500).fragmentation())
                .isEqualTo(IkeConnection.Fragmentation.YES);
        Connection accept = connection(child().build()).toBuilder().setFragmentation("accept").build();
        assertThat(PolicyConnections.of(accept, SECRETS, 500).fragmentation())
                .isEqualTo(IkeConnection.Fragmentation.ACCEPT);
        Connection bad = connection(child().build()).toBuilder().setFragmentation("maybe").build();
        assertThatThrownBy(() -> PolicyConnections.of(bad, SECRETS, 500))
                .hasMessageContaining("'site-b'").hasMessageEndingWith("fragmentation 'maybe' is not one of yes, accept, force, no");
    }

    @Test
    void mobikeIsMappedAndAnUnsetOneIsSwanctlsDefaultYes() {
        assertThat(PolicyConnections.of(connection(child().build()), SECRETS, 500).mobike()).isTrue();
        Connection off = connection(child().build()).toBuilder().setMobike(false).build();
        assertThat(PolicyConnections.of(off, SECRETS, 500).mobike()).isFalse();
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

    /**
     * A pubkey connection: the chain and CAs come with it (DER), the private key from this host
     * (PEM, by secret name); a key that is not the certificate's, a missing key and a missing
     * chain are refused naming the connection, never quoting the key.
     */
    @Test
    void aPubkeyConnectionTakesItsChainFromPolicyServiceAndItsKeyFromThisHost() throws Exception {
        TestPki.Issued ca = TestPki.rootCa("CN=Keel Test CA");
        TestPki.Issued gw = TestPki.endEntity(ca, "CN=gw-a.example", "gw-a.example", TestPki.KeyType.ECDSA_P256);
        TestPki.Issued other = TestPki.endEntity(ca, "CN=other.example", "other.example", TestPki.KeyType.ECDSA_P256);
        Connection c = connection(child().build()).toBuilder()
                .setLocal(Auth.newBuilder().setMethod(AuthMethod.AUTH_METHOD_PUBKEY).setId("gw-a.example")
                        .setSecretRef("gw-key").addCerts(ByteString.copyFrom(gw.cert().getEncoded())))
                .setRemote(Auth.newBuilder().setMethod(AuthMethod.AUTH_METHOD_PUBKEY).setId("gw-b.example")
                        .addCacerts(ByteString.copyFrom(ca.cert().getEncoded()))).build();

        IkeConnection ike = PolicyConnections.of(c, Map.of("gw-key", pem(gw)), 500);
        assertThat(ike.auth()).isInstanceOfSatisfying(IkeConnection.Auth.PubKey.class, a -> {
            assertThat(a.key()).isEqualTo(gw.keys().getPrivate());
            assertThat(a.chain()).containsExactly(gw.cert());
            assertThat(a.trustAnchors()).containsExactly(ca.cert());
        });

        assertThatThrownBy(() -> PolicyConnections.of(c, Map.of("gw-key", pem(other)), 500))
                .hasMessage("connection 'site-b': key 'gw-key' (EC) is not the private key of our certificate"
                        + " 'CN=gw-a.example'");
        assertThatThrownBy(() -> PolicyConnections.of(c, Map.of(), 500))
                .hasMessage("connection 'site-b': no secret 'gw-key' given to this ike-service (--key gw-key=PEM_FILE)");
        assertThatThrownBy(() -> PolicyConnections.of(c, Map.of("gw-key", "not a key".getBytes()), 500))
                .hasMessageStartingWith("connection 'site-b': key 'gw-key' holds no PEM private key");
        Connection noChain = c.toBuilder().setLocal(c.getLocal().toBuilder().clearCerts()).build();
        assertThatThrownBy(() -> PolicyConnections.of(noChain, Map.of("gw-key", pem(gw)), 500))
                .hasMessageContaining("'auth: pubkey' needs our certificate chain");
        Connection mixed = c.toBuilder().setRemote(Auth.newBuilder().setMethod(AuthMethod.AUTH_METHOD_PSK)).build();
        assertThatThrownBy(() -> PolicyConnections.of(mixed, Map.of("gw-key", pem(gw)), 500))
                .hasMessage("connection 'site-b': local AUTH_METHOD_PUBKEY and remote AUTH_METHOD_PSK: both sides psk"
                        + " or both pubkey");
    }

    private static byte[] pem(TestPki.Issued issued) {
        String b64 = java.util.Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(
                issued.keys().getPrivate().getEncoded());
        return ("-----BEGIN PRIVATE KEY-----\n" + b64 + "\n-----END PRIVATE KEY-----\n").getBytes();
    }
}
