package dev.keel.policy.config;

import dev.keel.core.crypto.PemKeys;
import dev.keel.core.net.IpAddress;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Reader;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.cert.X509CRLHolder;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CRLConverter;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMParser;

/**
 * PEM certificates and private keys of {@code auth: pubkey} sides, and the checks made on them
 * at load: the key belongs to the end-entity certificate, the identity is in that certificate.
 * Messages about a private key name where it came from and never quote what it holds.
 */
public final class PemCredentials {

    /** Largest certificate or CRL file read (a CA bundle may hold many). */
    static final int MAX_CERT_FILE_BYTES = 1 << 20;

    private PemCredentials() {
    }

    /** A problem with a credential, its message safe to show. */
    static final class CredentialException extends Exception {
        CredentialException(String message) {
            super(message, null, false, false);
        }
    }

    /** Every certificate of a PEM text, in order; none is a problem, and so is anything unreadable. */
    static List<X509Certificate> certificates(byte[] pem) throws CredentialException {
        List<X509Certificate> out = new ArrayList<>();
        JcaX509CertificateConverter converter = new JcaX509CertificateConverter();
        try (Reader r = new InputStreamReader(new ByteArrayInputStream(pem), StandardCharsets.US_ASCII);
                PEMParser parser = new PEMParser(r)) {
            for (Object o = parser.readObject(); o != null; o = parser.readObject()) {
                if (o instanceof X509CertificateHolder holder) {
                    out.add(converter.getCertificate(holder));
                }
            }
        } catch (IOException | CertificateException | RuntimeException e) {
            throw new CredentialException("is not a PEM certificate file (" + e.getClass().getSimpleName() + ")");
        }
        if (out.isEmpty()) {
            throw new CredentialException("holds no PEM certificate ('-----BEGIN CERTIFICATE-----')");
        }
        return out;
    }

    /**
     * Every CRL of a file: PEM ('-----BEGIN X509 CRL-----', any number) or one DER CRL, as
     * {@code openssl ca -gencrl} writes them; none is a problem, and so is anything unreadable.
     */
    static List<X509CRL> crls(byte[] content) throws CredentialException {
        List<X509CRL> out = new ArrayList<>();
        JcaX509CRLConverter converter = new JcaX509CRLConverter();
        try {
            if (content.length > 0 && content[0] == 0x30) { // a DER SEQUENCE: one binary CRL
                out.add(converter.getCRL(new X509CRLHolder(content)));
            } else {
                try (Reader r = new InputStreamReader(new ByteArrayInputStream(content), StandardCharsets.US_ASCII);
                        PEMParser parser = new PEMParser(r)) {
                    for (Object o = parser.readObject(); o != null; o = parser.readObject()) {
                        if (o instanceof X509CRLHolder holder) {
                            out.add(converter.getCRL(holder));
                        }
                    }
                }
            }
        } catch (IOException | java.security.cert.CRLException | RuntimeException e) {
            throw new CredentialException("is not a PEM or DER CRL file (" + e.getClass().getSimpleName() + ")");
        }
        if (out.isEmpty()) {
            throw new CredentialException("holds no CRL ('-----BEGIN X509 CRL-----')");
        }
        return out;
    }

    /**
     * The private key of a secret holding PEM: PKCS#8 ("PRIVATE KEY"), PKCS#1 ("RSA PRIVATE KEY")
     * or SEC 1 ("EC PRIVATE KEY"), unencrypted. The message names the secret, never its content.
     *
     * @throws IllegalArgumentException when the secret holds no such key
     */
    public static PrivateKey privateKey(Secret secret) {
        byte[] pem = secret.copy();
        try {
            return privateKey(pem);
        } catch (CredentialException e) {
            throw new IllegalArgumentException("secret '" + secret.name() + "' (" + secret.origin() + ") "
                    + e.getMessage());
        } finally {
            Arrays.fill(pem, (byte) 0);
        }
    }

    static PrivateKey privateKey(byte[] pem) throws CredentialException {
        try {
            return PemKeys.privateKey(pem);
        } catch (IllegalArgumentException e) {
            throw new CredentialException(e.getMessage());
        }
    }

    /** Whether {@code key} is the private half of {@code publicKey} ({@link PemKeys#matches}). */
    static boolean keyMatches(PrivateKey key, PublicKey publicKey) {
        return PemKeys.matches(key, publicKey);
    }

    /** The key types Keel signs with ({@link PemKeys#supported}). */
    static boolean supportedKeyType(PrivateKey key) {
        return PemKeys.supported(key);
    }

    /**
     * Why the IKE identity {@code id} (strongSwan syntax, as ike-service parses it) is not in
     * {@code cert}, or null when it is: a DN must equal the subject, an FQDN, e-mail address or
     * IP address must be a subjectAltName of that type (RFC 7296 §3.5; RFC 4945 §3.1).
     */
    static String identityProblem(String id, X509Certificate cert) {
        String s = id.strip();
        String lower = s.toLowerCase(Locale.ROOT);
        if (lower.startsWith("keyid:") || s.startsWith("@#")) {
            return "a key ID identity cannot be checked against a certificate (and a peer would not accept it);"
                    + " use the certificate's subject DN or one of its subjectAltNames";
        }
        if (lower.startsWith("fqdn:")) {
            return san(cert, 2, "dNSName", s.substring(5));
        }
        if (lower.startsWith("email:") || lower.startsWith("rfc822:")) {
            return san(cert, 1, "rfc822Name", s.substring(s.indexOf(':') + 1));
        }
        if (lower.startsWith("asn1dn:")) {
            return dn(cert, s.substring(7));
        }
        if (s.startsWith("@")) {
            return san(cert, 2, "dNSName", s.substring(1));
        }
        if (s.contains("=")) {
            return dn(cert, s);
        }
        if (s.contains("@")) {
            return san(cert, 1, "rfc822Name", s);
        }
        if (s.indexOf(':') >= 0 || s.chars().allMatch(c -> c == '.' || (c >= '0' && c <= '9'))) {
            try {
                return ipSan(cert, IpAddress.parse(s));
            } catch (IllegalArgumentException e) {
                // not an address: an FQDN, as strongSwan reads it
            }
        }
        return san(cert, 2, "dNSName", s);
    }

    private static String dn(X509Certificate cert, String dn) {
        X500Principal wanted;
        try {
            // DER in the RDN order written, as ike-service (and strongSwan) encode an ID_DER_ASN1_DN.
            wanted = new X500Principal(new X500Name(BCStyle.INSTANCE, dn).getEncoded());
        } catch (IOException | IllegalArgumentException e) {
            return "'" + dn + "' is not a distinguished name: " + e.getMessage();
        }
        if (wanted.equals(cert.getSubjectX500Principal())) {
            return null;
        }
        return "the certificate's subject is '" + subject(cert) + "', not '" + dn + "' (a DN identity is"
                + " compared with the subject, RDN order included)";
    }

    private static String san(X509Certificate cert, int type, String typeName, String value) {
        if (value.isEmpty()) {
            return "empty identity";
        }
        List<String> present = sans(cert, type);
        for (String v : present) {
            if (v.equalsIgnoreCase(value)) {
                return null;
            }
        }
        return "'" + value + "' is not a " + typeName + " subjectAltName of the certificate '" + subject(cert)
                + "' (" + (present.isEmpty() ? "it has none" : "it has " + String.join(", ", present)) + ")";
    }

    private static String ipSan(X509Certificate cert, IpAddress address) {
        List<String> present = sans(cert, 7);
        for (String v : present) {
            try {
                // The JDK renders iPAddress as a literal; parsing a literal does no DNS look-up.
                if (Arrays.equals(InetAddress.getByName(v).getAddress(), address.bytes())) {
                    return null;
                }
            } catch (UnknownHostException e) {
                // not a literal: cannot match
            }
        }
        return "'" + address + "' is not an iPAddress subjectAltName of the certificate '" + subject(cert) + "' ("
                + (present.isEmpty() ? "it has none" : "it has " + String.join(", ", present)) + ")";
    }

    private static List<String> sans(X509Certificate cert, int type) {
        List<String> out = new ArrayList<>();
        try {
            Collection<List<?>> all = cert.getSubjectAlternativeNames();
            if (all != null) {
                for (List<?> san : all) {
                    if (((Integer) san.get(0)) == type && san.get(1) instanceof String v) {
                        out.add(v);
                    }
                }
            }
        } catch (CertificateParsingException e) {
            // an unreadable extension holds no name we can match
        }
        return out;
    }

    /** The subject as strongSwan prints it ({@code C=CH, O=Keel, CN=gw}): DER order. */
    static String subject(X509Certificate cert) {
        try {
            return X500Name.getInstance(BCStyle.INSTANCE, cert.getSubjectX500Principal().getEncoded()).toString()
                    .replace(",", ", ");
        } catch (RuntimeException e) {
            return cert.getSubjectX500Principal().getName();
        }
    }
}
