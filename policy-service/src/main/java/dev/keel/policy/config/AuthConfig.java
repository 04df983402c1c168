package dev.keel.policy.config;

import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;

/**
 * One side's authentication.
 *
 * @param method    psk or pubkey
 * @param id        the IKE identity (RFC 7296 §3.5) as written
 * @param secretRef the name of the {@code secrets:} entry this side uses, or null (remote side);
 *                  only ever the name
 * @param certs     our certificate chain, end entity first ({@code local.certs}); empty for psk
 *                  and for the remote side
 * @param cacerts   the CA certificates the peer's chain must lead to ({@code remote.cacerts});
 *                  empty for psk and for the local side
 */
public record AuthConfig(AuthMethod method, String id, String secretRef, List<X509Certificate> certs,
        List<X509Certificate> cacerts) {

    /** Requires a method and an id; copies the lists. */
    public AuthConfig {
        Objects.requireNonNull(method, "method");
        Objects.requireNonNull(id, "id");
        certs = List.copyOf(certs);
        cacerts = List.copyOf(cacerts);
    }

    /** A side without certificates (psk, or pubkey not yet given any). */
    public AuthConfig(AuthMethod method, String id, String secretRef) {
        this(method, id, secretRef, List.of(), List.of());
    }

    /** Method, id, secret name and certificate subjects: nothing secret, nothing long. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("AuthConfig[").append(method).append(' ').append(id);
        if (secretRef != null) {
            sb.append(", secret ").append(secretRef);
        }
        if (!certs.isEmpty()) {
            sb.append(", cert ").append(PemCredentials.subject(certs.getFirst()));
            if (certs.size() > 1) {
                sb.append(" + ").append(certs.size() - 1).append(" chain");
            }
        }
        if (!cacerts.isEmpty()) {
            sb.append(", ").append(cacerts.size()).append(" CA certs");
        }
        return sb.append(']').toString();
    }
}
