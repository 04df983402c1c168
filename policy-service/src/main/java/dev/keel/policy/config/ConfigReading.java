package dev.keel.policy.config;

import dev.keel.core.config.Problems;

import dev.keel.core.config.Nodes;

import static dev.keel.policy.config.ConfigLoader.DEFAULT_ESP_PROPOSALS;
import static dev.keel.policy.config.ConfigLoader.DEFAULT_IKE_PROPOSALS;
import static dev.keel.policy.config.ConfigLoader.DEFAULT_PRIORITY;
import static dev.keel.policy.config.ConfigLoader.DEFAULT_REKEY_SECONDS;
import static dev.keel.policy.config.ConfigLoader.MAX_SECRET_BYTES;
import static dev.keel.policy.config.ConfigLoader.MIN_PSK_BYTES;
import static dev.keel.policy.config.ConfigLoader.ioReason;

import dev.keel.core.net.IpAddress;
import dev.keel.core.net.IpPrefix;
import dev.keel.core.net.IpRange;
import dev.keel.core.proposal.Proposal;
import dev.keel.core.proposal.ProposalSyntaxException;
import dev.keel.core.proposal.Protocol;
import dev.keel.core.sa.IpsecMode;
import dev.keel.core.spd.Spd;
import dev.keel.core.spd.SpdAction;
import dev.keel.core.ts.TrafficSelector;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.SequenceNode;

/** One load of a configuration: walks the YAML tree, collects every problem and builds the result. */
final class ConfigReading {

    private static final Set<String> TOP_KEYS = Set.of("connections", "policies", "secrets");
    /** Sections of a node's file that other services read; policy-service leaves them alone. */
    private static final Set<String> OTHER_SERVICES_KEYS = Set.of("cluster", "listen", "metrics", "logging", "gateway");
    private static final Set<String> CONNECTION_KEYS = Set.of("version", "local_addrs", "remote_addrs", "local",
            "remote", "proposals", "dpd_delay", "encap", "children");
    private static final Set<String> LOCAL_KEYS = Set.of("auth", "id", "secret", "certs");
    private static final Set<String> REMOTE_KEYS = Set.of("auth", "id", "cacerts");
    private static final Set<String> CHILD_KEYS = Set.of("local_ts", "remote_ts", "esp_proposals", "mode",
            "rekey_time", "life_time", "rekey_bytes", "start_action", "dpd_action", "priority");
    private static final Set<String> POLICY_KEYS = Set.of("name", "local_ts", "remote_ts", "action", "priority");
    private static final Set<String> SECRET_KEYS = Set.of("file", "env");

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_-]{1,64}");
    private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,127}");
    private static final Pattern HOST_NAME = Pattern.compile("[A-Za-z0-9.-]*[A-Za-z][A-Za-z0-9.-]*");

    private static final List<Proposal> DEFAULT_IKE = parseDefault(Protocol.IKE, DEFAULT_IKE_PROPOSALS);
    private static final List<Proposal> DEFAULT_ESP = parseDefault(Protocol.ESP, DEFAULT_ESP_PROPOSALS);

    private final Function<String, String> environment;
    private final Problems problems;
    private final Nodes nodes;
    private final Path baseDir;
    private final Map<String, Secret> secrets = new LinkedHashMap<>();
    /** Every declared secret name, resolved or not, so a reference to a broken one isn't reported twice. */
    private final Set<String> declaredSecrets = new java.util.HashSet<>();
    private final List<SpdCompiler.Source> sources = new ArrayList<>();

    ConfigReading(Problems problems, Path baseDir, Function<String, String> environment) {
        this.environment = environment;
        this.problems = problems;
        this.nodes = new Nodes(problems);
        this.baseDir = baseDir;
    }

    ConfigResult read(Node root) {
        Map<String, Node> top = nodes.mapping(root, "", union(TOP_KEYS, OTHER_SERVICES_KEYS));
        if (top == null) {
            return new ConfigResult.Invalid(problems.list());
        }
        if (top.containsKey("secrets")) {
            readSecrets(top.get("secrets"));
        }
        Map<String, ConnectionConfig> connections = new LinkedHashMap<>();
        if (top.containsKey("connections")) {
            readConnections(top.get("connections"), connections);
        }
        List<ExplicitPolicy> policies = new ArrayList<>();
        if (top.containsKey("policies")) {
            readPolicies(top.get("policies"), policies);
        }
        if (!top.containsKey("connections") && !top.containsKey("policies")) {
            problems.add("", root, "neither 'connections' nor 'policies' is present; a configuration"
                    + " without connections is written 'connections: {}'");
        }
        List<CompiledPolicy> compiled = SpdCompiler.compile(sources, problems);
        if (!problems.isEmpty()) {
            secrets.values().forEach(Secret::clear);
            return new ConfigResult.Invalid(problems.list());
        }
        Spd spd = Spd.of(compiled.stream().map(CompiledPolicy::entry).toList());
        return new ConfigResult.Valid(new PolicyConfig(problems.file(), connections, policies, secrets,
                compiled, spd));
    }

    private void readSecrets(Node node) {
        Map<String, Node> entries = nodes.mapping(node, "secrets", null);
        if (entries == null) {
            return;
        }
        entries.forEach((name, value) -> {
            String path = "secrets." + name;
            declaredSecrets.add(name);
            if (!NAME.matcher(name).matches()) {
                problems.add(path, value, nameRule("secret", name));
                return;
            }
            Map<String, Node> ref = nodes.mapping(value, path, SECRET_KEYS);
            if (ref == null) {
                return;
            }
            if (ref.isEmpty() && !((org.yaml.snakeyaml.nodes.MappingNode) value).getValue().isEmpty()) {
                return; // only unknown keys, already reported
            }
            if (ref.size() != 1) {
                problems.add(path, value, ref.isEmpty()
                        ? "give the secret by reference: 'file: /path' or 'env: VARIABLE'"
                        : "give either 'file' or 'env', not both");
                return;
            }
            if (ref.containsKey("file")) {
                readSecretFile(name, path + ".file", ref.get("file"));
            } else {
                readSecretEnv(name, path + ".env", ref.get("env"));
            }
        });
    }

    private void readSecretFile(String name, String path, Node node) {
        String text = nodes.string(node, path);
        if (text == null) {
            return;
        }
        Path file = baseDir.resolve(text);
        byte[] value;
        try {
            if (!Files.isRegularFile(file)) {
                problems.add(path, node, "secret file " + file + (Files.exists(file)
                        ? " is not a regular file" : " does not exist"));
                return;
            }
            if (Files.size(file) > MAX_SECRET_BYTES) {
                problems.add(path, node, "secret file " + file + " is larger than " + MAX_SECRET_BYTES
                        + " bytes");
                return;
            }
            value = Files.readAllBytes(file);
        } catch (IOException e) {
            problems.add(path, node, "secret file " + file + " cannot be read: " + ioReason(e));
            return;
        }
        // A file written by `echo` ends in a newline that is not part of the key.
        int end = value.length;
        if (end > 0 && value[end - 1] == '\n') {
            end--;
            if (end > 0 && value[end - 1] == '\r') {
                end--;
            }
        }
        byte[] trimmed = Arrays.copyOf(value, end);
        Arrays.fill(value, (byte) 0);
        if (trimmed.length == 0) {
            problems.add(path, node, "secret file " + file + " is empty");
            return;
        }
        secrets.put(name, new Secret(name, "file " + file, trimmed));
        Arrays.fill(trimmed, (byte) 0);
    }

    private void readSecretEnv(String name, String path, Node node) {
        String variable = nodes.string(node, path);
        if (variable == null) {
            return;
        }
        if (!ENV_NAME.matcher(variable).matches()) {
            problems.add(path, node, "'" + variable + "' is not an environment variable name");
            return;
        }
        String value = environment.apply(variable);
        if (value == null) {
            problems.add(path, node, "environment variable " + variable + " is not set");
            return;
        }
        if (value.isEmpty()) {
            problems.add(path, node, "environment variable " + variable + " is empty");
            return;
        }
        secrets.put(name, new Secret(name, "env " + variable, value.getBytes(StandardCharsets.UTF_8)));
    }

    private void readConnections(Node node, Map<String, ConnectionConfig> out) {
        Map<String, Node> entries = nodes.mapping(node, "connections", null);
        if (entries == null) {
            return;
        }
        entries.forEach((name, value) -> {
            String path = "connections." + name;
            if (!NAME.matcher(name).matches()) {
                problems.add(path, value, nameRule("connection", name));
                return;
            }
            ConnectionConfig c = readConnection(name, path, value);
            if (c != null) {
                out.put(name, c);
            }
        });
    }

    private ConnectionConfig readConnection(String name, String path, Node node) {
        Map<String, Node> m = nodes.mapping(node, path, CONNECTION_KEYS);
        if (m == null) {
            return null;
        }
        int before = problems.size();
        int version = 2;
        if (m.containsKey("version")) {
            Long v = nodes.integer(m.get("version"), path + ".version", 0, 2);
            if (v != null && v == 1) {
                problems.add(path + ".version", m.get("version"), "IKEv1 is not supported; Keel speaks IKEv2"
                        + " (version 2, or 0 for any)");
            }
        }
        List<String> localAddrs = addresses(m.get("local_addrs"), path + ".local_addrs");
        List<String> remoteAddrs = addresses(m.get("remote_addrs"), path + ".remote_addrs");
        IpAddress localSingle = single(localAddrs);
        IpAddress remoteSingle = single(remoteAddrs);

        AuthConfig local = null;
        if (!m.containsKey("local")) {
            problems.add(path, node, "missing key 'local' (our auth, id and secret)");
        } else {
            local = auth(m.get("local"), path + ".local", true, localSingle);
        }
        AuthConfig remote = m.containsKey("remote") ? auth(m.get("remote"), path + ".remote", false, remoteSingle)
                : new AuthConfig(AuthMethod.PUBKEY, remoteSingle != null ? remoteSingle.toString() : "%any", null);

        List<Proposal> proposals = m.containsKey("proposals")
                ? proposals(m.get("proposals"), path + ".proposals", Protocol.IKE) : DEFAULT_IKE;
        Long dpd = m.containsKey("dpd_delay") ? nodes.duration(m.get("dpd_delay"), path + ".dpd_delay") : Long.valueOf(0);
        Boolean encap = m.containsKey("encap") ? nodes.bool(m.get("encap"), path + ".encap") : Boolean.FALSE;

        List<ChildConfig> children = new ArrayList<>();
        if (m.containsKey("children")) {
            Map<String, Node> cs = nodes.mapping(m.get("children"), path + ".children", null);
            if (cs != null) {
                cs.forEach((childName, childNode) -> {
                    String childPath = path + ".children." + childName;
                    if (!NAME.matcher(childName).matches()) {
                        problems.add(childPath, childNode, nameRule("child", childName));
                        return;
                    }
                    ChildConfig c = readChild(name, childName, childPath, childNode, localSingle, remoteSingle,
                            localAddrs != null && remoteAddrs != null);
                    if (c != null) {
                        children.add(c);
                    }
                });
            }
        }
        if (problems.size() != before || localAddrs == null || remoteAddrs == null || local == null
                || remote == null || proposals == null || dpd == null || encap == null) {
            return null;
        }
        return new ConnectionConfig(name, version, localAddrs, remoteAddrs, local, remote, proposals,
                Duration.ofSeconds(dpd), encap, children);
    }

    /** The canonical text of each address item, or null after a problem; %any when absent. */
    private List<String> addresses(Node node, String path) {
        if (node == null) {
            return List.of("%any");
        }
        List<Nodes.Item> items = nodes.list(node, path);
        if (items == null) {
            return null;
        }
        List<String> out = new ArrayList<>();
        boolean ok = true;
        for (Nodes.Item item : items) {
            String t = item.text();
            String lower = t.toLowerCase(Locale.ROOT);
            if (lower.equals("%any") || lower.equals("%any4") || lower.equals("%any6")) {
                out.add(lower);
                continue;
            }
            try {
                if (t.indexOf('-') >= 0 && !HOST_NAME.matcher(t).matches()) {
                    out.add(IpRange.parse(t).toString());
                } else if (t.indexOf('/') >= 0) {
                    out.add(IpPrefix.parse(t).toString());
                } else {
                    out.add(IpAddress.parse(t).toString());
                }
            } catch (IllegalArgumentException e) {
                ok = false;
                problems.add(item.path(), item.node(), HOST_NAME.matcher(t).matches()
                        ? "'" + t + "' is not an IP address, prefix or range; Keel does not resolve host names"
                        : e.getMessage());
            }
        }
        return ok ? out : null;
    }

    private IpAddress single(List<String> addrs) {
        if (addrs == null || addrs.size() != 1 || addrs.get(0).startsWith("%")
                || addrs.get(0).indexOf('/') >= 0 || addrs.get(0).indexOf('-') >= 0) {
            return null;
        }
        return IpAddress.parse(addrs.get(0));
    }

    private AuthConfig auth(Node node, String path, boolean local, IpAddress single) {
        Map<String, Node> m = nodes.mapping(node, path, local ? LOCAL_KEYS : REMOTE_KEYS);
        if (m == null) {
            return null;
        }
        AuthMethod method = AuthMethod.PUBKEY;
        if (m.containsKey("auth")) {
            String a = nodes.choice(m.get("auth"), path + ".auth", List.of("psk", "pubkey"));
            if (a == null) {
                return null;
            }
            method = a.equals("psk") ? AuthMethod.PSK : AuthMethod.PUBKEY;
        }
        String id;
        if (m.containsKey("id")) {
            id = nodes.string(m.get("id"), path + ".id");
            if (id == null) {
                return null;
            }
        } else if (single != null) {
            id = single.toString();
        } else if (local) {
            problems.add(path, node, "missing key 'id': local_addrs is not a single address to default to");
            return null;
        } else {
            id = "%any";
        }
        String secretRef = null;
        if (local) {
            if (!m.containsKey("secret")) {
                problems.add(path, node, "missing key 'secret': " + (method == AuthMethod.PSK
                        ? "the name of the pre-shared key" : "the name of the private key")
                        + " under 'secrets'");
                return null;
            }
            secretRef = nodes.string(m.get("secret"), path + ".secret");
            if (secretRef == null) {
                return null;
            }
            if (!declaredSecrets.contains(secretRef)) {
                String hint = Nodes.suggest(secretRef, declaredSecrets);
                problems.add(path + ".secret", m.get("secret"), "no secret named '" + secretRef
                        + "' under 'secrets'" + (hint != null ? "; did you mean '" + hint + "'?" : ""));
                return null;
            }
            Secret psk = method == AuthMethod.PSK ? secrets.get(secretRef) : null;
            if (psk != null && psk.length() < MIN_PSK_BYTES) {
                problems.add(path + ".secret", m.get("secret"), "pre-shared key '" + secretRef + "' ("
                        + psk.origin() + ") is " + psk.length() + " bytes; at least " + MIN_PSK_BYTES
                        + " are needed, random ones (e.g. `openssl rand -base64 32`): a short PSK can be guessed"
                        + " offline from one IKE_AUTH exchange");
                return null;
            }
        }
        List<X509Certificate> certs = List.of();
        List<X509Certificate> cacerts = List.of();
        String certKey = local ? "certs" : "cacerts";
        if (m.containsKey(certKey)) {
            if (method != AuthMethod.PUBKEY) {
                problems.add(path + "." + certKey, m.get(certKey), "'" + certKey + "' belongs to 'auth: pubkey';"
                        + " this side authenticates with a pre-shared key");
                return null;
            }
            List<X509Certificate> read = certificateFiles(m.get(certKey), path + "." + certKey);
            if (read == null) {
                return null;
            }
            if (local) {
                certs = read;
                if (!localCredentialsAgree(path, node, m, id, secretRef, certs.getFirst())) {
                    return null;
                }
            } else {
                cacerts = read;
            }
        }
        return new AuthConfig(method, id, secretRef, certs, cacerts);
    }

    /**
     * Our private key belongs to our end-entity certificate, and our identity is in it; false
     * after reporting why not. Problems name the secret, never its content.
     */
    private boolean localCredentialsAgree(String path, Node node, Map<String, Node> m, String id, String secretRef,
            X509Certificate endEntity) {
        boolean ok = true;
        Secret secret = secrets.get(secretRef);
        if (secret != null) { // an unresolved secret is reported under 'secrets'
            Node at = m.get("secret");
            PrivateKey key = null;
            try {
                key = PemCredentials.privateKey(secret);
            } catch (IllegalArgumentException e) {
                problems.add(path + ".secret", at, e.getMessage());
                ok = false;
            }
            if (key != null && !PemCredentials.supportedKeyType(key)) {
                problems.add(path + ".secret", at, "secret '" + secretRef + "' holds a " + key.getAlgorithm()
                        + " key; Keel signs with RSA, ECDSA and Ed25519 keys");
                ok = false;
            } else if (key != null && !PemCredentials.keyMatches(key, endEntity.getPublicKey())) {
                problems.add(path + ".secret", at, "the private key of secret '" + secretRef + "' ("
                        + secret.origin() + ") does not belong to the end-entity certificate '"
                        + PemCredentials.subject(endEntity) + "' (certs[0])");
                ok = false;
            }
        }
        String problem = PemCredentials.identityProblem(id, endEntity);
        if (problem != null) {
            problems.add(path + ".id", m.getOrDefault("id", node), "identity '" + id + "' is not in the end-entity"
                    + " certificate: " + problem);
            ok = false;
        }
        return ok;
    }

    /** Every certificate of the listed PEM files, in order; null after a problem. */
    private List<X509Certificate> certificateFiles(Node node, String path) {
        List<Nodes.Item> items = nodes.list(node, path);
        if (items == null) {
            return null;
        }
        List<X509Certificate> out = new ArrayList<>();
        boolean ok = true;
        for (Nodes.Item item : items) {
            Path file = baseDir.resolve(item.text());
            try {
                if (!Files.isRegularFile(file)) {
                    problems.add(item.path(), item.node(), "certificate file " + file + (Files.exists(file)
                            ? " is not a regular file" : " does not exist"));
                    ok = false;
                    continue;
                }
                if (Files.size(file) > PemCredentials.MAX_CERT_FILE_BYTES) {
                    problems.add(item.path(), item.node(), "certificate file " + file + " is larger than "
                            + PemCredentials.MAX_CERT_FILE_BYTES + " bytes");
                    ok = false;
                    continue;
                }
                out.addAll(PemCredentials.certificates(Files.readAllBytes(file)));
            } catch (IOException e) {
                problems.add(item.path(), item.node(), "certificate file " + file + " cannot be read: "
                        + ioReason(e));
                ok = false;
            } catch (PemCredentials.CredentialException e) {
                problems.add(item.path(), item.node(), "certificate file " + file + " " + e.getMessage());
                ok = false;
            }
        }
        return ok ? out : null;
    }

    private List<Proposal> proposals(Node node, String path, Protocol protocol) {
        List<Nodes.Item> items = nodes.list(node, path);
        if (items == null) {
            return null;
        }
        List<Proposal> out = new ArrayList<>();
        boolean ok = true;
        for (Nodes.Item item : items) {
            try {
                out.add(Proposal.parse(protocol, item.text()));
            } catch (ProposalSyntaxException e) {
                ok = false;
                problems.add(item.path(), item.node(), e.getMessage());
            }
        }
        return ok ? out : null;
    }

    private ChildConfig readChild(String connection, String name, String path, Node node, IpAddress localSingle,
            IpAddress remoteSingle, boolean addressesOk) {
        Map<String, Node> m = nodes.mapping(node, path, CHILD_KEYS);
        if (m == null) {
            return null;
        }
        int before = problems.size();
        List<TrafficSelector> localTs = selectors(m.get("local_ts"), path + ".local_ts", path, node,
                localSingle, "local_addrs", addressesOk);
        List<TrafficSelector> remoteTs = selectors(m.get("remote_ts"), path + ".remote_ts", path, node,
                remoteSingle, "remote_addrs", addressesOk);
        List<Proposal> esp = m.containsKey("esp_proposals")
                ? proposals(m.get("esp_proposals"), path + ".esp_proposals", Protocol.ESP) : DEFAULT_ESP;
        IpsecMode mode = IpsecMode.TUNNEL;
        if (m.containsKey("mode")) {
            String s = nodes.choice(m.get("mode"), path + ".mode", List.of("tunnel", "transport"));
            mode = "transport".equals(s) ? IpsecMode.TRANSPORT : IpsecMode.TUNNEL;
        }
        Long rekey = m.containsKey("rekey_time") ? nodes.duration(m.get("rekey_time"), path + ".rekey_time")
                : Long.valueOf(DEFAULT_REKEY_SECONDS);
        Long life = m.containsKey("life_time") ? nodes.duration(m.get("life_time"), path + ".life_time")
                : rekey == null ? null : Long.valueOf(rekey + rekey / 10); // strongSwan: rekey_time + 10%
        if (rekey != null && life != null && rekey > 0 && life <= rekey) {
            problems.add(path + ".life_time", m.getOrDefault("life_time", node), "life_time (" + life
                    + "s) must be longer than rekey_time (" + rekey + "s), or the SA expires before it is rekeyed");
        }
        Long rekeyBytes = m.containsKey("rekey_bytes") ? nodes.bytes(m.get("rekey_bytes"), path + ".rekey_bytes")
                : Long.valueOf(0);
        StartAction start = StartAction.NONE;
        if (m.containsKey("start_action")) {
            String s = nodes.choice(m.get("start_action"), path + ".start_action", List.of("none", "trap", "start"));
            start = s == null ? null : StartAction.valueOf(s.toUpperCase(Locale.ROOT));
        }
        DpdAction dpd = DpdAction.CLEAR;
        if (m.containsKey("dpd_action")) {
            String s = nodes.choice(m.get("dpd_action"), path + ".dpd_action", List.of("clear", "trap", "restart"));
            dpd = s == null ? null : DpdAction.valueOf(s.toUpperCase(Locale.ROOT));
        }
        Integer priority = priority(m.get("priority"), path + ".priority");
        if (localTs != null && remoteTs != null && priority != null) {
            sources.add(new SpdCompiler.Source(path, node.getStartMark(), priority, SpdAction.PROTECT, connection,
                    name, null, localTs, remoteTs));
        }
        if (problems.size() != before || localTs == null || remoteTs == null || priority == null
                || esp == null || rekey == null || life == null || rekeyBytes == null
                || start == null || dpd == null) {
            return null;
        }
        return new ChildConfig(name, localTs, remoteTs, esp, mode, Duration.ofSeconds(rekey),
                Duration.ofSeconds(life), rekeyBytes, start, dpd, priority);
    }

    private Integer priority(Node node, String path) {
        if (node == null) {
            return DEFAULT_PRIORITY;
        }
        Long p = nodes.integer(node, path, 1, 65535);
        return p == null ? null : p.intValue();
    }

    /**
     * Selectors of a child ({@code dynamic}, the default, resolved to the side's single
     * address) or of a policy ({@code dynamicAddress} null and {@code addressKey} null: required,
     * no {@code dynamic}).
     */
    private List<TrafficSelector> selectors(Node node, String path, String ownerPath, Node owner,
            IpAddress dynamicAddress, String addressKey, boolean addressesOk) {
        List<Nodes.Item> items;
        if (node == null) {
            if (addressKey == null) {
                problems.add(ownerPath, owner, "missing key '" + path.substring(path.lastIndexOf('.') + 1) + "'");
                return null;
            }
            items = List.of(new Nodes.Item("dynamic", path, owner));
        } else {
            items = nodes.list(node, path);
            if (items == null) {
                return null;
            }
        }
        List<TrafficSelector> out = new ArrayList<>();
        boolean ok = true;
        for (Nodes.Item item : items) {
            String t = item.text();
            boolean dynamic = t.toLowerCase(Locale.ROOT).startsWith("dynamic");
            if (dynamic && dynamicAddress == null) {
                ok = false;
                if (addressKey == null) {
                    problems.add(item.path(), item.node(), "'dynamic' has no meaning in an explicit policy;"
                            + " give addresses");
                } else if (addressesOk) {
                    problems.add(item.path(), item.node(), "'dynamic' stands for our single address, but "
                            + addressKey + " is not one address; list the selectors explicitly"
                            + (node == null ? " (dynamic is the default)" : ""));
                }
                continue;
            }
            try {
                out.add(TrafficSelector.parse(t, dynamicAddress));
            } catch (IllegalArgumentException e) {
                ok = false;
                problems.add(item.path(), item.node(), e.getMessage());
            }
        }
        return ok ? out : null;
    }

    private void readPolicies(Node node, List<ExplicitPolicy> out) {
        if (!(node instanceof SequenceNode seq)) {
            problems.add("policies", node, "expected a list of policies, found " + Nodes.kind(node));
            return;
        }
        Set<String> names = new java.util.HashSet<>();
        int i = 0;
        for (Node p : seq.getValue()) {
            String path = "policies[" + i++ + "]";
            Map<String, Node> m = nodes.mapping(p, path, POLICY_KEYS);
            if (m == null) {
                continue;
            }
            int before = problems.size();
            String name = null;
            if (!m.containsKey("name")) {
                problems.add(path, p, "missing key 'name'");
            } else {
                name = nodes.string(m.get("name"), path + ".name");
                if (name != null && !NAME.matcher(name).matches()) {
                    problems.add(path + ".name", m.get("name"), nameRule("policy", name));
                } else if (name != null && !names.add(name)) {
                    problems.add(path + ".name", m.get("name"), "another policy is already named '" + name + "'");
                }
            }
            List<TrafficSelector> local = selectors(m.get("local_ts"), path + ".local_ts", path, p, null, null,
                    true);
            List<TrafficSelector> remote = selectors(m.get("remote_ts"), path + ".remote_ts", path, p, null,
                    null, true);
            SpdAction action = null;
            if (!m.containsKey("action")) {
                problems.add(path, p, "missing key 'action' (bypass or drop)");
            } else {
                String a = nodes.choice(m.get("action"), path + ".action", List.of("bypass", "drop"));
                action = a == null ? null : a.equals("bypass") ? SpdAction.BYPASS : SpdAction.DISCARD;
            }
            Integer priority = priority(m.get("priority"), path + ".priority");
            if (problems.size() == before) {
                out.add(new ExplicitPolicy(name, local, remote, action, priority));
                sources.add(new SpdCompiler.Source(path, p.getStartMark(), priority, action, null, null, name,
                        local, remote));
            }
        }
    }

    private static List<Proposal> parseDefault(Protocol protocol, String text) {
        try {
            return Proposal.parseList(protocol, text);
        } catch (ProposalSyntaxException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private static String nameRule(String what, String name) {
        return what + " name '" + (name.length() > 64 ? name.substring(0, 64) + "..." : name)
                + "' may only hold letters, digits, '-' and '_', at most 64 of them";
    }

    private static Set<String> union(Set<String> a, Set<String> b) {
        Set<String> s = new java.util.HashSet<>(a);
        s.addAll(b);
        return s;
    }
}

