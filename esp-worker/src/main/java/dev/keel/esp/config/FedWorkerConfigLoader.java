package dev.keel.esp.config;

import dev.keel.core.config.ConfigProblem;
import dev.keel.core.config.Nodes;
import dev.keel.core.config.Problems;
import dev.keel.core.config.YamlText;
import dev.keel.rpc.LoopbackTargets;
import dev.keel.rpc.MetricsEndpoint;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.nodes.Node;

/**
 * Loads and validates the configuration of an esp-worker fed by the SAD (docs/esp-worker.md),
 * as {@link WorkerConfigLoader} does the static one: SnakeYAML composes nodes only, every problem
 * is reported at once as {@code file:line:col: key.path: message}, and a configuration results
 * only when there is none. Files it names (KEK, TLS) resolve against the file's directory and are
 * checked here, so that a bad one stops the start with its key path; the KEK's bytes are wiped
 * after the check and read again when the worker starts.
 */
public final class FedWorkerConfigLoader {

    /** Outer UDP port when {@code listen} names none (RFC 3948). */
    public static final int DEFAULT_PORT = 4500;
    /** A TUN device the file leaves unnamed: the kernel numbers it; offloads on; every remote prefix routed. */
    public static final PlaintextReader.TunDefaults TUN_DEFAULTS =
            new PlaintextReader.TunDefaults("keel%d", true, PlaintextConfig.Routes.ALL);

    private static final Set<String> TOP = Set.of("node_id", "listen", "loops", "plaintext", "sad", "policy", "tls",
            "kek_file", "ike", "metrics");
    private static final Set<String> SAD = Set.of("endpoints");
    private static final Set<String> POLICY = Set.of("endpoint");
    private static final Set<String> TLS = Set.of("cert", "key", "ca");
    private static final Set<String> IKE = Set.of("relay", "port");
    /** As sad-service's node ids (owner_node_id). */
    private static final Pattern NODE_ID = Pattern.compile("[A-Za-z0-9._-]{1,64}");

    /** The outcome of a load: a configuration, or every problem found. */
    public sealed interface Result {
        /** A configuration without problems. */
        record Valid(FedWorkerConfig config) implements Result {
        }

        /** One or more problems, in file order. */
        record Invalid(List<ConfigProblem> problems) implements Result {
            public Invalid {
                problems = List.copyOf(problems);
            }
        }
    }

    private FedWorkerConfigLoader() {
    }

    /** Loads the file at {@code path}. */
    public static Result loadFile(Path path) {
        Problems problems = new Problems(path.toString());
        String text = YamlText.readFile(path, WorkerConfigLoader.MAX_CONFIG_BYTES, problems);
        if (text == null) {
            return new Result.Invalid(problems.list());
        }
        return loadText(path.toString(), text, YamlText.directoryOf(path));
    }

    /** Loads YAML text named {@code sourceName}; relative files resolve against {@code baseDir}. */
    public static Result loadText(String sourceName, String yaml, Path baseDir) {
        Problems problems = new Problems(sourceName);
        Node root = YamlText.compose(yaml, WorkerConfigLoader.MAX_CONFIG_BYTES, problems, "");
        FedWorkerConfig config = root == null ? null : new Reading(problems, baseDir).read(root);
        return problems.isEmpty() && config != null ? new Result.Valid(config) : new Result.Invalid(problems.list());
    }

    /** One load's reading state. */
    private static final class Reading {
        private final Problems problems;
        private final Nodes nodes;
        private final Path baseDir;

        Reading(Problems problems, Path baseDir) {
            this.problems = problems;
            this.nodes = new Nodes(problems);
            this.baseDir = baseDir;
        }

        FedWorkerConfig read(Node root) {
            Map<String, Node> top = nodes.mapping(root, "", TOP);
            if (top == null) {
                return null;
            }
            String nodeId = null;
            if (nodes.required(top, "node_id", "", root)) {
                nodeId = nodes.string(top.get("node_id"), "node_id");
                if (nodeId != null && !NODE_ID.matcher(nodeId).matches()) {
                    problems.add("node_id", top.get("node_id"), "'" + nodeId + "' is not a node id"
                            + " (1-64 of A-Z a-z 0-9 . _ -, as sad-service's --node-id)");
                    nodeId = null;
                }
            }
            InetSocketAddress listen = top.containsKey("listen")
                    ? nodes.endpoint(top.get("listen"), "listen", DEFAULT_PORT) : new InetSocketAddress(DEFAULT_PORT);
            int loops = Runtime.getRuntime().availableProcessors();
            if (top.containsKey("loops")) {
                Long l = nodes.integer(top.get("loops"), "loops", 1, 256);
                loops = l == null ? loops : l.intValue();
            }
            PlaintextConfig plaintext = null;
            if (top.containsKey("plaintext")) {
                plaintext = PlaintextReader.read(nodes, top.get("plaintext"), "plaintext", TUN_DEFAULTS);
            } else {
                problems.add("plaintext", root, "missing: give 'tun' or 'virtual_wire'");
            }
            FedWorkerConfig.Tls tls = top.containsKey("tls") ? tls(top.get("tls")) : null;
            boolean tlsGiven = top.containsKey("tls");
            List<String> sad = null;
            if (nodes.required(top, "sad", "", root)) {
                Map<String, Node> s = nodes.mapping(top.get("sad"), "sad", SAD);
                if (s != null && nodes.required(s, "endpoints", "sad", top.get("sad"))) {
                    sad = endpoints(s.get("endpoints"), "sad.endpoints", tlsGiven);
                }
            }
            String policy = null;
            if (nodes.required(top, "policy", "", root)) {
                Map<String, Node> p = nodes.mapping(top.get("policy"), "policy", POLICY);
                if (p != null && nodes.required(p, "endpoint", "policy", top.get("policy"))) {
                    policy = endpoint(p.get("endpoint"), "policy.endpoint", tlsGiven);
                }
            }
            Path kekFile = null;
            if (nodes.required(top, "kek_file", "", root)) {
                kekFile = kek(top.get("kek_file"));
            }
            String relay = null;
            int ikePort = 0;
            if (top.containsKey("ike")) {
                Map<String, Node> i = nodes.mapping(top.get("ike"), "ike", IKE);
                if (i != null && i.containsKey("relay")) {
                    String r = nodes.string(i.get("relay"), "ike.relay");
                    relay = r == null || r.equals("none") ? null : endpoint(r, "ike.relay", i.get("relay"), tlsGiven);
                }
                if (i != null && i.containsKey("port")) {
                    Long p = nodes.integer(i.get("port"), "ike.port", 1, 65_535);
                    if (p != null && listen != null && p == listen.getPort()) {
                        problems.add("ike.port", i.get("port"), p + " is listen's port; IKE's own port is another");
                    } else if (p != null && relay == null) {
                        problems.add("ike.port", i.get("port"), "needs ike.relay: IKE on this port goes to ike-service");
                    } else if (p != null) {
                        ikePort = p.intValue();
                    }
                }
                if (relay != null && listen != null && (listen.getAddress().isAnyLocalAddress())) {
                    problems.add("listen", top.containsKey("listen") ? top.get("listen") : root, "with ike.relay, the address the peers send to, not a"
                            + " wildcard (ike-service answers from it)");
                }
            }
            InetSocketAddress metrics = top.containsKey("metrics")
                    ? MetricsEndpoint.readSection(nodes, top.get("metrics"), "metrics") : null;
            if (!problems.isEmpty() || nodeId == null || listen == null || plaintext == null || sad == null
                    || policy == null || kekFile == null || (tlsGiven && tls == null)) {
                return null;
            }
            return new FedWorkerConfig(nodeId, listen, loops, plaintext, sad, policy, tls, kekFile, relay, ikePort,
                    metrics);
        }

        FedWorkerConfig.Tls tls(Node node) {
            Map<String, Node> t = nodes.mapping(node, "tls", TLS);
            if (t == null) {
                return null;
            }
            Path cert = nodes.required(t, "cert", "tls", node) ? readable(t.get("cert"), "tls.cert") : null;
            Path key = nodes.required(t, "key", "tls", node) ? readable(t.get("key"), "tls.key") : null;
            Path ca = nodes.required(t, "ca", "tls", node) ? readable(t.get("ca"), "tls.ca") : null;
            return cert == null || key == null || ca == null ? null : new FedWorkerConfig.Tls(cert, key, ca);
        }

        Path readable(Node node, String path) {
            String s = nodes.string(node, path);
            if (s == null) {
                return null;
            }
            Path p = baseDir.resolve(s);
            if (!Files.isRegularFile(p) || !Files.isReadable(p)) {
                problems.add(path, node, p + ": not a readable file");
                return null;
            }
            return p;
        }

        /** The KEK file: readable, hex of 16, 24 or 32 bytes (checked, then wiped). */
        Path kek(Node node) {
            Path p = readable(node, "kek_file");
            if (p == null) {
                return null;
            }
            byte[] raw = null;
            byte[] kek = null;
            try {
                raw = Files.readAllBytes(p);
                kek = HexFormat.of().parseHex(new String(raw, StandardCharsets.US_ASCII).strip());
                if (kek.length != 16 && kek.length != 24 && kek.length != 32) {
                    problems.add("kek_file", node, p + ": holds " + kek.length + " bytes; a KEK is 16, 24 or 32"
                            + " (the file the sad-service members load)");
                    return null;
                }
                return p;
            } catch (IOException e) {
                problems.add("kek_file", node, p + ": cannot be read (" + e.getMessage() + ")");
                return null;
            } catch (IllegalArgumentException e) {
                problems.add("kek_file", node, p + ": not hex (the file the sad-service members load)");
                return null;
            } finally {
                if (raw != null) {
                    Arrays.fill(raw, (byte) 0);
                }
                if (kek != null) {
                    Arrays.fill(kek, (byte) 0);
                }
            }
        }

        List<String> endpoints(Node node, String path, boolean tls) {
            List<Nodes.Item> items = nodes.list(node, path);
            if (items == null) {
                return null;
            }
            if (items.isEmpty()) {
                problems.add(path, node, "no endpoint: give at least one sad-service host:port");
                return null;
            }
            List<String> out = new ArrayList<>();
            for (Nodes.Item item : items) {
                String e = endpoint(item.text(), item.path(), item.node(), tls);
                if (e != null) {
                    if (out.contains(e)) {
                        problems.add(item.path(), item.node(), "'" + e + "' is listed twice");
                    }
                    out.add(e);
                }
            }
            return out.size() == items.size() ? out : null;
        }

        String endpoint(Node node, String path, boolean tls) {
            String s = nodes.string(node, path);
            return s == null ? null : endpoint(s, path, node, tls);
        }

        /** A gRPC target: {@code unix:PATH}, or {@code host:port} with a host name or IP address. */
        String endpoint(String text, String path, Node node, boolean tls) {
            if (text.startsWith("unix:")) {
                if (text.length() == "unix:".length()) {
                    problems.add(path, node, "'unix:' without a socket path");
                    return null;
                }
                return text;
            }
            int colon = text.lastIndexOf(':');
            String host = colon > 0 ? text.substring(0, colon) : "";
            if (host.startsWith("[") && host.endsWith("]")) {
                host = host.substring(1, host.length() - 1);
            }
            int port;
            try {
                port = colon > 0 ? Integer.parseInt(text.substring(colon + 1)) : -1;
            } catch (NumberFormatException e) {
                port = -1;
            }
            if (host.isEmpty() || port < 1 || port > 65535 || host.contains(":") && !text.startsWith("[")) {
                problems.add(path, node, "'" + text + "' is not host:port, [v6]:port or unix:PATH");
                return null;
            }
            if (!tls) {
                String refusal = plaintextRefusal(text);
                if (refusal != null) {
                    problems.add(path, node, refusal);
                    return null;
                }
            }
            return text;
        }
    }

    /** Why a plaintext gRPC channel to the endpoint {@code target} is refused ({@link LoopbackTargets}), or null. */
    static String plaintextRefusal(String target) {
        String refusal = LoopbackTargets.plaintextRefusal(target);
        return refusal == null ? null : refusal + "; give 'tls' (cert, key, ca: mutual TLS) to reach it";
    }
}
