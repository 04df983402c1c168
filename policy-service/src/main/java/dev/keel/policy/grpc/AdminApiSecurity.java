package dev.keel.policy.grpc;

import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.TlsServerCredentials;
import java.io.IOException;
import java.nio.file.Path;
import java.security.cert.Certificate;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Mutual TLS and per-method authorization of policy-service's gRPC admin API (DESIGN §5).
 *
 * <p>TLS: the server certificate chain and key and the client CA are PEM files, loaded by gRPC's
 * {@link TlsServerCredentials} (the one TLS builder sad-service's server uses too: no shared
 * module exists that both services depend on and that may do I/O); a client without a
 * certificate from that CA fails the handshake (the client sees UNAVAILABLE).
 *
 * <p>Authorization: every method needs a {@link Role}; a caller's certificate names it by any of
 * its identities (subject DN in RFC 2253 form, the subject CN, a DNS or URI subject alternative
 * name), listed per role at start. A call whose certificate holds no listed identity with the
 * needed role is PERMISSION_DENIED before the service sees it, so it changes nothing; a call
 * without a verified certificate (not possible through the TLS server, but checked) is
 * UNAUTHENTICATED. Methods missing from the table are denied.
 */
public final class AdminApiSecurity {

    /** What a caller may do. ADMIN includes READER. */
    public enum Role {
        /** Any client with a valid certificate (health checks, reflection). */
        AUTHENTICATED,
        /** Reads configuration and policies, watches changes. */
        READER,
        /** Changes or probes server state: loads and validates configurations. */
        ADMIN
    }

    /** The role each policy-service method needs (full method name -> role). */
    public static final Map<String, Role> POLICY_SERVICE_ROLES = Map.of(
            "keel.v1.PolicyService/LoadConfig", Role.ADMIN,
            // ValidateConfig reads files on the server by path, so it is not for readers.
            "keel.v1.PolicyService/ValidateConfig", Role.ADMIN,
            "keel.v1.PolicyService/ListConnections", Role.READER,
            "keel.v1.PolicyService/GetConnection", Role.READER,
            "keel.v1.PolicyService/ListPolicies", Role.READER,
            "keel.v1.PolicyService/Watch", Role.READER,
            "grpc.health.v1.Health/Check", Role.AUTHENTICATED,
            "grpc.health.v1.Health/Watch", Role.AUTHENTICATED,
            "grpc.health.v1.Health/List", Role.AUTHENTICATED,
            "grpc.reflection.v1.ServerReflection/ServerReflectionInfo", Role.AUTHENTICATED);

    private AdminApiSecurity() {}

    /** Server credentials requiring a client certificate issued by {@code clientCa}. */
    public static ServerCredentials serverCredentials(Path certChain, Path privateKey, Path clientCa)
            throws IOException {
        return TlsServerCredentials.newBuilder()
                .keyManager(certChain.toFile(), privateKey.toFile())
                .trustManager(clientCa.toFile())
                .clientAuth(TlsServerCredentials.ClientAuth.REQUIRE)
                .build();
    }

    /**
     * The authorization interceptor.
     *
     * @param methodRoles full method name -> role needed
     * @param admins identities with the ADMIN role
     * @param readers identities with the READER role
     */
    public static ServerInterceptor authorization(Map<String, Role> methodRoles, Set<String> admins,
            Set<String> readers) {
        return new Authorization(Map.copyOf(methodRoles), normalized(admins), normalized(readers));
    }

    private static Set<String> normalized(Set<String> ids) {
        return Set.copyOf(ids.stream().map(AdminApiSecurity::normalize).toList());
    }

    /** Identities compare case-insensitively (DNS names and DN attribute types are case-insensitive). */
    private static String normalize(String id) {
        return id.trim().toLowerCase(Locale.ROOT);
    }

    /** Every identity a certificate presents: subject DN, subject CN, DNS and URI SANs. */
    static List<String> identities(X509Certificate cert) {
        List<String> ids = new ArrayList<>();
        String dn = cert.getSubjectX500Principal().getName(javax.security.auth.x500.X500Principal.RFC2253);
        ids.add(dn);
        try {
            for (Rdn rdn : new LdapName(dn).getRdns()) {
                if (rdn.getType().equalsIgnoreCase("CN")) {
                    ids.add(String.valueOf(rdn.getValue()));
                }
            }
        } catch (InvalidNameException ignored) {
            // an unparsable DN still matches by its full text
        }
        try {
            if (cert.getSubjectAlternativeNames() != null) {
                for (List<?> san : cert.getSubjectAlternativeNames()) {
                    int type = (Integer) san.get(0);
                    if (type == 2 || type == 6) { // dNSName, uniformResourceIdentifier (RFC 5280 §4.2.1.6)
                        ids.add(String.valueOf(san.get(1)));
                    }
                }
            }
        } catch (CertificateParsingException ignored) {
            // no usable SANs: the subject still identifies the caller
        }
        return ids;
    }

    private record Authorization(Map<String, Role> methodRoles, Set<String> admins, Set<String> readers)
            implements ServerInterceptor {

        @Override
        public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                ServerCallHandler<Q, R> next) {
            String method = call.getMethodDescriptor().getFullMethodName();
            X509Certificate cert = peerCertificate(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
            if (cert == null) {
                return refuse(call, Status.UNAUTHENTICATED.withDescription(
                        "no verified client certificate: the admin API requires mutual TLS"));
            }
            Role needed = methodRoles.get(method);
            Role held = held(cert);
            // AUTHENTICATED: a valid certificate suffices; READER: either role; ADMIN: admins only.
            boolean allowed = needed == Role.AUTHENTICATED
                    || (needed == Role.READER && held != null)
                    || (needed == Role.ADMIN && held == Role.ADMIN);
            if (!allowed) {
                return refuse(call, Status.PERMISSION_DENIED.withDescription("client '"
                        + cert.getSubjectX500Principal().getName() + "' may not call " + method
                        + (needed == null ? " (not an admin API method)" : " (needs role " + needed + ")")));
            }
            return next.startCall(call, headers);
        }

        private Role held(X509Certificate cert) {
            Role best = null;
            for (String id : identities(cert)) {
                String n = normalize(id);
                if (admins.contains(n)) {
                    return Role.ADMIN;
                }
                if (readers.contains(n)) {
                    best = Role.READER;
                }
            }
            return best;
        }

        private static X509Certificate peerCertificate(SSLSession session) {
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

        private static <Q, R> ServerCall.Listener<Q> refuse(ServerCall<Q, R> call, Status status) {
            call.close(status, new Metadata());
            return new ServerCall.Listener<>() {};
        }
    }
}
