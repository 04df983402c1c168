package dev.keel.gateway.ha;

import dev.keel.gateway.interop.CharonOptions;
import dev.keel.gateway.interop.ConnectionSpec;
import dev.keel.gateway.interop.PeerAuth;
import dev.keel.gateway.interop.StrongSwanPeer;
import dev.keel.gateway.interop.SwanctlSas;
import dev.keel.proto.v1.ChildSaRecord;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One failover run (DESIGN §4, issue 20): the {@link AnycastPairNetns} network, Keel on both
 * nodes, strongSwan as the peer with an established tunnel to the anycast address, the capture
 * on strongSwan's link and the {@link Traffic} through the tunnel; then kills of the node that
 * carries the traffic, each followed by a restart of the killed node, with the figures of each
 * kill. {@link AnycastFailoverTest} asserts on them; gateway/ha-failover-bench.sh runs ten and
 * writes them into docs/ha.md.
 */
final class AnycastFailover implements AutoCloseable {

    /** Steady traffic before each kill. */
    static final Duration BEFORE_KILL = Duration.ofSeconds(2);
    /** How long after a kill its figures look (resumption must come well inside it). */
    static final Duration AFTER_KILL = Duration.ofSeconds(5);
    static final Duration WAIT = Duration.ofSeconds(30);
    private static final Pattern TOOK_OVER = Pattern.compile("took over (\\d+) CHILD SAs of departed member \\S+ in (\\d+) ms");
    static final String MIGRATIONS_DONE = "All migration tasks have been completed";

    /** How a kill takes the carrying node down. */
    enum Down {
        /** kill -9 of Keel; BIRD stays up. */
        KILL,
        /** kill -9 of every process of the node, BIRD included. */
        WHOLE_NODE,
        /** SIGTERM of Keel: an operator's stop. */
        STOP;

        String describe() {
            return switch (this) {
                case KILL -> "";
                case WHOLE_NODE -> " (whole node)";
                case STOP -> " (SIGTERM)";
            };
        }
    }

    /**
     * The figures of one kill.
     *
     * @param index 1, 2, ...
     * @param killed the node killed ({@code a} or {@code b})
     * @param down how the node was taken down
     * @param at when the kill signal went out
     * @param gone when the killed process (every process, for a whole node) was gone
     * @param probe the UDP probe around the kill
     * @param pingForward pings host behind strongSwan to LAN host
     * @param pingReturn pings LAN host to host behind strongSwan
     * @param iperf the TCP stream across the kill
     * @param takeover the survivor's "took over" log line (count and its own duration), or ""
     * @param sasBefore charon's SAs just before the kill
     * @param sasAfter charon's SAs after the window
     * @param sad the SAD's CHILD SA records after the window, through the survivor's admin API
     * @param replayed ESP packets from the peer, recorded before the kill, sent again to the survivor
     * @param toDeadMember "Not Member!" warnings in the survivor's log after the kill: operations it
     *     sent to the dead member (each waits out Hazelcast's retry pause)
     */
    record Kill(int index, String killed, Down down, Instant at, Instant gone, ProbeLog.Window probe,
            PingLog.Window pingForward, PingLog.Window pingReturn, Traffic.IperfResult iperf, String takeover,
            List<SwanctlSas.IkeSa> sasBefore, List<SwanctlSas.IkeSa> sasAfter, List<ChildSaRecord> sad,
            int replayed, int toDeadMember) {

        String survivor() {
            return killed.equals("a") ? "b" : "a";
        }

        long atNanos() {
            return nanos(at);
        }
    }

    private final Path work;
    private final HaSettings settings;
    private AnycastPairNetns net;
    private HaGateway a;
    private HaGateway b;
    private StrongSwanPeer charon;
    private EspCapture capture;
    private Traffic traffic;
    private List<SwanctlSas.IkeSa> sasAtStart = List.of();
    private final List<Kill> kills = new ArrayList<>();
    private String captureSummary = "";

    private AnycastFailover(Path work, HaSettings settings) {
        this.work = work;
        this.settings = settings;
    }

    /**
     * Builds everything up to an established tunnel: node A first (so both routers choose it),
     * then node B once A carries the routes, the capture, strongSwan, the tunnel "net"
     * (strongSwan initiates to the anycast address) and, with {@code withTraffic}, the traffic.
     */
    static AnycastFailover start(Path work, HaSettings settings, boolean withTraffic) throws Exception {
        StrongSwanPeer.assumeAvailable();
        dev.keel.esp.wire.SystemTests.assumeTool("iperf3");
        dev.keel.esp.wire.SystemTests.assumeTool("ping");
        dev.keel.esp.wire.Tshark.assumeInstalled();
        AnycastPairNetns.assumeAvailable();
        AnycastFailover f = new AnycastFailover(work, settings);
        try {
            f.build(withTraffic);
            return f;
        } catch (Exception | Error e) {
            f.close();
            throw e;
        }
    }

    private void build(boolean withTraffic) throws Exception {
        net = AnycastPairNetns.create(work.resolve("net"));
        Path kek = work.resolve("kek.hex");
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        Files.writeString(kek, HexFormat.of().formatHex(key) + "\n");
        Files.setPosixFilePermissions(kek, PosixFilePermissions.fromString("rw-------"));
        a = HaGateway.prepare(net, net.a(), work, kek, settings);
        b = HaGateway.prepare(net, net.b(), work, kek, settings);
        // One after the other: the routers keep the older route (prefer older), so the node that
        // announces first carries both directions.
        a.start();
        net.awaitRoutesVia(net.a(), WAIT);
        int migrations = count(a.log(), MIGRATIONS_DONE);
        b.start();
        awaitCount(a, MIGRATIONS_DONE, migrations + 1);
        capture = EspCapture.start(net, net.peer(), net.peerOuterInterface(), work.resolve("peer-outer.pcap"));
        charon = StrongSwanPeer.start(net.peer(), work.resolve("charon"), new ConnectionSpec("gw", "net",
                AnycastPairNetns.PEER_ADDRESS, AnycastPairNetns.ANYCAST, HaGateway.PEER_ID, HaGateway.GATEWAY_ID,
                new PeerAuth.Psk(settings.psk()), HaSettings.IKE_PROPOSAL, HaSettings.ESP_PROPOSAL,
                List.of(AnycastPairNetns.PEER_SUBNET), List.of(AnycastPairNetns.LAN_SUBNET), "none", "tunnel", true),
                // vici's initiate holds a charon thread until the tunnel is up: a burst of 20 needs more
                // than the default 16 threads, or list-sas and IKE itself starve. Each tunnel its own
                // IKE SA (charon would add them to one whose configuration compares equal).
                CharonOptions.defaults().withCharonLine("threads = 64").withCharonLine("reuse_ikesa = no"));
        // The connections this run needs (lifetimes, DPD, the burst's tunnels), loaded over the one
        // StrongSwanPeer wrote for "net".
        Files.writeString(charon.workDir().resolve("swanctl/swanctl.conf"), swanctlConf());
        charon.loadConfig();
        charon.initiate("net", WAIT).requireOk();
        sasAtStart = charon.awaitSas(l -> l.size() == 1 && installed(l.getFirst(), "net"), WAIT);
        if (!(sasAtStart.size() == 1 && installed(sasAtStart.getFirst(), "net"))) {
            throw new AssertionError("tunnel 'net' not up: " + sasAtStart + "\n" + diagnostics());
        }
        if (withTraffic) {
            traffic = Traffic.start(net, work.resolve("traffic"));
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (traffic.probe().around(0, 0, Long.MAX_VALUE / 2).returnResumeNanos() < 0
                    || traffic.pingForward().replies() == 0 || traffic.pingReturn().replies() == 0) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("no traffic through the tunnel within " + WAIT + "\n" + diagnostics());
                }
                Thread.sleep(100);
            }
        }
    }

    private String swanctlConf() {
        StringBuilder conns = new StringBuilder(connection("gw", "net", AnycastPairNetns.PEER_SUBNET));
        for (int i = 1; i <= settings.extraTunnels(); i++) {
            conns.append(connection("t" + i, "t" + i, HaSettings.tunnelSubnet(i)));
        }
        String hex = HexFormat.of().formatHex(settings.psk().getBytes(StandardCharsets.UTF_8));
        return """
                # Written by dev.keel.gateway.ha.AnycastFailover.
                connections {
                %s}
                secrets {
                  ike-1 {
                    id-1 = "%s"
                    id-2 = "%s"
                    secret = 0x%s
                  }
                }
                """.formatted(conns, HaGateway.PEER_ID, HaGateway.GATEWAY_ID, hex);
    }

    private String connection(String name, String child, String localTs) {
        return """
                  %s {
                    version = 2
                    local_addrs = %s
                    remote_addrs = %s
                    proposals = %s
                    encap = yes
                    mobike = no
                    keyingtries = 0
                %s
                    local {
                      auth = psk
                      id = "%s"
                    }
                    remote {
                      auth = psk
                      id = "%s"
                    }
                    children {
                      %s {
                        esp_proposals = %s
                        local_ts = %s
                        remote_ts = %s
                        start_action = none
                %s
                      }
                    }
                  }
                """.formatted(name, AnycastPairNetns.PEER_ADDRESS, AnycastPairNetns.ANYCAST, HaSettings.IKE_PROPOSAL,
                indent(settings.charonConnection(), "    "), HaGateway.PEER_ID, HaGateway.GATEWAY_ID, child,
                HaSettings.ESP_PROPOSAL, localTs, AnycastPairNetns.LAN_SUBNET, indent(settings.charonChild(),
                        "        "));
    }

    private static String indent(List<String> lines, String by) {
        return String.join("\n", lines.stream().map(l -> by + l).toList());
    }

    static boolean installed(SwanctlSas.IkeSa ike, String child) {
        return ike.state().equals("ESTABLISHED")
                && ike.child(child).filter(c -> c.state().equals("INSTALLED")).isPresent();
    }

    AnycastPairNetns net() {
        return net;
    }

    StrongSwanPeer charon() {
        return charon;
    }

    Traffic traffic() {
        return traffic;
    }

    EspCapture capture() {
        return capture;
    }

    List<Kill> kills() {
        return List.copyOf(kills);
    }

    /** charon's SAs once the tunnel "net" was up. */
    List<SwanctlSas.IkeSa> sasAtStart() {
        return sasAtStart;
    }

    HaGateway gateway(AnycastPairNetns.Node n) {
        return n.equals(net.a()) ? a : b;
    }

    /** The node both routers send the pair's traffic to; fails if they disagree or have no route. */
    HaGateway carrying() throws IOException {
        Optional<AnycastPairNetns.Node> front = net.routerChoice();
        Optional<AnycastPairNetns.Node> lan = net.lanRouterChoice();
        if (front.isEmpty() || !front.equals(lan)) {
            throw new AssertionError("the routers disagree: router -> " + front.map(AnycastPairNetns.Node::name)
                    + ", LAN router -> " + lan.map(AnycastPairNetns.Node::name) + "\n" + net.birdLogs());
        }
        return gateway(front.get());
    }

    /**
     * Kills the node carrying the traffic ({@code kill -9} of Keel, or of every process of the
     * node), then records the figures: waits {@link #AFTER_KILL}, with an iperf3 stream running
     * across the kill, replays the peer's ESP recorded before the kill at the survivor, reads
     * strongSwan's SAs and the SAD. Does not restart the killed node ({@link #restart}).
     */
    Kill killCarrying(Down down) throws Exception {
        HaGateway victim = carrying();
        HaGateway survivor = gateway(net.other(victim.node()));
        Path iperfJson = work.resolve("traffic").resolve("iperf3-kill-" + (kills.size() + 1) + ".json");
        Process iperf = traffic.startIperf((int) (BEFORE_KILL.toSeconds() + AFTER_KILL.toSeconds() + 1), iperfJson);
        Thread.sleep(BEFORE_KILL.toMillis());
        List<SwanctlSas.IkeSa> before = charon.listSas();
        int survivorLog = survivor.log().length();
        Instant at;
        switch (down) {
            case WHOLE_NODE -> {
                at = net.killEveryProcess(victim.node());
                victim.markDead();
            }
            case STOP -> at = victim.stop();
            default -> at = victim.kill();
        }
        Instant gone = Instant.now();
        long atNanos = nanos(at);
        long goneNanos = nanos(gone);
        long deadline = System.nanoTime() + AFTER_KILL.toNanos();
        while (traffic.probe().around(atNanos, goneNanos, AFTER_KILL.toNanos()).resumeNanos() < 0
                && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        net.awaitRoutesVia(survivor.node(), WAIT);
        // An attacker on the link replays what the peer sent before the kill: the survivor must
        // accept none of it (its window starts above everything the old owner accepted).
        List<String> recorded = capture.espPayloadsBefore(AnycastPairNetns.PEER_ADDRESS, 4500, at, 3000);
        int replayed = traffic.replayFromPeer(recorded);
        long left = at.plus(AFTER_KILL).toEpochMilli() - System.currentTimeMillis();
        if (left > 0) {
            Thread.sleep(left + 500); // the window's last packets (and echoes) arrive and are logged
        }
        Traffic.IperfResult iperfResult = Traffic.iperfResult(iperf, iperfJson, Duration.ofSeconds(20));
        ProbeLog probe = traffic.probe();
        List<SwanctlSas.IkeSa> after = charon.listSas();
        String sinceKill = survivor.log().substring(survivorLog);
        Matcher took = TOOK_OVER.matcher(sinceKill);
        String takeover = "";
        while (took.find()) {
            takeover = took.group();
        }
        Kill k = new Kill(kills.size() + 1, victim.name(), down, at, gone,
                probe.around(atNanos, goneNanos, AFTER_KILL.toNanos()), traffic.pingForward().around(atNanos, goneNanos),
                traffic.pingReturn().around(atNanos, goneNanos), iperfResult, takeover, before, after,
                survivor.childSas(), replayed, count(sinceKill, "Not Member!"));
        kills.add(k);
        System.out.printf("kill %d: node %s%s at %s, gone after %d ms; %s; %s%n", k.index(), k.killed(),
                down.describe(), at, (goneNanos - atNanos) / 1_000_000, k.probe(), takeover);
        return k;
    }

    /**
     * Starts the killed node again (its BIRD too after a whole-node kill) and waits until it is
     * back in the cluster with the partitions rebalanced (the other node, the master, logs the
     * migrations done), so that the next kill takes nothing but a node.
     */
    void restart(String node) throws Exception {
        HaGateway g = node.equals("a") ? a : b;
        HaGateway other = node.equals("a") ? b : a;
        if (AnycastPairNetns.processesIn(g.node().namespace()).stream()
                .noneMatch(p -> p.info().command().orElse("").endsWith("bird"))) {
            net.startNodeBird(g.node());
        }
        int migrations = count(other.log(), MIGRATIONS_DONE);
        g.start();
        awaitCount(other, MIGRATIONS_DONE, migrations + 1);
    }

    static long nanos(Instant t) {
        return t.getEpochSecond() * 1_000_000_000L + t.getNano();
    }

    static int count(String text, String what) {
        int n = 0;
        for (int i = text.indexOf(what); i >= 0; i = text.indexOf(what, i + 1)) {
            n++;
        }
        return n;
    }

    static void awaitCount(HaGateway g, String what, int n) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (count(g.log(), what) < n) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("node " + g.name() + " did not log '" + what + "' " + n + " times in 90 s\n"
                        + g.logs(4000));
            }
            Thread.sleep(100);
        }
    }

    /** Polls charon's SAs until {@code done} holds (bounded); returns the last list. */
    List<SwanctlSas.IkeSa> awaitSas(Predicate<List<SwanctlSas.IkeSa>> done, Duration timeout) throws IOException {
        return charon.awaitSas(done, timeout);
    }

    /** Stops the traffic and the capture, so that their logs and the pcap are complete. */
    void stopTraffic() throws IOException, InterruptedException {
        if (traffic != null) {
            traffic.stop();
        }
        if (capture != null) {
            captureSummary = capture.stop();
        }
    }

    /** What tshark said when the capture stopped (packets captured, dropped). */
    String captureSummary() {
        return captureSummary;
    }

    /** Every esp_sa line both nodes exported, every incarnation, without repeats. */
    List<String> exportedEspSas() throws IOException {
        Set<String> lines = new LinkedHashSet<>();
        for (HaGateway g : List.of(a, b)) {
            for (Path dir : g.keyDirectories()) {
                Path f = dir.resolve("esp_sa");
                if (Files.exists(f)) {
                    Files.readAllLines(f).stream().filter(l -> !l.isBlank()).forEach(lines::add);
                }
            }
        }
        return List.copyOf(lines);
    }

    /** Both nodes' logs, charon's and the BIRDs', for a failure message. */
    String diagnostics() {
        StringBuilder sb = new StringBuilder();
        for (HaGateway g : new HaGateway[] {a, b}) {
            if (g != null) {
                sb.append(g.logs(6000));
            }
        }
        if (charon != null) {
            try {
                sb.append("--- charon ---\n").append(AnycastPairNetns.tail(charon.log(), 6000));
            } catch (IOException e) {
                sb.append("(charon log: ").append(e.getMessage()).append(")\n");
            }
        }
        if (net != null) {
            sb.append(net.birdLogs());
        }
        return sb.toString();
    }

    /** Stops everything: traffic, capture, charon, both Keels, then the network (which kills anything left). */
    @Override
    public void close() throws Exception {
        Exception first = null;
        for (AutoCloseable c : new AutoCloseable[] {traffic, capture, charon, a, b, net}) {
            if (c == null) {
                continue;
            }
            try {
                c.close();
            } catch (Exception e) {
                first = first == null ? e : first;
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
