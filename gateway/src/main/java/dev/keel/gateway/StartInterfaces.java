package dev.keel.gateway;

import dev.keel.core.config.ConfigProblem;
import dev.keel.policy.config.ConnectionConfig;
import dev.keel.policy.config.PolicyConfig;
import dev.keel.policy.config.RouteInterface;
import dev.keel.policy.grpc.PolicyGrpcService;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The route-based interfaces a node opened at start ({@link RouteInterfaces}, one per
 * {@code connections.NAME.interface} of the file it started with), as a limit on what the admin
 * API may load: a configuration that adds, changes or removes one is refused, key path and all,
 * and changes nothing. The data plane's interface SPDs and its inbound SAs' outlets are fixed at
 * start, so such a load would otherwise run a new route-based connection's SAs into the shared
 * TUN device and leave its interface without an SPD (docs/gateway.md, "Route-based connections").
 */
final class StartInterfaces implements PolicyGrpcService.NodeLimits {

    static final String RESTART = "interfaces are opened at start; restart the node to add, change or remove one";

    /** Interface by connection name, in file order. */
    private final Map<String, RouteInterface> opened;

    private StartInterfaces(Map<String, RouteInterface> opened) {
        this.opened = opened;
    }

    /** The interfaces of {@code started}'s route-based connections: those {@link RouteInterfaces#open} opens. */
    static StartInterfaces of(PolicyConfig started) {
        return new StartInterfaces(interfaces(started));
    }

    @Override
    public List<ConfigProblem> problems(PolicyConfig loaded) {
        Map<String, RouteInterface> wanted = interfaces(loaded);
        List<ConfigProblem> problems = new ArrayList<>();
        wanted.forEach((connection, i) -> {
            RouteInterface now = opened.get(connection);
            if (now == null) {
                problems.add(problem(loaded, connection, "new interface " + describe(i)));
            } else if (!now.equals(i)) {
                boolean shown = !describe(now).equals(describe(i)); // else a key describe() leaves out changed
                problems.add(problem(loaded, connection, "interface " + (shown ? describe(now) : now)
                        + " would become " + (shown ? describe(i) : i)));
            }
        });
        opened.forEach((connection, now) -> {
            if (!wanted.containsKey(connection)) {
                problems.add(problem(loaded, connection, "interface " + describe(now) + " would be removed"
                        + (loaded.connections().containsKey(connection) ? "" : " with its connection")));
            }
        });
        return problems;
    }

    private static Map<String, RouteInterface> interfaces(PolicyConfig config) {
        Map<String, RouteInterface> byConnection = new LinkedHashMap<>();
        for (ConnectionConfig c : config.connectionList()) {
            if (c.iface() != null) {
                byConnection.put(c.name(), c.iface());
            }
        }
        return byConnection;
    }

    private static ConfigProblem problem(PolicyConfig loaded, String connection, String what) {
        // a loaded configuration keeps no positions: the key path locates it
        return new ConfigProblem(loaded.source(), "connections." + connection + ".interface", 0, 0,
                what + ": " + RESTART);
    }

    /** E.g. {@code keel-aws1 [169.254.10.2/30] mtu 1400}. */
    private static String describe(RouteInterface i) {
        return i.name() + " " + i.addresses() + " mtu " + i.mtu();
    }
}
