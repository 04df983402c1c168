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
     * swanctl/x509 and swanctl/private), and the CA certificates that vouch for the remote peer
     * (copied to swanctl/x509ca).
     */
    record Certificates(Path localCertificate, Path localPrivateKey, List<Path> caCertificates) implements PeerAuth {
        public Certificates {
            Objects.requireNonNull(localCertificate, "localCertificate");
            Objects.requireNonNull(localPrivateKey, "localPrivateKey");
            caCertificates = List.copyOf(caCertificates);
        }
    }
}
