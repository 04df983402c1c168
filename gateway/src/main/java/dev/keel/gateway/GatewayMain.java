package dev.keel.gateway;

import dev.keel.policy.config.ConfigLoader;
import dev.keel.policy.config.ConfigResult;
import dev.keel.policy.config.PolicyConfig;
import dev.keel.rpc.KeelLog;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code keel-gateway}: runs one gateway node from one configuration file. */
@Command(name = "keel-gateway", mixinStandardHelpOptions = true,
        description = "Runs a Keel gateway node (policy-service, sad-service, IKEv2 and the ESP data plane) from one"
                + " YAML file.")
public final class GatewayMain implements Callable<Integer> {

    @Option(names = {"-c", "--config"}, required = true, description = "the node's configuration file")
    Path config;

    @Option(names = "--check", description = "validate the configuration and exit")
    boolean check;

    private final PrintWriter out = new PrintWriter(System.out, true);
    private final PrintWriter err = new PrintWriter(System.err, true);

    public static void main(String[] args) {
        System.exit(new CommandLine(new GatewayMain()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        ConfigResult policy = new ConfigLoader().loadFile(config);
        GatewaySettingsReader.Result settings = GatewaySettingsReader.read(config);
        // Both readers read the one file: a problem of the whole file (unreadable, not YAML) is printed once.
        Set<String> problems = new LinkedHashSet<>();
        if (policy instanceof ConfigResult.Invalid(var found)) {
            found.forEach(p -> problems.add(p.toString()));
        }
        if (settings instanceof GatewaySettingsReader.Result.Invalid(var found)) {
            problems.addAll(found);
        }
        if (!problems.isEmpty()) {
            problems.forEach(err::println);
            return 2;
        }
        PolicyConfig pc = ((ConfigResult.Valid) policy).config();
        GatewaySettings gs = ((GatewaySettingsReader.Result.Valid) settings).settings();
        try {
            IkeConnections.of(pc, gs.ikePort(), gs.rawEsp());
        } catch (IllegalArgumentException e) {
            err.println(config + ": " + e.getMessage());
            return 2;
        }
        if (check) {
            out.println(config + ": OK (" + pc.connections().size() + " connection(s))");
            return 0;
        }
        KeelLog.install(gs.logging());
        Vertx vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true).setEventLoopPoolSize(gs.loops()));
        GatewayNode node;
        try {
            // The embedded Hazelcast member joins first: seconds, tens of them on a starved machine.
            node = GatewayNode.start(vertx, gs, pc, GatewayNode.openPlaintext(vertx, gs, pc)).await(110, TimeUnit.SECONDS);
        } catch (Exception e) {
            err.println("keel-gateway: cannot start: " + (e.getMessage() == null ? e.toString() : e.getMessage()));
            vertx.close().await(10, TimeUnit.SECONDS);
            return 1;
        }
        out.println("keel-gateway: started: IKE " + gs.ikeEndpoint() + ", ESP-in-UDP " + gs.natTEndpoint() + ", "
                + pc.connections().size() + " connection(s), SAD node " + gs.cluster().nodeId() + " (Hazelcast "
                + gs.cluster().bindHost() + ":" + gs.cluster().port() + "), admin API "
                + (gs.admin() == null ? "off" : gs.admin().describe(node.adminPort())) + ", metrics "
                + (node.metricsUrl() == null ? "off" : node.metricsUrl()));
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close().await(5, TimeUnit.SECONDS);
                vertx.close().await(5, TimeUnit.SECONDS);
            } catch (Exception e) {
                // shutting down anyway
            } finally {
                stopped.countDown();
            }
        }, "keel-gateway-shutdown"));
        stopped.await();
        return 0;
    }
}
