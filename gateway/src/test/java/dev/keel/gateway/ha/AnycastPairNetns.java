package dev.keel.gateway.ha;

import dev.keel.esp.wire.BoundedCommand;
import dev.keel.esp.wire.SystemTests;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The network of an HA pair behind an anycast address (DESIGN §4, docs/ha.md), in seven network
 * namespaces, with BIRD 2 routing as production would:
 *
 * <pre>
 * peer host 10.2.0.2 -- 10.2.0.1 peer (strongSwan) 198.51.100.2 -- 198.51.100.1 router (BIRD)
 *   router 203.0.113.1 -- 203.0.113.2 node A     router 203.0.113.5 -- 203.0.113.6 node B
 *   node A 10.255.0.1 ==== cluster link ==== 10.255.0.2 node B              (Hazelcast)
 *   node A 10.1.255.2 -- 10.1.255.1 LAN router   node B 10.1.255.6 -- 10.1.255.5 LAN router (BIRD)
 *   LAN router 10.1.0.1 -- 10.1.0.2 LAN host
 * </pre>
 *
 * With a second peer ({@link #create(Path, boolean)}, issue 20 item 8) three namespaces more: a
 * second strongSwan with its host, behind a second router in front. Each router in front then
 * prefers a node of its own (BIRD's preference 110: the first router A's routes, the second B's),
 * as peers in different parts of a network are closer to one node or the other:
 *
 * <pre>
 * peer2 host 10.3.0.2 -- 10.3.0.1 peer2 (strongSwan) 198.51.101.2 -- 198.51.101.1 router2 (BIRD)
 *   router2 203.0.113.9 -- 203.0.113.10 node A   router2 203.0.113.13 -- 203.0.113.14 node B
 * </pre>
 *
 * Each node runs BIRD (bird-node.conf) with BGP and BFD sessions to the router in front and to
 * the LAN router (bird-router.conf). A node announces the anycast address 192.0.2.10/32 and the
 * peer's subnet 10.2.0.0/24 only while its Keel's TUN interface exists, i.e. while its Keel runs,
 * the subnet with MED 100 while its Keel owns the peer's SAs and 200 otherwise ({@code routes:
 * owner_preferred}); nothing here moves a route by hand. The nodes' own routes are static: default via the router
 * in front, the LAN subnet via the LAN router. The peer and the LAN host route everything via
 * their next hop.
 *
 * <p>Namespaces are {@code kh-<pid>-<6 hex>-<role>}, pid being this JVM's: {@link #create} first
 * removes those of JVMs that no longer run (a killed test run). {@link #close()} (also run by a
 * shutdown hook) kills every process left in the namespaces — BIRD, charon, Keel JVMs, probes,
 * captures — and deletes them, which deletes the links.
 */
public final class AnycastPairNetns implements AutoCloseable {

    /** Namespace name prefix owned by this harness. */
    public static final String PREFIX = "kh-";
    /** The pair's anycast outer address (IKE and ESP in UDP). */
    public static final String ANYCAST = "192.0.2.10";
    /** strongSwan's outer address. */
    public static final String PEER_ADDRESS = "198.51.100.2";
    /** The host behind strongSwan, and its subnet (a traffic selector). */
    public static final String PEER_HOST = "10.2.0.2";
    public static final String PEER_SUBNET = "10.2.0.0/24";
    /** Where the peer's subnets are (the LAN router accepts these from the nodes). */
    public static final String PEER_SUBNETS = "10.2.0.0/16";
    /** The second peer's outer address, the host behind it and its subnet. */
    public static final String PEER2_ADDRESS = "198.51.101.2";
    public static final String PEER2_HOST = "10.3.0.2";
    public static final String PEER2_SUBNET = "10.3.0.0/24";
    /** The host behind the pair, and its subnet. */
    public static final String LAN_HOST = "10.1.0.2";
    public static final String LAN_SUBNET = "10.1.0.0/24";
    /** The name of the TUN interface Keel opens on each node. */
    public static final String TUN = "keel0";

    static final int ROUTER_AS = 65000;
    static final int NODE_AS = 65010;
    static final int LAN_ROUTER_AS = 65020;
    static final int ROUTER2_AS = 65030;
    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    private static final Duration FOREIGN_LEFTOVER_AGE = Duration.ofHours(2);
    private static final Pattern NAME = Pattern.compile("kh-(\\d+)-[0-9a-f]{6}-[a-z]+");

    /**
     * One node of the pair.
     *
     * @param name {@code a} or {@code b}
     * @param namespace its network namespace
     * @param uplink its address towards the router in front
     * @param router the router's address on that link
     * @param lan its address towards the LAN router
     * @param lanRouter the LAN router's address on that link
     * @param cluster its address on the cluster link (Hazelcast binds there)
     * @param uplink2 its address towards the second router in front (with a second peer)
     * @param router2 the second router's address on that link
     */
    public record Node(String name, String namespace, String uplink, String router, String lan, String lanRouter,
            String cluster, String uplink2, String router2) {
    }

    private final String prefix;
    private final Path work;
    private final Node a;
    private final Node b;
    private final boolean secondPeer;
    private final List<String> created = new ArrayList<>();
    private final List<Process> birds = new ArrayList<>();
    private final Thread shutdownHook;
    private boolean closed;

    private AnycastPairNetns(String prefix, Path work, boolean secondPeer) {
        this.prefix = prefix;
        this.work = work;
        this.secondPeer = secondPeer;
        this.a = new Node("a", prefix + "-nodea", "203.0.113.2", "203.0.113.1", "10.1.255.2", "10.1.255.1",
                "10.255.0.1", "203.0.113.10", "203.0.113.9");
        this.b = new Node("b", prefix + "-nodeb", "203.0.113.6", "203.0.113.5", "10.1.255.6", "10.1.255.5",
                "10.255.0.2", "203.0.113.14", "203.0.113.13");
        this.shutdownHook = new Thread(this::closeQuietly, "anycast-pair-netns-cleanup");
    }

    /** Skips or fails (see {@link SystemTests}) unless root, {@code ip netns} and BIRD 2 are there. */
    public static void assumeAvailable() {
        SystemTests.assumeIpNetns();
        SystemTests.assumeTool("bird");
        SystemTests.assumeTool("birdc");
        SystemTests.assumeTool("python3");
    }

    /**
     * Builds the namespaces and links, starts the four BIRDs and waits (bounded) until every BGP
     * session is established. {@code work} holds the BIRD configurations, sockets and logs.
     */
    public static AnycastPairNetns create(Path work) throws IOException, InterruptedException {
        return create(work, false);
    }

    /** {@link #create(Path)}, with or without the second peer and its router. */
    public static AnycastPairNetns create(Path work, boolean secondPeer) throws IOException, InterruptedException {
        assumeAvailable();
        sweepLeftovers();
        byte[] r = new byte[3];
        ThreadLocalRandom.current().nextBytes(r);
        String prefix = PREFIX + ProcessHandle.current().pid() + "-" + HexFormat.of().formatHex(r);
        AnycastPairNetns n = new AnycastPairNetns(prefix, Files.createDirectories(work), secondPeer);
        Runtime.getRuntime().addShutdownHook(n.shutdownHook);
        try {
            n.build();
            n.startBirds();
            return n;
        } catch (IOException | InterruptedException | RuntimeException | Error e) {
            n.close();
            throw e;
        }
    }

    /** Node A. */
    public Node a() {
        return a;
    }

    /** Node B. */
    public Node b() {
        return b;
    }

    /** The other node of the pair. */
    public Node other(Node n) {
        return n.equals(a) ? b : a;
    }

    /** The namespace of the host behind strongSwan. */
    public String peerHost() {
        return prefix + "-peerhost";
    }

    /** strongSwan's namespace. */
    public String peer() {
        return prefix + "-peer";
    }

    /** The router in front of the pair. */
    public String router() {
        return prefix + "-router";
    }

    /** Whether the network has the second peer. */
    public boolean hasSecondPeer() {
        return secondPeer;
    }

    /** The namespace of the host behind the second strongSwan. */
    public String peer2Host() {
        return prefix + "-peer2host";
    }

    /** The second strongSwan's namespace. */
    public String peer2() {
        return prefix + "-peer2";
    }

    /** The router in front of the pair on the second peer's side. */
    public String router2() {
        return prefix + "-router2";
    }

    /** The LAN router behind the pair. */
    public String lanRouter() {
        return prefix + "-lanrouter";
    }

    /** The host behind the pair. */
    public String lanHost() {
        return prefix + "-lanhost";
    }

    /** The interface of strongSwan's namespace towards the router (captures go there). */
    public String peerOuterInterface() {
        return "outer";
    }

    private void build() throws IOException {
        List<String> namespaces = new ArrayList<>(List.of(peerHost(), peer(), router(), a.namespace(), b.namespace(),
                lanRouter(), lanHost()));
        if (secondPeer) {
            namespaces.addAll(List.of(peer2Host(), peer2(), router2()));
        }
        for (String ns : namespaces) {
            ip("netns", "add", ns);
            created.add(ns);
            ip("-n", ns, "link", "set", "lo", "up");
        }
        link(peerHost(), "uplink", PEER_HOST + "/24", peer(), "inner", "10.2.0.1/24");
        link(peer(), "outer", PEER_ADDRESS + "/24", router(), "peer", "198.51.100.1/24");
        // Keel sends ESP in UDP with UDP GSO (one buffer, many datagrams). A veth passes such buffers
        // on whole, so a capture behind it sees one "datagram" holding several ESP packets; a real
        // link carries them segmented, and so does this one: the router segments towards the peer.
        ip("-n", router(), "link", "set", "dev", "peer", "gso_max_segs", "1");
        for (Node n : List.of(a, b)) {
            link(router(), "node" + n.name(), n.router() + "/30", n.namespace(), "uplink", n.uplink() + "/30");
            link(n.namespace(), "lan", n.lan() + "/30", lanRouter(), "node" + n.name(), n.lanRouter() + "/30");
            ip("-n", n.namespace(), "route", "add", "default", "via", n.router());
            ip("-n", n.namespace(), "route", "add", LAN_SUBNET, "via", n.lanRouter());
        }
        link(a.namespace(), "cluster", a.cluster() + "/30", b.namespace(), "cluster", b.cluster() + "/30");
        link(lanRouter(), "lan", "10.1.0.1/24", lanHost(), "uplink", LAN_HOST + "/24");
        ip("-n", peerHost(), "route", "add", "default", "via", "10.2.0.1");
        ip("-n", peer(), "route", "add", "default", "via", "198.51.100.1");
        ip("-n", lanHost(), "route", "add", "default", "via", "10.1.0.1");
        if (secondPeer) {
            link(peer2Host(), "uplink", PEER2_HOST + "/24", peer2(), "inner", "10.3.0.1/24");
            link(peer2(), "outer", PEER2_ADDRESS + "/24", router2(), "peer", "198.51.101.1/24");
            ip("-n", router2(), "link", "set", "dev", "peer", "gso_max_segs", "1");
            for (Node n : List.of(a, b)) {
                link(router2(), "node" + n.name(), n.router2() + "/30", n.namespace(), "uplink2", n.uplink2() + "/30");
                ip("-n", n.namespace(), "route", "add", "198.51.101.0/24", "via", n.router2());
            }
            ip("-n", peer2Host(), "route", "add", "default", "via", "10.3.0.1");
            ip("-n", peer2(), "route", "add", "default", "via", "198.51.101.1");
        }
        List<String> forwarding = new ArrayList<>(List.of(peer(), router(), a.namespace(), b.namespace(), lanRouter()));
        if (secondPeer) {
            forwarding.addAll(List.of(peer2(), router2()));
        }
        for (String ns : forwarding) {
            exec(ns, TIMEOUT, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=0",
                    "net.ipv4.conf.default.rp_filter=0").requireOk();
        }
    }

    private void link(String ns1, String if1, String addr1, String ns2, String if2, String addr2) throws IOException {
        ip("-n", ns1, "link", "add", "name", if1, "type", "veth", "peer", "name", if2, "netns", ns2);
        ip("-n", ns1, "addr", "add", addr1, "dev", if1);
        ip("-n", ns2, "addr", "add", addr2, "dev", if2);
        ip("-n", ns1, "link", "set", "dev", if1, "up");
        ip("-n", ns2, "link", "set", "dev", if2, "up");
    }

    private void startBirds() throws IOException, InterruptedException {
        startBird(router(), "router", routerConfig("198.51.100.1", ROUTER_AS, ANYCAST + "/32", a.uplink(), b.uplink(),
                secondPeer ? 110 : 100, 100));
        startBird(lanRouter(), "lanrouter", routerConfig("10.1.0.1", LAN_ROUTER_AS, PEER_SUBNETS + "+"
                + (secondPeer ? ", 10.3.0.0/16+" : ""), a.lan(), b.lan(), 100, 100));
        if (secondPeer) {
            startBird(router2(), "router2", routerConfig("198.51.101.1", ROUTER2_AS, ANYCAST + "/32", a.uplink2(),
                    b.uplink2(), 100, 110));
        }
        for (Node n : List.of(a, b)) {
            startNodeBird(n);
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        for (String role : birdRoles()) {
            int sessions = role.startsWith("node") && secondPeer ? 3 : 2;
            while (true) {
                String protocols = birdc(role, "show", "protocols").output();
                long established = protocols.lines().filter(l -> l.contains(" BGP ") && l.contains("Established"))
                        .count();
                if (established == sessions) {
                    break;
                }
                if (System.nanoTime() > deadline) {
                    throw new IOException("BIRD " + role + ": BGP sessions not established within 30 s:\n" + protocols
                            + "\n" + birdLog(role));
                }
                Thread.sleep(100);
            }
        }
    }

    private List<String> birdRoles() {
        return secondPeer ? List.of("router", "router2", "lanrouter", "nodea", "nodeb")
                : List.of("router", "lanrouter", "nodea", "nodeb");
    }

    /** Starts (again) the BIRD of node {@code n}, e.g. after {@link #killEveryProcess}. */
    public void startNodeBird(Node n) throws IOException {
        String config = template("bird-node.conf", Map.of("ROUTER_ID", n.uplink(), "TUN", TUN,
                "LOCAL_AS", Integer.toString(NODE_AS), "UPLINK_NEIGHBOR", n.router(),
                "UPLINK_AS", Integer.toString(ROUTER_AS), "LAN_NEIGHBOR", n.lanRouter(),
                "LAN_AS", Integer.toString(LAN_ROUTER_AS), "ANYCAST", ANYCAST));
        if (secondPeer) { // the same announcement to the second router in front
            config += """

                    protocol bgp uplink2 from keel_router {
                      neighbor %s as %d;
                      ipv4 { import none; export where proto = "keel_address" && net = %s/32; };
                    }
                    """.formatted(n.router2(), ROUTER2_AS, ANYCAST);
        }
        startBird(n.namespace(), "node" + n.name(), config);
    }

    /** A router's BIRD, with BIRD's preference for each node's routes (100: the default). */
    private static String routerConfig(String routerId, int as, String accept, String nodeA, String nodeB,
            int preferenceA, int preferenceB) throws IOException {
        return template("bird-router.conf", Map.of("ROUTER_ID", routerId, "LOCAL_AS", Integer.toString(as),
                "ACCEPT", accept, "NODE_A", nodeA, "NODE_B", nodeB, "NODE_AS", Integer.toString(NODE_AS),
                "NODE_A_PREFERENCE", Integer.toString(preferenceA), "NODE_B_PREFERENCE", Integer.toString(preferenceB)));
    }

    private void startBird(String ns, String role, String config) throws IOException {
        Path conf = work.resolve(role + ".bird.conf");
        Files.writeString(conf, config);
        Path log = work.resolve(role + ".bird.log");
        Process p = new ProcessBuilder("ip", "netns", "exec", ns, "bird", "-f", "-c", conf.toString(), "-s",
                birdSocket(role).toString()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        birds.add(p);
    }

    private Path birdSocket(String role) {
        return work.resolve(role + ".ctl");
    }

    /** Runs {@code birdc} against the BIRD of {@code role} (router, lanrouter, nodea, nodeb). */
    public BoundedCommand.Result birdc(String role, String... command) throws IOException {
        List<String> c = new ArrayList<>(List.of("birdc", "-s", birdSocket(role).toString()));
        c.addAll(List.of(command));
        return BoundedCommand.run(TIMEOUT, c);
    }

    /** What the BIRD of {@code role} logged so far. */
    public String birdLog(String role) throws IOException {
        Path p = work.resolve(role + ".bird.log");
        return Files.exists(p) ? Files.readString(p, StandardCharsets.UTF_8) : "";
    }

    /** Every BIRD's log, for a failure message. */
    public String birdLogs() {
        StringBuilder sb = new StringBuilder();
        for (String role : birdRoles()) {
            try {
                sb.append("--- BIRD ").append(role).append(" ---\n").append(tail(birdLog(role), 3000));
            } catch (IOException e) {
                sb.append("(").append(e.getMessage()).append(")\n");
            }
        }
        return sb.toString();
    }

    private static String template(String name, Map<String, String> values) throws IOException {
        String text;
        try (InputStream in = AnycastPairNetns.class.getResourceAsStream("/ha/" + name)) {
            if (in == null) {
                throw new IOException("test resource /ha/" + name + " is missing");
            }
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        for (Map.Entry<String, String> e : values.entrySet()) {
            text = text.replace("@" + e.getKey() + "@", e.getValue());
        }
        Matcher left = Pattern.compile("@[A-Z_]+@").matcher(text);
        if (left.find()) {
            throw new IllegalStateException("template " + name + ": " + left.group() + " not filled in");
        }
        return text;
    }

    /**
     * The next hop {@code namespace}'s kernel uses for {@code prefix} (exactly that prefix in the
     * main table), if it has a route for it.
     */
    public Optional<String> nextHop(String namespace, String prefix) throws IOException {
        String out = BoundedCommand.run(TIMEOUT, List.of("ip", "-n", namespace, "-4", "route", "show", "exact",
                prefix)).requireOk().output();
        Matcher m = Pattern.compile("via (\\S+)").matcher(out);
        return m.find() ? Optional.of(m.group(1)) : Optional.empty();
    }

    /** The node the router in front sends the anycast address to, if any. */
    public Optional<Node> routerChoice() throws IOException {
        return nextHop(router(), ANYCAST).map(via -> via.equals(a.uplink()) ? a : via.equals(b.uplink()) ? b : null);
    }

    /** The node the LAN router sends the peer's subnet to, if any. */
    public Optional<Node> lanRouterChoice() throws IOException {
        return lanRouterChoice(PEER_SUBNET);
    }

    /** The node the LAN router sends {@code subnet} to, if any. */
    public Optional<Node> lanRouterChoice(String subnet) throws IOException {
        return nextHop(lanRouter(), subnet).map(via -> via.equals(a.lan()) ? a : via.equals(b.lan()) ? b : null);
    }

    /** The node the second router in front sends the anycast address to, if any. */
    public Optional<Node> router2Choice() throws IOException {
        return nextHop(router2(), ANYCAST).map(via -> via.equals(a.uplink2()) ? a : via.equals(b.uplink2()) ? b
                : null);
    }

    /**
     * Waits until both routers send the pair's traffic to {@code n} (bounded by {@code timeout});
     * fails with their routes and the BIRD logs otherwise.
     */
    public void awaitRoutesVia(Node n, Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!(routerChoice().equals(Optional.of(n)) && lanRouterChoice().equals(Optional.of(n)))) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("routers do not send the pair's traffic to node " + n.name() + " after "
                        + timeout + ": router " + nextHop(router(), ANYCAST) + ", LAN router "
                        + nextHop(lanRouter(), PEER_SUBNET) + "\n" + birdLogs());
            }
            Thread.sleep(20);
        }
    }

    /** Runs {@code command} in {@code namespace}, bounded by {@code timeout}. */
    public BoundedCommand.Result exec(String namespace, Duration timeout, String... command) throws IOException {
        List<String> c = new ArrayList<>(List.of("ip", "netns", "exec", namespace));
        c.addAll(List.of(command));
        return BoundedCommand.run(timeout, c);
    }

    /**
     * Starts {@code command} in {@code namespace} in the background, its output to {@code log};
     * whatever still runs at {@link #close()} is killed there.
     */
    public Process start(String namespace, Path log, String... command) throws IOException {
        List<String> c = new ArrayList<>(List.of("ip", "netns", "exec", namespace));
        c.addAll(List.of(command));
        return new ProcessBuilder(c).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    /** The processes running in {@code namespace}. */
    public static List<ProcessHandle> processesIn(String namespace) throws IOException {
        BoundedCommand.Result pids = BoundedCommand.run(TIMEOUT, List.of("ip", "netns", "pids", namespace));
        List<ProcessHandle> found = new ArrayList<>();
        for (String pid : pids.output().split("\\s+")) {
            if (pid.matches("\\d+")) {
                ProcessHandle.of(Long.parseLong(pid)).ifPresent(found::add);
            }
        }
        return found;
    }

    /**
     * SIGKILL to every process of node {@code n} at once (Keel and BIRD: the whole node dies);
     * returns when the first signal went out, once none is left (bounded).
     */
    public Instant killEveryProcess(Node n) throws IOException, InterruptedException {
        List<ProcessHandle> all = processesIn(n.namespace());
        Instant at = Instant.now();
        all.forEach(ProcessHandle::destroyForcibly);
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (all.stream().anyMatch(ProcessHandle::isAlive) && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        return at;
    }

    private static void ip(String... args) throws IOException {
        List<String> c = new ArrayList<>(List.of("ip"));
        c.addAll(List.of(args));
        BoundedCommand.run(TIMEOUT, c).requireOk();
    }

    /**
     * Removes {@code kh-*} namespaces whose JVM no longer runs (or, when the name cannot say,
     * older than two hours), killing what runs in them first.
     */
    static void sweepLeftovers() {
        Path dir = Path.of("/run/netns");
        if (!Files.isDirectory(dir)) {
            return;
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, PREFIX + "*")) {
            for (Path p : ds) {
                String ns = p.getFileName().toString();
                Matcher m = NAME.matcher(ns);
                boolean ownerGone = m.matches() && ProcessHandle.of(Long.parseLong(m.group(1)))
                        .map(h -> !h.isAlive()).orElse(true);
                boolean old = Files.getLastModifiedTime(p).toInstant().isBefore(Instant.now().minus(FOREIGN_LEFTOVER_AGE));
                if (ownerGone || old) {
                    removeNamespace(ns);
                }
            }
        } catch (IOException e) {
            // Best effort: what cannot be read now is swept by a later run.
        }
    }

    private static void removeNamespace(String ns) throws IOException {
        List<ProcessHandle> left = processesIn(ns);
        left.forEach(ProcessHandle::destroyForcibly);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (left.stream().anyMatch(ProcessHandle::isAlive) && System.nanoTime() < deadline) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        BoundedCommand.run(TIMEOUT, List.of("ip", "netns", "del", ns));
    }

    private void closeQuietly() {
        try {
            close();
        } catch (IOException | RuntimeException e) {
            System.err.println("AnycastPairNetns " + prefix + ": cleanup: " + e.getMessage());
        }
    }

    /**
     * Kills every process left in the namespaces (BIRD, charon, Keel, probes, captures), deletes
     * the namespaces and the BIRD sockets; idempotent, safe in finally and from the shutdown hook.
     */
    @Override
    public synchronized void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        if (Thread.currentThread() != shutdownHook) {
            try {
                Runtime.getRuntime().removeShutdownHook(shutdownHook);
            } catch (IllegalStateException e) {
                // the JVM is shutting down: the hook runs anyway and finds this closed
            }
        }
        IOException first = null;
        for (String ns : created.reversed()) {
            try {
                removeNamespace(ns);
                if (Files.exists(Path.of("/run/netns", ns))) {
                    throw new IOException("network namespace " + ns + " is still there after 'ip netns del'");
                }
            } catch (IOException e) {
                first = first == null ? e : first;
            }
        }
        for (Process p : birds) {
            p.destroyForcibly();
        }
        try (Stream<Path> sockets = Files.list(work)) {
            for (Path s : sockets.filter(f -> f.toString().endsWith(".ctl")).toList()) {
                Files.deleteIfExists(s);
            }
        } catch (IOException | UncheckedIOException e) {
            // the work directory is the caller's; a socket file left there is harmless
        }
        if (first != null) {
            throw first;
        }
    }

    static String tail(String text, int chars) {
        return text.substring(Math.max(0, text.length() - chars));
    }

    /** Deletes {@code dir} and everything under it (best effort). */
    static void deleteTree(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException | UncheckedIOException e) {
            // best effort
        }
    }
}
