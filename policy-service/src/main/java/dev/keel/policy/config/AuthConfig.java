package dev.keel.policy.config;

import java.security.cert.X509CRL;
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
 * @param crls      CRLs the peer's chain is checked against ({@code remote.crls}); empty for psk
 *                  and for the local side
 * @param rsaPss    {@code auth: rsa/pss}: RSA signatures with RSASSA-PSS (local: we sign so; remote:
 *                  the peer must), as swanctl's {@code rsa/pss}
 */
public record AuthConfig(AuthMethod method, String id, String secretRef, List<X509Certificate> certs,
        List<X509Certificate> cacerts, List<X509CRL> crls, boolean rsaPss) {

    /** Requires a method and an id; copies the lists. */
    public AuthConfig {
        Objects.requireNonNull(method, "method");
        Objects.requireNonNull(id, "id");
        certs = List.copyOf(certs);
        cacerts = List.copyOf(cacerts);
        crls = List.copyOf(crls);
    }

    /** A side without CRLs, RSA signing with PKCS#1 v1.5. */
    public AuthConfig(AuthMethod method, String id, String secretRef, List<X509Certificate> certs,
            List<X509Certificate> cacerts) {
        this(method, id, secretRef, certs, cacerts, List.of(), false);
    }

    /** A side without certificates (psk, or pubkey not yet given any). */
    public AuthConfig(AuthMethod method, String id, String secretRef) {
        this(method, id, secretRef, List.of(), List.of());
    }

    /** Method, id, secret name and certificate subjects: nothing secret, nothing long. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("AuthConfig[").append(method).append(rsaPss ? " rsa/pss" : "").append(' ').append(id);
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
        if (!crls.isEmpty()) {
            sb.append(", ").append(crls.size()).append(" CRLs");
        }
        return sb.append(']').toString();
    }
}
