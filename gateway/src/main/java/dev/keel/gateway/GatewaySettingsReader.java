package dev.keel.gateway;

import dev.keel.ike.engine.HalfOpenLimits;
import dev.keel.core.config.Problems;
import dev.keel.core.config.YamlText;
import dev.keel.rpc.MutualTls;
import dev.keel.rpc.UnixSocketServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;

/**
 * Reads the {@code gateway:} section of a node's configuration file. Every problem is reported
 * as {@code file:line:col: gateway.key: message}; policy-service's loader reads the rest of the
 * same file.
 */
public final class GatewaySettingsReader {

    private static final Set<String> KEYS = Set.of("address", "ike_port", "nat_t_port", "loops", "plaintext",
            "key_export", "cluster", "admin", "ike");
    private static final Set<String> CLUSTER_KEYS = Set.of("node_id", "name", "bind", "members", "kek_file");
    private static final Set<String> PLAINTEXT_KEYS = Set.of("virtual_wire", "tun");
    private static final Set<String> ADMIN_KEYS = Set.of("socket", "listen", "plaintext", "tls", "admins", "readers");
    private static final Set<String> ADMIN_TLS_KEYS = Set.of("cert", "key", "client_ca");
    private static final Set<String> IKE_KEYS = Set.of("half_open_timeout", "init_limit_half_open", "block_threshold",
            "cookie_threshold", "cookie_threshold_ip", "cookie_secret_lifetime");

    private final String file;
    private final Path baseDir;
    private final List<String> problems = new ArrayList<>();

    private GatewaySettingsReader(String file, Path baseDir) {
        this.file = file;
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

    /** Reads {@code path}'s {@code gateway:} section. */
    public static Result read(Path path) {
        String text;
        try {
            text = Files.readString(path);
        } catch (IOException e) {
            return new Result.Invalid(List.of(path + ": cannot read: " + e.getClass().getSimpleName()));
        }
        Path dir = path.toAbsolutePath().getParent();
        return new GatewaySettingsReader(path.toString(), dir).parse(text);
    }

    /** Reads the {@code gateway:} section of {@code yaml}, naming it {@code source} in problems. */
    public static Result read(String source, String yaml) {
        return new GatewaySettingsReader(source, Path.of("").toAbsolutePath()).parse(yaml);
    }

    private Result parse(String text) {
        Problems yamlProblems = new Problems(file);
        Node root = YamlText.compose(text, 16 << 20, yamlProblems, "");
        if (root == null) {
            return new Result.Invalid(yamlProblems.list().stream().map(Object::toString).toList());
        }
        Map<String, Node> top = root instanceof MappingNode m ? entries(m, "", null) : Map.of();
        Node section = top.get("gateway");
        if (section == null) {
            return new Result.Invalid(List.of(file + ": 'gateway' section missing: a node needs at least"
                    + " 'gateway: {address: ..., plaintext: ...}'"));
        }
        Map<String, Node> g = mapping(section, "gateway", KEYS);
        String address = g == null ? null : scalar(g, "gateway", "address", null);
        int ikePort = port(g, "ike_port", 500);
        int natTPort = port(g, "nat_t_port", ikePort == 500 ? 4500 : ikePort + 1);
        int loops = integer(g, "loops", 1, 1, 64);
        GatewaySettings.Plaintext plaintext = g == null ? null : plaintext(g.get("plaintext"));
        String export = g == null ? null : scalar(g, "gateway", "key_export", "");
        GatewaySettings.Cluster cluster = cluster(g == null ? null : g.get("cluster"), address, ikePort);
        GatewaySettings.Admin admin = admin(g == null ? null : g.get("admin"),
                cluster == null ? "gw" : cluster.nodeId());
        HalfOpenLimits ikeLimits = ikeLimits(g == null ? null : g.get("ike"));
        if (address == null) {
            problem(section, "gateway.address", "missing: the node's outer address (IKE and ESP bind to it)");
        }
        if (g != null && !g.containsKey("plaintext")) {
            problem(section, "gateway.plaintext", "missing: 'tun: {name: keel0}' or 'virtual_wire: {bind: ..., host: ...}'");
        }
        int pairedNatT = ikePort == 500 ? 4500 : ikePort + 1;
        if (natTPort != pairedNatT) {
            // Both gateways use the same ports, and the engine floats to the peer's port as 500 -> 4500, P -> P + 1.
            problem(section, "gateway.nat_t_port", natTPort + " must be " + pairedNatT + " with ike_port " + ikePort
                    + " (IKE floats from 500 to 4500, and in labs from P to P + 1)");
        }
        if (!problems.isEmpty()) {
            return new Result.Invalid(List.copyOf(problems));
        }
        return new Result.Valid(new GatewaySettings(address, ikePort, natTPort, loops, plaintext,
                export == null || export.isEmpty() ? null : baseDir.resolve(export), cluster, admin, baseDir,
                ikeLimits));
    }

    /** {@code gateway.ike}: the responder's half-open limits (RFC 7296 §2.6), strongSwan's names and Keel's defaults. */
    private HalfOpenLimits ikeLimits(Node node) {
        HalfOpenLimits d = HalfOpenLimits.DEFAULT;
        Map<String, Node> m = node == null ? Map.of() : mapping(node, "gateway.ike", IKE_KEYS);
        if (m == null) {
            return d;
        }
        String path = "gateway.ike";
        return new HalfOpenLimits(
                integerIn(m, path, "cookie_threshold", d.cookieThreshold(), 0, 1_000_000),
                integerIn(m, path, "cookie_threshold_ip", d.cookieThresholdIp(), 0, 1_000_000),
                integerIn(m, path, "init_limit_half_open", d.halfOpenLimit(), 1, 1_000_000),
                integerIn(m, path, "block_threshold", d.blockThreshold(), 1, 1_000_000),
                duration(m, path, "half_open_timeout", d.halfOpenTimeout(), true),
                duration(m, path, "cookie_secret_lifetime", d.cookieSecretLifetime(), false));
    }

    private java.time.Duration duration(Map<String, Node> m, String parent, String key, java.time.Duration dflt,
            boolean positive) {
        String text = scalar(m, parent, key, null);
        if (text == null) {
            return dflt;
        }
        try {
            long seconds = dev.keel.core.config.Units.seconds(text);
            if (positive && seconds == 0) {
                throw new IllegalArgumentException("must be longer than 0s");
            }
            return java.time.Duration.ofSeconds(seconds);
        } catch (IllegalArgumentException e) {
            problem(m.get(key), parent + "." + key, e.getMessage());
            return dflt;
        }
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

    private static final java.util.regex.Pattern NODE_ID = java.util.regex.Pattern.compile("[A-Za-z0-9._-]{1,64}");

    private GatewaySettings.Cluster cluster(Node node, String address, int ikePort) {
        Map<String, Node> c = node == null ? Map.of() : mapping(node, "gateway.cluster", CLUSTER_KEYS);
        if (c == null) {
            return null;
        }
        String dfltId = "gw-" + (address == null ? "node" : address.replace(':', '-')) + "-" + ikePort;
        String nodeId = scalar(c, "gateway.cluster", "node_id", dfltId);
        if (!NODE_ID.matcher(nodeId).matches()) {
            problem(c.get("node_id"), "gateway.cluster.node_id", "'" + nodeId + "' must be 1..64 of [A-Za-z0-9._-]");
        }
        String name = scalar(c, "gateway.cluster", "name", "keel");
        InetSocketAddress bind = hostPort(c, "gateway.cluster", "bind", "127.0.0.1:5701");
        if (bind != null && bind.getAddress() != null && bind.getAddress().isAnyLocalAddress()) {
            problem(c.get("bind"), "gateway.cluster.bind", "'" + bind.getHostString() + "' is every address; give the one"
                    + " address of the cluster's own link (whoever reaches the Hazelcast port can join, docs/sad.md)");
        }
        List<String> members = new ArrayList<>();
        Node m = c.get("members");
        if (m instanceof ScalarNode s) {
            members.add(s.getValue().trim());
        } else if (m instanceof org.yaml.snakeyaml.nodes.SequenceNode seq) {
            for (Node item : seq.getValue()) {
                if (item instanceof ScalarNode s) {
                    members.add(s.getValue().trim());
                } else {
                    problem(item, "gateway.cluster.members", "expected host:port");
                }
            }
        } else if (m != null) {
            problem(m, "gateway.cluster.members", "expected a host:port or a list of them");
        }
        for (String member : members) {
            if (parseHostPort(member) == null) {
                problem(m, "gateway.cluster.members", "'" + member + "' is not host:port");
            }
        }
        String kek = scalar(c, "gateway.cluster", "kek_file", null);
        Path kekFile = kek == null || kek.isEmpty() ? null : baseDir.resolve(kek);
        if (kekFile == null && bind != null && members.stream().anyMatch(x -> !x.equals(bind.getHostString() + ":"
                + bind.getPort()))) {
            problem(node, "gateway.cluster.kek_file", "missing: members of a cluster must share one KEK file"
                    + " (64 hex digits, e.g. `openssl rand -hex 32 > kek.hex`)");
        }
        return bind == null ? null
                : new GatewaySettings.Cluster(nodeId, name, bind.getHostString(), bind.getPort(), members, kekFile);
    }

    /**
     * {@code gateway.admin}: absent, the Unix socket at {@link #defaultAdminSocket}; {@code off};
     * or a mapping: {@code {socket: PATH}}, {@code {listen: HOST:PORT, plaintext: true}} (loopback
     * only), or {@code {listen: HOST:PORT, tls: {...}, admins: [...], readers: [...]}}.
     */
    private GatewaySettings.Admin admin(Node node, String nodeId) {
        if (node == null) {
            return socketAdmin(null, defaultAdminSocket(nodeId));
        }
        if (node instanceof ScalarNode s && s.getValue().trim().equals("off")) {
            return null;
        }
        if (node instanceof ScalarNode s) {
            String text = s.getValue().trim();
            // Plaintext TCP is asked for in so many words, never implied by an address (issue 19).
            problem(node, "gateway.admin", "'" + text + "': plaintext TCP must be asked for explicitly:"
                    + " {listen: " + text + ", plaintext: true} (loopback only); or {socket: PATH}, 'off', or"
                    + " mutual TLS {listen, tls, admins, readers}; without 'admin' the API is the Unix socket "
                    + defaultAdminSocket(nodeId));
            return null;
        }
        Map<String, Node> m = mapping(node, "gateway.admin", ADMIN_KEYS);
        if (m == null) {
            return null;
        }
        if (m.containsKey("socket")) {
            for (String other : List.of("listen", "plaintext", "tls", "admins", "readers")) {
                if (m.containsKey(other)) {
                    problem(m.get(other), "gateway.admin." + other, "not with 'socket': the socket is for this"
                            + " process's user and root only; TCP is 'listen' with 'plaintext' or 'tls'");
                }
            }
            String path = scalar(m, "gateway.admin", "socket", "");
            if (path.isEmpty()) {
                problem(m.get("socket"), "gateway.admin.socket", "missing: the path of the Unix socket");
                return null;
            }
            return socketAdmin(m.get("socket"), baseDir.resolve(path));
        }
        if (!m.containsKey("listen")) {
            problem(node, "gateway.admin", "give 'socket: PATH', or 'listen: HOST:PORT' with 'plaintext: true'"
                    + " (loopback only) or 'tls'");
            return null;
        }
        InetSocketAddress listen = hostPort(m, "gateway.admin", "listen", null);
        String plaintext = scalar(m, "gateway.admin", "plaintext", "false");
        if (!plaintext.equals("true") && !plaintext.equals("false")) {
            problem(m.get("plaintext"), "gateway.admin.plaintext", "'" + plaintext + "' is not true or false");
            return null;
        }
        if (plaintext.equals("true")) {
            for (String other : List.of("tls", "admins", "readers")) {
                if (m.containsKey(other)) {
                    problem(m.get(other), "gateway.admin." + other, "not with 'plaintext: true': plaintext has no"
                            + " client identities; use 'tls' instead");
                }
            }
            if (listen == null) {
                return null;
            }
            if (listen.getAddress() == null || !listen.getAddress().isLoopbackAddress()) {
                // DESIGN §5: off the node itself the admin API requires mutual TLS.
                problem(m.get("listen"), "gateway.admin.listen", "'" + listen.getHostString() + ":" + listen.getPort()
                        + "' is not a loopback address; plaintext is for loopback only, elsewhere the admin API"
                        + " needs mutual TLS: {listen, tls: {cert, key, client_ca}, admins: [...]}");
                return null;
            }
            return GatewaySettings.Admin.plaintextTcp(listen);
        }
        Node tlsNode = m.get("tls");
        if (tlsNode == null) {
            problem(node, "gateway.admin.tls", "missing: {cert: server.pem, key: server.key, client_ca: ca.pem}"
                    + " (or 'plaintext: true' on a loopback address)");
            return null;
        }
        Map<String, Node> t = mapping(tlsNode, "gateway.admin.tls", ADMIN_TLS_KEYS);
        if (t == null) {
            return null;
        }
        Path cert = readableFile(t, "gateway.admin.tls", "cert");
        Path key = readableFile(t, "gateway.admin.tls", "key");
        Path clientCa = readableFile(t, "gateway.admin.tls", "client_ca");
        List<String> admins = identities(m, "admins");
        List<String> readers = identities(m, "readers");
        if (admins.isEmpty() && readers.isEmpty()) {
            problem(node, "gateway.admin.admins", "missing: with TLS, name who may use the API (admins and/or"
                    + " readers: subject DNs, CNs, DNS or URI names of client certificates)");
        }
        if (listen == null || cert == null || key == null || clientCa == null) {
            return null;
        }
        return GatewaySettings.Admin.mutualTls(listen, new GatewaySettings.AdminTls(cert, key, clientCa, admins,
                readers));
    }

    private GatewaySettings.Admin socketAdmin(Node at, Path socket) {
        Path absolute = socket.toAbsolutePath().normalize();
        if (absolute.toString().getBytes(StandardCharsets.UTF_8).length > UnixSocketServer.MAX_PATH_BYTES) {
            problem(at, "gateway.admin.socket", "'" + absolute + "' is longer than "
                    + UnixSocketServer.MAX_PATH_BYTES + " bytes, the most a Unix socket path holds");
            return null;
        }
        return GatewaySettings.Admin.unixSocket(absolute);
    }

    private Path readableFile(Map<String, Node> m, String parent, String key) {
        String name = scalar(m, parent, key, null);
        if (name == null || name.isEmpty()) {
            problem(m.get(key), parent + "." + key, "missing: a PEM file");
            return null;
        }
        Path p = baseDir.resolve(name);
        if (!Files.isReadable(p)) {
            problem(m.get(key), parent + "." + key, "'" + p + "' is not a readable file");
            return null;
        }
        return p;
    }

    private List<String> identities(Map<String, Node> m, String key) {
        Node n = m.get(key);
        List<Node> items = n == null ? List.of()
                : n instanceof org.yaml.snakeyaml.nodes.SequenceNode seq ? seq.getValue() : List.of(n);
        List<String> ids = new ArrayList<>();
        for (Node item : items) {
            if (!(item instanceof ScalarNode s)) {
                problem(item, "gateway.admin." + key, "expected an identity or a list of them");
                continue;
            }
            try {
                ids.add(MutualTls.identity(s.getValue()));
            } catch (IllegalArgumentException e) {
                problem(item, "gateway.admin." + key, e.getMessage());
            }
        }
        return ids;
    }

    private InetSocketAddress hostPort(Map<String, Node> m, String parent, String key, String dflt) {
        String text = scalar(m, parent, key, dflt);
        if (text == null) {
            return null; // not a scalar: reported
        }
        InetSocketAddress a = parseHostPort(text);
        if (a == null) {
            problem(m.get(key), parent + "." + key, "'" + text + "' is not host:port");
        }
        return a;
    }

    /** host:port or [v6]:port, port 0..65535; null when it is not. */
    static InetSocketAddress parseHostPort(String text) {
        int colon = text.lastIndexOf(':');
        if (colon <= 0) {
            return null;
        }
        try {
            int port = Integer.parseInt(text.substring(colon + 1));
            String host = text.substring(0, colon).replace("[", "").replace("]", "");
            if (port < 0 || port > 65535 || host.isEmpty()) {
                return null;
            }
            return new InetSocketAddress(host, port);
        } catch (RuntimeException e) {
            return null;
        }
    }

    private GatewaySettings.Plaintext plaintext(Node node) {
        if (node == null) {
            return null;
        }
        Map<String, Node> p = mapping(node, "gateway.plaintext", PLAINTEXT_KEYS);
        if (p == null) {
            return null;
        }
        if (p.size() != 1) {
            problem(node, "gateway.plaintext", "exactly one of 'tun' or 'virtual_wire'");
            return null;
        }
        if (p.containsKey("tun")) {
            Map<String, Node> t = mapping(p.get("tun"), "gateway.plaintext.tun", Set.of("name", "mtu", "addresses"));
            if (t == null) {
                return null;
            }
            String name = scalar(t, "gateway.plaintext.tun", "name", "keel0");
            int mtu = integerIn(t, "gateway.plaintext.tun", "mtu", 1400, 576, 9000);
            if (name.isEmpty() || name.length() > 15) {
                problem(p.get("tun"), "gateway.plaintext.tun.name", "an interface name of 1..15 characters");
            }
            List<String> addresses = new ArrayList<>();
            Node a = t.get("addresses");
            if (a instanceof ScalarNode s) {
                addresses.add(s.getValue().trim());
            } else if (a instanceof org.yaml.snakeyaml.nodes.SequenceNode seq) {
                for (Node item : seq.getValue()) {
                    if (item instanceof ScalarNode s) {
                        addresses.add(s.getValue().trim());
                    } else {
                        problem(item, "gateway.plaintext.tun.addresses", "expected an address/prefix");
                    }
                }
            } else if (a != null) {
                problem(a, "gateway.plaintext.tun.addresses", "expected an address/prefix or a list of them");
            }
            for (String cidr : addresses) {
                try {
                    dev.keel.core.net.IpPrefix.parse(cidr);
                } catch (IllegalArgumentException e) {
                    problem(a, "gateway.plaintext.tun.addresses", "'" + cidr + "' is not address/prefix-length");
                }
            }
            return new GatewaySettings.Tun(name, mtu, addresses);
        }
        Map<String, Node> w = mapping(p.get("virtual_wire"), "gateway.plaintext.virtual_wire", Set.of("bind", "host"));
        if (w == null) {
            return null;
        }
        InetSocketAddress bind = endpoint(w, "bind");
        InetSocketAddress host = endpoint(w, "host");
        return bind == null || host == null ? null : new GatewaySettings.VirtualWire(bind, host);
    }

    private InetSocketAddress endpoint(Map<String, Node> w, String key) {
        String path = "gateway.plaintext.virtual_wire." + key;
        String text = scalar(w, "gateway.plaintext.virtual_wire", key, null);
        if (text == null) {
            problem(null, path, "missing: an address:port");
            return null;
        }
        int colon = text.lastIndexOf(':');
        try {
            int port = Integer.parseInt(text.substring(colon + 1));
            String host = text.substring(0, colon).replace("[", "").replace("]", "");
            if (colon <= 0 || port < 1 || port > 65535) {
                throw new NumberFormatException();
            }
            return new InetSocketAddress(host, port);
        } catch (RuntimeException e) {
            problem(w.get(key), path, "'" + text + "' is not address:port");
            return null;
        }
    }

    private int port(Map<String, Node> g, String key, int dflt) {
        return integer(g, key, dflt, 1, 65535);
    }

    private int integer(Map<String, Node> g, String key, int dflt, int min, int max) {
        return g == null ? dflt : integerIn(g, "gateway", key, dflt, min, max);
    }

    private int integerIn(Map<String, Node> m, String parent, String key, int dflt, int min, int max) {
        String text = scalar(m, parent, key, null);
        if (text == null) {
            return dflt;
        }
        try {
            int v = Integer.parseInt(text);
            if (v < min || v > max) {
                throw new NumberFormatException();
            }
            return v;
        } catch (NumberFormatException e) {
            problem(m.get(key), parent + "." + key, "'" + text + "' is not a whole number in " + min + ".." + max);
            return dflt;
        }
    }

    private String scalar(Map<String, Node> m, String parent, String key, String dflt) {
        Node n = m.get(key);
        if (n == null) {
            return dflt;
        }
        if (n instanceof ScalarNode s) {
            return s.getValue().trim();
        }
        problem(n, parent + "." + key, "expected a single value");
        return dflt;
    }

    private Map<String, Node> mapping(Node node, String path, Set<String> allowed) {
        if (!(node instanceof MappingNode m)) {
            problem(node, path, "expected a mapping of keys to values");
            return null;
        }
        return entries(m, path, allowed);
    }

    private Map<String, Node> entries(MappingNode m, String path, Set<String> allowed) {
        Map<String, Node> out = new LinkedHashMap<>();
        for (NodeTuple t : m.getValue()) {
            String key = t.getKeyNode() instanceof ScalarNode s ? s.getValue() : String.valueOf(t.getKeyNode());
            if (allowed != null && !allowed.contains(key)) {
                problem(t.getKeyNode(), path.isEmpty() ? key : path + "." + key,
                        "unknown key '" + key + "'; expected one of " + new java.util.TreeSet<>(allowed));
                continue;
            }
            out.put(key, t.getValueNode());
        }
        return out;
    }

    private void problem(Node at, String path, String message) {
        String where = at == null ? file
                : file + ":" + (at.getStartMark().getLine() + 1) + ":" + (at.getStartMark().getColumn() + 1);
        problems.add(where + ": " + path + ": " + message);
    }
}
