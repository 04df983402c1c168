package dev.keel.ike.crypto;

import java.io.IOException;
import java.io.Reader;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.cert.CertPath;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateParsingException;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509CRL;
import java.security.cert.X509CRLEntry;
import java.security.cert.X509Certificate;
import java.io.ByteArrayInputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;

/**
 * X.509 for IKE: PEM loading (bcpkix), PKIX chain validation against configured CAs (JDK
 * CertPathValidator) with RFC 4945's key usage rules for the end entity, revocation by configured
 * CRL files (nothing fetched), and matching the peer's IKE identity to its certificate.
 */
public final class Certificates {

    /** IKEv2 Identification types (RFC 7296 §3.5). */
    public static final int ID_IPV4_ADDR = 1;
    public static final int ID_FQDN = 2;
    public static final int ID_RFC822_ADDR = 3;
    public static final int ID_IPV6_ADDR = 5;
    public static final int ID_DER_ASN1_DN = 9;

    /**
     * Extended key usages an IKE end entity may carry (RFC 4945 §5.1.3.12 names the first two;
     * the TLS ones and iKEIntermediate are what Windows, macOS and common VPN CAs issue).
     */
    private static final Map<String, String> IKE_EXTENDED_KEY_USAGES = Map.of(
            "1.3.6.1.5.5.7.3.17", "id-kp-ipsecIKE",
            "2.5.29.37.0", "anyExtendedKeyUsage",
            "1.3.6.1.5.5.7.3.1", "id-kp-serverAuth",
            "1.3.6.1.5.5.7.3.2", "id-kp-clientAuth",
            "1.3.6.1.5.5.8.2.2", "iKEIntermediate");

    private Certificates() {
    }

    /** Every certificate in a PEM file, in file order. */
    public static List<X509Certificate> loadCertificates(Path pem) throws IOException {
        try (Reader r = Files.newBufferedReader(pem, StandardCharsets.US_ASCII); PEMParser p = new PEMParser(r)) {
            List<X509Certificate> out = new ArrayList<>();
            JcaX509CertificateConverter conv = new JcaX509CertificateConverter();
            for (Object o = p.readObject(); o != null; o = p.readObject()) {
                if (o instanceof X509CertificateHolder h) {
                    out.add(conv.getCertificate(h));
                }
            }
            if (out.isEmpty()) {
                throw new IOException(pem + ": no certificate");
            }
            return out;
        } catch (CertificateException e) {
            throw new IOException(pem + ": unreadable certificate: " + e.getMessage(), e);
        }
    }

    /** The private key of a PEM file: PKCS#8 ("PRIVATE KEY") or traditional RSA/EC. Unencrypted only. */
    public static PrivateKey loadPrivateKey(Path pem) throws IOException {
        try (Reader r = Files.newBufferedReader(pem, StandardCharsets.US_ASCII); PEMParser p = new PEMParser(r)) {
            JcaPEMKeyConverter conv = new JcaPEMKeyConverter();
            for (Object o = p.readObject(); o != null; o = p.readObject()) {
                if (o instanceof PrivateKeyInfo info) {
                    return conv.getPrivateKey(info);
                }
                if (o instanceof PEMKeyPair pair) {
                    // The private half alone: SEC 1 makes an EC key's public key optional.
                    return conv.getPrivateKey(pair.getPrivateKeyInfo());
                }
            }
            throw new IOException(pem + ": no unencrypted private key");
        }
    }

    /** A certificate from its DER encoding (a CERT payload's data), or an exception naming the problem. */
    public static X509Certificate parseDer(byte[] der) throws CertificateException {
        return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(der));
    }

    /** Thrown when a received chain does not validate; the message says why. */
    public static final class ChainValidationException extends Exception {
        public ChainValidationException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** {@link #validate(X509Certificate, Collection, Collection, Collection, Date)} without CRLs. */
    public static void validate(X509Certificate endEntity, Collection<X509Certificate> intermediates,
            Collection<X509Certificate> trustedCas, Date when) throws ChainValidationException {
        validate(endEntity, intermediates, trustedCas, List.of(), when);
    }

    /**
     * Validates {@code endEntity} with {@code intermediates} (in any order) up to one of
     * {@code trustedCas} at {@code when}, checks that no certificate of the chain is revoked by
     * one of {@code crls} ({@link #checkRevocation}; the JDK's own revocation checking stays off:
     * it would fetch, and fail without, a CRL for every certificate) and that the end entity may
     * sign IKE AUTH payloads ({@link #checkEndEntityUsage}).
     */
    public static void validate(X509Certificate endEntity, Collection<X509Certificate> intermediates,
            Collection<X509Certificate> trustedCas, Collection<X509CRL> crls, Date when)
            throws ChainValidationException {
        try {
            List<X509Certificate> path = order(endEntity, intermediates, trustedCas);
            CertPath certPath = CertificateFactory.getInstance("X.509").generateCertPath(path);
            Set<TrustAnchor> anchors = new HashSet<>();
            for (X509Certificate ca : trustedCas) {
                anchors.add(new TrustAnchor(ca, null));
            }
            PKIXParameters params = new PKIXParameters(anchors);
            params.setRevocationEnabled(false);
            params.setDate(when);
            CertPathValidator.getInstance("PKIX").validate(certPath, params);
            checkRevocation(path, trustedCas, crls);
            checkEndEntityUsage(endEntity);
        } catch (CertPathValidatorException e) {
            String at = e.getIndex() >= 0 ? " (certificate " + e.getIndex() + " of the chain)" : "";
            throw new ChainValidationException("certificate chain rejected: " + e.getReason() + ": " + e.getMessage() + at, e);
        } catch (GeneralSecurityException e) {
            throw new ChainValidationException("certificate chain rejected: " + e.getMessage(), e);
        }
    }

    /**
     * No certificate of the validated {@code path} (end entity first, up to the one a trusted CA
     * issued) is on a CRL of {@code crls} that its issuer signed (RFC 5280 §6.3: a CRL counts only
     * when its issuer is the certificate's and its signature verifies with that issuer's key).
     * Complete CRLs only; a certificate no CRL covers passes.
     */
    static void checkRevocation(List<X509Certificate> path, Collection<X509Certificate> trustedCas,
            Collection<X509CRL> crls) throws ChainValidationException {
        for (int i = 0; i < path.size() && !crls.isEmpty(); i++) {
            X509Certificate cert = path.get(i);
            List<X509Certificate> issuers = i + 1 < path.size() ? List.of(path.get(i + 1)) : trustedCas.stream()
                    .filter(ca -> ca.getSubjectX500Principal().equals(cert.getIssuerX500Principal())).toList();
            for (X509CRL crl : crls) {
                if (!crl.getIssuerX500Principal().equals(cert.getIssuerX500Principal())
                        || issuers.stream().noneMatch(issuer -> signedBy(crl, issuer))) {
                    continue;
                }
                X509CRLEntry entry = crl.getRevokedCertificate(cert);
                if (entry != null) {
                    throw new ChainValidationException("certificate chain rejected: REVOKED: '"
                            + cert.getSubjectX500Principal().getName() + "' (serial "
                            + cert.getSerialNumber().toString(16) + ", certificate " + i + " of the chain) was revoked"
                            + (entry.getRevocationReason() != null ? " (" + entry.getRevocationReason() + ")" : "")
                            + " on " + entry.getRevocationDate().toInstant() + " by the CRL of '"
                            + crl.getIssuerX500Principal().getName() + "'", null);
                }
            }
        }
    }

    private static boolean signedBy(X509CRL crl, X509Certificate issuer) {
        try {
            crl.verify(issuer.getPublicKey());
            return true;
        } catch (GeneralSecurityException | RuntimeException e) {
            return false;
        }
    }

    /**
     * The end entity's keyUsage, when present, allows digitalSignature or nonRepudiation (RFC 4945
     * §5.1.3.2); its extendedKeyUsage, when present, names one of {@link #IKE_EXTENDED_KEY_USAGES}.
     * The JDK's PKIX validator checks neither for an end entity.
     */
    static void checkEndEntityUsage(X509Certificate ee) throws ChainValidationException {
        boolean[] ku = ee.getKeyUsage();
        if (ku != null && !(ku.length > 0 && ku[0]) && !(ku.length > 1 && ku[1])) {
            throw new ChainValidationException("certificate rejected: the end entity's keyUsage allows neither"
                    + " digitalSignature nor nonRepudiation, so it may not sign IKE AUTH (RFC 4945 §5.1.3.2)", null);
        }
        List<String> eku;
        try {
            eku = ee.getExtendedKeyUsage();
        } catch (CertificateParsingException e) {
            throw new ChainValidationException("certificate rejected: unreadable extendedKeyUsage: " + e.getMessage(), e);
        }
        if (eku != null && eku.stream().noneMatch(IKE_EXTENDED_KEY_USAGES::containsKey)) {
            throw new ChainValidationException("certificate rejected: the end entity's extendedKeyUsage " + eku
                    + " has none of " + IKE_EXTENDED_KEY_USAGES.values().stream().sorted().toList()
                    + " (RFC 4945 §5.1.3.12)", null);
        }
    }

    /** end-entity, then each issuer found among the intermediates, stopping at a trusted CA's subject. */
    private static List<X509Certificate> order(X509Certificate ee, Collection<X509Certificate> intermediates,
            Collection<X509Certificate> trusted) {
        List<X509Certificate> path = new ArrayList<>();
        path.add(ee);
        List<X509Certificate> pool = new ArrayList<>(intermediates);
        X509Certificate cur = ee;
        for (int i = 0; i < 8; i++) { // bounded depth
            X500Principal issuer = cur.getIssuerX500Principal();
            if (trusted.stream().anyMatch(c -> c.getSubjectX500Principal().equals(issuer))) {
                break;
            }
            X509Certificate next = null;
            for (X509Certificate c : pool) {
                if (c.getSubjectX500Principal().equals(issuer) && !c.equals(cur)) {
                    next = c;
                    break;
                }
            }
            if (next == null) {
                break;
            }
            pool.remove(next);
            path.add(next);
            cur = next;
        }
        return path;
    }

    /**
     * Whether the peer's IKE identity is the certificate's: ID_DER_ASN1_DN equals the subject;
     * ID_FQDN, ID_RFC822_ADDR, ID_IPV4_ADDR, ID_IPV6_ADDR equal a subjectAltName of that type
     * (dNSName and rfc822Name case-insensitively). Other types never match.
     */
    public static boolean matchesIdentity(X509Certificate cert, int idType, byte[] idData) {
        try {
            return switch (idType) {
                case ID_DER_ASN1_DN -> new X500Principal(idData).equals(cert.getSubjectX500Principal());
                case ID_FQDN -> hasSan(cert, 2, new String(idData, StandardCharsets.US_ASCII));
                case ID_RFC822_ADDR -> hasSan(cert, 1, new String(idData, StandardCharsets.US_ASCII));
                case ID_IPV4_ADDR, ID_IPV6_ADDR -> (idType == ID_IPV4_ADDR ? idData.length == 4 : idData.length == 16)
                        && hasIpSan(cert, idData);
                default -> false;
            };
        } catch (IllegalArgumentException | CertificateParsingException e) {
            return false;
        }
    }

    private static boolean hasSan(X509Certificate cert, int type, String value) throws CertificateParsingException {
        Collection<List<?>> sans = cert.getSubjectAlternativeNames();
        if (sans == null) {
            return false;
        }
        String wanted = value.toLowerCase(Locale.ROOT);
        for (List<?> san : sans) {
            if (((Integer) san.get(0)) == type && san.get(1) instanceof String s
                    && s.toLowerCase(Locale.ROOT).equals(wanted)) {
                return true;
            }
        }
        return false;
    }

    private static boolean hasIpSan(X509Certificate cert, byte[] address) throws CertificateParsingException {
        Collection<List<?>> sans = cert.getSubjectAlternativeNames();
        if (sans == null) {
            return false;
        }
        for (List<?> san : sans) {
            if (((Integer) san.get(0)) == 7 && san.get(1) instanceof String s) {
                try {
                    // The JDK renders iPAddress as a literal; parsing a literal does no DNS look-up.
                    if (Arrays.equals(InetAddress.getByName(s).getAddress(), address)) {
                        return true;
                    }
                } catch (UnknownHostException e) {
                    // not a literal: cannot match
                }
            }
        }
        return false;
    }
}
