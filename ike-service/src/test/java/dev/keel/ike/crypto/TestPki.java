package dev.keel.ike.crypto;

import java.math.BigInteger;
import java.net.InetAddress;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/** Test certificates made with bcpkix: a CA, intermediates and end entities with SANs. */
final class TestPki {

    static final Date NOW = Date.from(Instant.parse("2026-06-01T00:00:00Z"));

    private TestPki() {
    }

    static KeyPair keyPair(String type) throws Exception {
        return switch (type) {
            case "RSA" -> {
                KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
                g.initialize(2048);
                yield g.generateKeyPair();
            }
            case "EC" -> {
                KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
                g.initialize(new ECGenParameterSpec("secp256r1"));
                yield g.generateKeyPair();
            }
            case "Ed25519" -> KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
            default -> throw new IllegalArgumentException(type);
        };
    }

    static String signatureAlgorithm(PrivateKey key) {
        return switch (key.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            default -> "Ed25519";
        };
    }

    /** A certificate for {@code subject}'s public key signed by {@code issuerKey}. */
    static X509Certificate certificate(String subject, KeyPair subjectKeys, String issuer, PrivateKey issuerKey,
            boolean ca, Date notBefore, Date notAfter, GeneralName... sans) throws Exception {
        var b = new JcaX509v3CertificateBuilder(new X500Name(issuer), BigInteger.valueOf(System.nanoTime()),
                notBefore, notAfter, new X500Name(subject), subjectKeys.getPublic());
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
        b.addExtension(Extension.keyUsage, true, new KeyUsage(ca
                ? KeyUsage.keyCertSign | KeyUsage.cRLSign : KeyUsage.digitalSignature));
        if (sans.length > 0) {
            b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(sans));
        }
        var signer = new JcaContentSignerBuilder(signatureAlgorithm(issuerKey)).build(issuerKey);
        return new JcaX509CertificateConverter().getCertificate(b.build(signer));
    }

    static Date days(int n) {
        return Date.from(NOW.toInstant().plus(n, ChronoUnit.DAYS));
    }

    /** CA -> intermediate -> end entity of key type {@code eeType}, with FQDN, email and IP SANs. */
    record Chain(KeyPair caKeys, X509Certificate ca, X509Certificate intermediate, KeyPair eeKeys, X509Certificate ee,
            KeyPair imKeys) {
        List<X509Certificate> intermediates() {
            return new ArrayList<>(List.of(intermediate));
        }
    }

    static Chain chain(String eeType) throws Exception {
        KeyPair caKeys = keyPair("EC");
        X509Certificate ca = certificate("CN=Keel Test CA", caKeys, "CN=Keel Test CA", caKeys.getPrivate(), true,
                days(-10), days(365));
        KeyPair imKeys = keyPair("EC");
        X509Certificate im = certificate("CN=Keel Test Intermediate", imKeys, "CN=Keel Test CA", caKeys.getPrivate(),
                true, days(-10), days(365));
        KeyPair eeKeys = keyPair(eeType);
        X509Certificate ee = certificate("CN=gw-b.keel.test, O=Keel", eeKeys, "CN=Keel Test Intermediate",
                imKeys.getPrivate(), false, days(-1), days(30),
                new GeneralName(GeneralName.dNSName, "gw-b.keel.test"),
                new GeneralName(GeneralName.rfc822Name, "ike@keel.test"),
                new GeneralName(GeneralName.iPAddress, "192.0.2.2"),
                new GeneralName(GeneralName.iPAddress, "2001:db8::2"));
        return new Chain(caKeys, ca, im, eeKeys, ee, imKeys);
    }

    /** A CRL of {@code issuer} signed by {@code issuerKey} revoking {@code serials} (keyCompromise) at {@link #NOW}. */
    static java.security.cert.X509CRL crl(String issuer, PrivateKey issuerKey, BigInteger... serials) throws Exception {
        var b = new org.bouncycastle.cert.X509v2CRLBuilder(new X500Name(issuer), days(-1));
        b.setNextUpdate(days(7));
        for (BigInteger serial : serials) {
            b.addCRLEntry(serial, days(-1), org.bouncycastle.asn1.x509.CRLReason.keyCompromise);
        }
        var signer = new JcaContentSignerBuilder(signatureAlgorithm(issuerKey)).build(issuerKey);
        return new org.bouncycastle.cert.jcajce.JcaX509CRLConverter().getCRL(b.build(signer));
    }

    static byte[] ip(String literal) throws Exception {
        return InetAddress.getByName(literal).getAddress();
    }
}
