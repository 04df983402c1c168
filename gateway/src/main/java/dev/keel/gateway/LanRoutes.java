package dev.keel.gateway;

import dev.keel.core.net.IpPrefix;
import dev.keel.esp.config.PlaintextConfig;
import dev.keel.esp.feed.SaTables;
import dev.keel.esp.sa.OutboundSaTable;
import dev.keel.esp.tun.OwnedRoutes;
import dev.keel.policy.config.ChildConfig;
import dev.keel.policy.config.ConnectionConfig;
import dev.keel.policy.config.PolicyConfig;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The routes a TUN gateway puts through its interface for the peers' subnets, which a routing
 * daemon exporting them announces to the LAN ({@code gateway.plaintext.tun.routes}, docs/ha.md,
 * "Anycast with BIRD"). Every child's remote selectors from start ({@code all}: at the kernel's
 * default metric; {@code owner_preferred}: at the standby metric), and with
 * {@code owner_preferred} the children whose outbound SA this node holds again at the owner's
 * metric ({@link OwnedRoutes}). Both from the configuration the node started with. Selectors
 * that hold an IKE peer's address are left to {@link PeerRoutes}. Route-based connections get no
 * route here: they own an interface of their own ({@link RouteInterfaces}).
 */
final class LanRoutes {

    private LanRoutes() {
    }

    /** The prefixes routed when the device comes up: every child's remote selectors but {@link #holdingPeers}. */
    static List<IpPrefix> atStart(PolicyConfig policy) {
        PeerRoutes.Endpoints peers = PeerRoutes.endpoints(policy);
        return policyBased(policy).flatMap(c -> c.children().stream())
                .flatMap(ch -> prefixes(ch, peers).stream()).distinct().toList();
    }

    /** The children's remote selectors that hold an IKE peer's address ({@link PeerRoutes.Endpoints#heldBy}). */
    static List<IpPrefix> holdingPeers(PolicyConfig policy) {
        PeerRoutes.Endpoints peers = PeerRoutes.endpoints(policy);
        return policyBased(policy).flatMap(c -> c.children().stream())
                .flatMap(ch -> ch.remoteTs().stream()).flatMap(ts -> ts.addressRange().toPrefixes().stream())
                .filter(peers::heldBy).distinct().toList();
    }

    /**
     * With {@code routes: owner_preferred} and a TUN {@code device}: the owner's routes of
     * {@code tables}' outbound SAs, followed from now on (close them with the tables); otherwise null.
     */
    static OwnedRoutes follow(GatewaySettings settings, PolicyConfig policy, String device, SaTables tables) {
        if (!(settings.plaintext() instanceof PlaintextConfig.Tun t)
                || t.routes() != PlaintextConfig.Routes.OWNER_PREFERRED || device == null) {
            return null;
        }
        Map<String, List<IpPrefix>> byChild = new HashMap<>();
        PeerRoutes.Endpoints peers = PeerRoutes.endpoints(policy);
        for (ConnectionConfig c : policyBased(policy).toList()) {
            for (ChildConfig ch : c.children()) {
                byChild.put(OutboundSaTable.key(c.name(), ch.name()), prefixes(ch, peers));
            }
        }
        OwnedRoutes routes = OwnedRoutes.through(device,
                r -> byChild.getOrDefault(OutboundSaTable.key(r.getConnection(), r.getChild()), List.of()));
        tables.addOutboundListener(routes);
        return routes;
    }

    /**
     * The connections whose selectors route into the shared TUN device: not the route-based ones,
     * whose traffic the operator's routes (or BGP) put into their own interface ({@link RouteInterfaces}).
     */
    private static java.util.stream.Stream<ConnectionConfig> policyBased(PolicyConfig policy) {
        return policy.connectionList().stream().filter(c -> !c.routeBased());
    }

    private static List<IpPrefix> prefixes(ChildConfig child, PeerRoutes.Endpoints peers) {
        return child.remoteTs().stream().flatMap(ts -> ts.addressRange().toPrefixes().stream())
                .filter(p -> !peers.heldBy(p)).distinct().toList();
    }
}
