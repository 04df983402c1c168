package dev.keel.sad;

import dev.keel.rpc.KeelLog;
import dev.keel.rpc.LogOptions;
import dev.keel.rpc.MetricsEndpoint;
import dev.keel.rpc.MutualTls;
import dev.keel.rpc.CallRateLimits;
import dev.keel.rpc.RoleAuthorization;
import dev.keel.sad.grpc.SadApiRoles;
import dev.keel.sad.grpc.SadApiRoles.Role;
import io.grpc.ServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * Standalone sad-service: {@code java dev.keel.sad.SadMain --node-id n1 --kek-file kek.hex
 * --hazelcast-port 5701 --members 10.0.0.1:5701,10.0.0.2:5701 --grpc-port 7443
 * --tls-cert c.pem --tls-key k.pem --tls-client-ca ca.pem --ike ike-a.example.net
 * --data-plane esp-a.example.net --reader keelctl.example.net --admin CN=ops,O=Example
 * --metrics-listen 127.0.0.1:9464} (every other option: {@link SadConfig}).
 *
 * <p>gRPC listens on {@code --grpc-host} (default: the bind host, the cluster's own link). With the
 * three TLS options the gRPC API requires mutual TLS (clients must present a certificate from the
 * client CA) and each call a role
 * ({@link SadApiRoles}); without them it serves plaintext without authorization, which is
 * refused unless that address is a loopback address (tests on one host).
 * Prints one line {@code keel-sad ready node=<id> grpc-port=<port> pid=<pid>} (then {@code
 * metrics=<url>} with {@code --metrics-listen}) when serving.
 */
public final class SadMain {

    /** The option naming the identities of each role (repeatable; one DN or a comma-separated list of names). */
    static final Map<String, Role> ROLE_OPTIONS = Map.of(
            "--admin", Role.ADMIN, "--ike", Role.IKE, "--data-plane", Role.DATA_PLANE, "--reader", Role.READER);

    private SadMain() {}

    /**
     * The gRPC security options, taken out of the arguments before {@link SadConfig} reads the rest.
     *
     * @param identities per role, as given (each checked by {@link MutualTls#identity})
     */
    record ApiSecurity(Path cert, Path key, Path clientCa, Map<Role, List<String>> identities) {

        /**
         * Moves the security options of {@code args} into the result and every other argument to
         * {@code rest}.
         *
         * @throws IllegalArgumentException naming the option and what is wrong with its value
         */
        static ApiSecurity parse(String[] args, List<String> rest) {
            String cert = null;
            String key = null;
            String clientCa = null;
            Map<Role, List<String>> identities = new EnumMap<>(Role.class);
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                int eq = a.indexOf('=');
                boolean inline = a.startsWith("--") && eq > 0;
                String name = inline ? a.substring(0, eq) : a;
                if (!name.startsWith("--tls-") && !ROLE_OPTIONS.containsKey(name)) {
                    rest.add(a);
                    continue;
                }
                String v = inline ? a.substring(eq + 1) : value(args, ++i, name);
                switch (name) {
                    case "--tls-cert" -> cert = v;
                    case "--tls-key" -> key = v;
                    case "--tls-client-ca" -> clientCa = v;
                    default -> {
                        Role role = ROLE_OPTIONS.get(name);
                        if (role == null) {
                            throw new IllegalArgumentException("argument " + name + ": unknown option");
                        }
                        for (String id : MutualTls.identityList(v)) {
                            try {
                                MutualTls.identity(id);
                            } catch (IllegalArgumentException e) {
                                throw new IllegalArgumentException(name + ": " + e.getMessage(), e);
                            }
                            identities.computeIfAbsent(role, r -> new ArrayList<>()).add(id);
                        }
                    }
                }
            }
            if ((cert == null || key == null || clientCa == null) && (cert != null || key != null || clientCa != null)) {
                throw new IllegalArgumentException("--tls-cert, --tls-key and --tls-client-ca go together");
            }
            return new ApiSecurity(cert == null ? null : Path.of(cert), key == null ? null : Path.of(key),
                    clientCa == null ? null : Path.of(clientCa), identities);
        }

        /**
         * The gRPC server for {@code address}: mutual TLS with per-role authorization, or plaintext
         * on a loopback address.
         *
         * @throws IllegalArgumentException naming the option and what is wrong
         */
        NettyServerBuilder serverBuilder(InetSocketAddress address) {
            if (cert == null) {
                if (!identities.isEmpty()) {
                    throw new IllegalArgumentException("role options (--admin, --ike, --data-plane, --reader)"
                            + " need mutual TLS: give --tls-cert, --tls-key and --tls-client-ca");
                }
                if (address.getAddress() == null || !address.getAddress().isLoopbackAddress()) {
                    throw new IllegalArgumentException("the gRPC API requires mutual TLS (--tls-cert, --tls-key,"
                            + " --tls-client-ca) unless it listens on a loopback address (--grpc-host, default"
                            + " --bind-host), not " + address.getHostString());
                }
                return NettyServerBuilder.forAddress(address);
            }
            if (identities.isEmpty()) {
                throw new IllegalArgumentException("no client may call anything: give --admin, --ike, --data-plane"
                        + " and/or --reader identities");
            }
            ServerCredentials credentials;
            try {
                credentials = MutualTls.serverCredentials(cert, key, clientCa);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--tls-*: " + e.getMessage(), e);
            }
            RoleAuthorization<Role> authorization = SadApiRoles.authorization(identities); // checked in parse
            try {
                // the rate limits run after the authorization: a caller without the role takes no token
                return NettyServerBuilder.forAddress(address, credentials).intercept(new CallRateLimits(Map.of()))
                        .intercept(authorization);
            } catch (IllegalArgumentException e) {
                // the transport parses the private key here
                throw new IllegalArgumentException("--tls-cert " + cert + " / --tls-key " + key + ": "
                        + e.getMessage(), e);
            }
        }
    }

    /**
     * Moves {@code --metrics-listen HOST[:PORT]} (the Prometheus endpoint, off without it) out of
     * {@code args}, every other argument to {@code rest}.
     *
     * @return the endpoint's address, or null without the option
     * @throws IllegalArgumentException naming the option and what is wrong with its value
     */
    static InetSocketAddress metricsOption(String[] args, List<String> rest) {
        InetSocketAddress listen = null;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals(METRICS_OPTION) || a.startsWith(METRICS_OPTION + "=")) {
                String v = a.equals(METRICS_OPTION) ? value(args, ++i, METRICS_OPTION)
                        : a.substring(METRICS_OPTION.length() + 1);
                listen = MetricsEndpoint.listenOption(METRICS_OPTION, v);
            } else {
                rest.add(a);
            }
        }
        return listen;
    }

    static final String METRICS_OPTION = "--metrics-listen";

    public static void main(String[] args) {
        SadNode node;
        MetricsEndpoint metrics = null;
        try {
            List<String> options = new ArrayList<>();
            KeelLog.install(LogOptions.take(args, options));
            List<String> others = new ArrayList<>();
            InetSocketAddress metricsListen = metricsOption(options.toArray(String[]::new), others);
            List<String> rest = new ArrayList<>();
            ApiSecurity security = ApiSecurity.parse(others.toArray(String[]::new), rest);
            SadConfig config = SadConfig.fromArgs(rest.toArray(String[]::new));
            NettyServerBuilder server = security.serverBuilder(
                    new InetSocketAddress(resolve(config.grpcListenHost()), config.grpcPort()));
            if (metricsListen != null) {
                metrics = MetricsEndpoint.start(metricsListen);
                server.intercept(SadMetrics.callMetrics(metrics.registry()));
            }
            node = SadNode.start(config, server);
            if (metrics != null) {
                new SadMetrics(node).bindTo(metrics.registry());
            }
        } catch (IllegalArgumentException | IllegalStateException | IOException e) {
            System.err.println("keel-sad: " + e.getMessage());
            if (metrics != null) {
                metrics.close();
            }
            System.exit(2);
            return;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        MetricsEndpoint metricsToClose = metrics;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            node.close();
            if (metricsToClose != null) {
                metricsToClose.close();
            }
            stopped.countDown();
        }, "keel-sad-shutdown"));
        System.out.println("keel-sad ready node=" + node.cluster().nodeId() + " grpc-port=" + node.grpcPort()
                + " pid=" + ProcessHandle.current().pid() + (metrics != null ? " metrics=" + metrics.url() : ""));
        System.out.flush();
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static InetAddress resolve(String host) {
        try {
            return InetAddress.getByName(host);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("grpc-host / bind-host: '" + host + "' does not resolve", e);
        }
    }

    private static String value(String[] args, int i, String name) {
        if (i >= args.length) {
            throw new IllegalArgumentException(name + ": missing value");
        }
        return args[i];
    }
}
