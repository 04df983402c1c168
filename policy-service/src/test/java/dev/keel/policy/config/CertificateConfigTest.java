package dev.keel.policy.config;

import dev.keel.core.config.ConfigProblem;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code auth: pubkey} sides: certificate files and CA files relative to the configuration,
 * PEM parsing, the private key belonging to the end-entity certificate, the local identity
 * being in it, one test per rule, each asserting {@code file:line:col: key.path: message}; and
 * no private key material in any problem or {@code toString()}.
 */
class CertificateConfigTest {

    private static final String GW_DN = "C=CH, O=Keel, CN=gw-a.example";

    @TempDir
    static Path dir;

    private static KeyPair caKeys;
    private static KeyPair gwKeys;
    private static String gwKeyPem;

    @BeforeAll
    static void pki() throws Exception {
        caKeys = ec();
        X509Certificate ca = cert("C=CH, O=Keel, CN=Root", caKeys, "C=CH, O=Keel, CN=Root", caKeys, true, null);
        KeyPair midKeys = ec();
        X509Certificate mid = cert("C=CH, O=Keel, CN=Intermediate", midKeys, "C=CH, O=Keel, CN=Root", caKeys, true,
                null);
        gwKeys = ec();
        X509Certificate gw = cert(GW_DN, gwKeys, "C=CH, O=Keel, CN=Intermediate", midKeys, false, new GeneralNames(
                new GeneralName[] {new GeneralName(GeneralName.dNSName, "gw-a.example"),
                    new GeneralName(GeneralName.rfc822Name, "ops@gw-a.example"),
                    new GeneralName(GeneralName.iPAddress, "192.0.2.1")}));
        Files.writeString(dir.resolve("ca.pem"), pem(ca));
        Files.writeString(dir.resolve("chain.pem"), pem(mid));
        Files.writeString(dir.resolve("gw.pem"), pem(gw));
        gwKeyPem = pem(gwKeys.getPrivate());
        Files.writeString(dir.resolve("gw.key"), gwKeyPem);
        Files.writeString(dir.resolve("other.key"), pem(ec().getPrivate()));
        KeyPairGenerator ed = KeyPairGenerator.getInstance("Ed25519");
        KeyPair edKeys = ed.generateKeyPair();
        Files.writeString(dir.resolve("ed.pem"), pem(cert("CN=ed.example", edKeys, "C=CH, O=Keel, CN=Root", caKeys,
                false, new GeneralNames(new GeneralName(GeneralName.dNSName, "ed.example")))));
        Files.writeString(dir.resolve("ed.key"), pem(edKeys.getPrivate()));
        Files.writeString(dir.resolve("garbage.pem"), "this is not PEM\n");
        Files.writeString(dir.resolve("broken.pem"), "-----BEGIN CERTIFICATE-----\nMIIB!!!notbase64\n"
                + "-----END CERTIFICATE-----\n");
        Files.createDirectories(dir.resolve("a-directory"));
        var crl = new org.bouncycastle.cert.X509v2CRLBuilder(new X500Name(BCStyle.INSTANCE, "C=CH, O=Keel, CN=Root"),
                new Date());
        crl.addCRLEntry(BigInteger.valueOf(42), new Date(), org.bouncycastle.asn1.x509.CRLReason.keyCompromise);
        var crlHolder = crl.build(new JcaContentSignerBuilder("SHA256withECDSA").build(caKeys.getPrivate()));
        StringWriter w = new StringWriter();
        try (JcaPEMWriter p = new JcaPEMWriter(w)) {
            p.writeObject(crlHolder);
        }
        Files.writeString(dir.resolve("root.crl"), w.toString());
        Files.write(dir.resolve("root-der.crl"), crlHolder.getEncoded());
    }

    private static KeyPair ec() throws GeneralSecurityException {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        return g.generateKeyPair();
    }

    private static X509Certificate cert(String dn, KeyPair keys, String issuer, KeyPair issuerKeys, boolean ca,
            GeneralNames sans) throws Exception {
        var b = new JcaX509v3CertificateBuilder(new X500Name(BCStyle.INSTANCE, issuer), BigInteger.valueOf(
                System.nanoTime()), Date.from(Instant.now().minus(Duration.ofHours(1))),
                Date.from(Instant.now().plus(Duration.ofDays(365))), new X500Name(BCStyle.INSTANCE, dn),
                keys.getPublic());
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
        if (sans != null) {
            b.addExtension(Extension.subjectAlternativeName, false, sans);
        }
        return new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder(
                "SHA256withECDSA").build(issuerKeys.getPrivate())));
    }

    /** PKCS#8 "PRIVATE KEY", as {@code openssl genpkey} writes it. */
    private static String pem(PrivateKey key) {
        return "-----BEGIN PRIVATE KEY-----\n" + java.util.Base64.getMimeEncoder(64, "\n".getBytes(
                java.nio.charset.StandardCharsets.US_ASCII)).encodeToString(key.getEncoded())
                + "\n-----END PRIVATE KEY-----\n";
    }

    private static String pem(X509Certificate o) throws IOException {
        StringWriter w = new StringWriter();
        try (JcaPEMWriter p = new JcaPEMWriter(w)) {
            p.writeObject(o);
        }
        return w.toString();
    }

    /** A configuration with one pubkey connection; {@code local} and {@code remote} are flow mappings. */
    private static String config(String key, String local, String remote) {
        return """
                secrets:
                  gw-key: {file: %s}
                connections:
                  site-b:
                    local_addrs: 192.0.2.1
                    remote_addrs: 198.51.100.2
                    local:  %s
                    remote: %s
                """.formatted(key, local, remote);
    }

    private static final String LOCAL = "{auth: pubkey, id: \"" + GW_DN + "\", certs: [gw.pem, chain.pem], secret: gw-key}";
    private static final String REMOTE = "{auth: pubkey, id: gw-b.example, cacerts: [ca.pem]}";

    private static ConfigResult load(String yaml) throws IOException {
        Path file = dir.resolve("keel.yaml");
        Files.writeString(file, yaml);
        return new ConfigLoader(Map.<String, String>of()::get).loadFile(file);
    }

    private static ConfigProblem onlyProblem(String yaml) throws IOException {
        ConfigResult r = load(yaml);
        assertThat(r).as(r.toString()).isInstanceOf(ConfigResult.Invalid.class);
        List<ConfigProblem> ps = ((ConfigResult.Invalid) r).problems();
        assertThat(ps).as(ps.toString()).hasSize(1);
        assertThat(ps.getFirst().toString()).doesNotContain(keyBody());
        return ps.getFirst();
    }

    private static PolicyConfig valid(String yaml) throws IOException {
        ConfigResult r = load(yaml);
        assertThat(r).as(r.toString()).isInstanceOf(ConfigResult.Valid.class);
        return ((ConfigResult.Valid) r).config();
    }

    /** A line of the private key's base64: must never show up anywhere. */
    private static String keyBody() {
        return gwKeyPem.lines().skip(1).findFirst().orElseThrow();
    }

    @Test
    void chainKeyAndCasLoadRelativeToTheFile() throws Exception {
        PolicyConfig c = valid(config("gw.key", LOCAL, REMOTE));
        AuthConfig local = c.connection("site-b").orElseThrow().local();
        AuthConfig remote = c.connection("site-b").orElseThrow().remote();
        assertThat(local.method()).isEqualTo(AuthMethod.PUBKEY);
        assertThat(local.certs()).hasSize(2);
        assertThat(local.certs().get(0).getPublicKey()).isEqualTo(gwKeys.getPublic());
        assertThat(local.certs().get(1).getSubjectX500Principal().getName()).contains("CN=Intermediate");
        assertThat(remote.cacerts()).hasSize(1);
        assertThat(remote.cacerts().getFirst().getPublicKey()).isEqualTo(caKeys.getPublic());
        assertThat(PemCredentials.privateKey(c.secrets().get("gw-key"))).isEqualTo(gwKeys.getPrivate());
        assertThat(local.toString()).isEqualTo("AuthConfig[PUBKEY " + GW_DN + ", secret gw-key, cert " + GW_DN
                + " + 1 chain]");
        assertThat(remote.toString()).isEqualTo("AuthConfig[PUBKEY gw-b.example, 1 CA certs]");
        assertThat(c.toString() + c.secrets() + local + c.connections()).doesNotContain(keyBody());
    }

    @Test
    void everySubjectAltNameTypeAndTheSubjectAreAcceptedIdentities() throws Exception {
        for (String id : List.of(GW_DN, "gw-a.example", "@gw-a.example", "fqdn:GW-A.example", "ops@gw-a.example",
                "email:ops@gw-a.example", "192.0.2.1")) {
            valid(config("gw.key", LOCAL.replace("\"" + GW_DN + "\"", "\"" + id + "\""), REMOTE));
        }
        // no id: the single local address, which is an iPAddress subjectAltName
        valid(config("gw.key", "{auth: pubkey, certs: gw.pem, secret: gw-key}", REMOTE));
    }

    @Test
    void ed25519KeyAndCertificateLoad() throws Exception {
        valid(config("ed.key", "{auth: pubkey, id: ed.example, certs: ed.pem, secret: gw-key}", REMOTE));
    }

    @Test
    void strongSwanPkiIssuedKeysAndCertificatesLoad() throws Exception {
        // PKCS#1 "RSA PRIVATE KEY" and SEC 1 "EC PRIVATE KEY" as strongSwan's pki writes them
        Path pki = Path.of("..", "ike-service", "src", "test", "resources", "pki").toAbsolutePath().normalize();
        for (String type : List.of("rsa", "ecdsa")) {
            PolicyConfig c = valid(config(pki.resolve("moon-" + type + ".key").toString(),
                    "{auth: pubkey, id: \"C=CH, O=Keel Test, CN=moon.keel.test\", certs: [" + pki.resolve(
                            "moon-" + type + ".pem") + "], secret: gw-key}",
                    "{auth: pubkey, id: sun.keel.test, cacerts: " + pki.resolve("ca-" + type + ".pem") + "}"));
            assertThat(c.connection("site-b").orElseThrow().local().certs().getFirst().getSubjectX500Principal()
                    .getName()).isEqualTo("CN=moon.keel.test,O=Keel Test,C=CH");
        }
    }

    @Test
    void missingCertificateFile() throws Exception {
        ConfigProblem p = onlyProblem(config("gw.key", LOCAL.replace("chain.pem", "nope.pem"), REMOTE));
        assertThat(p.toString()).isEqualTo(dir.resolve("keel.yaml") + ":7:81: connections.site-b.local.certs[1]:"
                + " certificate file " + dir.resolve("nope.pem") + " does not exist");
    }

    @Test
    void certificateFileThatIsADirectory() throws Exception {
        ConfigProblem p = onlyProblem(config("gw.key", LOCAL, REMOTE.replace("ca.pem", "a-directory")));
        assertThat(p.path()).isEqualTo("connections.site-b.remote.cacerts[0]");
        assertThat(p.message()).endsWith("a-directory is not a regular file");
        assertThat(p.line()).isEqualTo(8);
    }

    @Test
    void fileWithoutAnyCertificate() throws Exception {
        ConfigProblem p = onlyProblem(config("gw.key", LOCAL, REMOTE.replace("ca.pem", "garbage.pem")));
        assertThat(p.path()).isEqualTo("connections.site-b.remote.cacerts[0]");
        assertThat(p.message()).isEqualTo("certificate file " + dir.resolve("garbage.pem")
                + " holds no PEM certificate ('-----BEGIN CERTIFICATE-----')");
    }

    @Test
    void certificateThatDoesNotParse() throws Exception {
        ConfigProblem p = onlyProblem(config("gw.key", LOCAL.replace("gw.pem", "broken.pem"), REMOTE));
        assertThat(p.path()).isEqualTo("connections.site-b.local.certs[0]");
        assertThat(p.message()).startsWith("certificate file " + dir.resolve("broken.pem")
                + " is not a PEM certificate file (");
    }

    @Test
    void secretThatIsNotAPrivateKey() throws Exception {
        ConfigProblem p = onlyProblem(config("garbage.pem", LOCAL, REMOTE));
        assertThat(p.toString()).isEqualTo(dir.resolve("keel.yaml") + ":7:101: connections.site-b.local.secret:"
                + " secret 'gw-key' (file " + dir.resolve("garbage.pem") + ") holds no PEM private key (PKCS#8"
                + " 'PRIVATE KEY', 'RSA PRIVATE KEY' or 'EC PRIVATE KEY')");
    }

    @Test
    void privateKeyOfAnotherCertificate() throws Exception {
        ConfigProblem p = onlyProblem(config("other.key", LOCAL, REMOTE));
        assertThat(p.path()).isEqualTo("connections.site-b.local.secret");
        assertThat(p.message()).isEqualTo("the private key of secret 'gw-key' (file " + dir.resolve("other.key")
                + ") does not belong to the end-entity certificate '" + GW_DN + "' (certs[0])");
    }

    @Test
    void privateKeyOfTheIntermediateOrderIsEndEntityFirst() throws Exception {
        // chain.pem first: its key is not ours, so the order mistake is caught
        ConfigProblem p = onlyProblem(config("gw.key", LOCAL.replace("[gw.pem, chain.pem]", "[chain.pem, gw.pem]")
                .replace("\"" + GW_DN + "\"", "\"C=CH, O=Keel, CN=Intermediate\""), REMOTE));
        assertThat(p.path()).isEqualTo("connections.site-b.local.secret");
        assertThat(p.message()).contains("does not belong to the end-entity certificate 'C=CH, O=Keel,"
                + " CN=Intermediate'");
    }

    @Test
    void dnIdentityThatIsNotTheSubject() throws Exception {
        ConfigProblem p = onlyProblem(config("gw.key", LOCAL.replace("CN=gw-a.example", "CN=gw-z.example"),
                REMOTE));
        assertThat(p.toString()).isEqualTo(dir.resolve("keel.yaml") + ":7:32: connections.site-b.local.id:"
                + " identity 'C=CH, O=Keel, CN=gw-z.example' is not in the end-entity certificate: the"
                + " certificate's subject is '" + GW_DN + "', not 'C=CH, O=Keel, CN=gw-z.example' (a DN identity"
                + " is compared with the subject, RDN order included)");
    }

    @Test
    void dnIdentityInReverseOrderIsNotTheSubject() throws Exception {
        ConfigProblem p = onlyProblem(config("gw.key", LOCAL.replace(GW_DN, "CN=gw-a.example, O=Keel, C=CH"),
                REMOTE));
        assertThat(p.path()).isEqualTo("connections.site-b.local.id");
    }

    @Test
    void fqdnIdentityThatIsNotASubjectAltName() throws Exception {
        ConfigProblem p = onlyProblem(config("gw.key", LOCAL.replace("\"" + GW_DN + "\"", "gw-x.example"), REMOTE));
        assertThat(p.path()).isEqualTo("connections.site-b.local.id");
        assertThat(p.message()).isEqualTo("identity 'gw-x.example' is not in the end-entity certificate:"
                + " 'gw-x.example' is not a dNSName subjectAltName of the certificate '" + GW_DN
                + "' (it has gw-a.example)");
    }

    @Test
    void emailIdentityThatIsNotASubjectAltName() throws Exception {
        ConfigProblem p = onlyProblem(config("gw.key", LOCAL.replace("\"" + GW_DN + "\"", "root@gw-a.example"),
                REMOTE));
        assertThat(p.message()).contains("'root@gw-a.example' is not a rfc822Name subjectAltName");
    }

    @Test
    void defaultIpIdentityThatIsNotASubjectAltName() throws Exception {
        ConfigProblem p = onlyProblem(config("gw.key", "{auth: pubkey, certs: gw.pem, secret: gw-key}", REMOTE)
                .replace("local_addrs: 192.0.2.1", "local_addrs: 192.0.2.9"));
        // no 'id' key: reported at the local mapping, under local.id
        assertThat(p.path()).isEqualTo("connections.site-b.local.id");
        assertThat(p.line()).isEqualTo(7);
        assertThat(p.message()).contains("'192.0.2.9' is not an iPAddress subjectAltName").contains("192.0.2.1");
    }

    @Test
    void keyIdIdentityCannotBeChecked() throws Exception {
        ConfigProblem p = onlyProblem(config("gw.key", LOCAL.replace("\"" + GW_DN + "\"", "\"@#0a1b2c\""), REMOTE));
        assertThat(p.path()).isEqualTo("connections.site-b.local.id");
        assertThat(p.message()).contains("a key ID identity cannot be checked against a certificate");
    }

    @Test
    void certificatesBelongToPubkeyOnly() throws Exception {
        ConfigProblem p = onlyProblem(config("gw.key", LOCAL, "{auth: psk, id: gw-b.example, cacerts: ca.pem}"));
        assertThat(p.path()).isEqualTo("connections.site-b.remote.cacerts");
        assertThat(p.message()).isEqualTo("'cacerts' belongs to 'auth: pubkey'; this side authenticates with a"
                + " pre-shared key");
    }

    @Test
    void crlsInPemOrDerAndRsaPssLoad() throws Exception {
        PolicyConfig c = valid(config("gw.key", LOCAL, REMOTE.replace("auth: pubkey", "auth: rsa/pss")
                .replace("}", ", crls: [root.crl, root-der.crl]}")));
        AuthConfig remote = c.connection("site-b").orElseThrow().remote();
        assertThat(remote.crls()).hasSize(2).allMatch(crl -> crl.getRevokedCertificate(BigInteger.valueOf(42)) != null);
        assertThat(remote.rsaPss()).isTrue();
        assertThat(remote.toString()).isEqualTo("AuthConfig[PUBKEY rsa/pss gw-b.example, 1 CA certs, 2 CRLs]");
        assertThat(c.connection("site-b").orElseThrow().local().rsaPss()).isFalse();
    }

    @Test
    void crlFileWithoutACrl() throws Exception {
        ConfigProblem p = onlyProblem(config("gw.key", LOCAL, REMOTE.replace("}", ", crls: [garbage.pem]}")));
        assertThat(p.path()).isEqualTo("connections.site-b.remote.crls[0]");
        assertThat(p.message()).isEqualTo("CRL file " + dir.resolve("garbage.pem")
                + " holds no CRL ('-----BEGIN X509 CRL-----')");
    }

    @Test
    void rsaPssSigningNeedsAnRsaKey() throws Exception {
        ConfigProblem p = onlyProblem(config("gw.key", LOCAL.replace("auth: pubkey", "auth: rsa/pss"), REMOTE));
        assertThat(p.path()).isEqualTo("connections.site-b.local.auth");
        assertThat(p.message()).isEqualTo("'auth: rsa/pss' signs with RSASSA-PSS, but the end-entity certificate '"
                + GW_DN + "' (certs[0]) holds a EC key; use 'auth: pubkey'");
    }

    @Test
    void unknownCertificateKeysGetASuggestion() throws Exception {
        ConfigResult r = load(config("gw.key", LOCAL.replace("certs:", "cert:"), REMOTE.replace("cacerts", "cacert")));
        List<String> ps = ((ConfigResult.Invalid) r).problems().stream().map(ConfigProblem::toString).toList();
        assertThat(ps).anyMatch(s -> s.endsWith("connections.site-b.local.cert: unknown key 'cert'; did you mean"
                + " 'certs'?")).anyMatch(s -> s.endsWith("connections.site-b.remote.cacert: unknown key 'cacert';"
                + " did you mean 'cacerts'?"));
    }

    @Test
    void everyProblemIsReportedInOneLoad() throws Exception {
        ConfigResult r = load(config("other.key", LOCAL.replace("\"" + GW_DN + "\"", "gw-x.example"),
                REMOTE.replace("ca.pem", "nope.pem")));
        List<ConfigProblem> ps = ((ConfigResult.Invalid) r).problems();
        assertThat(ps).extracting(ConfigProblem::path).containsExactlyInAnyOrder("connections.site-b.local.secret",
                "connections.site-b.local.id", "connections.site-b.remote.cacerts[0]");
        assertThat(ps.toString()).doesNotContain(keyBody());
    }
}
