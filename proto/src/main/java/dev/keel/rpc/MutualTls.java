package dev.keel.rpc;

import io.grpc.Attributes;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptor;
import io.grpc.TlsServerCredentials;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import javax.security.auth.x500.X500Principal;

/**
 * Mutual TLS of Keel's gRPC servers (DESIGN §5): server credentials from PEM files that require a
 * client certificate from a given CA, and the identities such a client certificate presents.
 *
 * <p>An identity is one of: the subject DN (configured in RFC 2253 or RFC 1779 form, compared in
 * X.500 canonical form, so case and spaces after commas do not matter), the subject CN, a DNS
 * subject alternative name, a URI SAN (e.g. a SPIFFE id). Names other than DNs compare
 * case-insensitively. A configured value that starts with {@code TYPE=} is a DN.
 *
 * <p>Why the DN is compared in canonical form: an operator copies it from {@code openssl x509
 * -noout -subject -nameopt RFC2253} or a CA's records, in whatever spacing and case; the RDN
 * order still matters (RFC 2253 lists the last RDN first).
 */
public final class MutualTls {

    /** "CN=", "O =", "2.5.4.3=": the start of a distinguished name, never of a DNS name or a URI. */
    private static final Pattern DN_START = Pattern.compile("^(?:[A-Za-z][A-Za-z0-9-]*|\\d+(?:\\.\\d+)+)\\s*=");
    private static final int SAN_DNS = 2;
    private static final int SAN_URI = 6;

    private MutualTls() {}

    /**
     * Server credentials that require a client certificate issued by a CA in {@code clientCa}.
     * The two certificate files are parsed here so that a wrong file is refused at start with its
     * name; the private key is parsed by the transport when the server is built.
     *
     * @throws IllegalArgumentException naming the file and what is wrong with it
     */
    public static ServerCredentials serverCredentials(Path certChain, Path privateKey, Path clientCa) {
        requireCertificates("certificate chain", certChain);
        requireCertificates("client CA", clientCa);
        if (!Files.isReadable(privateKey)) {
            throw new IllegalArgumentException("private key " + privateKey + ": not a readable file");
        }
        try {
            return TlsServerCredentials.newBuilder()
                    .keyManager(certChain.toFile(), privateKey.toFile())
                    .trustManager(clientCa.toFile())
                    .clientAuth(TlsServerCredentials.ClientAuth.REQUIRE)
                    .build();
        } catch (IOException e) {
            throw new IllegalArgumentException("TLS files " + certChain + ", " + privateKey + ", " + clientCa
                    + ": " + e.getMessage(), e);
        }
    }

    private static void requireCertificates(String what, Path file) {
        if (!Files.isReadable(file)) {
            throw new IllegalArgumentException(what + " " + file + ": not a readable file");
        }
        try (InputStream in = Files.newInputStream(file)) {
            if (CertificateFactory.getInstance("X.509").generateCertificates(in).isEmpty()) {
                throw new IllegalArgumentException(what + " " + file + ": no PEM certificate in it");
            }
        } catch (IOException | CertificateException e) {
            throw new IllegalArgumentException(what + " " + file + ": not PEM X.509 certificates ("
                    + e.getMessage() + ")", e);
        }
    }

    /**
     * A configured client identity in the form {@link #identities} produces.
     *
     * @throws IllegalArgumentException when it is empty, holds control characters, or starts like a
     *         DN but is not one
     */
    public static String identity(String configured) {
        String id = configured == null ? "" : configured.strip();
        if (id.isEmpty()) {
            throw new IllegalArgumentException("empty identity");
        }
        if (id.chars().anyMatch(Character::isISOControl)) {
            throw new IllegalArgumentException("identity '" + id.replaceAll("\\p{Cntrl}", "?")
                    + "' holds control characters");
        }
        if (DN_START.matcher(id).find()) {
            try {
                return new X500Principal(id).getName(X500Principal.CANONICAL);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("identity '" + id + "' is not a distinguished name ("
                        + e.getMessage() + ")", e);
            }
        }
        return id.toLowerCase(Locale.ROOT);
    }

    /**
     * The identities in one option value: a value that starts like a DN ({@code CN=...}) is one
     * DN, commas included; any other value is a comma-separated list of names.
     */
    public static List<String> identityList(String optionValue) {
        String v = optionValue.strip();
        if (DN_START.matcher(v).find()) {
            return List.of(v);
        }
        return Arrays.stream(v.split(",", -1)).map(String::strip).toList();
    }

    /** Every identity {@code cert} presents, each in the form {@link #identity} gives configured ones. */
    public static Set<String> identities(X509Certificate cert) {
        Set<String> ids = new LinkedHashSet<>();
        X500Principal subject = cert.getSubjectX500Principal();
        ids.add(subject.getName(X500Principal.CANONICAL));
        try {
            for (Rdn rdn : new LdapName(subject.getName(X500Principal.RFC2253)).getRdns()) {
                if (rdn.getType().equalsIgnoreCase("CN")) {
                    ids.add(String.valueOf(rdn.getValue()).toLowerCase(Locale.ROOT));
                }
            }
        } catch (InvalidNameException ignored) {
            // an unparsable DN still matches by its canonical text
        }
        try {
            if (cert.getSubjectAlternativeNames() != null) {
                for (List<?> san : cert.getSubjectAlternativeNames()) {
                    // RFC 5280 §4.2.1.6: dNSName [2] and uniformResourceIdentifier [6] are IA5Strings.
                    if (san.get(0) instanceof Integer type && (type == SAN_DNS || type == SAN_URI)
                            && san.get(1) instanceof String name) {
                        ids.add(name.toLowerCase(Locale.ROOT));
                    }
                }
            }
        } catch (CertificateParsingException ignored) {
            // no usable SANs: the subject still identifies the caller
        }
        return ids;
    }

    /** The client's verified leaf certificate on a call's transport, or null (no TLS, no certificate). */
    public static X509Certificate peerCertificate(Attributes transportAttributes) {
        SSLSession session = transportAttributes.get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
        if (session == null) {
            return null;
        }
        try {
            Certificate[] chain = session.getPeerCertificates();
            return chain.length > 0 && chain[0] instanceof X509Certificate x ? x : null;
        } catch (SSLPeerUnverifiedException e) {
            return null;
        }
    }

    /**
     * The verified client certificate's identities ({@link #identities}) in a call's Context,
     * where {@link #identitiesInContext} put them; absent (null) on a server without TLS.
     */
    public static final Context.Key<Set<String>> CALLER_IDENTITIES = Context.key("keel.caller-identities");

    /**
     * An interceptor that puts the caller's certificate identities into each call's Context
     * ({@link #CALLER_IDENTITIES}), for a service that must match what a caller names against who
     * it is; a call without a verified certificate gets none.
     */
    public static ServerInterceptor identitiesInContext() {
        return new ServerInterceptor() {
            @Override
            public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
                    ServerCallHandler<Q, A> next) {
                X509Certificate cert = peerCertificate(call.getAttributes());
                if (cert == null) {
                    return next.startCall(call, headers);
                }
                Context ctx = Context.current().withValue(CALLER_IDENTITIES, Set.copyOf(identities(cert)));
                return Contexts.interceptCall(ctx, call, headers, next);
            }
        };
    }
}
