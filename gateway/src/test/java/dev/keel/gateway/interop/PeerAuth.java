package dev.keel.gateway.interop;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/** How a peer authenticates in IKE_AUTH: a pre-shared key, or certificates (pubkey). */
public sealed interface PeerAuth {

    /** A pre-shared key (RFC 7296 2.15); written to swanctl.conf as hex, so any bytes are safe. */
    record Psk(String secret) implements PeerAuth {
        public Psk {
            Objects.requireNonNull(secret, "secret");
            if (secret.isEmpty()) {
                throw new IllegalArgumentException("PSK must not be empty");
            }
        }

        @Override
        public String toString() {
            return "Psk[secret=<" + secret.length() + " chars>]";
        }
    }

    /**
     * Certificate authentication: this peer's certificate and private key (PEM or DER; copied to
     * swanctl/x509 and swanctl/private), the CA certificates that vouch for the remote peer
     * (copied to swanctl/x509ca), the CRLs the remote peer's certificate is checked against
     * (swanctl/x509crl; Keel's {@code remote.crls}), and each side's {@code auth} value:
     * {@code pubkey} or {@code rsa/pss} (swanctl and Keel), {@code ike:rsa/pss-sha256} (swanctl only).
     */
    record Certificates(Path localCertificate, Path localPrivateKey, List<Path> caCertificates, List<Path> crls,
            String localAuth, String remoteAuth) implements PeerAuth {
        public Certificates {
            Objects.requireNonNull(localCertificate, "localCertificate");
            Objects.requireNonNull(localPrivateKey, "localPrivateKey");
            caCertificates = List.copyOf(caCertificates);
            crls = List.copyOf(crls);
            // pubkey and rsa/pss both read; charon's ike:rsa/pss-sha256 (a constraint on the IKE signature alone)
            for (String auth : List.of(localAuth, remoteAuth)) {
                if (!auth.matches("pubkey|rsa/pss|ike:rsa/pss-sha(256|384|512)")) {
                    throw new IllegalArgumentException("auth must be pubkey, rsa/pss or ike:rsa/pss-shaN, not " + auth);
                }
            }
        }

        /** {@code auth = pubkey} both ways, no CRLs. */
        public Certificates(Path localCertificate, Path localPrivateKey, List<Path> caCertificates) {
            this(localCertificate, localPrivateKey, caCertificates, List.of(), "pubkey", "pubkey");
        }

        /** These certificates with the remote peer's checked against {@code crlFiles}. */
        public Certificates withCrls(List<Path> crlFiles) {
            return new Certificates(localCertificate, localPrivateKey, caCertificates, crlFiles, localAuth, remoteAuth);
        }

        /** These certificates with other {@code auth} values ({@code pubkey}, {@code rsa/pss}). */
        public Certificates withAuth(String local, String remote) {
            return new Certificates(localCertificate, localPrivateKey, caCertificates, crls, local, remote);
        }
    }
}
