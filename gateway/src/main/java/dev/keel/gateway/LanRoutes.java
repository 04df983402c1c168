package dev.keel.gateway;

import dev.keel.core.net.IpPrefix;
import dev.keel.esp.config.PlaintextConfig;
import dev.keel.esp.feed.SaTables;
import dev.keel.esp.sa.OutboundSaTable;
import dev.keel.esp.tun.OwnedRoutes;
import dev.keel.policy.config.ChildConfig;
import dev.keel.policy.config.ConnectionConfig;
import dev.keel.policy.config.PolicyConfig;
import dev.keel.policy.config.StartAction;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * The routes a TUN gateway puts through its interface for the peers' subnets, which a routing
 * daemon exporting them announces to the LAN ({@code gateway.plaintext.tun.routes}, docs/ha.md,
 * "Anycast with BIRD"). {@code all}: every child's remote selectors, from start. {@code owned}: a
 * {@code trap} child's from start (its acquire needs the LAN's packets to reach the TUN), every
 * other child's while this node's data plane holds an outbound SA of it ({@link OwnedRoutes}).
 * Both from the configuration the node started with.
 */
final class LanRoutes {

    private LanRoutes() {
    }

    /** The prefixes routed when the device comes up. */
    static List<IpPrefix> atStart(PolicyConfig policy, PlaintextConfig.Tun tun) {
        return prefixes(policy, ch -> tun.routes() == PlaintextConfig.Routes.ALL
                || ch.startAction() == StartAction.TRAP);
    }

    /**
     * With {@code routes: owned} and a TUN {@code device}: the routes of {@code tables}' outbound
     * SAs, followed from now on (close them with the tables); otherwise null.
     */
    static OwnedRoutes follow(GatewaySettings settings, PolicyConfig policy, String device, SaTables tables) {
        if (!(settings.plaintext() instanceof PlaintextConfig.Tun t) || t.routes() != PlaintextConfig.Routes.OWNED
                || device == null) {
            return null;
        }
        Map<String, List<IpPrefix>> byChild = new HashMap<>();
        for (ConnectionConfig c : policy.connectionList()) {
            for (ChildConfig ch : c.children()) {
                byChild.put(OutboundSaTable.key(c.name(), ch.name()), prefixes(ch));
            }
        }
        OwnedRoutes routes = OwnedRoutes.through(device, atStart(policy, t),
                r -> byChild.getOrDefault(OutboundSaTable.key(r.getConnection(), r.getChild()), List.of()));
        tables.addOutboundListener(routes);
        return routes;
    }

    private static List<IpPrefix> prefixes(PolicyConfig policy, Predicate<ChildConfig> children) {
        return policy.connectionList().stream().flatMap(c -> c.children().stream()).filter(children)
                .flatMap(ch -> prefixes(ch).stream()).distinct().toList();
    }

    private static List<IpPrefix> prefixes(ChildConfig child) {
        return child.remoteTs().stream().flatMap(ts -> ts.addressRange().toPrefixes().stream()).distinct().toList();
    }
}
