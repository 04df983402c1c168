package dev.keel.gateway.ctl;

import dev.keel.rpc.LoopbackTargets;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.TlsChannelCredentials;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Map;

/**
 * Where keelctl finds a node's admin API and how it proves who it is: a Unix socket (the node's
 * default; only its user and root get in, no TLS), or {@code host:port} with mutual TLS, or with
 * plaintext only when asked for and only to a loopback address (the gateway's own rules,
 * docs/gateway.md "Admin API").
 *
 * @param uri        the target as the operator wrote it, for messages
 * @param socket     the Unix socket, or null for TCP
 * @param host       the TCP host, or null for the socket
 * @param port       the TCP port
 * @param tls        the client certificate, key and CA, or null (socket or plaintext)
 * @param serverName the name the node's certificate must carry, when not {@code host}; or null
 */
record AdminTarget(String uri, Path socket, String host, int port, Tls tls, String serverName) {

    /** The node's default socket (the compose files' and images' {@code gateway.admin}). */
    static final String DEFAULT_URI = "unix:/run/keel/admin.sock";

    /** PEM files of mutual TLS. */
    record Tls(Path cert, Path key, Path ca) {}

    /** What the command line says about the connection; nulls where it says nothing. */
    record Options(String uri, Path cert, Path key, Path cacert, boolean plaintext, String serverName) {}

    /**
     * The target from the command line, then the environment ({@code KEEL_ADMIN_URI},
     * {@code KEEL_TLS_CERT}, {@code KEEL_TLS_KEY}, {@code KEEL_TLS_CA}, as the images' tools read
     * them), then {@link #DEFAULT_URI}.
     *
     * @throws IllegalArgumentException saying what is wrong with the options and what to give
     */
    static AdminTarget of(Options o, Map<String, String> env) {
        String uri = o.uri() != null ? o.uri() : env.getOrDefault("KEEL_ADMIN_URI", DEFAULT_URI);
        if (uri.isBlank()) {
            throw new IllegalArgumentException("--uri is empty: give unix:/path/to/socket or host:port");
        }
        if (uri.startsWith("unix:")) {
            if (o.cert() != null || o.key() != null || o.cacert() != null || o.serverName() != null) {
                throw new IllegalArgumentException("--cert, --key, --cacert and --server-name are for host:port;"
                        + " the node's Unix socket " + uri + " admits its user and root without TLS");
            }
            String path = uri.substring("unix:".length()).replaceFirst("^//", "");
            if (path.isEmpty()) {
                throw new IllegalArgumentException("--uri " + uri + " names no socket: give unix:/path/to/socket");
            }
            return new AdminTarget(uri, Path.of(path).toAbsolutePath(), null, 0, null, null);
        }
        int colon = uri.lastIndexOf(':');
        String host = colon > 0 ? uri.substring(0, colon) : "";
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(uri.substring(colon + 1));
        } catch (NumberFormatException e) {
            port = -1;
        }
        if (host.isEmpty() || port < 1 || port > 65535) {
            throw new IllegalArgumentException("--uri " + uri + " is neither unix:/path nor host:port");
        }
        Path cert = o.cert() != null ? o.cert() : envPath(env, "KEEL_TLS_CERT");
        Path key = o.key() != null ? o.key() : envPath(env, "KEEL_TLS_KEY");
        Path ca = o.cacert() != null ? o.cacert() : envPath(env, "KEEL_TLS_CA");
        if (o.plaintext()) {
            if (o.cert() != null || o.key() != null || o.cacert() != null) {
                throw new IllegalArgumentException("--plaintext goes without --cert, --key and --cacert");
            }
            String refusal = LoopbackTargets.plaintextRefusal(uri);
            if (refusal != null) {
                throw new IllegalArgumentException("--plaintext: " + refusal + "; off this host use mutual TLS"
                        + " (--cert, --key, --cacert)");
            }
            return new AdminTarget(uri, null, host, port, null, o.serverName());
        }
        if (cert == null || key == null || ca == null) {
            throw new IllegalArgumentException(uri + " needs mutual TLS: give --cert, --key and --cacert (or"
                    + " KEEL_TLS_CERT, KEEL_TLS_KEY, KEEL_TLS_CA); --plaintext only to a node's loopback admin API");
        }
        for (Map.Entry<String, Path> f : Map.of("--cert", cert, "--key", key, "--cacert", ca).entrySet()) {
            if (!Files.isReadable(f.getValue())) {
                throw new IllegalArgumentException(f.getKey() + " " + f.getValue() + ": not a readable file");
            }
        }
        return new AdminTarget(uri, null, host, port, new Tls(cert, key, ca), o.serverName());
    }

    private static Path envPath(Map<String, String> env, String name) {
        String v = env.get(name);
        return v == null || v.isBlank() ? null : Path.of(v);
    }

    /** Opens a channel to the node; the caller shuts it down. */
    ManagedChannel open() throws IOException {
        if (socket != null) {
            return Grpc.newChannelBuilder("unix://" + socket, InsecureChannelCredentials.create()).build();
        }
        ChannelCredentials credentials = tls == null ? InsecureChannelCredentials.create()
                : TlsChannelCredentials.newBuilder()
                        .keyManager(tls.cert().toFile(), tls.key().toFile())
                        .trustManager(tls.ca().toFile())
                        .build();
        ManagedChannelBuilder<?> b = Grpc.newChannelBuilderForAddress(host, port, credentials);
        if (serverName != null) {
            b.overrideAuthority(serverName);
        }
        return b.build();
    }

    /** The subject of the client certificate, or null (no TLS, or a file that is not one). */
    String clientSubject() {
        if (tls == null) {
            return null;
        }
        try (InputStream in = Files.newInputStream(tls.cert())) {
            return ((X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in))
                    .getSubjectX500Principal().getName();
        } catch (IOException | CertificateException | ClassCastException e) {
            return null;
        }
    }
}
