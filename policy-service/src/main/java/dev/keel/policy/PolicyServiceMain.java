package dev.keel.policy;

import dev.keel.policy.config.ConfigLoader;
import dev.keel.core.config.ConfigProblem;
import dev.keel.policy.config.ConfigResult;
import dev.keel.policy.grpc.PolicyApiRoles;
import dev.keel.policy.grpc.PolicyGrpcService;
import dev.keel.policy.grpc.PolicyServer;
import dev.keel.policy.store.PolicyMetrics;
import dev.keel.policy.store.PolicyStore;
import dev.keel.rpc.LogOptions;
import dev.keel.rpc.CallRateLimits;
import dev.keel.rpc.MetricsEndpoint;
import dev.keel.rpc.MutualTls;
import dev.keel.rpc.RoleAuthorization;
import io.grpc.ServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.EnumMap;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Runs policy-service alone: loads a configuration file, then serves it over gRPC with mutual TLS
 * and per-role authorization ({@link PolicyApiRoles}); plaintext only on loopback, on request.
 */
@Command(name = "keel-policy-service", mixinStandardHelpOptions = true,
        description = "Loads a Keel configuration (connections, policies, secrets by reference) and serves"
                + " keel.v1.PolicyService, grpc.health.v1 and server reflection.")
public final class PolicyServiceMain implements Callable<Integer> {

    @Mixin
    LogOptions log = new LogOptions();

    /** Exit status when the configuration is invalid. */
    static final int EXIT_INVALID_CONFIG = 2;

    @Option(names = {"-c", "--config"}, required = true, description = "YAML configuration file.")
    Path config;

    @Option(names = {"-l", "--listen"}, defaultValue = "127.0.0.1:7420",
            description = "host:port to serve on (default: ${DEFAULT-VALUE}).")
    String listen;

    @Option(names = "--check", description = "Validate the configuration, print problems and exit.")
    boolean check;

    @Option(names = "--tls-cert", description = "PEM certificate chain of this server (mutual TLS).")
    Path tlsCert;

    @Option(names = "--tls-key", description = "PEM private key (PKCS#8) of this server.")
    Path tlsKey;

    @Option(names = "--tls-client-ca", description = "PEM CA certificate(s) that issue client certificates.")
    Path tlsClientCa;

    @Option(names = "--admin", description = "Client identity (certificate subject DN, CN, DNS or URI SAN)"
            + " allowed every call, LoadConfig and ValidateConfig included. Repeatable; a value is one DN"
            + " (CN=...,O=...) or a comma-separated list of names.")
    List<String> admins = new ArrayList<>();

    @Option(names = "--reader", description = "Client identity allowed to list, get and watch. Repeatable,"
            + " as --admin.")
    List<String> readers = new ArrayList<>();

    @Option(names = "--plaintext", description = "Serve without TLS and without authorization; refused unless"
            + " --listen is a loopback address. For tests on one host only.")
    boolean plaintext;

    @Option(names = "--metrics-listen", paramLabel = "HOST[:PORT]", description = "Serve Prometheus metrics (GET"
            + " /metrics, plain HTTP, no authentication) on this address, port 9464 by default; off without it"
            + " (docs/operations.md).")
    String metricsListen;

    @Option(names = "--config-dir", paramLabel = "DIR", description = "The only directory LoadConfig and"
            + " ValidateConfig read files from (symbolic links resolved, '..' refused); default: the directory of"
            + " --config.")
    Path configDir;

    @Option(names = "--rate-limit", paramLabel = "GROUP=PER_MINUTE[/BURST]", description = "Per-client limit of"
            + " the expensive calls of GROUP (config: LoadConfig, ValidateConfig; watch: Watch stream opens);"
            + " repeatable; defaults config=6/3, watch=60/20 (docs/operations.md). Applied with mutual TLS.")
    List<String> rateLimitOptions = new ArrayList<>();

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** The --rate-limit options as limits per group. */
    private Map<CallRateLimits.Group, CallRateLimits.Limit> rateLimits() {
        Map<CallRateLimits.Group, CallRateLimits.Limit> limits = new EnumMap<>(CallRateLimits.Group.class);
        for (String option : rateLimitOptions) {
            int eq = option.indexOf('=');
            CallRateLimits.Group group = null;
            for (CallRateLimits.Group g : CallRateLimits.Group.values()) {
                if (eq > 0 && g.key().equals(option.substring(0, eq).strip())) {
                    group = g;
                }
            }
            if (group == null) {
                throw usage("--rate-limit " + option + ": want GROUP=PER_MINUTE[/BURST] with GROUP one of "
                        + java.util.Arrays.stream(CallRateLimits.Group.values()).map(CallRateLimits.Group::key).toList());
            }
            try {
                limits.put(group, CallRateLimits.Limit.parse(option.substring(eq + 1)));
            } catch (IllegalArgumentException e) {
                throw usage("--rate-limit " + option + ": " + e.getMessage());
            }
        }
        return limits;
    }

    private CommandLine.ParameterException usage(String message) {
        return new CommandLine.ParameterException(spec.commandLine(), message);
    }

    private static List<String> identities(List<String> optionValues) {
        return optionValues.stream().flatMap(v -> MutualTls.identityList(v).stream()).toList();
    }

    /** Entry point. */
    public static void main(String[] args) {
        System.exit(new CommandLine(new PolicyServiceMain()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        log.install();
        ConfigLoader loader = new ConfigLoader();
        ConfigResult result = loader.loadFile(config);
        if (result instanceof ConfigResult.Invalid invalid) {
            for (ConfigProblem p : invalid.problems()) {
                System.err.println(p);
            }
            System.err.println(invalid.problems().size() + " problem(s); nothing loaded");
            return EXIT_INVALID_CONFIG;
        }
        var valid = (ConfigResult.Valid) result;
        if (check) {
            System.out.println(valid.config());
            return 0;
        }
        int colon = listen.lastIndexOf(':');
        if (colon < 0) {
            throw new CommandLine.ParameterException(new CommandLine(this), "--listen needs host:port");
        }
        String host = listen.substring(0, colon).replace("[", "").replace("]", "");
        int port = Integer.parseInt(listen.substring(colon + 1));
        InetSocketAddress address = new InetSocketAddress(host, port);
        NettyServerBuilder builder;
        if (plaintext) {
            if (tlsCert != null || tlsKey != null || tlsClientCa != null) {
                throw usage("--plaintext excludes the --tls-* options");
            }
            if (address.getAddress() == null || !address.getAddress().isLoopbackAddress()) {
                throw usage("--plaintext is only allowed on a loopback --listen address, not " + listen);
            }
            builder = NettyServerBuilder.forAddress(address);
        } else {
            if (tlsCert == null || tlsKey == null || tlsClientCa == null) {
                throw usage("the admin API requires mutual TLS: give --tls-cert, --tls-key and --tls-client-ca"
                        + " (or --plaintext on a loopback address for tests)");
            }
            if (admins.isEmpty() && readers.isEmpty()) {
                throw usage("no client may call anything: give --admin and/or --reader identities");
            }
            ServerCredentials credentials;
            RoleAuthorization<PolicyApiRoles.Role> authorization;
            try {
                credentials = MutualTls.serverCredentials(tlsCert, tlsKey, tlsClientCa);
            } catch (IllegalArgumentException e) {
                throw usage("--tls-*: " + e.getMessage());
            }
            try {
                authorization = PolicyApiRoles.authorization(identities(admins), identities(readers));
            } catch (IllegalArgumentException e) {
                throw usage("--admin / --reader: " + e.getMessage());
            }
            try {
                // the rate limits run after the authorization: a caller without the role takes no token
                builder = NettyServerBuilder.forAddress(address, credentials).intercept(new CallRateLimits(rateLimits()))
                        .intercept(authorization);
            } catch (IllegalArgumentException e) {
                // the transport parses the private key and matches it to the certificate
                throw usage("--tls-cert " + tlsCert + " / --tls-key " + tlsKey + ": " + e.getMessage());
            }
        }
        PolicyStore store = new PolicyStore(valid.config());
        MetricsEndpoint metrics = null;
        if (metricsListen != null) {
            InetSocketAddress metricsAddress;
            try {
                metricsAddress = MetricsEndpoint.listenOption("--metrics-listen", metricsListen);
            } catch (IllegalArgumentException e) {
                throw usage(e.getMessage());
            }
            try {
                metrics = MetricsEndpoint.start(metricsAddress);
            } catch (java.io.IOException e) {
                throw usage("--metrics-listen: " + e.getMessage());
            }
            builder.intercept(PolicyMetrics.callMetrics(metrics.registry()));
            new PolicyMetrics(store).bindTo(metrics.registry());
        }
        // LoadConfig and ValidateConfig by path read files only in --config-dir, by default beside the
        // configuration this started with.
        Path loadDirectory = configDir != null ? configDir : config.toAbsolutePath().getParent();
        PolicyGrpcService service;
        try {
            service = new PolicyGrpcService(loader, store, loadDirectory);
        } catch (IllegalArgumentException e) {
            throw usage("--config-dir: " + e.getMessage());
        }
        PolicyServer server = new PolicyServer(builder, service).start();
        System.getLogger(PolicyServiceMain.class.getName()).log(System.Logger.Level.INFO,
                "policy-service serving {0} on {1}", valid.config(), listen);
        MetricsEndpoint metricsToClose = metrics;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            if (metricsToClose != null) {
                metricsToClose.close();
            }
        }, "policy-service-shutdown"));
        server.awaitTermination();
        return 0;
    }
}
