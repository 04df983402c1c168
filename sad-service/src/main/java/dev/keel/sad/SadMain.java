package dev.keel.sad;

import io.grpc.InsecureServerCredentials;
import io.grpc.ServerCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * Standalone sad-service: {@code java dev.keel.sad.SadMain --node-id n1 --kek-file kek.hex
 * --hazelcast-port 5701 --members 10.0.0.1:5701,10.0.0.2:5701 --grpc-port 7443
 * [--tls-cert c.pem --tls-key k.pem --tls-client-ca ca.pem]} (every option: {@link SadConfig}).
 *
 * <p>gRPC listens on the bind host. With the three TLS options the gRPC API requires mutual TLS (clients must present a
 * certificate from the client CA); without them it serves plaintext, for loopback tests only.
 * Prints one line {@code keel-sad ready node=<id> grpc-port=<port> pid=<pid>} when serving.
 */
public final class SadMain {

    private SadMain() {}

    public static void main(String[] args) {
        SadNode node;
        try {
            List<String> rest = new ArrayList<>();
            String cert = null;
            String key = null;
            String clientCa = null;
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--tls-cert" -> cert = value(args, ++i, "--tls-cert");
                    case "--tls-key" -> key = value(args, ++i, "--tls-key");
                    case "--tls-client-ca" -> clientCa = value(args, ++i, "--tls-client-ca");
                    default -> rest.add(args[i]);
                }
            }
            SadConfig config = SadConfig.fromArgs(rest.toArray(String[]::new));
            ServerCredentials creds;
            if (cert == null && key == null && clientCa == null) {
                creds = InsecureServerCredentials.create();
            } else if (cert != null && key != null && clientCa != null) {
                creds = TlsServerCredentials.newBuilder()
                        .keyManager(new File(cert), new File(key))
                        .trustManager(new File(clientCa))
                        .clientAuth(TlsServerCredentials.ClientAuth.REQUIRE)
                        .build();
            } else {
                throw new IllegalArgumentException("--tls-cert, --tls-key and --tls-client-ca go together");
            }
            node = SadNode.start(config, NettyServerBuilder.forAddress(
                    new InetSocketAddress(config.bindHost(), config.grpcPort()), creds));
        } catch (IllegalArgumentException | IllegalStateException | IOException e) {
            System.err.println("keel-sad: " + e.getMessage());
            System.exit(2);
            return;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            node.close();
            stopped.countDown();
        }, "keel-sad-shutdown"));
        System.out.println("keel-sad ready node=" + node.cluster().nodeId() + " grpc-port=" + node.grpcPort()
                + " pid=" + ProcessHandle.current().pid());
        System.out.flush();
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String value(String[] args, int i, String name) {
        if (i >= args.length) {
            throw new IllegalArgumentException(name + ": missing value");
        }
        return args[i];
    }

}
