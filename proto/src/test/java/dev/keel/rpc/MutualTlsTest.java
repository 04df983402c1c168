package dev.keel.rpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Client identities of a certificate and of configured values, and refused TLS files. */
class MutualTlsTest {

    @TempDir
    Path dir;

    private static X509Certificate opensslCertificate() throws Exception {
        try (InputStream in = MutualTlsTest.class.getResourceAsStream("/rpc/openssl-client.pem")) {
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
    }

    @Test
    void identitiesOfAnOpensslCertificateAreItsDnCnDnsAndUriNames() throws Exception {
        // Written by OpenSSL (test resource README): subject C/O/OU/CN, SANs DNS, URI, IP, email.
        assertThat(MutualTls.identities(opensslCertificate())).containsExactlyInAnyOrder(
                "cn=keelctl.example.net,ou=ipsec,o=example ops,c=de",
                "keelctl.example.net",
                "spiffe://example.net/ns/ops/keelctl");
    }

    @Test
    void configuredIdentitiesMatchTheCertificateWhateverTheirCaseOrDnSpacing() throws Exception {
        var ids = MutualTls.identities(opensslCertificate());
        for (String configured : new String[] {
                // as `openssl x509 -noout -subject -nameopt RFC2253` prints it
                "CN=keelctl.example.net,OU=IPsec,O=Example Ops,C=DE",
                "CN=keelctl.example.net, OU=IPsec, O=Example Ops, C=DE",
                "cn=KEELCTL.example.net,ou=ipsec,o=example ops,c=de",
                "  KeelCtl.Example.NET ",
                "SPIFFE://example.net/ns/ops/keelctl"}) {
            assertThat(ids).as(configured).contains(MutualTls.identity(configured));
        }
        // Order matters in a DN; an IP or email SAN is not an identity.
        for (String other : new String[] {"C=DE, O=Example Ops, OU=IPsec, CN=keelctl.example.net",
                "CN=keelctl.example.net", "192.0.2.7", "ops@example.net", "example.net"}) {
            assertThat(ids).as(other).doesNotContain(MutualTls.identity(other));
        }
    }

    @Test
    void badConfiguredIdentitiesAreRefusedWithTheProblem() {
        assertThatThrownBy(() -> MutualTls.identity("  ")).hasMessage("empty identity");
        assertThatThrownBy(() -> MutualTls.identity("admin\nx")).hasMessageContaining("control characters");
        assertThatThrownBy(() -> MutualTls.identity("CN=a,=b"))
                .hasMessageStartingWith("identity 'CN=a,=b' is not a distinguished name");
        assertThatThrownBy(() -> MutualTls.identity("NOSUCHATTR=a"))
                .hasMessageContaining("is not a distinguished name");
    }

    @Test
    void anOptionValueIsOneDnOrAListOfNames() {
        assertThat(MutualTls.identityList("CN=keelctl, O=Example Ops")).containsExactly("CN=keelctl, O=Example Ops");
        assertThat(MutualTls.identityList("ike-a.example.net, esp-a.example.net"))
                .containsExactly("ike-a.example.net", "esp-a.example.net");
        // An empty element stays, so that identity() refuses it instead of it vanishing.
        assertThat(MutualTls.identityList("a,,b")).containsExactly("a", "", "b");
    }

    @Test
    void testPkiLeafPresentsItsCnDnsAndUriSans() throws Exception {
        TestPki.Issued ca = TestPki.ca(dir, "ca");
        TestPki.Issued leaf = TestPki.leaf(dir, ca, "esp-a", "ESP-A.keel.test", "spiffe://keel.test/esp/a");
        // Bouncy Castle encodes "CN=esp-a,O=Keel Test" in the order written (CN first), and RFC 2253
        // prints the last RDN first.
        assertThat(MutualTls.identities(leaf.cert())).containsExactlyInAnyOrder(
                "o=keel test,cn=esp-a", "esp-a", "esp-a.keel.test", "spiffe://keel.test/esp/a");
    }

    @Test
    void serverCredentialsNameTheFileThatIsWrong() throws Exception {
        TestPki.Issued ca = TestPki.ca(dir, "ca");
        TestPki.Issued server = TestPki.leaf(dir, ca, "server", "localhost");
        Path missing = dir.resolve("missing.pem");
        Path garbage = Files.writeString(dir.resolve("garbage.pem"), "-----BEGIN CERTIFICATE-----\nAAAA\n");
        Path empty = Files.writeString(dir.resolve("empty.pem"), "");
        assertThatThrownBy(() -> MutualTls.serverCredentials(missing, server.keyPem(), ca.certPem()))
                .hasMessage("certificate chain " + missing + ": not a readable file");
        assertThatThrownBy(() -> MutualTls.serverCredentials(server.certPem(), server.keyPem(), garbage))
                .hasMessageStartingWith("client CA " + garbage + ": not PEM X.509 certificates");
        assertThatThrownBy(() -> MutualTls.serverCredentials(empty, server.keyPem(), ca.certPem()))
                .hasMessageStartingWith("certificate chain " + empty + ": ");
        assertThatThrownBy(() -> MutualTls.serverCredentials(server.certPem(), missing, ca.certPem()))
                .hasMessage("private key " + missing + ": not a readable file");
        assertThat(MutualTls.serverCredentials(server.certPem(), server.keyPem(), ca.certPem())).isNotNull();
    }
}
