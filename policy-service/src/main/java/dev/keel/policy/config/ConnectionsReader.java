package dev.keel.policy.config;

import static dev.keel.policy.config.ConfigLoader.DEFAULT_ESP_PROPOSALS;
import static dev.keel.policy.config.ConfigLoader.DEFAULT_IKE_REKEY_SECONDS;
import static dev.keel.policy.config.ConfigLoader.DEFAULT_IKE_PROPOSALS;
import static dev.keel.policy.config.ConfigLoader.DEFAULT_REKEY_SECONDS;

import dev.keel.core.config.Nodes;
import dev.keel.core.config.Problems;
import dev.keel.core.net.InterfaceAddress;
import dev.keel.core.net.InterfaceName;
import dev.keel.core.net.IpAddress;
import dev.keel.core.net.IpPrefix;
import dev.keel.core.net.IpRange;
import dev.keel.core.proposal.Proposal;
import dev.keel.core.proposal.ProposalSyntaxException;
import dev.keel.core.proposal.Protocol;
import dev.keel.core.sa.ChildLifetime;
import dev.keel.core.sa.IpsecMode;
import dev.keel.core.sa.ReplayWindowSize;
import dev.keel.core.spd.SpdAction;
import dev.keel.core.ts.TrafficSelector;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.BiFunction;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.nodes.Node;

/**
 * Reads {@code connections}: each IKE connection (addresses, proposals, DPD, encapsulation) with
 * its {@code local} and {@code remote} ({@link AuthReader}) and its children, whose selectors
 * become SPD sources.
 */
final class ConnectionsReader {

    private static final Set<String> CONNECTION_KEYS = Set.of("version", "local_addrs", "remote_addrs", "local",
            "remote", "proposals", "dpd_delay", "encap", "children", "rekey_time", "over_time", "rand_time", "reauth_time",
            "fragmentation", "interface", "mobike");
    private static final Set<String> INTERFACE_KEYS = Set.of("name", "addresses", "mtu", "carrier");
    /** A route-based connection's selectors when the child gives none: everything, routing decides. */
    private static final List<TrafficSelector> ROUTE_BASED_TS = List.of(TrafficSelector.parse("0.0.0.0/0", null),
            TrafficSelector.parse("::/0", null));
    private static final Set<String> CHILD_KEYS = Set.of("local_ts", "remote_ts", "esp_proposals", "ah_proposals", "mode",
            "rekey_time", "life_time", "rand_time", "rekey_bytes", "life_bytes", "rand_bytes", "rekey_packets",
            "life_packets", "rand_packets", "start_action", "dpd_action", "close_action", "replay_window", "priority");
    private static final Pattern HOST_NAME = Pattern.compile("[A-Za-z0-9.-]*[A-Za-z][A-Za-z0-9.-]*");

    private static final List<Proposal> DEFAULT_IKE = parseDefault(Protocol.IKE, DEFAULT_IKE_PROPOSALS);
    private static final List<Proposal> DEFAULT_ESP = parseDefault(Protocol.ESP, DEFAULT_ESP_PROPOSALS);

    private final Nodes nodes;
    private final Problems problems;
    private final AuthReader auth;
    private final SelectorReader selectors;
    private final List<SpdCompiler.Source> sources;
    /** The interfaces named so far, with the key path of each: two connections cannot share one. */
    private final Map<String, String> interfaces = new LinkedHashMap<>();

    /** Children's SPD sources are added to {@code sources}. */
    ConnectionsReader(Nodes nodes, AuthReader auth, SelectorReader selectors, List<SpdCompiler.Source> sources) {
        this.nodes = nodes;
        this.problems = nodes.problems();
        this.auth = auth;
        this.selectors = selectors;
        this.sources = sources;
    }

    /** The {@code connections} mapping: every connection read without a problem, by name, in file order. */
    Map<String, ConnectionConfig> read(Node node) {
        Map<String, ConnectionConfig> out = new LinkedHashMap<>();
        Map<String, Node> entries = nodes.mapping(node, "connections", null);
        if (entries == null) {
            return out;
        }
        entries.forEach((name, value) -> {
            String path = "connections." + name;
            if (!ConfigReading.NAME.matcher(name).matches()) {
                problems.add(path, value, ConfigReading.nameRule("connection", name));
                return;
            }
            ConnectionConfig c = readConnection(name, path, value);
            if (c != null) {
                out.put(name, c);
            }
        });
        return out;
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
            local = auth.read(m.get("local"), path + ".local", true, localSingle);
        }
        AuthConfig remote = m.containsKey("remote") ? auth.read(m.get("remote"), path + ".remote", false, remoteSingle)
                : new AuthConfig(AuthMethod.PUBKEY, remoteSingle != null ? remoteSingle.toString() : "%any", null);

        List<Proposal> proposals = m.containsKey("proposals")
                ? proposals(m.get("proposals"), path + ".proposals", Protocol.IKE) : DEFAULT_IKE;
        Long dpd = m.containsKey("dpd_delay") ? nodes.duration(m.get("dpd_delay"), path + ".dpd_delay") : Long.valueOf(0);
        Boolean encap = m.containsKey("encap") ? nodes.bool(m.get("encap"), path + ".encap") : Boolean.FALSE;
        Boolean mobike = m.containsKey("mobike") ? nodes.bool(m.get("mobike"), path + ".mobike") : Boolean.TRUE;
        long[] lifetime = ikeLifetime(m, path, node);
        // swanctl's values; "force" fragments IKEv1's first message only, for IKEv2 it is "yes" (RFC 7383 §2.5)
        String fragmentation = m.containsKey("fragmentation") ? nodes.choice(m.get("fragmentation"),
                path + ".fragmentation", List.of("yes", "accept", "force", "no")) : "yes";

        RouteInterface iface = null;
        if (m.containsKey("interface")) {
            iface = routeInterface(m.get("interface"), path + ".interface");
            if (iface == null) {
                return null;
            }
        }
        String ifaceName = iface == null ? null : iface.name();
        List<ChildConfig> children = new ArrayList<>();
        if (m.containsKey("children")) {
            Map<String, Node> cs = nodes.mapping(m.get("children"), path + ".children", null);
            if (cs != null) {
                cs.forEach((childName, childNode) -> {
                    String childPath = path + ".children." + childName;
                    if (!ConfigReading.NAME.matcher(childName).matches()) {
                        problems.add(childPath, childNode, ConfigReading.nameRule("child", childName));
                        return;
                    }
                    ChildConfig c = readChild(name, childName, childPath, childNode, localSingle, remoteSingle,
                            localAddrs != null && remoteAddrs != null, ifaceName);
                    if (c != null) {
                        children.add(c);
                    }
                });
            }
        }
        if (iface != null && iface.carrier() == RouteInterface.Carrier.SA) {
            for (ChildConfig c : children) {
                String trap = c.startAction() == StartAction.TRAP ? "start_action"
                        : c.dpdAction() == DpdAction.TRAP ? "dpd_action"
                        : c.closeAction() == CloseAction.TRAP ? "close_action" : null;
                if (trap != null) {
                    problems.add(path + ".interface.carrier", m.get("interface"), "children." + c.name() + "."
                            + trap + " is trap, whose first packet could never reach a link without carrier;"
                            + " set 'carrier: up' (the default 'sa' turns the carrier off while no CHILD SA is up)");
                }
            }
        }
        if (Boolean.TRUE.equals(encap)) {
            for (ChildConfig c : children) {
                if (c.protocol() == Protocol.AH) {
                    problems.add(path + ".children." + c.name() + ".ah_proposals", m.get("encap"),
                            "AH cannot be UDP-encapsulated (RFC 3948 defines ESP only), and this connection has encap: yes");
                }
            }
        }
        if (problems.size() != before || localAddrs == null || remoteAddrs == null || local == null
                || remote == null || proposals == null || dpd == null || encap == null || mobike == null || lifetime == null
                || fragmentation == null) {
            return null;
        }
        return new ConnectionConfig(name, version, localAddrs, remoteAddrs, local, remote, proposals,
                Duration.ofSeconds(dpd), encap, children, Duration.ofSeconds(lifetime[0]),
                Duration.ofSeconds(lifetime[1]), Duration.ofSeconds(lifetime[2]), Duration.ofSeconds(lifetime[3]),
                fragmentation, iface, mobike);
    }

    /**
     * A route-based connection's {@code interface: {name, addresses, mtu}}, or null after a problem:
     * a name the kernel refuses or another connection has, an address without its prefix length,
     * an MTU outside {@link RouteInterface#MIN_MTU}..{@link RouteInterface#MAX_MTU}.
     */
    private RouteInterface routeInterface(Node node, String path) {
        Map<String, Node> m = nodes.mapping(node, path, INTERFACE_KEYS);
        if (m == null || !nodes.required(m, "name", path, node)) {
            return null;
        }
        int before = problems.size();
        String name = nodes.string(m.get("name"), path + ".name");
        if (name != null && InterfaceName.problem(name) != null) {
            problems.add(path + ".name", m.get("name"), InterfaceName.problem(name));
        } else if (name != null && interfaces.containsKey(name)) {
            problems.add(path + ".name", m.get("name"), "interface '" + name + "' is already "
                    + interfaces.get(name) + "; each route-based connection needs an interface of its own");
        } else if (name != null) {
            interfaces.put(name, path + ".name");
        }
        List<InterfaceAddress> addresses = m.containsKey("addresses")
                ? nodes.list(m.get("addresses"), path + ".addresses", InterfaceAddress::parse) : List.of();
        Long mtu = m.containsKey("mtu") ? nodes.integer(m.get("mtu"), path + ".mtu", RouteInterface.MIN_MTU,
                RouteInterface.MAX_MTU) : Long.valueOf(RouteInterface.DEFAULT_MTU);
        String carrier = m.containsKey("carrier")
                ? nodes.choice(m.get("carrier"), path + ".carrier", List.of("sa", "up")) : "sa";
        if (problems.size() != before || name == null || addresses == null || mtu == null || carrier == null) {
            return null;
        }
        return new RouteInterface(name, addresses, mtu.intValue(),
                carrier.equals("up") ? RouteInterface.Carrier.UP : RouteInterface.Carrier.SA);
    }

    /**
     * The IKE SA's {@code rekey_time}, {@code over_time}, {@code rand_time} and {@code reauth_time}
     * in seconds, with swanctl's defaults (4h; 10% of the longer of rekey_time and reauth_time;
     * over_time; 0), or null after a problem.
     */
    private long[] ikeLifetime(Map<String, Node> m, String path, Node node) {
        Long rekey = m.containsKey("rekey_time") ? nodes.duration(m.get("rekey_time"), path + ".rekey_time")
                : Long.valueOf(DEFAULT_IKE_REKEY_SECONDS);
        Long reauth = m.containsKey("reauth_time") ? nodes.duration(m.get("reauth_time"), path + ".reauth_time")
                : Long.valueOf(0);
        Long over = m.containsKey("over_time") ? nodes.duration(m.get("over_time"), path + ".over_time")
                : rekey == null || reauth == null ? null
                : Long.valueOf(Math.max(rekey, reauth) / 10); // strongSwan: 10% of the longer of the two
        Long rand = m.containsKey("rand_time") ? nodes.duration(m.get("rand_time"), path + ".rand_time") : over;
        boolean ok = rekey != null && reauth != null && over != null && rand != null;
        for (String key : List.of("rekey_time", "reauth_time")) {
            long time = !ok ? 0 : key.equals("rekey_time") ? rekey : reauth;
            if (ok && time > 0 && rand >= time) {
                String what = key.equals("rekey_time") ? "rekey" : "reauthentication";
                problems.add(path + ".rand_time", m.getOrDefault("rand_time", m.getOrDefault("over_time", node)),
                        "rand_time (" + rand + "s" + (m.containsKey("rand_time") ? "" : ", defaults to over_time")
                        + ") must be shorter than " + key + " (" + time + "s), or the " + what + " could come at once");
                ok = false;
            }
        }
        return ok ? new long[] {rekey, over, rand, reauth} : null;
    }

    /** The canonical text of each address item, or null after a problem; %any when absent. */
    private List<String> addresses(Node node, String path) {
        return node == null ? List.of("%any") : nodes.list(node, path, ConnectionsReader::address);
    }

    /** {@code %any}, {@code %any4}, {@code %any6}, or an IP address, prefix or range in canonical text. */
    private static String address(String t) {
        String lower = t.toLowerCase(Locale.ROOT);
        if (lower.equals("%any") || lower.equals("%any4") || lower.equals("%any6")) {
            return lower;
        }
        try {
            if (t.indexOf('-') >= 0 && !HOST_NAME.matcher(t).matches()) {
                return IpRange.parse(t).toString();
            }
            return t.indexOf('/') >= 0 ? IpPrefix.parse(t).toString() : IpAddress.parse(t).toString();
        } catch (IllegalArgumentException e) {
            if (HOST_NAME.matcher(t).matches()) {
                throw new IllegalArgumentException("'" + t + "' is not an IP address, prefix or range; Keel does"
                        + " not resolve host names", e);
            }
            throw e;
        }
    }

    private IpAddress single(List<String> addrs) {
        if (addrs == null || addrs.size() != 1 || addrs.get(0).startsWith("%")
                || addrs.get(0).indexOf('/') >= 0 || addrs.get(0).indexOf('-') >= 0) {
            return null;
        }
        return IpAddress.parse(addrs.get(0));
    }

    private List<Proposal> proposals(Node node, String path, Protocol protocol) {
        return nodes.list(node, path, text -> {
            try {
                return Proposal.parse(protocol, text);
            } catch (ProposalSyntaxException e) {
                throw new IllegalArgumentException(e.getMessage(), e);
            }
        });
    }

    /** A child; {@code iface}: its connection's interface (route-based: selectors default to everything), or null. */
    private ChildConfig readChild(String connection, String name, String path, Node node, IpAddress localSingle,
            IpAddress remoteSingle, boolean addressesOk, String iface) {
        Map<String, Node> m = nodes.mapping(node, path, CHILD_KEYS);
        if (m == null) {
            return null;
        }
        int before = problems.size();
        List<TrafficSelector> localTs = iface != null && !m.containsKey("local_ts") ? ROUTE_BASED_TS
                : selectors.selectors(m.get("local_ts"), path + ".local_ts", path, node, localSingle, "local_addrs",
                        addressesOk);
        List<TrafficSelector> remoteTs = iface != null && !m.containsKey("remote_ts") ? ROUTE_BASED_TS
                : selectors.selectors(m.get("remote_ts"), path + ".remote_ts", path, node, remoteSingle,
                        "remote_addrs", addressesOk);
        if (m.containsKey("esp_proposals") && m.containsKey("ah_proposals")) {
            problems.add(path + ".ah_proposals", m.get("ah_proposals"),
                    "a child protects with ESP or with AH: give esp_proposals or ah_proposals, not both");
        }
        // AH (RFC 4302): integrity only, e.g. sha256 or sha256-modp2048; the child then runs AH, not ESP.
        List<Proposal> esp = m.containsKey("ah_proposals")
                ? proposals(m.get("ah_proposals"), path + ".ah_proposals", Protocol.AH)
                : m.containsKey("esp_proposals")
                ? proposals(m.get("esp_proposals"), path + ".esp_proposals", Protocol.ESP) : DEFAULT_ESP;
        IpsecMode mode = IpsecMode.TUNNEL;
        if (m.containsKey("mode")) {
            String s = nodes.choice(m.get("mode"), path + ".mode", List.of("tunnel", "transport"));
            mode = "transport".equals(s) ? IpsecMode.TRANSPORT : IpsecMode.TUNNEL;
        }
        ChildLifetime lifetime = childLifetime(m, path, node);
        StartAction start = StartAction.NONE;
        if (m.containsKey("start_action")) {
            String s = nodes.choice(m.get("start_action"), path + ".start_action", List.of("none", "trap", "start"));
            start = s == null ? null : StartAction.valueOf(s.toUpperCase(Locale.ROOT));
        }
        DpdAction dpd = choice(m, path, "dpd_action", DpdAction.CLEAR);
        CloseAction close = choice(m, path, "close_action", CloseAction.NONE);
        Long replayWindow = m.containsKey("replay_window")
                ? nodes.integer(m.get("replay_window"), path + ".replay_window", 0, ReplayWindowSize.MAX)
                : Long.valueOf(ReplayWindowSize.DEFAULT);
        if (replayWindow != null && !ReplayWindowSize.allowed(replayWindow)) {
            problems.add(path + ".replay_window", m.get("replay_window"), "a window of " + replayWindow
                    + " packets is below RFC 4303's minimum of " + ReplayWindowSize.MIN + "; 0 turns replay protection"
                    + " off");
            replayWindow = null;
        }
        Integer priority = selectors.priority(m.get("priority"), path + ".priority");
        if (localTs != null && remoteTs != null && priority != null) {
            sources.add(new SpdCompiler.Source(path, node.getStartMark(), priority, SpdAction.PROTECT, connection,
                    name, null, localTs, remoteTs, iface));
        }
        if (problems.size() != before || localTs == null || remoteTs == null || priority == null
                || esp == null || lifetime == null || start == null || dpd == null || close == null
                || replayWindow == null) {
            return null;
        }
        return new ChildConfig(name, localTs, remoteTs, esp, mode, lifetime, start, dpd, close,
                replayWindow.intValue(), priority);
    }

    /** {@code key}'s value among {@code fallback}'s constants, in lower case; the fallback when absent; null after a problem. */
    private <E extends Enum<E>> E choice(Map<String, Node> m, String path, String key, E fallback) {
        if (!m.containsKey(key)) {
            return fallback;
        }
        List<String> names = Arrays.stream(fallback.getDeclaringClass().getEnumConstants())
                .map(e -> e.name().toLowerCase(Locale.ROOT)).toList();
        String s = nodes.choice(m.get(key), path + "." + key, names);
        return s == null ? null : Enum.valueOf(fallback.getDeclaringClass(), s.toUpperCase(Locale.ROOT));
    }

    /**
     * A child's {@code rekey_*}, {@code life_*} and {@code rand_*} by time, bytes and packets with
     * swanctl's defaults (rekey_time 1h, the rest none; life = rekey + 10%; rand = life - rekey, at
     * most a tenth of rekey), or null after a problem.
     */
    private ChildLifetime childLifetime(Map<String, Node> m, String path, Node node) {
        ChildLifetime.Limit time = limit(m, path, node, "time", "s", DEFAULT_REKEY_SECONDS, nodes::duration);
        ChildLifetime.Limit bytes = limit(m, path, node, "bytes", " bytes", 0, nodes::bytes);
        ChildLifetime.Limit packets = limit(m, path, node, "packets", " packets", 0,
                (n, at) -> nodes.integer(n, at, 0, Long.MAX_VALUE));
        return time == null || bytes == null || packets == null ? null
                : new ChildLifetime(new ChildLifetime.Limit(time.rekey() * 1000, time.life() * 1000, time.rand() * 1000),
                        bytes, packets);
    }

    /**
     * swanctl's default random part, life - rekey, but at most a tenth of rekey (and a tenth of it
     * without a hard limit): with life_time far above rekey_time the rekey could otherwise come
     * at once.
     */
    private static long defaultRand(long rekey, long life) {
        long room = life > 0 ? life - rekey : rekey;
        return Math.max(0, Math.min(room, rekey / 10));
    }

    private ChildLifetime.Limit limit(Map<String, Node> m, String path, Node node, String kind, String unit,
            long defaultRekey,
            BiFunction<Node, String, Long> read) {
        String rekeyKey = "rekey_" + kind;
        String lifeKey = "life_" + kind;
        String randKey = "rand_" + kind;
        Long rekey = m.containsKey(rekeyKey) ? read.apply(m.get(rekeyKey), path + "." + rekeyKey)
                : Long.valueOf(defaultRekey);
        Long life = m.containsKey(lifeKey) ? read.apply(m.get(lifeKey), path + "." + lifeKey)
                : rekey == null ? null : Long.valueOf(rekey + rekey / 10); // strongSwan: rekey + 10%
        Long rand = m.containsKey(randKey) ? read.apply(m.get(randKey), path + "." + randKey)
                : rekey == null || life == null ? null : Long.valueOf(defaultRand(rekey, life));
        if (rekey == null || life == null || rand == null) {
            return null;
        }
        if (rekey > 0 && life > 0 && life <= rekey) {
            problems.add(path + "." + lifeKey, m.getOrDefault(lifeKey, node), lifeKey + " (" + life + unit
                    + ") must exceed " + rekeyKey + " (" + rekey + unit + "), or the SA ends before it is rekeyed");
            return null;
        }
        if (rekey > 0 && rand >= rekey) {
            problems.add(path + "." + randKey, m.getOrDefault(randKey, m.getOrDefault(lifeKey, node)), randKey + " ("
                    + rand + unit + (m.containsKey(randKey) ? "" : ", defaults to " + lifeKey + " - " + rekeyKey)
                    + ") must be shorter than " + rekeyKey + " (" + rekey + unit + "), or the rekey could come at once");
            return null;
        }
        return new ChildLifetime.Limit(rekey, life, rand);
    }

    private static List<Proposal> parseDefault(Protocol protocol, String text) {
        try {
            return Proposal.parseList(protocol, text);
        } catch (ProposalSyntaxException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}
