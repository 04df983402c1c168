package dev.keel.sad;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.rpc.TestPki;
import dev.keel.sad.grpc.SadApiRoles.Role;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SadMain's gRPC security options: a bad value stops the start naming the option and the problem. */
class SadMainSecurityOptionsTest {

    @TempDir
    Path dir;

    private static SadMain.ApiSecurity parse(List<String> rest, String... args) {
        return SadMain.ApiSecurity.parse(args, rest);
    }

    private static InetSocketAddress loopback() {
        return new InetSocketAddress("127.0.0.1", 0);
    }

    @Test
    void securityOptionsAreTakenOutAndTheRestIsLeftForSadConfig() {
        List<String> rest = new ArrayList<>();
        var s = parse(rest, "--node-id", "n1", "--tls-cert", "c.pem", "--tls-key=k.pem", "--tls-client-ca", "ca.pem",
                "--ike", "ike-a.example.net, ike-b.example.net", "--admin", "CN=ops, O=Example", "--admin=ops2",
                "--grpc-port=7443");
        assertThat(rest).containsExactly("--node-id", "n1", "--grpc-port=7443");
        assertThat(s.cert()).isEqualTo(Path.of("c.pem"));
        assertThat(s.identities().get(Role.IKE)).containsExactly("ike-a.example.net", "ike-b.example.net");
        assertThat(s.identities().get(Role.ADMIN)).containsExactly("CN=ops, O=Example", "ops2");
    }

    @Test
    void badValuesNameTheOptionAndTheProblem() {
        assertThatThrownBy(() -> parse(new ArrayList<>(), "--data-plane", "esp-a,,esp-b"))
                .hasMessage("--data-plane: empty identity");
        assertThatThrownBy(() -> parse(new ArrayList<>(), "--reader=CN=keelctl,,O=x"))
                .hasMessageStartingWith("--reader: identity 'CN=keelctl,,O=x' is not a distinguished name");
        assertThatThrownBy(() -> parse(new ArrayList<>(), "--tls-certs", "x"))
                .hasMessage("argument --tls-certs: unknown option");
        assertThatThrownBy(() -> parse(new ArrayList<>(), "--ike"))
                .hasMessage("--ike: missing value");
        assertThatThrownBy(() -> parse(new ArrayList<>(), "--tls-cert", "c.pem"))
                .hasMessage("--tls-cert, --tls-key and --tls-client-ca go together");
    }

    @Test
    void plaintextOnlyOnLoopbackAndWithoutRoles() {
        var none = parse(new ArrayList<>());
        assertThat(none.serverBuilder(loopback())).isNotNull();
        assertThatThrownBy(() -> none.serverBuilder(new InetSocketAddress("192.0.2.1", 0)))
                .hasMessageContaining("requires mutual TLS").hasMessageContaining("192.0.2.1");
        assertThatThrownBy(() -> parse(new ArrayList<>(), "--reader", "x").serverBuilder(loopback()))
                .hasMessageContaining("need mutual TLS");
    }

    @Test
    void tlsNeedsRolesAndReadableFiles() throws Exception {
        TestPki.Issued ca = TestPki.ca(dir, "ca");
        TestPki.Issued server = TestPki.leaf(dir, ca, "server", "localhost");
        String cert = server.certPem().toString();
        String key = server.keyPem().toString();
        String caPem = ca.certPem().toString();
        assertThatThrownBy(() -> parse(new ArrayList<>(), "--tls-cert", cert, "--tls-key", key, "--tls-client-ca",
                caPem).serverBuilder(loopback())).hasMessageStartingWith("no client may call anything");
        Path missing = dir.resolve("missing.pem");
        assertThatThrownBy(() -> parse(new ArrayList<>(), "--tls-cert", cert, "--tls-key", key, "--tls-client-ca",
                missing.toString(), "--ike", "x").serverBuilder(loopback()))
                .hasMessage("--tls-*: client CA " + missing + ": not a readable file");
        Path notAKey = Files.writeString(dir.resolve("not-a-key.pem"),
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
        assertThatThrownBy(() -> parse(new ArrayList<>(), "--tls-cert", cert, "--tls-key", notAKey.toString(),
                "--tls-client-ca", caPem, "--ike", "x").serverBuilder(loopback()))
                .hasMessageStartingWith("--tls-cert " + cert + " / --tls-key " + notAKey + ": ");
        assertThat(parse(new ArrayList<>(), "--tls-cert", cert, "--tls-key", key, "--tls-client-ca", caPem,
                "--ike", "x").serverBuilder(loopback())).isNotNull();
    }
}
