package dev.keel.rpc;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/** Test certificates made with Bouncy Castle: CAs and the leaf certificates they issue, as PEM files. */
public final class TestPki {

    private static final AtomicLong SERIAL = new AtomicLong(System.currentTimeMillis());

    /** A certificate, its key and where both were written. */
    public record Issued(X509Certificate cert, PrivateKey key, Path certPem, Path keyPem) {}

    private TestPki() {}

    public static KeyPair ecKey() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        return g.generateKeyPair();
    }

    /** A self-signed CA. */
    public static Issued ca(Path dir, String name) throws Exception {
        KeyPair kp = ecKey();
        X500Name subject = new X500Name("CN=" + name + ",O=Keel Test");
        X509v3CertificateBuilder b = builder(subject, subject, kp)
                .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
                .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        return write(dir, name, sign(b, kp.getPrivate()), kp.getPrivate());
    }

    /**
     * A leaf certificate issued by {@code ca}: subject {@code CN=cn,O=Keel Test}, the given subject
     * alternative names (a name with "://" is a URI SAN, any other a DNS SAN) and 127.0.0.1 as an
     * IP SAN, so a server certificate fits loopback.
     */
    public static Issued leaf(Path dir, Issued ca, String cn, String... sanNames) throws Exception {
        KeyPair kp = ecKey();
        X500Name issuer = X500Name.getInstance(ca.cert().getSubjectX500Principal().getEncoded());
        GeneralName[] sans = new GeneralName[sanNames.length + 1];
        for (int i = 0; i < sanNames.length; i++) {
            int type = sanNames[i].contains("://") ? GeneralName.uniformResourceIdentifier : GeneralName.dNSName;
            sans[i] = new GeneralName(type, sanNames[i]);
        }
        sans[sanNames.length] = new GeneralName(GeneralName.iPAddress, "127.0.0.1");
        X509v3CertificateBuilder b = builder(issuer, new X500Name("CN=" + cn + ",O=Keel Test"), kp)
                .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
                .addExtension(Extension.subjectAlternativeName, false, new GeneralNames(sans));
        return write(dir, cn, sign(b, ca.key()), kp.getPrivate());
    }

    private static X509v3CertificateBuilder builder(X500Name issuer, X500Name subject, KeyPair kp) {
        Instant now = Instant.now();
        return new JcaX509v3CertificateBuilder(issuer, BigInteger.valueOf(SERIAL.incrementAndGet()),
                Date.from(now.minus(1, ChronoUnit.HOURS)), Date.from(now.plus(1, ChronoUnit.DAYS)), subject,
                kp.getPublic());
    }

    private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey issuerKey) throws Exception {
        return new JcaX509CertificateConverter().getCertificate(
                b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(issuerKey)));
    }

    private static Issued write(Path dir, String name, X509Certificate cert, PrivateKey key) throws IOException {
        Path certPem = dir.resolve(name + ".pem");
        Path keyPem = dir.resolve(name + ".key");
        Files.writeString(certPem, pem(cert));
        Files.writeString(keyPem, pem(new JcaPKCS8Generator(key, null)));
        return new Issued(cert, key, certPem, keyPem);
    }

    private static String pem(Object o) throws IOException {
        StringWriter s = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(s)) {
            w.writeObject(o);
        }
        return s.toString();
    }
}
