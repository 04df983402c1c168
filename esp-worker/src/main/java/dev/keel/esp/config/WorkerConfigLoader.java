package dev.keel.esp.config;

import dev.keel.core.config.Nodes;
import dev.keel.core.config.Problems;
import dev.keel.core.config.YamlText;
import dev.keel.core.proposal.EncryptionAlgorithm;
import dev.keel.core.proposal.Proposal;
import dev.keel.core.proposal.ProposalSyntaxException;
import dev.keel.core.proposal.Protocol;
import dev.keel.core.sa.IpsecMode;
import dev.keel.core.transform.EncryptionTransform;
import dev.keel.core.transform.IntegrityTransform;
import dev.keel.core.ts.TrafficSelector;
import dev.keel.esp.forward.StaticSaPair;
import dev.keel.esp.raw.OuterTransport;
import dev.keel.esp.sa.EspSaSpec;
import dev.keel.esp.sa.ReplayWindow;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.ScalarNode;

/**
 * Loads and validates an esp-worker configuration with statically keyed SAs
 * (docs/static-keying.md), the user-space counterpart of {@code ip xfrm state add}.
 *
 * <p>One load reports every problem, each as {@code file:line:col: key.path: message}, and
 * yields a configuration only when there is none. Keys are given by reference
 * ({@code file:PATH} or {@code env:NAME}, holding hex) and are never quoted in a problem. The
 * YAML is composed into nodes and read against a fixed schema; no tag can instantiate a type.
 */
public final class WorkerConfigLoader {

    /** Largest configuration file read. */
    public static final int MAX_CONFIG_BYTES = 1 << 20;
    /** Largest key file read (hex text). */
    public static final int MAX_KEY_FILE_BYTES = 4096;
    /** Outer UDP port when {@code listen} names none (RFC 3948). */
    public static final int DEFAULT_PORT = 4500;
    /** Replay window when none is given (as strongSwan's {@code replay_window}). */
    public static final int DEFAULT_REPLAY_WINDOW = 32;
    /** A TUN device the file leaves unnamed: the kernel numbers it; offloads on (docs/tun.md). */
    public static final PlaintextReader.TunDefaults TUN_DEFAULTS = new PlaintextReader.TunDefaults("keel%d", true);

    private static final Set<String> TOP = Set.of("listen", "loops", "keepalive", "plaintext", "export_keys", "sas",
            "transport");
    private static final Set<String> SA = Set.of("peer", "mode", "esp", "esn", "replay_window", "local_ts", "remote_ts",
            "in", "out", "tfc_pad_to");
    private static final Set<String> DIRECTION = Set.of("spi", "enc_key", "integ_key");

    private final Function<String, String> environment;

    /** A loader reading {@code env:} keys from the process environment. */
    public WorkerConfigLoader() {
        this(System::getenv);
    }

    /** A loader reading {@code env:} keys through {@code environment}. */
    public WorkerConfigLoader(Function<String, String> environment) {
        this.environment = Objects.requireNonNull(environment, "environment");
    }

    /** Loads the file at {@code path}; relative key files are resolved against its directory. */
    public WorkerConfigResult loadFile(Path path) {
        Problems problems = new Problems(path.toString());
        String text = YamlText.readFile(path, MAX_CONFIG_BYTES, problems);
        if (text == null) {
            return new WorkerConfigResult.Invalid(problems.list());
        }
        return load(path.toString(), text, YamlText.directoryOf(path));
    }

    /** Loads YAML text named {@code sourceName}; relative key files resolve against {@code baseDir}. */
    public WorkerConfigResult loadText(String sourceName, String yaml, Path baseDir) {
        return load(sourceName, yaml, baseDir);
    }

    private WorkerConfigResult load(String file, String text, Path baseDir) {
        Problems problems = new Problems(file);
        Node root = YamlText.compose(text, MAX_CONFIG_BYTES, problems, "");
        if (root == null) {
            return new WorkerConfigResult.Invalid(problems.list());
        }
        Reading r = new Reading(problems, baseDir);
        WorkerConfig config = r.read(root);
        if (!problems.isEmpty() || config == null) {
            r.wipe();
            return new WorkerConfigResult.Invalid(problems.list());
        }
        return new WorkerConfigResult.Valid(config);
    }

    /** One load's reading state. */
    private final class Reading {
        private final Problems problems;
        private final Nodes nodes;
        private final Path baseDir;
        private final List<byte[]> keys = new ArrayList<>();
        /** SPI → path of its first use, per direction: an inbound SPI must be unique on this node. */
        private final Map<Integer, String> inboundSpis = new HashMap<>();
        private final Map<Integer, String> outboundSpis = new HashMap<>();

        Reading(Problems problems, Path baseDir) {
            this.problems = problems;
            this.nodes = new Nodes(problems);
            this.baseDir = baseDir;
        }

        void wipe() {
            keys.forEach(k -> Arrays.fill(k, (byte) 0));
        }

        WorkerConfig read(Node root) {
            Map<String, Node> top = nodes.mapping(root, "", TOP);
            if (top == null) {
                return null;
            }
            InetSocketAddress listen = top.containsKey("listen") ? nodes.endpoint(top.get("listen"), "listen", DEFAULT_PORT)
                    : new InetSocketAddress(DEFAULT_PORT);
            int loops = Runtime.getRuntime().availableProcessors();
            if (top.containsKey("loops")) {
                Long l = nodes.integer(top.get("loops"), "loops", 1, 256);
                loops = l == null ? loops : l.intValue();
            }
            OuterTransport transport = OuterTransport.UDP_ENCAP;
            if (top.containsKey("transport")) {
                String t = nodes.string(top.get("transport"), "transport");
                if (t != null) {
                    transport = OuterTransport.fromConfig(t);
                    if (transport == null) {
                        problems.add("transport", top.get("transport"), "unknown transport '" + t + "': give "
                                + OuterTransport.choices());
                    }
                }
            }
            Duration keepalive = Duration.ofSeconds(20);
            if (top.containsKey("keepalive")) {
                Long s = nodes.duration(top.get("keepalive"), "keepalive");
                keepalive = s == null ? keepalive : Duration.ofSeconds(s);
            }
            PlaintextConfig plaintext = null;
            if (top.containsKey("plaintext")) {
                plaintext = PlaintextReader.read(nodes, top.get("plaintext"), "plaintext", TUN_DEFAULTS);
            } else {
                problems.add("plaintext", root, "missing: give 'tun' or 'virtual_wire'");
            }
            Path export = null;
            if (top.containsKey("export_keys")) {
                String s = nodes.string(top.get("export_keys"), "export_keys");
                if (s != null) {
                    export = baseDir.resolve(s);
                    if (listen != null && listen.getAddress().isAnyLocalAddress()) {
                        problems.add("export_keys", top.get("export_keys"),
                                "the esp_sa table names outer addresses: give 'listen' a specific address");
                    }
                }
            }
            List<NamedSaPair> sas = new ArrayList<>();
            if (top.containsKey("sas")) {
                Map<String, Node> m = nodes.mapping(top.get("sas"), "sas", null);
                if (m != null) {
                    if (m.isEmpty()) {
                        problems.add("sas", top.get("sas"), "no SAs: add at least one SA pair");
                    }
                    for (Map.Entry<String, Node> e : m.entrySet()) {
                        NamedSaPair p = sa(e.getKey(), e.getValue(), "sas." + e.getKey(), listen);
                        if (p != null) {
                            sas.add(p);
                        }
                    }
                }
            } else {
                problems.add("sas", root, "missing: static SA pairs under 'sas'");
            }
            if (!problems.isEmpty() || listen == null || plaintext == null) {
                for (NamedSaPair p : sas) {
                    p.pair().inbound().destroyKeys();
                    p.pair().outbound().destroyKeys();
                }
                return null;
            }
            return new WorkerConfig(listen, loops, keepalive, plaintext, export, sas, transport);
        }

        NamedSaPair sa(String name, Node node, String path, InetSocketAddress listen) {
            Map<String, Node> m = nodes.mapping(node, path, SA);
            if (m == null) {
                return null;
            }
            boolean ok = true;
            for (String key : List.of("peer", "esp", "local_ts", "remote_ts", "in", "out")) {
                ok &= nodes.required(m, key, path, node);
            }
            if (!ok) {
                return null;
            }
            InetSocketAddress peer = nodes.endpoint(m.get("peer"), path + ".peer", DEFAULT_PORT);
            if (peer != null && listen != null && !listen.getAddress().isAnyLocalAddress()
                    && peer.getAddress().getAddress().length != listen.getAddress().getAddress().length) {
                problems.add(path + ".peer", m.get("peer"), "the peer is "
                        + (peer.getAddress().getAddress().length == 16 ? "IPv6" : "IPv4")
                        + " but 'listen' is not: one UDP socket cannot reach it");
            }
            IpsecMode mode = IpsecMode.TUNNEL;
            if (m.containsKey("mode")) {
                String s = nodes.choice(m.get("mode"), path + ".mode", List.of("tunnel", "transport"));
                mode = "transport".equals(s) ? IpsecMode.TRANSPORT : IpsecMode.TUNNEL;
            }
            Suite suite = suite(m.get("esp"), path + ".esp");
            boolean esn = false;
            if (m.containsKey("esn")) {
                Boolean b = nodes.bool(m.get("esn"), path + ".esn");
                esn = b != null && b;
            }
            int replay = DEFAULT_REPLAY_WINDOW;
            if (m.containsKey("replay_window")) {
                Long v = nodes.integer(m.get("replay_window"), path + ".replay_window", 0, ReplayWindow.MAX_SIZE);
                if (v != null && v != 0 && v < ReplayWindow.MIN_SIZE) {
                    problems.add(path + ".replay_window", m.get("replay_window"),
                            v + " is below " + ReplayWindow.MIN_SIZE + " (0 turns anti-replay off)");
                } else if (v != null) {
                    replay = v.intValue();
                }
            }
            int tfc = 0;
            if (m.containsKey("tfc_pad_to")) {
                Long v = nodes.integer(m.get("tfc_pad_to"), path + ".tfc_pad_to", 0, 65535);
                tfc = v == null ? 0 : v.intValue();
                if (mode == IpsecMode.TRANSPORT && tfc > 0) {
                    problems.add(path + ".tfc_pad_to", m.get("tfc_pad_to"), "TFC padding needs tunnel mode");
                }
            }
            List<TrafficSelector> local = nodes.list(m.get("local_ts"), path + ".local_ts", TrafficSelector::parse);
            List<TrafficSelector> remote = nodes.list(m.get("remote_ts"), path + ".remote_ts", TrafficSelector::parse);
            EspSaSpec in = direction(m.get("in"), path + ".in", suite, mode, esn, replay, 0, inboundSpis);
            // Outbound: no replay window (the sender does not check), TFC padding if asked.
            EspSaSpec out = direction(m.get("out"), path + ".out", suite, mode, esn, 0, tfc, outboundSpis);
            if (peer == null || suite == null || local == null || remote == null || in == null || out == null) {
                if (in != null) {
                    in.destroyKeys();
                }
                if (out != null) {
                    out.destroyKeys();
                }
                return null;
            }
            return new NamedSaPair(name, new StaticSaPair(in, out, peer, local, remote));
        }

        Suite suite(Node node, String path) {
            String s = nodes.string(node, path);
            if (s == null) {
                return null;
            }
            Proposal p;
            try {
                p = Proposal.parse(Protocol.ESP, s.strip()).effective();
            } catch (ProposalSyntaxException e) {
                problems.add(path, node, e.getMessage());
                return null;
            }
            if (p.encryptionAlgorithms().size() != 1 || p.integrityAlgorithms().size() > 1
                    || !p.keyExchangeMethods().isEmpty() || p.esns().size() > 1) {
                problems.add(path, node, "'" + s + "': a static SA has exactly one cipher, at most one integrity"
                        + " algorithm and no key exchange, e.g. aes256gcm16 or aes128-sha256");
                return null;
            }
            java.util.Optional<String> error = p.validationError();
            if (error.isPresent()) {
                problems.add(path, node, error.get());
                return null;
            }
            EncryptionAlgorithm enc = p.encryptionAlgorithms().getFirst();
            IntegrityTransform integ = p.integrityAlgorithms().isEmpty() ? IntegrityTransform.NONE
                    : p.integrityAlgorithms().getFirst();
            if (!enc.isAead() && integ == IntegrityTransform.NONE) {
                problems.add(path, node, "'" + s + "': " + enc.transform().ianaName()
                        + " needs an integrity algorithm, e.g. " + s + "-sha256");
                return null;
            }
            return new Suite(enc, integ, s.strip());
        }

        EspSaSpec direction(Node node, String path, Suite suite, IpsecMode mode, boolean esn, int replay, int tfc,
                Map<Integer, String> spis) {
            Map<String, Node> m = nodes.mapping(node, path, DIRECTION);
            if (m == null) {
                return null;
            }
            if (!nodes.required(m, "spi", path, node)) {
                return null;
            }
            Integer spi = spi(m.get("spi"), path + ".spi");
            if (spi != null) {
                String first = spis.putIfAbsent(spi, path + ".spi");
                if (first != null) {
                    problems.add(path + ".spi", m.get("spi"), "SPI 0x" + String.format("%08x", spi)
                            + " is already used by " + first);
                }
            }
            if (suite == null) {
                return null;
            }
            EncryptionTransform enc = suite.encryption().transform();
            int encLen = enc == EncryptionTransform.NULL ? 0 : suite.encryption().keyBytes() + enc.saltLength();
            byte[] encKey = null;
            if (encLen == 0) {
                if (m.containsKey("enc_key")) {
                    problems.add(path + ".enc_key", m.get("enc_key"), "'" + suite.text() + "' takes no encryption key");
                }
                encKey = new byte[0];
            } else if (nodes.required(m, "enc_key", path, node)) {
                encKey = key(m.get("enc_key"), path + ".enc_key", encLen, enc.saltLength() > 0
                        ? suite.encryption().keyBytes() + "-byte key followed by the " + enc.saltLength() + "-byte salt"
                        : "key");
            }
            byte[] integKey = new byte[0];
            if (suite.integrity() == IntegrityTransform.NONE) {
                if (m.containsKey("integ_key")) {
                    problems.add(path + ".integ_key", m.get("integ_key"), "'" + suite.text()
                            + "' is an AEAD suite and takes no integrity key");
                }
            } else if (nodes.required(m, "integ_key", path, node)) {
                integKey = key(m.get("integ_key"), path + ".integ_key", suite.integrity().keyLength(), "key");
            }
            if (spi == null || encKey == null || integKey == null) {
                return null;
            }
            try {
                return new EspSaSpec(spi, mode, enc, encKey, suite.integrity(), integKey, esn, replay, tfc, true);
            } catch (IllegalArgumentException e) {
                problems.add(path, node, e.getMessage());
                return null;
            } finally {
                Arrays.fill(encKey, (byte) 0);
                Arrays.fill(integKey, (byte) 0);
            }
        }

        Integer spi(Node node, String path) {
            if (!(node instanceof ScalarNode s)) {
                problems.add(path, node, "expected an SPI such as 0xc0000001, found " + Nodes.kind(node));
                return null;
            }
            String t = s.getValue().strip().replace("_", "");
            long v;
            try {
                v = t.toLowerCase(Locale.ROOT).startsWith("0x") ? Long.parseLong(t.substring(2), 16) : Long.parseLong(t);
            } catch (NumberFormatException e) {
                problems.add(path, node, "'" + s.getValue() + "' is not an SPI (hex with 0x, or decimal)");
                return null;
            }
            if (v < 256 || v > 0xffff_ffffL) {
                problems.add(path, node, "SPI " + s.getValue() + " is outside 256-0xffffffff (0-255 are reserved,"
                        + " RFC 4303 §2.1)");
                return null;
            }
            return (int) v;
        }

        /**
         * A key by reference: {@code file:PATH} or {@code env:NAME}, holding hex (an optional
         * {@code 0x}, whitespace and ':' ignored). The value is never quoted in a problem.
         */
        byte[] key(Node node, String path, int length, String what) {
            String ref = nodes.string(node, path);
            if (ref == null) {
                return null;
            }
            String text;
            String origin;
            if (ref.startsWith("file:")) {
                Path f = baseDir.resolve(ref.substring(5).strip());
                origin = "file " + f;
                try {
                    if (Files.size(f) > MAX_KEY_FILE_BYTES) {
                        problems.add(path, node, origin + " is larger than " + MAX_KEY_FILE_BYTES + " bytes");
                        return null;
                    }
                    text = Files.readString(f, StandardCharsets.US_ASCII);
                } catch (IOException e) {
                    problems.add(path, node, "cannot read " + origin + ": " + YamlText.ioReason(e));
                    return null;
                }
            } else if (ref.startsWith("env:")) {
                String var = ref.substring(4).strip();
                origin = "environment variable " + var;
                text = environment.apply(var);
                if (text == null) {
                    problems.add(path, node, origin + " is not set");
                    return null;
                }
            } else {
                problems.add(path, node, "give the key by reference, 'file:PATH' or 'env:NAME' (holding hex);"
                        + " keys are never written into the configuration");
                return null;
            }
            byte[] key = hex(text);
            if (key == null) {
                problems.add(path, node, origin + " does not hold hexadecimal key bytes");
                return null;
            }
            if (key.length != length) {
                problems.add(path, node, origin + " holds " + key.length + " bytes; the suite needs " + length
                        + " (" + what + ")");
                Arrays.fill(key, (byte) 0);
                return null;
            }
            keys.add(key);
            return key;
        }
    }

    /** Hex digits (optional 0x, whitespace and ':' separators) to bytes, or null. */
    static byte[] hex(String text) {
        String t = text.strip();
        if (t.startsWith("0x") || t.startsWith("0X")) {
            t = t.substring(2);
        }
        StringBuilder digits = new StringBuilder(t.length());
        for (int i = 0; i < t.length(); i++) {
            char c = t.charAt(i);
            if (Character.isWhitespace(c) || c == ':') {
                continue;
            }
            if (Character.digit(c, 16) < 0) {
                return null;
            }
            digits.append(c);
        }
        if (digits.isEmpty() || digits.length() % 2 != 0) {
            return null;
        }
        byte[] out = new byte[digits.length() / 2];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) (Character.digit(digits.charAt(2 * i), 16) << 4 | Character.digit(digits.charAt(2 * i + 1), 16));
        }
        digits.setLength(0);
        return out;
    }

    private record Suite(EncryptionAlgorithm encryption, IntegrityTransform integrity, String text) {
    }
}
