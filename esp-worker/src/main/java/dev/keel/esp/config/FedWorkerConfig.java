package dev.keel.esp.config;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * A validated configuration of an esp-worker fed by the SAD (docs/esp-worker.md): which node's
 * SAs it runs, where its outer socket and plaintext side are, and how it reaches sad-service and
 * policy-service.
 *
 * @param nodeId     the sad-service node id whose SAs this worker runs (the SAD's owner of them)
 * @param listen     the outer UDP address: ESP in UDP and IKE behind the non-ESP marker (4500)
 * @param loops      event loops, one UDP socket and one plaintext queue each
 * @param plaintext  the plaintext side (TUN or the virtual wire)
 * @param sad        sad-service endpoints, {@code host:port} or {@code unix:PATH}, tried in order
 * @param policy     the policy-service endpoint
 * @param tls        mutual TLS to both services, or null for plaintext (on this host only)
 * @param kekFile    the cluster key-encryption key (hex), the file every sad-service member loads
 * @param ikeRelay   ike-service's IKE relay endpoint ({@code --relay-listen}), where IKE datagrams
 *                   arriving on {@code listen} go; null: nowhere (dropped and counted)
 * @param ikePort    a UDP port the worker also owns on {@code listen}'s address for IKE (500), relayed
 *                   too; 0: none
 * @param metricsListen where the Prometheus endpoint listens ({@code metrics.listen}), or null for none
 */
public record FedWorkerConfig(String nodeId, InetSocketAddress listen, int loops, PlaintextConfig plaintext,
        List<String> sad, String policy, Tls tls, Path kekFile, String ikeRelay, int ikePort,
        InetSocketAddress metricsListen) {

    public FedWorkerConfig {
        Objects.requireNonNull(nodeId, "nodeId");
        Objects.requireNonNull(listen, "listen");
        Objects.requireNonNull(plaintext, "plaintext");
        sad = List.copyOf(sad);
        Objects.requireNonNull(policy, "policy");
        Objects.requireNonNull(kekFile, "kekFile");
    }

    /** Client certificate, its key and the services' CA, PEM files, for mutual TLS to both services. */
    public record Tls(Path cert, Path key, Path ca) {
    }
}
