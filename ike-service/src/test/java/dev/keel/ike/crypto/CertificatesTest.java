package dev.keel.ike.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** PEM loading, PKIX validation of CERT payload chains with RFC 4945 key usage, and IKE identity vs certificate. */
class CertificatesTest {

    @TempDir
    Path dir;

    private Path pem(String name, Object... objects) throws Exception {
        StringWriter sw = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(sw)) {
            for (Object o : objects) {
                w.writeObject(o);
            }
        }
        Path p = dir.resolve(name);
        Files.writeString(p, sw.toString(), StandardCharsets.US_ASCII);
        return p;
    }

    @Test
    void pemRoundTripAndSigningWithLoadedKeys() throws Exception {
        for (String type : new String[] {"RSA", "EC", "Ed25519"}) {
            TestPki.Chain c = TestPki.chain(type);
            List<X509Certificate> certs = Certificates.loadCertificates(pem("chain.pem", c.ee(), c.intermediate()));
            assertThat(certs).containsExactly(c.ee(), c.intermediate());
            var pkcs8 = pem("key.pem", new JcaPKCS8Generator(c.eeKeys().getPrivate(), null));
            var key = Certificates.loadPrivateKey(pkcs8);
            assertThat(key.getEncoded()).isEqualTo(c.eeKeys().getPrivate().getEncoded());
            // a key loaded from PEM signs AUTH data that verifies with the certificate's public key
            var scheme = SignatureScheme.choose(c.ee().getPublicKey(),
                    java.util.EnumSet.allOf(SignatureScheme.HashAlgorithm.class), false);
            byte[] auth = SignatureAuth.sign(scheme, key, new byte[] {1, 2, 3});
            assertThat(SignatureAuth.verify(certs.getFirst().getPublicKey(), auth, new byte[] {1, 2, 3}))
                    .as(type).isEqualTo(SignatureAuth.Verdict.VALID);
        }
        KeyPair rsa = TestPki.keyPair("RSA");
        // traditional "RSA PRIVATE KEY" PEM too
        assertThat(Certificates.loadPrivateKey(pem("rsa.pem", rsa.getPrivate())).getAlgorithm()).isEqualTo("RSA");
        assertThatThrownBy(() -> Certificates.loadCertificates(pem("empty.pem"))).hasMessageContaining("no certificate");
    }

    @Test
    void secOneEcKeyWithoutItsPublicKeyLoadsAndSigns() throws Exception {
        // Written by OpenSSL ('openssl ec -no_public'), certified by strongSwan's pki (resources/pki/README.md).
        Path pki = Path.of("src/test/resources/pki");
        assertThat(Files.readString(pki.resolve("moon-ecdsa-nopub.key"))).startsWith("-----BEGIN EC PRIVATE KEY-----");
        var key = Certificates.loadPrivateKey(pki.resolve("moon-ecdsa-nopub.key"));
        X509Certificate moon = Certificates.loadCertificates(pki.resolve("moon-ecdsa.pem")).getFirst();
        var scheme = SignatureScheme.choose(moon.getPublicKey(), java.util.EnumSet.allOf(SignatureScheme.HashAlgorithm.class),
                false);
        byte[] auth = SignatureAuth.sign(scheme, key, new byte[] {4, 5, 6});
        assertThat(SignatureAuth.verify(moon.getPublicKey(), auth, new byte[] {4, 5, 6}))
                .isEqualTo(SignatureAuth.Verdict.VALID);
    }

    @Test
    void validChainValidates() throws Exception {
        TestPki.Chain c = TestPki.chain("EC");
        Certificates.validate(c.ee(), c.intermediates(), List.of(c.ca()), TestPki.NOW);
        // DER round trip as carried in CERT payloads
        X509Certificate parsed = Certificates.parseDer(c.ee().getEncoded());
        Certificates.validate(parsed, List.of(Certificates.parseDer(c.intermediate().getEncoded())), List.of(c.ca()),
                TestPki.NOW);
    }

    @Test
    void aCrlOfTheRightIssuerRevokesAndNoOtherDoes() throws Exception {
        TestPki.Chain c = TestPki.chain("EC");
        String im = c.intermediate().getSubjectX500Principal().getName();
        String ca = c.ca().getSubjectX500Principal().getName();
        // The intermediate's CRL lists the end entity; the CA's lists the intermediate (RFC 5280 §6.3).
        java.security.cert.X509CRL eeRevoked = TestPki.crl(im, c.imKeys().getPrivate(), c.ee().getSerialNumber());
        assertThatThrownBy(() -> Certificates.validate(c.ee(), c.intermediates(), List.of(c.ca()), List.of(eeRevoked),
                TestPki.NOW)).isInstanceOf(Certificates.ChainValidationException.class)
                .hasMessageContaining("REVOKED").hasMessageContaining("certificate 0 of the chain")
                .hasMessageContaining("KEY_COMPROMISE");
        java.security.cert.X509CRL imRevoked = TestPki.crl(ca, c.caKeys().getPrivate(), c.intermediate().getSerialNumber());
        assertThatThrownBy(() -> Certificates.validate(c.ee(), c.intermediates(), List.of(c.ca()), List.of(imRevoked),
                TestPki.NOW)).hasMessageContaining("REVOKED").hasMessageContaining("certificate 1 of the chain");
        // Another serial, the right serial on a CRL its issuer did not sign, or on another issuer's CRL: no effect.
        Certificates.validate(c.ee(), c.intermediates(), List.of(c.ca()),
                List.of(TestPki.crl(im, c.imKeys().getPrivate(), c.ee().getSerialNumber().add(java.math.BigInteger.ONE))), TestPki.NOW);
        Certificates.validate(c.ee(), c.intermediates(), List.of(c.ca()),
                List.of(TestPki.crl(im, TestPki.keyPair("EC").getPrivate(), c.ee().getSerialNumber())), TestPki.NOW);
        Certificates.validate(c.ee(), c.intermediates(), List.of(c.ca()),
                List.of(TestPki.crl(ca, c.caKeys().getPrivate(), c.ee().getSerialNumber())), TestPki.NOW);
    }

    @Test
    void failuresSayWhy() throws Exception {
        TestPki.Chain c = TestPki.chain("RSA");
        TestPki.Chain other = TestPki.chain("RSA");
        // missing intermediate
        assertThatThrownBy(() -> Certificates.validate(c.ee(), List.of(), List.of(c.ca()), TestPki.NOW))
                .isInstanceOf(Certificates.ChainValidationException.class).hasMessageContaining("rejected");
        // untrusted CA
        assertThatThrownBy(() -> Certificates.validate(c.ee(), c.intermediates(), List.of(other.ca()), TestPki.NOW))
                .isInstanceOf(Certificates.ChainValidationException.class).hasMessageContaining("rejected");
        // expired end entity
        assertThatThrownBy(() -> Certificates.validate(c.ee(), c.intermediates(), List.of(c.ca()), TestPki.days(60)))
                .isInstanceOf(Certificates.ChainValidationException.class).hasMessageContaining("EXPIRED");
        // an end-entity certificate cannot act as a CA
        KeyPair k = TestPki.keyPair("EC");
        X509Certificate fake = TestPki.certificate("CN=evil", k, c.ee().getSubjectX500Principal().getName(),
                c.eeKeys().getPrivate(), false, TestPki.days(-1), TestPki.days(10));
        assertThatThrownBy(() -> Certificates.validate(fake, List.of(c.ee(), c.intermediate()), List.of(c.ca()), TestPki.NOW))
                .isInstanceOf(Certificates.ChainValidationException.class);
    }

    /** An end entity under {@code c}'s CA with the given keyUsage (null: none) and extendedKeyUsages (none: none). */
    private static X509Certificate endEntity(TestPki.Chain c, KeyUsage ku, boolean ekuCritical, KeyPurposeId... ekus)
            throws Exception {
        var b = new JcaX509v3CertificateBuilder(new X500Name("CN=Keel Test CA"), java.math.BigInteger.valueOf(
                System.nanoTime()), TestPki.days(-1), TestPki.days(30), new X500Name("CN=gw-x.keel.test"),
                TestPki.keyPair("EC").getPublic());
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
        if (ku != null) {
            b.addExtension(Extension.keyUsage, true, ku);
        }
        if (ekus.length > 0) {
            b.addExtension(Extension.extendedKeyUsage, ekuCritical, new ExtendedKeyUsage(ekus));
        }
        return new JcaX509CertificateConverter().getCertificate(b.build(
                new JcaContentSignerBuilder("SHA256withECDSA").build(c.caKeys().getPrivate())));
    }

    @Test
    void anEndEntityMustBeAllowedToSignForIke() throws Exception {
        // RFC 4945 §5.1.3.2 and §5.1.3.12; the JDK's PKIX validator checked neither (issue 19).
        TestPki.Chain c = TestPki.chain("EC");
        List<X509Certificate> ca = List.of(c.ca());
        for (X509Certificate accepted : List.of(
                endEntity(c, null, false),
                endEntity(c, new KeyUsage(KeyUsage.digitalSignature), false),
                endEntity(c, new KeyUsage(KeyUsage.nonRepudiation | KeyUsage.keyEncipherment), false),
                endEntity(c, null, true, KeyPurposeId.id_kp_ipsecIKE),
                endEntity(c, null, true, KeyPurposeId.anyExtendedKeyUsage),
                endEntity(c, null, false, KeyPurposeId.id_kp_serverAuth),
                endEntity(c, null, false, KeyPurposeId.id_kp_emailProtection, KeyPurposeId.id_kp_clientAuth),
                endEntity(c, null, false, KeyPurposeId.getInstance(
                        new org.bouncycastle.asn1.ASN1ObjectIdentifier("1.3.6.1.5.5.8.2.2"))))) {
            Certificates.validate(accepted, List.of(), ca, TestPki.NOW);
        }
        X509Certificate encipherOnly = endEntity(c, new KeyUsage(KeyUsage.keyEncipherment | KeyUsage.dataEncipherment),
                false);
        assertThatThrownBy(() -> Certificates.validate(encipherOnly, List.of(), ca, TestPki.NOW))
                .isInstanceOf(Certificates.ChainValidationException.class)
                .hasMessageContaining("keyUsage allows neither digitalSignature nor nonRepudiation");
        for (boolean critical : new boolean[] {false, true}) {
            X509Certificate codeSigning = endEntity(c, new KeyUsage(KeyUsage.digitalSignature), critical,
                    KeyPurposeId.id_kp_codeSigning, KeyPurposeId.id_kp_emailProtection);
            assertThatThrownBy(() -> Certificates.validate(codeSigning, List.of(), ca, TestPki.NOW))
                    .isInstanceOf(Certificates.ChainValidationException.class)
                    .hasMessageContaining("extendedKeyUsage [1.3.6.1.5.5.7.3.3, 1.3.6.1.5.5.7.3.4] has none of")
                    .hasMessageContaining("id-kp-ipsecIKE");
        }
    }

    @Test
    void identityMatching() throws Exception {
        X509Certificate ee = TestPki.chain("EC").ee();
        byte[] dn = ee.getSubjectX500Principal().getEncoded();
        assertThat(Certificates.matchesIdentity(ee, Certificates.ID_DER_ASN1_DN, dn)).isTrue();
        assertThat(Certificates.matchesIdentity(ee, Certificates.ID_DER_ASN1_DN,
                new javax.security.auth.x500.X500Principal("CN=gw-c.keel.test, O=Keel").getEncoded())).isFalse();
        assertThat(Certificates.matchesIdentity(ee, Certificates.ID_FQDN, "GW-B.keel.test".getBytes())).isTrue();
        assertThat(Certificates.matchesIdentity(ee, Certificates.ID_FQDN, "gw-a.keel.test".getBytes())).isFalse();
        // the CN is not a dNSName: an FQDN that is only in the subject does not match
        assertThat(Certificates.matchesIdentity(ee, Certificates.ID_RFC822_ADDR, "ike@keel.test".getBytes())).isTrue();
        assertThat(Certificates.matchesIdentity(ee, Certificates.ID_RFC822_ADDR, "gw-b.keel.test".getBytes())).isFalse();
        assertThat(Certificates.matchesIdentity(ee, Certificates.ID_IPV4_ADDR, TestPki.ip("192.0.2.2"))).isTrue();
        assertThat(Certificates.matchesIdentity(ee, Certificates.ID_IPV4_ADDR, TestPki.ip("192.0.2.3"))).isFalse();
        assertThat(Certificates.matchesIdentity(ee, Certificates.ID_IPV6_ADDR, TestPki.ip("2001:db8::2"))).isTrue();
        assertThat(Certificates.matchesIdentity(ee, Certificates.ID_IPV6_ADDR, TestPki.ip("192.0.2.2"))).isFalse();
        assertThat(Certificates.matchesIdentity(ee, Certificates.ID_DER_ASN1_DN, new byte[] {0x30, 0x7f})).isFalse();
        assertThat(Certificates.matchesIdentity(ee, 11, new byte[] {1})).isFalse();
    }
}
