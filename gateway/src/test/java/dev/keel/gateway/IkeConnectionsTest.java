package dev.keel.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.ike.config.IkeConnection;
import dev.keel.ike.message.IdType;
import dev.keel.policy.config.ConfigLoader;
import dev.keel.policy.config.ConfigResult;
import dev.keel.policy.config.PolicyConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Policy connections with certificates become {@code IkeConnection.Auth.PubKey}; what cannot run is refused. */
class IkeConnectionsTest {

    /** strongSwan pki-issued fixtures (ike-service/src/test/resources/pki/README.md). */
    private static final Path PKI = Path.of("..", "ike-service", "src", "test", "resources", "pki").toAbsolutePath()
            .normalize();

    @TempDir
    Path dir;

    private PolicyConfig load(String local, String remote) throws Exception {
        Path file = dir.resolve("keel.yaml");
        Files.writeString(file, """
                secrets:
                  moon-key: {file: %s}
                connections:
                  to-sun:
                    local_addrs: 192.0.2.1
                    remote_addrs: 192.0.2.2
                    local:  %s
                    remote: %s
                    children:
                      net: {local_ts: 10.1.0.0/16, remote_ts: 10.2.0.0/16}
                """.formatted(PKI.resolve("moon-ecdsa.key"), local, remote));
        ConfigResult r = new ConfigLoader(Map.<String, String>of()::get).loadFile(file);
        assertThat(r).as(r.toString()).isInstanceOf(ConfigResult.Valid.class);
        return ((ConfigResult.Valid) r).config();
    }

    private static final String LOCAL = "{auth: pubkey, id: \"C=CH, O=Keel Test, CN=moon.keel.test\", certs: "
            + PKI.resolve("moon-ecdsa.pem") + ", secret: moon-key}";

    /**
     * Without raw ESP in the data plane every connection forces UDP encapsulation (a faked NAT
     * detection hash); with it only {@code encap: yes} does, and the others detect NATs honestly.
     */
    @Test
    void encapsulationIsForcedUnlessTheDataPlaneHasRawEsp() throws Exception {
        String remote = "{auth: pubkey, id: sun.keel.test, cacerts: " + PKI.resolve("ca-ecdsa.pem") + "}";
        PolicyConfig config = load(LOCAL, remote);
        assertThat(IkeConnections.of(config, 500).getFirst().encap()).as("no raw ESP").isTrue();
        assertThat(IkeConnections.of(config, 500, true).getFirst().encap()).as("raw ESP, no encap key").isFalse();
        Path file = dir.resolve("keel.yaml");
        Files.writeString(file, Files.readString(file).replace("    local_addrs:", "    encap: yes\n    local_addrs:"));
        ConfigResult r = new ConfigLoader(Map.<String, String>of()::get).loadFile(file);
        assertThat(r).as(r.toString()).isInstanceOf(ConfigResult.Valid.class);
        assertThat(IkeConnections.of(((ConfigResult.Valid) r).config(), 500, true).getFirst().encap())
                .as("raw ESP, encap: yes").isTrue();
    }

    @Test
    void pubkeyConnectionMapsToKeyChainAndTrustAnchors() throws Exception {
        PolicyConfig config = load(LOCAL, "{auth: pubkey, id: sun.keel.test, cacerts: " + PKI.resolve("ca-ecdsa.pem")
                + "}");
        List<IkeConnection> mapped = IkeConnections.of(config, 500);
        IkeConnection c = mapped.getFirst();
        IkeConnection.Auth.PubKey auth = (IkeConnection.Auth.PubKey) c.auth();
        assertThat(auth.key().getAlgorithm()).isEqualTo("EC");
        assertThat(auth.chain()).hasSize(1);
        assertThat(auth.chain().getFirst().getSubjectX500Principal().getName())
                .isEqualTo("CN=moon.keel.test,O=Keel Test,C=CH");
        assertThat(auth.trustAnchors()).extracting(x -> x.getSubjectX500Principal().getName())
                .containsExactly("CN=Keel Test ecdsa CA,O=Keel Test,C=CH");
        assertThat(c.localId().idType()).isEqualTo(IdType.ID_DER_ASN1_DN);
        assertThat(c.remoteId().idType()).isEqualTo(IdType.ID_FQDN);
        assertThat(c.toString()).isEqualTo("IkeConnection[to-sun C=CH, O=Keel Test, CN=moon.keel.test <-> sun.keel.test,"
                + " pubkey]");
        assertThat(auth.toString()).doesNotContain(Files.readAllLines(PKI.resolve("moon-ecdsa.key")).get(1));
    }

    @Test
    void pubkeyWithoutCaCertificatesIsRefused() throws Exception {
        PolicyConfig config = load(LOCAL, "{auth: pubkey, id: sun.keel.test}");
        assertThatThrownBy(() -> IkeConnections.of(config, 500)).hasMessage("connections.to-sun.remote.cacerts:"
                + " 'auth: pubkey' needs the CA certificates the peer's certificate must chain to");
    }

    @Test
    void mixedAuthenticationIsRefused() throws Exception {
        PolicyConfig config = load(LOCAL, "{auth: psk, id: sun.keel.test}");
        assertThatThrownBy(() -> IkeConnections.of(config, 500)).hasMessageStartingWith("connections.to-sun:"
                + " local.auth is pubkey but remote.auth is psk");
    }
}
