package dev.keel.docker;

import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.TlsChannelCredentials;
import java.io.File;
import java.io.IOException;
import java.util.Map;

/**
 * The channel the container tools open to a Keel gRPC API: {@code unix:/path} (the gateway's
 * admin socket) or {@code host:port}; mutual TLS when the environment names a client certificate
 * ({@code KEEL_TLS_CERT}, {@code KEEL_TLS_KEY}, {@code KEEL_TLS_CA}), else plaintext (which the
 * services accept only on loopback, i.e. from inside their own container).
 */
final class AdminChannels {

    private AdminChannels() {}

    /** Opens a channel to {@code target}; the caller shuts it down. */
    static ManagedChannel open(String target, Map<String, String> env) throws IOException {
        String cert = env.get("KEEL_TLS_CERT");
        String key = env.get("KEEL_TLS_KEY");
        String ca = env.get("KEEL_TLS_CA");
        ChannelCredentials credentials;
        if (cert == null && key == null && ca == null) {
            credentials = InsecureChannelCredentials.create();
        } else if (cert == null || key == null || ca == null) {
            throw new IllegalArgumentException("KEEL_TLS_CERT, KEEL_TLS_KEY and KEEL_TLS_CA go together");
        } else {
            credentials = TlsChannelCredentials.newBuilder()
                    .keyManager(new File(cert), new File(key))
                    .trustManager(new File(ca))
                    .build();
        }
        String uri = target.startsWith("unix:") ? "unix://" + target.substring("unix:".length()).replaceFirst("^/*", "/")
                : target;
        return Grpc.newChannelBuilder(uri, credentials).build();
    }
}
