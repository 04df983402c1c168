package dev.keel.ike.session;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/** A small test PKI built with bcpkix: CAs, intermediates and end-entity certificates. */
public final class TestPki {

    private static final AtomicLong SERIAL = new AtomicLong(1000);

    /** An issued certificate and its key pair. */
    public record Issued(KeyPair keys, X509Certificate cert) {
    }

    /** Key types of end entities. */
    public enum KeyType {
        RSA, ECDSA_P256, ED25519
    }

    private TestPki() {
    }

    static KeyPair keyPair(KeyType type) {
        try {
            return switch (type) {
                case RSA -> {
                    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
                    g.initialize(2048);
                    yield g.generateKeyPair();
                }
                case ECDSA_P256 -> {
                    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
                    g.initialize(new ECGenParameterSpec("secp256r1"));
                    yield g.generateKeyPair();
                }
                case ED25519 -> KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
            };
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A self-signed root CA (ECDSA P-256), valid from an hour ago for ten years. */
    public static Issued rootCa(String dn) {
        KeyPair keys = keyPair(KeyType.ECDSA_P256);
        return build(dn, keys, dn, keys, true, List.of(), Instant.now().minus(Duration.ofHours(1)),
                Instant.now().plus(Duration.ofDays(3650)));
    }

    /** An intermediate CA under {@code issuer}. */
    static Issued intermediate(Issued issuer, String dn) {
        return build(dn, keyPair(KeyType.ECDSA_P256), subject(issuer), issuer.keys(), true, List.of(),
                Instant.now().minus(Duration.ofHours(1)), Instant.now().plus(Duration.ofDays(3650)));
    }

    /** An end-entity certificate under {@code issuer}, valid now, with dNSName {@code fqdn}. */
    public static Issued endEntity(Issued issuer, String dn, String fqdn, KeyType type) {
        return endEntity(issuer, dn, fqdn, keyPair(type), Instant.now().minus(Duration.ofHours(1)),
                Instant.now().plus(Duration.ofDays(365)));
    }

    static Issued endEntity(Issued issuer, String dn, String fqdn, KeyPair keys, Instant notBefore,
            Instant notAfter) {
        return build(dn, keys, subject(issuer), issuer.keys(), false,
                List.of(new GeneralName(GeneralName.dNSName, fqdn)), notBefore, notAfter);
    }

    private static String subject(Issued issued) {
        return X500Name.getInstance(BCStyle.INSTANCE, issued.cert().getSubjectX500Principal().getEncoded()).toString();
    }

    private static Issued build(String dn, KeyPair keys, String issuerDn, KeyPair issuerKeys, boolean ca,
            List<GeneralName> sans, Instant notBefore, Instant notAfter) {
        try {
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(new X500Name(BCStyle.INSTANCE, issuerDn),
                    BigInteger.valueOf(SERIAL.incrementAndGet()), Date.from(notBefore), Date.from(notAfter),
                    new X500Name(BCStyle.INSTANCE, dn), keys.getPublic());
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(ca ? KeyUsage.keyCertSign | KeyUsage.cRLSign
                    : KeyUsage.digitalSignature));
            b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(keys.getPublic()));
            b.addExtension(Extension.authorityKeyIdentifier, false,
                    ext.createAuthorityKeyIdentifier(issuerKeys.getPublic()));
            if (!sans.isEmpty()) {
                b.addExtension(Extension.subjectAlternativeName, false,
                        new GeneralNames(sans.toArray(GeneralName[]::new)));
            }
            String algorithm = switch (issuerKeys.getPrivate().getAlgorithm()) {
                case "RSA" -> "SHA256withRSA";
                case "EC" -> "SHA256withECDSA";
                default -> "Ed25519";
            };
            X509Certificate cert = new JcaX509CertificateConverter().getCertificate(
                    b.build(new JcaContentSignerBuilder(algorithm).build(issuerKeys.getPrivate())));
            return new Issued(keys, cert);
        } catch (GeneralSecurityException | OperatorCreationException | org.bouncycastle.cert.CertIOException e) {
            throw new IllegalStateException(e);
        }
    }
}
