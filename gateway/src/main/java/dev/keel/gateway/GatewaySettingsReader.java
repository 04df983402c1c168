package dev.keel.gateway;

import dev.keel.core.config.Nodes;
import dev.keel.core.config.Problems;
import dev.keel.core.config.YamlText;
import dev.keel.esp.config.PlaintextConfig;
import dev.keel.esp.config.PlaintextReader;
import dev.keel.ike.engine.IkeSettings;
import dev.keel.ike.engine.IkeEngine;
import dev.keel.policy.config.ConfigLoader;
import dev.keel.rpc.CallRateLimits;
import dev.keel.rpc.LogSettings;
import dev.keel.rpc.MetricsEndpoint;
import dev.keel.rpc.MutualTls;
import dev.keel.rpc.UnixSocketServer;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;

/**
 * Reads the {@code gateway:} and {@code metrics:} sections of a node's configuration file with
 * core's readers ({@link Nodes}); the plaintext side is esp-worker's {@link PlaintextReader}. Every
 * problem is reported as {@code file:line:col: key.path: message}; policy-service's loader reads
 * the rest of the same file.
 */
public final class GatewaySettingsReader {

    /**
     * A TUN device the file leaves unnamed: {@code keel0}, without offloads (docs/gateway.md), routing
     * every child's remote selectors.
     */
    public static final PlaintextReader.TunDefaults TUN_DEFAULTS = new PlaintextReader.TunDefaults("keel0", false,
            PlaintextConfig.Routes.ALL);
    /** The same on a node whose cluster names other members: routes follow SA ownership (docs/ha.md). */
    public static final PlaintextReader.TunDefaults CLUSTER_TUN_DEFAULTS = new PlaintextReader.TunDefaults("keel0",
            false, PlaintextConfig.Routes.OWNER_PREFERRED);

    private static final Set<String> KEYS = Set.of("address", "ike_port", "nat_t_port", "loops", "plaintext",
            "key_export", "cluster", "admin", "ike", "raw_esp",
            "nat_keepalive");
    private static final Set<String> CLUSTER_KEYS = Set.of("node_id", "name", "bind", "members", "kek_file");
    private static final Set<String> ADMIN_KEYS = Set.of("socket", "listen", "plaintext", "tls", "admins", "operators",
            "readers", "config_dir", "rate_limits");
    private static final Set<String> RATE_LIMIT_KEYS = java.util.Arrays.stream(CallRateLimits.Group.values())
            .map(CallRateLimits.Group::key).collect(java.util.stream.Collectors.toSet());
    private static final Set<String> ADMIN_TLS_KEYS = Set.of("cert", "key", "client_ca");
    private static final Set<String> IKE_KEYS = Set.copyOf(IkeSettings.KEYS);
    private static final Pattern NODE_ID = Pattern.compile("[A-Za-z0-9._-]{1,64}");
    private static final InetSocketAddress DEFAULT_CLUSTER_BIND = Nodes.endpoint("127.0.0.1:5701", -1);

    private final Problems problems;
    private final Nodes nodes;
    private final Path baseDir;
    /** Set by {@link #cluster}: {@code members} names a member other than this one. */
    private boolean othersListed;

    private GatewaySettingsReader(Problems problems, Path baseDir) {
        this.problems = problems;
        this.nodes = new Nodes(problems);
        this.baseDir = baseDir;
    }

    /** The settings, or the problems found. */
    public sealed interface Result {
        /** Valid settings. */
        record Valid(GatewaySettings settings) implements Result {
        }

        /** Every problem, one line each. */
        record Invalid(List<String> problems) implements Result {
        }
    }

    /** Reads {@code path}'s {@code gateway:} section; relative paths in it resolve against its directory. */
    public static Result read(Path path) {
        Problems problems = new Problems(path.toString());
        String text = YamlText.readFile(path, ConfigLoader.MAX_CONFIG_BYTES, problems);
        GatewaySettingsReader reader = new GatewaySettingsReader(problems, YamlText.directoryOf(path));
        return text == null ? reader.invalid() : reader.parse(text);
    }

    /** Reads the {@code gateway:} section of {@code yaml}, naming it {@code source} in problems. */
    public static Result read(String source, String yaml) {
        return new GatewaySettingsReader(new Problems(source), Path.of("").toAbsolutePath()).parse(yaml);
    }

    private Result invalid() {
        return new Result.Invalid(problems.list().stream().map(Object::toString).toList());
    }

    private Result parse(String text) {
        Node root = YamlText.compose(text, ConfigLoader.MAX_CONFIG_BYTES, problems, "");
        Map<String, Node> top = root == null ? null : nodes.mapping(root, "", null);
        if (top == null) {
            return invalid();
        }
        Node section = top.get("gateway");
        if (section == null) {
            problems.add("gateway", root, "missing: a node needs at least 'gateway: {address: ..., plaintext: ...}'");
            return invalid();
        }
        Map<String, Node> g = nodes.mapping(section, "gateway", KEYS);
        if (g == null) {
            return invalid();
        }
        String address = null;
        if (g.containsKey("address")) {
            address = nodes.string(g.get("address"), "gateway.address");
        } else {
            problems.add("gateway.address", section, "missing: the node's outer address (IKE and ESP bind to it)");
        }
        int ikePort = integer(g, "gateway", "ike_port", 500, 1, 65535);
        int pairedNatT = ikePort == 500 ? 4500 : ikePort + 1;
        int natTPort = integer(g, "gateway", "nat_t_port", pairedNatT, 1, 65535);
        if (natTPort != pairedNatT) {
            // Both gateways use the same ports, and the engine floats to the peer's port as 500 -> 4500, P -> P + 1.
            problems.add("gateway.nat_t_port", g.get("nat_t_port"), natTPort + " must be " + pairedNatT
                    + " with ike_port " + ikePort + " (IKE floats from 500 to 4500, and in labs from P to P + 1)");
        }
        int loops = integer(g, "gateway", "loops", 1, 1, 64);
        Boolean rawEsp = g.containsKey("raw_esp") ? nodes.bool(g.get("raw_esp"), "gateway.raw_esp") : Boolean.FALSE;
        Duration natKeepalive = duration(g, "gateway", "nat_keepalive", IkeEngine.DEFAULT_NAT_KEEPALIVE, false);
        GatewaySettings.Cluster cluster = cluster(g.get("cluster"), address, ikePort);
        PlaintextConfig plaintext = null;
        if (g.containsKey("plaintext")) {
            plaintext = PlaintextReader.read(nodes, g.get("plaintext"), "gateway.plaintext",
                    othersListed ? CLUSTER_TUN_DEFAULTS : TUN_DEFAULTS);
        } else {
            problems.add("gateway.plaintext", section, "missing: 'tun: {name: keel0}' or"
                    + " 'virtual_wire: {bind: ..., host: ...}'");
        }
        Path export = g.containsKey("key_export")
                ? nodes.file(g.get("key_export"), "gateway.key_export", baseDir) : null;
        GatewaySettings.Admin admin = admin(g.get("admin"), cluster == null ? "gw" : cluster.nodeId());
        IkeSettings ikeLimits = ikeLimits(g.get("ike"));
        LogSettings logging = top.containsKey("logging") ? LogSettings.read(nodes, top.get("logging"), "logging")
                : LogSettings.DEFAULT;
        // Top level, beside gateway: policy-service's loader knows the section and leaves it to this reader.
        InetSocketAddress metrics = top.containsKey("metrics")
                ? MetricsEndpoint.readSection(nodes, top.get("metrics"), "metrics") : null;
        if (!problems.isEmpty()) {
            return invalid();
        }
        return new Result.Valid(new GatewaySettings(address, ikePort, natTPort, loops, plaintext,
                export, cluster, admin, baseDir, ikeLimits, logging, metrics,
                Boolean.TRUE.equals(rawEsp), natKeepalive));
    }

    /**
     * {@code gateway.ike}: the IKE engine's settings, strongSwan's names and Keel's defaults, each
     * value read as ike-service's {@code --ike KEY=VALUE} reads it ({@link IkeSettings#with}).
     */
    private IkeSettings ikeLimits(Node node) {
        IkeSettings s = IkeSettings.DEFAULT;
        String path = "gateway.ike";
        Map<String, Node> m = node == null ? Map.of() : nodes.mapping(node, path, IKE_KEYS);
        if (m == null) {
            return s;
        }
        for (Map.Entry<String, Node> e : m.entrySet()) {
            String at = path + "." + e.getKey();
            String text = nodes.string(e.getValue(), at);
            if (text != null) {
                try {
                    s = s.with(e.getKey(), text);
                } catch (IllegalArgumentException x) {
                    problems.add(at, e.getValue(), x.getCause() != null ? x.getCause().getMessage() : x.getMessage());
                }
            }
        }
        return s;
    }

    /**
     * The admin socket when the file names none: {@code /run/keel/NODE_ID.sock} for root,
     * {@code $XDG_RUNTIME_DIR/keel/NODE_ID.sock} for another user who has a runtime directory,
     * else {@code TMPDIR/keel-UID/NODE_ID.sock}. One per node id, so the gateways of a lab or an
     * HA pair on one host do not collide.
     */
    static Path defaultAdminSocket(String nodeId) {
        return defaultAdminSocket(nodeId, UnixSocketServer.processUid(), System.getenv("XDG_RUNTIME_DIR"),
                System.getProperty("java.io.tmpdir"));
    }

    /** {@link #defaultAdminSocket(String)} for the given user and environment. */
    static Path defaultAdminSocket(String nodeId, int uid, String xdgRuntimeDir, String tmpDir) {
        Path dir;
        if (uid == 0) {
            dir = Path.of("/run/keel");
        } else if (xdgRuntimeDir != null && !xdgRuntimeDir.isEmpty() && Path.of(xdgRuntimeDir).isAbsolute()) {
            dir = Path.of(xdgRuntimeDir, "keel");
        } else {
            dir = Path.of(tmpDir, "keel-" + uid);
        }
        return dir.resolve(nodeId + ".sock");
    }

    /** {@code gateway.cluster}: the embedded sad-service member; the defaults when absent. */
    private GatewaySettings.Cluster cluster(Node node, String address, int ikePort) {
        String path = "gateway.cluster";
        Map<String, Node> c = node == null ? Map.of() : nodes.mapping(node, path, CLUSTER_KEYS);
        if (c == null) {
            return null;
        }
        String nodeId = "gw-" + (address == null ? "node" : address.replace(':', '-')) + "-" + ikePort;
        if (c.containsKey("node_id")) {
            nodeId = nodes.string(c.get("node_id"), path + ".node_id");
            if (nodeId != null && !NODE_ID.matcher(nodeId).matches()) {
                problems.add(path + ".node_id", c.get("node_id"), "'" + nodeId + "' must be 1..64 of [A-Za-z0-9._-]");
            }
        }
        String name = c.containsKey("name") ? nodes.string(c.get("name"), path + ".name") : "keel";
        InetSocketAddress bind = c.containsKey("bind") ? nodes.endpoint(c.get("bind"), path + ".bind", -1)
                : DEFAULT_CLUSTER_BIND;
        if (bind != null && bind.getAddress().isAnyLocalAddress()) {
            problems.add(path + ".bind", c.get("bind"), "'" + ((ScalarNode) c.get("bind")).getValue() + "' is every"
                    + " address; give the one address of the cluster's own link (whoever reaches the Hazelcast port"
                    + " can join, docs/sad.md)");
        }
        Node m = c.get("members");
        List<String> members = m == null || m instanceof SequenceNode seq && seq.getValue().isEmpty() ? List.of()
                : nodes.list(m, path + ".members", text -> {
                    Nodes.endpoint(text, -1);
                    return text;
                });
        othersListed = bind != null && members != null
                && members.stream().anyMatch(text -> !Nodes.endpoint(text, -1).equals(bind));
        Path kekFile = c.containsKey("kek_file") ? nodes.file(c.get("kek_file"), path + ".kek_file", baseDir) : null;
        if (!c.containsKey("kek_file") && othersListed) {
            problems.add(path + ".kek_file", node, "missing: members of a cluster must share one KEK file"
                    + " (64 hex digits, e.g. `openssl rand -hex 32 > kek.hex`)");
        }
        return bind == null || nodeId == null || name == null || members == null ? null
                : new GatewaySettings.Cluster(nodeId, name, bind.getHostString(), bind.getPort(), members, kekFile);
    }

    /**
     * {@code gateway.admin}: absent, the Unix socket at {@link #defaultAdminSocket}; {@code off};
     * or a mapping: {@code {socket: PATH}}, {@code {listen: HOST:PORT, plaintext: true}} (loopback
     * only), or {@code {listen: HOST:PORT, tls: {...}, admins: [...], operators: [...], readers: [...]}}.
     */
    private GatewaySettings.Admin admin(Node node, String nodeId) {
        GatewaySettings.Admin admin = adminForm(node, nodeId);
        if (admin == null || !(node instanceof MappingNode m)) {
            return admin;
        }
        return admin.with(configDir(entry(m, "config_dir")), rateLimits(entry(m, "rate_limits")));
    }

    /** The value of {@code key} in {@code m} (checked by {@link #adminForm}), or null. */
    private static Node entry(MappingNode m, String key) {
        for (NodeTuple t : m.getValue()) {
            if (t.getKeyNode() instanceof ScalarNode k && k.getValue().equals(key)) {
                return t.getValueNode();
            }
        }
        return null;
    }

    /**
     * {@code gateway.admin.config_dir}: the only directory LoadConfig and ValidateConfig read files
     * from, relative to the configuration file; absent: the file's own directory.
     */
    private Path configDir(Node node) {
        if (node == null) {
            return null;
        }
        String path = "gateway.admin.config_dir";
        Path dir = nodes.file(node, path, baseDir);
        if (dir == null) {
            return null;
        }
        if (!Files.isDirectory(dir)) {
            problems.add(path, node, "'" + dir + "' is not a directory");
            return null;
        }
        return dir;
    }

    /** {@code gateway.admin.rate_limits}: {@code GROUP: PER_MINUTE[/BURST]} for the groups that differ from the defaults. */
    private Map<CallRateLimits.Group, CallRateLimits.Limit> rateLimits(Node node) {
        String path = "gateway.admin.rate_limits";
        Map<String, Node> m = node == null ? Map.of() : nodes.mapping(node, path, RATE_LIMIT_KEYS);
        Map<CallRateLimits.Group, CallRateLimits.Limit> limits = new java.util.EnumMap<>(CallRateLimits.Group.class);
        if (m == null) {
            return limits;
        }
        for (CallRateLimits.Group g : CallRateLimits.Group.values()) {
            Node n = m.get(g.key());
            String text = n == null ? null : nodes.string(n, path + "." + g.key());
            if (text != null) {
                try {
                    limits.put(g, CallRateLimits.Limit.parse(text));
                } catch (IllegalArgumentException e) {
                    problems.add(path + "." + g.key(), n, e.getMessage());
                }
            }
        }
        return limits;
    }

    private GatewaySettings.Admin adminForm(Node node, String nodeId) {
        String path = "gateway.admin";
        if (node == null) {
            return socketAdmin(null, defaultAdminSocket(nodeId));
        }
        if (node instanceof ScalarNode s && s.getValue().trim().equals("off")) {
            return null;
        }
        if (node instanceof ScalarNode s) {
            String text = s.getValue().trim();
            // Plaintext TCP is asked for in so many words, never implied by an address (issue 19).
            problems.add(path, node, "'" + text + "': plaintext TCP must be asked for explicitly:"
                    + " {listen: " + text + ", plaintext: true} (loopback only); or {socket: PATH}, 'off', or"
                    + " mutual TLS {listen, tls, admins, operators, readers}; without 'admin' the API is the Unix"
                    + " socket " + defaultAdminSocket(nodeId));
            return null;
        }
        Map<String, Node> m = nodes.mapping(node, path, ADMIN_KEYS);
        if (m == null) {
            return null;
        }
        if (m.containsKey("socket")) {
            for (String other : List.of("listen", "plaintext", "tls", "admins", "operators", "readers",
                    "rate_limits")) {
                if (m.containsKey(other)) {
                    problems.add(path + "." + other, m.get(other), "not with 'socket': the socket is for this"
                            + " process's user and root only; TCP is 'listen' with 'plaintext' or 'tls'");
                }
            }
            String socket = nodes.string(m.get("socket"), path + ".socket");
            return socket == null ? null : socketAdmin(m.get("socket"), baseDir.resolve(socket));
        }
        if (!m.containsKey("listen")) {
            problems.add(path, node, "give 'socket: PATH', or 'listen: HOST:PORT' with 'plaintext: true'"
                    + " (loopback only) or 'tls'");
            return null;
        }
        InetSocketAddress listen = nodes.endpoint(m.get("listen"), path + ".listen", -1);
        Boolean plaintext = m.containsKey("plaintext") ? nodes.bool(m.get("plaintext"), path + ".plaintext")
                : Boolean.FALSE;
        if (plaintext == null) {
            return null;
        }
        if (plaintext) {
            for (String other : List.of("tls", "admins", "operators", "readers", "rate_limits")) {
                if (m.containsKey(other)) {
                    problems.add(path + "." + other, m.get(other), "not with 'plaintext: true': plaintext has no"
                            + " client identities; use 'tls' instead");
                }
            }
            if (listen == null) {
                return null;
            }
            if (!listen.getAddress().isLoopbackAddress()) {
                // DESIGN §5: off the node itself the admin API requires mutual TLS.
                problems.add(path + ".listen", m.get("listen"), "'" + listen.getHostString() + ":"
                        + listen.getPort() + "' is not a loopback address; plaintext is for loopback only, elsewhere"
                        + " the admin API needs mutual TLS: {listen, tls: {cert, key, client_ca}, admins: [...]}");
                return null;
            }
            return GatewaySettings.Admin.plaintextTcp(listen);
        }
        Node tlsNode = m.get("tls");
        if (tlsNode == null) {
            problems.add(path + ".tls", node, "missing: {cert: server.pem, key: server.key, client_ca: ca.pem}"
                    + " (or 'plaintext: true' on a loopback address)");
            return null;
        }
        Map<String, Node> t = nodes.mapping(tlsNode, path + ".tls", ADMIN_TLS_KEYS);
        if (t == null) {
            return null;
        }
        Path cert = readableFile(t, tlsNode, "cert");
        Path key = readableFile(t, tlsNode, "key");
        Path clientCa = readableFile(t, tlsNode, "client_ca");
        List<String> admins = identities(m, "admins");
        List<String> operators = identities(m, "operators");
        List<String> readers = identities(m, "readers");
        if (admins.isEmpty() && operators.isEmpty() && readers.isEmpty()) {
            problems.add(path + ".admins", node, "missing: with TLS, name who may use the API (admins, operators"
                    + " and/or readers: subject DNs, CNs, DNS or URI names of client certificates)");
        }
        if (listen == null || cert == null || key == null || clientCa == null) {
            return null;
        }
        return GatewaySettings.Admin.mutualTls(listen, new GatewaySettings.AdminTls(cert, key, clientCa, admins,
                operators, readers));
    }

    private GatewaySettings.Admin socketAdmin(Node at, Path socket) {
        Path absolute = socket.toAbsolutePath().normalize();
        if (absolute.toString().getBytes(StandardCharsets.UTF_8).length > UnixSocketServer.MAX_PATH_BYTES) {
            problems.add("gateway.admin.socket", at, "'" + absolute + "' is longer than "
                    + UnixSocketServer.MAX_PATH_BYTES + " bytes, the most a Unix socket path holds");
            return null;
        }
        return GatewaySettings.Admin.unixSocket(absolute);
    }

    private Path readableFile(Map<String, Node> tls, Node tlsNode, String key) {
        String path = "gateway.admin.tls." + key;
        if (!tls.containsKey(key)) {
            problems.add(path, tlsNode, "missing: a PEM file");
            return null;
        }
        Path p = nodes.file(tls.get(key), path, baseDir);
        if (p == null) {
            return null;
        }
        if (!Files.isReadable(p)) {
            problems.add(path, tls.get(key), "'" + p + "' is not a readable file");
            return null;
        }
        return p;
    }

    /** Client identities, one or a list; a DN holds commas, so this is no comma-separated list. */
    private List<String> identities(Map<String, Node> m, String key) {
        Node n = m.get(key);
        List<Node> items = n == null ? List.of() : n instanceof SequenceNode seq ? seq.getValue() : List.of(n);
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < items.size(); i++) {
            String path = "gateway.admin." + key + (n instanceof SequenceNode ? "[" + i + "]" : "");
            String text = nodes.string(items.get(i), path);
            try {
                if (text != null) {
                    ids.add(MutualTls.identity(text));
                }
            } catch (IllegalArgumentException e) {
                problems.add(path, items.get(i), e.getMessage());
            }
        }
        return ids;
    }

    private int integer(Map<String, Node> m, String path, String key, int dflt, int min, int max) {
        Long v = m.containsKey(key) ? nodes.integer(m.get(key), path + "." + key, min, max) : null;
        return v == null ? dflt : v.intValue();
    }

    private Duration duration(Map<String, Node> m, String path, String key, Duration dflt, boolean positive) {
        Long seconds = m.containsKey(key) ? nodes.duration(m.get(key), path + "." + key) : null;
        if (seconds != null && positive && seconds == 0) {
            problems.add(path + "." + key, m.get(key), "must be longer than 0s");
            return dflt;
        }
        return seconds == null ? dflt : Duration.ofSeconds(seconds);
    }
}
