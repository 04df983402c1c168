package dev.keel.ike.admin;

import dev.keel.ike.config.IkeConnection;
import dev.keel.proto.v1.CertInfo;
import dev.keel.proto.v1.ListCertsResponse;
import java.security.PublicKey;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.EdECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.security.auth.x500.X500Principal;

/**
 * The certificates of the loaded connections as keel.v1.IkeService lists them (swanctl
 * --list-certs): each {@code auth: pubkey} connection's own chain (its end entity, whose private
 * key this node holds, then intermediates) and the CAs it trusts for the peer, each certificate
 * once with every connection that uses it. Never the private key.
 */
final class CertListing {

    private CertListing() {
    }

    /** The certificates of {@code connections}, in configuration order. */
    static ListCertsResponse of(Collection<IkeConnection> connections) {
        Map<X509Certificate, CertInfo.Builder> certs = new LinkedHashMap<>();
        for (IkeConnection c : connections) {
            if (!(c.auth() instanceof IkeConnection.Auth.PubKey pk)) {
                continue;
            }
            for (int i = 0; i < pk.chain().size(); i++) {
                add(certs, pk.chain().get(i), i == 0 ? CertInfo.Kind.KIND_END_ENTITY : CertInfo.Kind.KIND_CA,
                        i == 0, c.name());
            }
            for (X509Certificate ca : pk.trustAnchors()) {
                add(certs, ca, CertInfo.Kind.KIND_CA, false, c.name());
            }
        }
        ListCertsResponse.Builder out = ListCertsResponse.newBuilder();
        certs.values().forEach(out::addCerts);
        return out.build();
    }

    private static void add(Map<X509Certificate, CertInfo.Builder> certs, X509Certificate cert, CertInfo.Kind kind,
            boolean privateKey, String connection) {
        CertInfo.Builder b = certs.computeIfAbsent(cert, k -> describe(cert, kind));
        if (privateKey) {
            b.setHasPrivateKey(true);
        }
        if (!b.getConnectionsList().contains(connection)) {
            b.addConnections(connection);
        }
    }

    private static CertInfo.Builder describe(X509Certificate cert, CertInfo.Kind kind) {
        return CertInfo.newBuilder()
                .setKind(kind)
                .setSubject(cert.getSubjectX500Principal().getName(X500Principal.RFC2253))
                .setIssuer(cert.getIssuerX500Principal().getName(X500Principal.RFC2253))
                .setSerial(serial(cert))
                .setNotBeforeMillis(cert.getNotBefore().getTime())
                .setNotAfterMillis(cert.getNotAfter().getTime())
                .setPublicKey(publicKey(cert.getPublicKey()))
                .addAllSubjectAltNames(altNames(cert));
    }

    /** The serial number in hex, byte by byte with colons, as swanctl prints it ("1a:2b:3c"). */
    static String serial(X509Certificate cert) {
        byte[] bytes = cert.getSerialNumber().toByteArray();
        int from = bytes.length > 1 && bytes[0] == 0 ? 1 : 0; // the sign byte of a positive number
        return HexFormat.ofDelimiter(":").formatHex(bytes, from, bytes.length);
    }

    /** "RSA 3072", "ECDSA P-256", "Ed25519". */
    static String publicKey(PublicKey key) {
        return switch (key) {
            case RSAPublicKey rsa -> "RSA " + rsa.getModulus().bitLength();
            case ECPublicKey ec -> "ECDSA P-" + ec.getParams().getCurve().getField().getFieldSize();
            case EdECPublicKey ed -> ed.getParams().getName();
            default -> key.getAlgorithm();
        };
    }

    /** subjectAltNames as "DNS:…", "IP:…", "email:…", "URI:…" (other kinds are left out). */
    static List<String> altNames(X509Certificate cert) {
        List<String> out = new ArrayList<>();
        Collection<List<?>> names;
        try {
            names = cert.getSubjectAlternativeNames();
        } catch (CertificateParsingException e) {
            return out;
        }
        if (names == null) {
            return out;
        }
        for (List<?> n : names) {
            String prefix = switch ((Integer) n.get(0)) {
                case 1 -> "email:";
                case 2 -> "DNS:";
                case 6 -> "URI:";
                case 7 -> "IP:";
                default -> null;
            };
            if (prefix != null && n.get(1) instanceof String value) {
                out.add(prefix + value);
            }
        }
        return out;
    }
}
