package dev.keel.ike.service;

import dev.keel.proto.ChildKeyUnwrapper;
import dev.keel.ike.admin.IkeAdminRoles;
import dev.keel.ike.admin.LogControl;
import dev.keel.ike.engine.IkeSettings;
import dev.keel.proto.v1.IkeRelayGrpc;
import dev.keel.proto.v1.IkeServiceGrpc;
import dev.keel.rpc.FirstReadyChannel;
import dev.keel.rpc.LogOptions;
import dev.keel.rpc.LoopbackTargets;
import dev.keel.rpc.CallRateLimits;
import dev.keel.rpc.MetricsEndpoint;
import dev.keel.rpc.MutualTls;
import io.grpc.BindableService;
import io.grpc.ChannelCredentials;
import io.grpc.Server;
import io.grpc.ServerCredentials;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code keel-ike-service}: the IKE engine alone (DESIGN §2): connections from policy-service's
 * Watch stream, CHILD SAs through sad-service's gRPC API, IKE on its own UDP ports or, with
 * {@code --relay-listen}, through the esp-workers that own them (the IKE relay); with
 * {@code --admin-listen} its admin API (keel.v1.IkeService). Exit codes:
 * 0 stopped, 2 bad arguments, 1 failed to start.
 */
@Command(name = "keel-ike-service", mixinStandardHelpOptions = true,
        description = "Runs Keel's IKEv2 service alone: connections from policy-service, CHILD SAs to sad-service.")
public final class IkeServiceMain implements Callable<Integer> {

    @Mixin
    LogOptions log = new LogOptions();

    /**
     * Shortest PSK accepted, as policy-service's {@code ConfigLoader.MIN_PSK_BYTES} (which this
     * module does not depend on): RFC 7296 §2.15, a short PSK can be guessed offline.
     */
    static final int MIN_PSK_BYTES = 20;

    @Option(names = "--address", required = true, description = "outer address the IKE sockets bind to")
    String address;

    @Option(names = "--ike-port", defaultValue = "500", description = "IKE port (default ${DEFAULT-VALUE})")
    int ikePort;

    @Option(names = "--nat-t-port", defaultValue = "0", description = "NAT-T IKE port this process binds (default:"
            + " 4500, or ike-port + 1 in a lab); -1 when esp-worker owns it on this address (docs/gateway.md)")
    int natTPort;

    @Option(names = "--esp-port", defaultValue = "0", description = "the data plane's ESP-in-UDP port recorded in"
            + " the SAs (default: the NAT-T port)")
    int espPort;

    @Option(names = "--policy", required = true, description = "policy-service host:port")
    String policy;

    @Option(names = "--sad", required = true, split = ",", description = "sad-service members, host:port,"
            + " comma-separated or repeated: each call goes to the first whose connection is ready (any member"
            + " serves the whole SAD)")
    List<String> sad;

    @Option(names = "--node-id", required = true, description = "this service's name (in SA record ids)")
    String nodeId;

    @Option(names = "--owner-node", defaultValue = "", description = "owner of the SAs: the sad-service node id the"
            + " esp-worker watches as (default: with --relay-listen the node of the esp-worker the peer's IKE came"
            + " through, else the sad-service node serving the calls)")
    String owner;

    @Option(names = "--kek-file", description = "the cluster KEK (the file the sad-service members load): IKE SAs are"
            + " stored in the SAD and a restarted ike-service with this --node-id carries them on (docs/gateway.md);"
            + " without it an IKE SA ends with this process")
    Path kekFile;

    @Option(names = "--psk", description = "NAME=ENV_VAR: the PSK named NAME under secrets: is in ENV_VAR")
    List<String> psks = new ArrayList<>();

    @Option(names = "--key", description = "NAME=PEM_FILE: the private key named NAME under secrets: (auth: pubkey)"
            + " is in PEM_FILE on this host (unencrypted; keep it 0600)")
    List<String> keys = new ArrayList<>();

    @Option(names = "--loops", defaultValue = "1", description = "event loops")
    int loops;

    @Option(names = "--ike", paramLabel = "KEY=VALUE", description = "a responder half-open limit (RFC 7296 2.6) or the"
            + " IKE fragment size (RFC 7383) by strongSwan's name, as gateway.ike has them: cookie_threshold,"
            + " cookie_threshold_ip, init_limit_half_open, block_threshold, half_open_timeout, cookie_secret_lifetime,"
            + " fragment_size; repeatable")
    List<String> ikeLimits = new ArrayList<>();

    @Option(names = "--tls-cert", description = "client certificate chain (PEM) for mutual TLS to both services")
    Path tlsCert;

    @Option(names = "--tls-key", description = "client private key (PEM)")
    Path tlsKey;

    @Option(names = "--tls-ca", description = "CA certificate(s) of the services (PEM); with --relay-listen also the"
            + " CA of the esp-workers' client certificates")
    Path tlsCa;

    @Option(names = "--relay-listen", description = "HOST:PORT: serve the IKE relay there and bind no UDP port; the"
            + " esp-workers own --ike-port and --nat-t-port on --address (docs/gateway.md)")
    String relayListen;

    @Option(names = "--esp-worker", description = "identity (a DN, or comma-separated CN / DNS / URI names) of the"
            + " esp-workers allowed to attach to the relay; repeatable; needs the --tls-* options. A worker attaches"
            + " only under a node id its certificate names (CN, DNS or URI name)")
    List<String> espWorkers = new ArrayList<>();

    @Option(names = "--metrics-listen", paramLabel = "HOST[:PORT]", description = "serve Prometheus metrics (GET"
            + " /metrics, plain HTTP, no authentication) on this address, port 9464 by default; off without it"
            + " (docs/operations.md)")
    String metricsListen;

    @Option(names = "--admin-listen", description = "HOST:PORT: serve the admin API there (keel.v1.IkeService, health,"
            + " reflection); with the --tls-* options mutual TLS (clients with certificates from --tls-ca) and the roles"
            + " below, without them plaintext on a loopback address only")
    String adminListen;

    @Option(names = "--admin", description = "client identity (a DN, or comma-separated CN / DNS / URI names) allowed"
            + " every admin call, SetLogLevels included; repeatable; needs the --tls-* options")
    List<String> admins = new ArrayList<>();

    @Option(names = "--operator", description = "client identity allowed to list, initiate, terminate and rekey;"
            + " repeatable, as --admin")
    List<String> operators = new ArrayList<>();

    @Option(names = "--reader", description = "client identity allowed to list, read the totals and watch the log;"
            + " repeatable, as --admin")
    List<String> readers = new ArrayList<>();

    /**
     * Why a plaintext gRPC channel to {@code target} is refused ({@link LoopbackTargets}), or null:
     * off this host it would carry CHILD SA keys (InstallChildSas) and connections in the clear,
     * to a server nobody authenticated (issue 19).
     */
    static String plaintextRefusal(String target) {
        String refusal = LoopbackTargets.plaintextRefusal(target);
        return refusal == null ? null : refusal + "; give --tls-cert, --tls-key and --tls-ca (mutual TLS) to reach it";
    }

    /**
     * Reads {@code NAME=PEM_FILE} into {@code secrets} after checking the file holds a private key;
     * returns why not, never quoting the file.
     */
    static String readKey(String option, Map<String, byte[]> secrets) {
        int eq = option.indexOf('=');
        if (eq <= 0 || eq == option.length() - 1) {
            return "expected NAME=PEM_FILE";
        }
        Path file = Path.of(option.substring(eq + 1));
        byte[] pem;
        try {
            if (Files.size(file) > 1 << 20) {
                return file + " is larger than 1 MiB: not a private key";
            }
            pem = Files.readAllBytes(file);
        } catch (java.io.IOException e) {
            return "cannot read " + file + " (" + e.getClass().getSimpleName() + ")";
        }
        try {
            dev.keel.core.crypto.PemKeys.privateKey(pem);
        } catch (IllegalArgumentException e) {
            return file + " " + e.getMessage();
        }
        secrets.put(option.substring(0, eq), pem);
        return null;
    }

    /**
     * The relay's gRPC server on {@code --relay-listen}: mutual TLS with the esp-worker role, or
     * plaintext on a loopback address (the relay carries no keys, but it lets its caller send IKE
     * messages as any peer and out of the workers' address).
     *
     * @throws IllegalArgumentException naming the option and what is wrong
     */
    NettyServerBuilder relayServer(boolean tls, int natT) {
        if (natT <= 0) {
            throw new IllegalArgumentException("--relay-listen: the workers own NAT-T; --nat-t-port " + natT
                    + " names no port");
        }
        InetSocketAddress listen = hostPort("--relay-listen", relayListen);
        if (!tls) {
            if (!espWorkers.isEmpty()) {
                throw new IllegalArgumentException("--esp-worker needs mutual TLS: give --tls-cert, --tls-key and"
                        + " --tls-ca");
            }
            if (!listen.getAddress().isLoopbackAddress()) {
                throw new IllegalArgumentException("--relay-listen " + relayListen + ": plaintext only on a loopback"
                        + " address; give --tls-cert, --tls-key, --tls-ca and --esp-worker for mutual TLS");
            }
            return NettyServerBuilder.forAddress(listen);
        }
        if (espWorkers.isEmpty()) {
            throw new IllegalArgumentException("--relay-listen with mutual TLS: no esp-worker may attach; give"
                    + " --esp-worker IDENTITY");
        }
        List<String> ids = new ArrayList<>();
        for (String v : espWorkers) {
            for (String id : MutualTls.identityList(v)) {
                try {
                    MutualTls.identity(id);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("--esp-worker: " + e.getMessage(), e);
                }
                ids.add(id);
            }
        }
        ServerCredentials credentials;
        try {
            credentials = MutualTls.serverCredentials(tlsCert, tlsKey, tlsCa);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--tls-*: " + e.getMessage(), e);
        }
        try {
            return NettyServerBuilder.forAddress(listen, credentials)
                    .intercept(MutualTls.identitiesInContext()) // runs after the authorization: the relay checks worker_id
                    .intercept(IkeRelayRoles.authorization(Map.of(IkeRelayRoles.Role.DATA_PLANE, ids)));
        } catch (IllegalArgumentException e) { // the transport parses the private key here
            throw new IllegalArgumentException("--tls-cert " + tlsCert + " / --tls-key " + tlsKey + ": "
                    + e.getMessage(), e);
        }
    }

    /**
     * The admin API's gRPC server on {@code --admin-listen} (DESIGN §5): mutual TLS with the roles
     * of {@link IkeAdminRoles} granted to {@code --admin}, {@code --operator} and {@code --reader},
     * or plaintext without roles on a loopback address.
     *
     * @throws IllegalArgumentException naming the option and what is wrong
     */
    NettyServerBuilder adminServer(boolean tls) {
        InetSocketAddress listen = hostPort("--admin-listen", adminListen);
        Map<IkeAdminRoles.Role, List<String>> identities = new EnumMap<>(IkeAdminRoles.Role.class);
        Map<String, IkeAdminRoles.Role> options = new LinkedHashMap<>();
        options.put("--admin", IkeAdminRoles.Role.ADMIN);
        options.put("--operator", IkeAdminRoles.Role.OPERATOR);
        options.put("--reader", IkeAdminRoles.Role.READER);
        Map<String, List<String>> given = Map.of("--admin", admins, "--operator", operators, "--reader", readers);
        options.forEach((option, role) -> {
            for (String v : given.get(option)) {
                for (String id : MutualTls.identityList(v)) {
                    try {
                        MutualTls.identity(id);
                    } catch (IllegalArgumentException e) {
                        throw new IllegalArgumentException(option + ": " + e.getMessage(), e);
                    }
                    identities.computeIfAbsent(role, r -> new ArrayList<>()).add(id);
                }
            }
        });
        if (!tls) {
            if (!identities.isEmpty()) {
                throw new IllegalArgumentException("--admin, --operator and --reader need mutual TLS: give --tls-cert,"
                        + " --tls-key and --tls-ca");
            }
            if (!listen.getAddress().isLoopbackAddress()) {
                throw new IllegalArgumentException("--admin-listen " + adminListen + ": plaintext only on a loopback"
                        + " address; give --tls-cert, --tls-key, --tls-ca and --admin / --operator / --reader for"
                        + " mutual TLS");
            }
            return NettyServerBuilder.forAddress(listen);
        }
        if (identities.isEmpty()) {
            throw new IllegalArgumentException("--admin-listen with mutual TLS: no client may call anything; give"
                    + " --admin, --operator and/or --reader IDENTITY");
        }
        ServerCredentials credentials;
        try {
            credentials = MutualTls.serverCredentials(tlsCert, tlsKey, tlsCa);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--tls-*: " + e.getMessage(), e);
        }
        try {
            return NettyServerBuilder.forAddress(listen, credentials).intercept(new CallRateLimits(Map.of())) // after:
                    .intercept(IkeAdminRoles.authorization(identities));
        } catch (IllegalArgumentException e) { // the transport parses the private key here
            throw new IllegalArgumentException("--tls-cert " + tlsCert + " / --tls-key " + tlsKey + ": "
                    + e.getMessage(), e);
        }
    }

    /** {@code host:port} or {@code [v6]:port} of {@code option}, the host an address literal or a name. */
    private static InetSocketAddress hostPort(String option, String value) {
        int colon = value.lastIndexOf(':');
        String host = colon > 0 ? value.substring(0, colon) : "";
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(value.substring(colon + 1));
        } catch (NumberFormatException e) {
            port = -1;
        }
        if (host.isEmpty() || port < 0 || port > 65_535) {
            throw new IllegalArgumentException(option + " " + value + ": expected HOST:PORT");
        }
        try {
            return new InetSocketAddress(InetAddress.getByName(host), port);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(option + " " + value + ": '" + host + "' does not resolve", e);
        }
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new IkeServiceMain()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        log.install();
        if (!nodeId.matches("[A-Za-z0-9._-]{1,64}")) {
            // sad-service refuses records naming another form (Validation.optionalNode)
            System.err.println("keel-ike-service: --node-id '" + nodeId + "': 1..64 of [A-Za-z0-9._-]");
            return 2;
        }
        Map<String, byte[]> secrets = new HashMap<>();
        for (String p : psks) {
            int eq = p.indexOf('=');
            String value = eq > 0 ? System.getenv(p.substring(eq + 1)) : null;
            if (value == null || value.isEmpty()) {
                System.err.println("keel-ike-service: --psk " + p + ": expected NAME=ENV_VAR with ENV_VAR set");
                return 2;
            }
            int length = value.getBytes(StandardCharsets.UTF_8).length;
            if (length < MIN_PSK_BYTES) {
                System.err.println("keel-ike-service: --psk " + p + ": the key is " + length + " bytes; at least "
                        + MIN_PSK_BYTES + " are needed (a short PSK can be guessed offline)");
                return 2;
            }
            secrets.put(p.substring(0, eq), value.getBytes(StandardCharsets.UTF_8));
        }
        IkeSettings limits = IkeSettings.DEFAULT;
        for (String setting : ikeLimits) {
            int eq = setting.indexOf('=');
            try {
                if (eq <= 0) {
                    throw new IllegalArgumentException("expected KEY=VALUE");
                }
                limits = limits.with(setting.substring(0, eq).strip(), setting.substring(eq + 1).strip());
            } catch (IllegalArgumentException e) {
                System.err.println("keel-ike-service: --ike " + setting + ": " + e.getMessage());
                return 2;
            }
        }
        for (String k : keys) {
            String problem = readKey(k, secrets);
            if (problem != null) {
                System.err.println("keel-ike-service: --key " + k + ": " + problem);
                return 2;
            }
        }
        ChannelCredentials creds;
        if (tlsCert == null && tlsKey == null && tlsCa == null) {
            List<String[]> targets = new ArrayList<>();
            targets.add(new String[] {"--policy", policy});
            sad.forEach(s -> targets.add(new String[] {"--sad", s}));
            for (String[] service : targets) {
                String refusal = plaintextRefusal(service[1]);
                if (refusal != null) {
                    System.err.println("keel-ike-service: " + service[0] + " " + service[1] + ": " + refusal);
                    return 2;
                }
            }
            creds = InsecureChannelCredentials.create();
        } else if (tlsCert != null && tlsKey != null && tlsCa != null) {
            creds = TlsChannelCredentials.newBuilder().keyManager(tlsCert.toFile(), tlsKey.toFile())
                    .trustManager(tlsCa.toFile()).build();
        } else {
            System.err.println("keel-ike-service: --tls-cert, --tls-key and --tls-ca go together");
            return 2;
        }
        ChildKeyUnwrapper kek = null;
        if (kekFile != null) {
            try {
                kek = ChildKeyUnwrapper.load(kekFile);
            } catch (IllegalArgumentException e) {
                System.err.println("keel-ike-service: --kek-file " + e.getMessage());
                return 2;
            }
        }
        int natT = natTPort != 0 ? natTPort : ikePort == 500 ? 4500 : ikePort + 1;
        NettyServerBuilder relayServer = null;
        if (relayListen != null) {
            try {
                relayServer = relayServer(creds instanceof TlsChannelCredentials, natT);
            } catch (IllegalArgumentException e) {
                System.err.println("keel-ike-service: " + e.getMessage());
                return 2;
            }
        } else if (!espWorkers.isEmpty()) {
            System.err.println("keel-ike-service: --esp-worker names who may attach to the relay: give --relay-listen");
            return 2;
        }
        NettyServerBuilder adminServer = null;
        if (adminListen != null) {
            try {
                adminServer = adminServer(creds instanceof TlsChannelCredentials);
            } catch (IllegalArgumentException e) {
                System.err.println("keel-ike-service: " + e.getMessage());
                return 2;
            }
        } else if (!admins.isEmpty() || !operators.isEmpty() || !readers.isEmpty()) {
            System.err.println("keel-ike-service: --admin, --operator and --reader name who may call the admin API:"
                    + " give --admin-listen");
            return 2;
        }
        int esp = espPort != 0 ? espPort : natT > 0 ? natT : ikePort == 500 ? 4500 : ikePort + 1;
        MetricsEndpoint metrics = null;
        if (metricsListen != null) {
            try {
                metrics = MetricsEndpoint.start(MetricsEndpoint.listenOption("--metrics-listen", metricsListen));
            } catch (IllegalArgumentException e) {
                System.err.println("keel-ike-service: " + e.getMessage());
                return 2;
            } catch (IOException e) {
                System.err.println("keel-ike-service: --metrics-listen: " + e.getMessage());
                return 1;
            }
        }
        ManagedChannel policyChannel = NettyChannelBuilder.forTarget(policy, creds).build();
        FirstReadyChannel sadChannel = new FirstReadyChannel(
                sad.stream().map(s -> NettyChannelBuilder.forTarget(s, creds).build()).toList());
        Vertx vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true).setEventLoopPoolSize(loops));
        IkeService service;
        try {
            service = IkeService.start(vertx, new IkeService.Settings(address, ikePort, natT, esp, loops, nodeId,
                    owner, relayServer != null, limits), policyChannel, sadChannel, secrets, kek == null ? null : kek::unwrap,
                    metrics == null ? null : metrics.registry()).await(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            return failedStart("cannot start: " + e.getMessage(), null, null, vertx, metrics);
        }
        Server relay = null;
        if (relayServer != null) {
            try {
                relay = serve(relayServer, service.relay(), IkeRelayGrpc.SERVICE_NAME);
            } catch (IOException | RuntimeException e) {
                return failedStart("cannot serve the IKE relay on " + relayListen + ": " + e.getMessage(), null,
                        service, vertx, metrics);
            }
        }
        Server admin = null;
        if (adminServer != null) {
            try {
                admin = serve(adminServer, service.adminService(LogControl.NODE), IkeServiceGrpc.SERVICE_NAME);
            } catch (IOException | RuntimeException e) {
                return failedStart("cannot serve the admin API on " + adminListen + ": " + e.getMessage(), relay,
                        service, vertx, metrics);
            }
        }
        Server relayToStop = relay;
        Server adminToStop = admin;
        ChildKeyUnwrapper kekToClose = kek;
        MetricsEndpoint metricsToClose = metrics;
        System.out.println("keel-ike-service ready: IKE " + address + ":" + ikePort
                + (relay != null ? " and NAT-T " + natT + " on the esp-workers, relay on port " + relay.getPort()
                : natT > 0 ? ", NAT-T " + natT : ", NAT-T on another process, not relayed")
                + ", policy " + policy + ", sad " + String.join(",", sad) + ", owner "
                + (!owner.isEmpty() ? owner : relay != null ? "(the worker's node)" : "(serving sad node)")
                + (kek != null ? ", IKE SAs stored in the SAD" : ", IKE SAs not stored (no --kek-file)")
                + (metrics != null ? ", metrics " + metrics.url() : "")
                + (admin != null ? ", admin API on port " + admin.getPort()
                        + (creds instanceof TlsChannelCredentials ? " (mutual TLS)" : " (plaintext, loopback)") : ""));
        System.out.flush();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                service.stop().await(5, TimeUnit.SECONDS);
                if (relayToStop != null) {
                    relayToStop.shutdownNow();
                }
                if (adminToStop != null) {
                    adminToStop.shutdownNow();
                }
                policyChannel.shutdownNow();
                sadChannel.close();
                vertx.close().await(5, TimeUnit.SECONDS);
                if (kekToClose != null) {
                    kekToClose.close();
                }
                if (metricsToClose != null) {
                    metricsToClose.close();
                }
            } catch (Exception e) {
                // stopping anyway
            } finally {
                stopped.countDown();
            }
        }, "keel-ike-service-shutdown"));
        stopped.await();
        return 0;
    }

    /** {@code api} with health (SERVING, overall and for {@code serviceName}) and reflection, started. */
    private static Server serve(NettyServerBuilder builder, BindableService api, String serviceName) throws IOException {
        HealthStatusManager health = new HealthStatusManager();
        Server server = builder.addService(api).addService(health.getHealthService())
                .addService(ProtoReflectionServiceV1.newInstance()).build().start();
        health.setStatus("", ServingStatus.SERVING);
        health.setStatus(serviceName, ServingStatus.SERVING);
        return server;
    }

    /** Says why the start failed and stops what it had started (each may be null); the exit status. */
    private static int failedStart(String why, Server relay, IkeService service, Vertx vertx, MetricsEndpoint metrics)
            throws Exception {
        System.err.println("keel-ike-service: " + why);
        if (relay != null) {
            relay.shutdownNow();
        }
        if (service != null) {
            service.close();
        }
        vertx.close().await(10, TimeUnit.SECONDS);
        if (metrics != null) {
            metrics.close();
        }
        return 1;
    }
}
