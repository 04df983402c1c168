package dev.keel.esp.config;

import dev.keel.core.config.Nodes;
import dev.keel.core.config.Problems;
import dev.keel.core.net.InterfaceAddress;
import dev.keel.core.net.InterfaceName;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.ScalarNode;

/**
 * Reads a plaintext side, {@code tun} or {@code virtual_wire}, into {@link PlaintextConfig}: the
 * one reader of esp-worker's {@code plaintext} and the gateway's {@code gateway.plaintext}, with
 * the keys the data plane supports.
 *
 * <pre>
 * tun:          {name: keel0, addresses: [192.168.1.1/24], mtu: 1400 | auto, path_mtu: 1500, offload: true,
 *                routes: all | owner_preferred}
 * virtual_wire: {bind: 127.0.0.1:20001, host: 127.0.0.1:21001}
 * </pre>
 *
 * {@code routes} is a setting of a data plane fed by the SAD (the gateway), where SAs come and go
 * with their ownership; a program that cannot follow ownership does not accept it.
 */
public final class PlaintextReader {

    /** Outer path MTU when the file gives none (Ethernet). */
    public static final int DEFAULT_PATH_MTU = 1500;

    private static final Set<String> SIDES = Set.of("tun", "virtual_wire");
    private static final Set<String> TUN = Set.of("name", "addresses", "mtu", "path_mtu", "offload", "routes");
    private static final Set<String> WIRE = Set.of("bind", "host");

    /**
     * What a TUN device is when the file does not say: the two programs keep their historical
     * defaults (the worker {@code keel%d} with offloads, the gateway {@code keel0} without).
     *
     * @param name    the interface name ({@code %d}: the kernel picks the number)
     * @param offload whether checksum and segmentation offloads are on
     * @param routes  which prefixes get routes; null: the program routes all and refuses the key
     */
    public record TunDefaults(String name, boolean offload, PlaintextConfig.Routes routes) {
        /** A program whose TUN routes every prefix and that refuses {@code routes} (the static worker). */
        public TunDefaults(String name, boolean offload) {
            this(name, offload, null);
        }
    }

    private PlaintextReader() {
    }

    /** The plaintext side at {@code path}, or null after reporting every problem through {@code nodes}. */
    public static PlaintextConfig read(Nodes nodes, Node node, String path, TunDefaults defaults) {
        Map<String, Node> m = nodes.mapping(node, path, SIDES);
        if (m == null) {
            return null;
        }
        if (m.size() != 1) {
            nodes.problems().add(path, node, "give exactly one of 'tun' or 'virtual_wire'");
            return null;
        }
        return m.containsKey("tun") ? tun(nodes, m.get("tun"), path + ".tun", defaults)
                : virtualWire(nodes, m.get("virtual_wire"), path + ".virtual_wire");
    }

    private static PlaintextConfig.Tun tun(Nodes nodes, Node node, String p, TunDefaults defaults) {
        Problems problems = nodes.problems();
        Map<String, Node> t = nodes.mapping(node, p, TUN);
        if (t == null) {
            return null;
        }
        String name = t.containsKey("name") ? nodes.string(t.get("name"), p + ".name") : defaults.name();
        if (name != null && InterfaceName.problem(name) != null) {
            problems.add(p + ".name", t.get("name"), InterfaceName.problem(name));
        }
        List<InterfaceAddress> addresses = t.containsKey("addresses")
                ? nodes.list(t.get("addresses"), p + ".addresses", PlaintextReader::interfaceAddress) : List.of();
        int mtu = 0;
        if (t.containsKey("mtu")) {
            Node n = t.get("mtu");
            if (!(n instanceof ScalarNode s && "auto".equals(s.getValue()))) {
                Long v = nodes.integer(n, p + ".mtu", 576, 65535);
                mtu = v == null ? 0 : v.intValue();
            }
        }
        int pathMtu = DEFAULT_PATH_MTU;
        if (t.containsKey("path_mtu")) {
            Long v = nodes.integer(t.get("path_mtu"), p + ".path_mtu", 576, 65535);
            pathMtu = v == null ? pathMtu : v.intValue();
        }
        boolean offload = defaults.offload();
        if (t.containsKey("offload")) {
            Boolean v = nodes.bool(t.get("offload"), p + ".offload");
            offload = v == null ? offload : v;
        }
        PlaintextConfig.Routes routes = defaults.routes() == null ? PlaintextConfig.Routes.ALL : defaults.routes();
        if (t.containsKey("routes")) {
            if (defaults.routes() == null) {
                problems.add(p + ".routes", t.get("routes"), "not a setting of this program: its SAs are its own,"
                        + " and it routes every SA's remote selectors (routes: owner_preferred is the gateway's, docs/ha.md)");
            } else {
                String v = nodes.choice(t.get("routes"), p + ".routes", List.of("all", "owner_preferred"));
                routes = v == null ? routes : PlaintextConfig.Routes.valueOf(v.toUpperCase(java.util.Locale.ROOT));
            }
        }
        return name == null || addresses == null ? null
                : new PlaintextConfig.Tun(name, addresses, mtu, pathMtu, offload, routes);
    }

    private static PlaintextConfig.VirtualWire virtualWire(Nodes nodes, Node node, String p) {
        Map<String, Node> w = nodes.mapping(node, p, WIRE);
        if (w == null) {
            return null;
        }
        InetSocketAddress bind = nodes.required(w, "bind", p, node) ? nodes.endpoint(w.get("bind"), p + ".bind", -1)
                : null;
        InetSocketAddress host = nodes.required(w, "host", p, node) ? nodes.endpoint(w.get("host"), p + ".host", -1)
                : null;
        if (host != null && host.getPort() == 0) {
            nodes.problems().add(p + ".host", w.get("host"), "port 0: give the port the plaintext host receives on");
            return null;
        }
        return bind == null || host == null ? null : new PlaintextConfig.VirtualWire(bind, host);
    }

    /** An interface address with prefix length, e.g. {@code 192.168.1.1/24}; the host bits stay. */
    static InterfaceAddress interfaceAddress(String text) {
        return InterfaceAddress.parse(text);
    }
}
