package dev.keel.gateway.interop;

import dev.keel.esp.wire.BoundedCommand;
import dev.keel.gateway.UdpRelay;
import dev.keel.esp.wire.SystemTests;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLongArray;
import org.opentest4j.TestAbortedException;

/**
 * The soak's strongSwan share (issue 16; docs/security.md, "Soak"): one charon (kernel-libipsec,
 * ESP in UDP as the interop tests run it) in a network namespace of its own, carrying S tunnels to
 * the soak's gateway A, one IKE SA with one CHILD SA each, and a host behind it sending one packet
 * per tunnel per second, which A's host answers back through the tunnel.
 *
 * <pre>
 * host namespace                                        ks-&lt;pid&gt;-&lt;hex&gt;-soak
 * A 127.0.0.1:ike/nat-t &lt;- relay 127.0.0.10 | 198.18.x.1:500/4500 ==veth== 198.18.x.2 charon
 *                                                                    hosts (veth): 10.2.x.y/32 per tunnel
 * </pre>
 *
 * A stays on loopback, as for the Keel peer: a relay in the test JVM takes charon's UDP 500 and 4500
 * on the host end of the veth and hands it to A's IKE and NAT-T ports from 127.0.0.10, the address
 * A's connections name (a {@link UdpRelay}), one socket per charon source port, as a NAT would. So everything is delivered locally in the host namespace,
 * nothing is forwarded there (the host's FORWARD policy, DROP under dockerd, does not apply), and
 * the namespace (with the veth) is deleted at the end, whatever failed.
 */
public final class StrongSwanSoakShare implements AutoCloseable {

    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    /** Where the tunnels' packets go (A's host) and the UDP port of both ends. */
    private static final String LAN_HOST = "10.1.0.7";
    private static final int PORT = 5201;

    /** Tunnel {@code index} (the soak's numbering) as peer {@code id}; its host's /32 is its selector. */
    public record Tunnel(int index, String id, String host) {
        String name() {
            return "t" + index;
        }
    }

    private final String namespace;
    private final String hostLink;
    private final String hostAddress;
    private final String charonAddress;
    private final List<Tunnel> tunnels;
    private final Path dir;
    private final Path gatewayLog;
    private final List<AutoCloseable> started = new ArrayList<>();
    private final AtomicLongArray last;
    private final AtomicLongArray counts;
    private StrongSwanPeer charon;
    private UdpRelay relay;
    private Process pinger;
    private long cpuTicksFrom;
    private long cpuFrom;

    /**
     * Why the share cannot run here (root, ip netns, charon, swanctl, python3), or empty when it
     * can; with {@code KEEL_REQUIRE_SYSTEM_TESTS=1} their absence fails the test instead
     * ({@link SystemTests}, {@link StrongSwanPeer#assumeAvailable()}).
     */
    public static Optional<String> unavailable() {
        try {
            StrongSwanPeer.assumeAvailable();
            SystemTests.assumeTool("python3");
            return Optional.empty();
        } catch (TestAbortedException e) {
            return Optional.of(e.getMessage());
        }
    }

    private StrongSwanSoakShare(List<Tunnel> tunnels, Path dir, Path gatewayLog) {
        this.gatewayLog = gatewayLog;
        byte[] r = new byte[3];
        ThreadLocalRandom.current().nextBytes(r);
        String hex = HexFormat.of().formatHex(r);
        this.namespace = NetnsTopology.ownedName(hex) + "-soak"; // swept only once this JVM is gone
        this.hostLink = "ks" + hex; // in the host namespace: unique per run
        // a /30 of 198.18.0.0/15 (RFC 2544, benchmarking) per run, so runs side by side do not collide
        int net = ((r[0] & 1) << 16) | ((r[1] & 0xff) << 8) | (r[2] & 0xfc);
        String prefix = "198." + (18 + (net >>> 16)) + "." + ((net >>> 8) & 0xff) + ".";
        this.hostAddress = prefix + ((net & 0xff) + 1);
        this.charonAddress = prefix + ((net & 0xff) + 2);
        this.tunnels = List.copyOf(tunnels);
        this.dir = dir;
        this.last = new AtomicLongArray(tunnels.size());
        this.counts = new AtomicLongArray(tunnels.size());
    }

    /**
     * Builds the namespace and veth, starts the relay to A ({@code a}'s IKE port {@code ikePort},
     * NAT-T the port after it, from {@code relaySource}) and charon with one connection per tunnel
     * (PSK {@code psk}, to {@code gatewayId}, selectors the tunnel's /32 and 10.1.0.0/16, DPD every
     * {@code dpdSeconds}; the tunnels of odd index rekey their CHILD SA themselves every three
     * quarters of {@code rekeySeconds}, before A would, the others leave it to A), and initiates
     * them all, {@code concurrency} at a time. Closes what it made when anything fails (telling
     * what charon's log and the gateway's, {@code gatewayLog}, say of a tunnel that did not come up).
     */
    public static StrongSwanSoakShare start(List<Tunnel> tunnels, Path dir, Path gatewayLog, String psk,
            String gatewayId,
            InetAddress a, int ikePort, InetAddress relaySource, int rekeySeconds, int dpdSeconds, int concurrency)
            throws IOException, InterruptedException {
        NetnsTopology.sweepLeftovers();
        StrongSwanSoakShare share = new StrongSwanSoakShare(tunnels, dir, gatewayLog);
        try {
            share.build();
            share.relay = new UdpRelay(InetAddress.getByName(share.hostAddress), relaySource, a, 500,
                    Map.of(500, ikePort, 4500, ikePort + 1));
            share.started.add(share.relay);
            share.startCharon(psk, gatewayId, rekeySeconds, dpdSeconds);
            share.initiate(concurrency);
            return share;
        } catch (IOException | InterruptedException | RuntimeException | Error e) {
            try {
                share.close();
            } catch (Exception c) {
                e.addSuppressed(c);
            }
            throw e;
        }
    }

    private void build() throws IOException {
        ip("netns", "add", namespace);
        started.add(() -> {
            BoundedCommand.run(TIMEOUT, List.of("ip", "netns", "pids", namespace)).output().lines()
                    .filter(p -> p.strip().matches("\\d+")).forEach(p -> ProcessHandle.of(Long.parseLong(p.strip()))
                            .ifPresent(ProcessHandle::destroyForcibly));
            ip("netns", "del", namespace); // the veth goes with it
        });
        ip("-n", namespace, "link", "set", "lo", "up");
        ip("link", "add", hostLink, "type", "veth", "peer", "name", "outer", "netns", namespace);
        ip("addr", "add", hostAddress + "/30", "dev", hostLink);
        ip("link", "set", hostLink, "up");
        ip("-n", namespace, "addr", "add", charonAddress + "/30", "dev", "outer");
        ip("-n", namespace, "link", "set", "outer", "up");
        // no dummy interfaces in this kernel (a container): a veth whose other end stays unused
        ip("-n", namespace, "link", "add", "hosts", "type", "veth", "peer", "name", "hosts-end");
        StringBuilder batch = new StringBuilder();
        for (Tunnel t : tunnels) {
            batch.append("addr add ").append(t.host()).append("/32 dev hosts\n");
        }
        Path file = Files.writeString(dir.resolve("hosts.batch"), batch);
        ip("-n", namespace, "-batch", file.toString());
        ip("-n", namespace, "link", "set", "hosts", "up");
        ip("-n", namespace, "link", "set", "hosts-end", "up");
        // answers come in on ipsec0 from 10.1.0.7, which the main table does not route there
        exec(TIMEOUT, "sysctl", "-q", "-w", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0")
                .requireOk();
    }

    private void startCharon(String psk, String gatewayId, int rekeySeconds, int dpdSeconds) throws IOException {
        List<ConnectionSpec> specs = new ArrayList<>();
        for (Tunnel t : tunnels) {
            specs.add(new ConnectionSpec(t.name(), "c" + t.index(), charonAddress, hostAddress, t.id(), gatewayId,
                    new PeerAuth.Psk(psk), "aes256gcm16-prfsha256-x25519", "aes256gcm16", List.of(t.host() + "/32"),
                    List.of("10.1.0.0/16"), "none", "tunnel", true));
        }
        CharonOptions options = CharonOptions.defaults().withLogLevel("ike", 1).withLogLevel("cfg", 1)
                .withLogLevel("chd", 1).withConnectionLine("dpd_delay = " + dpdSeconds + "s")
                .withStartTimeout(Duration.ofSeconds(30))
                // each vici initiate holds one of charon's threads until its IKE SA is up, and
                // kernel-libipsec keeps some for itself: with the default 16, 8 initiates at once left
                // none to read the answers, and all waited out their timeout
                .withCharonLine("threads = 32")
                // charon's own retransmission defaults (about 165 s before it gives up), as an operator's peer
                // runs them, not the interop tests' fail-fast 3 x 1 s: in a rekey wave at load 25, A held 250
                // answers up to 5 s for its data plane, and charon gave up on 4 rekeys after 11 s
                .withCharonLine("retransmit_tries = 5").withCharonLine("retransmit_timeout = 4.0")
                .withCharonLine("retransmit_base = 1.8");
        String charonRekey = "rekey_time = " + Math.max(1, rekeySeconds * 3 / 4) + "s";
        charon = StrongSwanPeer.start(namespace, dir.resolve("charon"), specs, options,
                c -> Integer.parseInt(c.name().substring(1)) % 2 == 1 ? List.of(charonRekey) : List.of());
        started.add(charon);
    }

    private void initiate(int concurrency) throws IOException, InterruptedException {
        List<String> failed = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(concurrency)) {
            List<Future<BoundedCommand.Result>> results = new ArrayList<>();
            for (Tunnel t : tunnels) {
                results.add(pool.submit(() -> charon.initiate("c" + t.index(), Duration.ofSeconds(60))));
            }
            for (int i = 0; i < results.size(); i++) {
                try {
                    BoundedCommand.Result r = results.get(i).get();
                    if (!r.ok()) {
                        failed.add(tunnels.get(i).name() + ": " + r.output().lines().reduce((x, y) -> y).orElse(""));
                    }
                } catch (java.util.concurrent.ExecutionException e) {
                    failed.add(tunnels.get(i).name() + ": " + e.getCause());
                }
            }
        }
        if (!failed.isEmpty()) {
            StringBuilder why = new StringBuilder();
            for (String f : failed.subList(0, Math.min(2, failed.size()))) {
                String name = f.substring(0, f.indexOf(':'));
                why.append("\ncharon's log of ").append(name).append(":\n")
                        .append(linesWith(charon.log(), "<" + name + "|"))
                        .append("\nthe gateway's log of ").append(name).append(":\n")
                        .append(linesWith(Files.readString(gatewayLog), "[" + name + " "));
            }
            throw new AssertionError("charon could not initiate " + failed.size() + " of " + tunnels.size()
                    + " tunnels, e.g. " + failed.subList(0, Math.min(5, failed.size())) + why);
        }
        List<SwanctlSas.IkeSa> sas = charon.awaitSas(s -> established(s) == tunnels.size(), Duration.ofSeconds(30));
        if (established(sas) != tunnels.size()) {
            throw new AssertionError("charon has " + established(sas) + " of " + tunnels.size()
                    + " IKE SAs established with one installed CHILD SA");
        }
        // kernel-libipsec routes 10.1.0.0/16 into ipsec0 (table 220); this one only if it did not
        exec(TIMEOUT, "ip", "route", "replace", "10.1.0.0/16", "dev", "ipsec0").requireOk();
    }

    /** IKE SAs of charon's established with exactly one installed CHILD SA. */
    private static int established(List<SwanctlSas.IkeSa> sas) {
        // A CHILD SA replaced by a rekey stays listed as DELETED (or REKEYED) until charon removes it,
        // 5 s later by default (charon.delete_rekeyed_delay): with 100 tunnels rekeying every minute
        // some always show one; two INSTALLED would be a leak, none a lost tunnel.
        return (int) sas.stream().filter(s -> s.state().equals("ESTABLISHED") && s.children().stream()
                .filter(c -> c.state().equals("INSTALLED")).count() == 1).count();
    }

    /**
     * Starts the host behind charon: one packet per tunnel per second from the tunnel's host to
     * 10.1.0.7, spread over the second, each counted in {@code sent} at the tunnel's index, and
     * the answers counted per tunnel; until {@link #stopTraffic()}. Also marks where charon's CPU
     * time is measured from.
     */
    public void startTraffic(AtomicLongArray sent) throws IOException {
        Path script = Files.writeString(dir.resolve("pinger.py"), PINGER);
        List<String> hosts = tunnels.stream().map(Tunnel::host).toList();
        pinger = new ProcessBuilder("ip", "netns", "exec", namespace, "python3", "-u", script.toString(),
                String.join(",", hosts), LAN_HOST, Integer.toString(PORT)).redirectError(dir.resolve("pinger.err")
                .toFile()).start();
        started.add(() -> {
            pinger.destroyForcibly();
            pinger.waitFor();
        });
        cpuFrom = System.nanoTime();
        cpuTicksFrom = cpuTicks();
        Thread.ofPlatform().daemon().name("swan-share-pinger").start(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(pinger.getInputStream(),
                    StandardCharsets.US_ASCII))) {
                for (String line; (line = in.readLine()) != null; ) {
                    int k = Integer.parseInt(line.substring(2));
                    if (line.charAt(0) == 's') {
                        sent.incrementAndGet(tunnels.get(k).index());
                    } else {
                        last.set(k, System.nanoTime());
                        counts.incrementAndGet(k);
                    }
                }
            } catch (IOException | RuntimeException e) {
                // the pinger ended (stopTraffic, or it failed: its tunnels go silent, which the soak reports)
            }
        });
    }

    /** Stops the host's traffic. */
    public void stopTraffic() throws InterruptedException {
        if (pinger != null) {
            pinger.destroy();
            pinger.waitFor();
        }
    }

    /** Tunnels of the share with an answer after {@code since} (System.nanoTime()). */
    public int tunnelsSince(long since) {
        int n = 0;
        for (int k = 0; k < last.length(); k++) {
            n += last.get(k) - since > 0 ? 1 : 0;
        }
        return n;
    }

    /** Answers through the share's {@code k}th tunnel. */
    public long answers(int k) {
        return counts.get(k);
    }

    /**
     * IKE requests of {@code exchangeType} (RFC 7296 §3.1: 36 CREATE_CHILD_SA, 37 INFORMATIONAL)
     * sent so far by charon ({@code byCharon}) or by A to charon, as the relay saw them pass.
     */
    public long requests(int exchangeType, boolean byCharon) {
        return byCharon ? relay.requestsFromPeer(exchangeType) : relay.requestsToPeer(exchangeType);
    }

    /** charon's CPU time since {@link #startTraffic}, as a share of one core (1.0: one core busy). */
    public double cpuShare() throws IOException {
        return (cpuTicks() - cpuTicksFrom) / 100.0 / ((System.nanoTime() - cpuFrom) / 1e9);
    }

    /** charon's CPU time so far, in clock ticks (USER_HZ, 100 a second): utime + stime of /proc/PID/stat. */
    private long cpuTicks() throws IOException {
        String stat = Files.readString(Path.of("/proc", Long.toString(charon.pid()), "stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(f[11]) + Long.parseLong(f[12]); // fields 14 and 15 of proc(5)
    }

    /** charon's threads ({@code Threads:} of /proc/PID/status). */
    public int charonThreads() throws IOException {
        return Files.readAllLines(Path.of("/proc", Long.toString(charon.pid()), "status")).stream()
                .filter(l -> l.startsWith("Threads:")).mapToInt(l -> Integer.parseInt(l.substring(8).strip()))
                .findFirst().orElse(-1);
    }

    /**
     * charon's own view ({@code swanctl --list-sas}): IKE SAs established with exactly one installed
     * CHILD SA (and any number of replaced ones on their way out).
     */
    public int establishedAtCharon() throws IOException {
        return established(charon.listSas());
    }

    /** charon's SAs in full, for a failure's message. */
    public String charonSas() throws IOException {
        return charon.swanctl(TIMEOUT, "--list-sas").output();
    }

    /** The last {@code max} characters of charon's log. */
    public String charonLogTail(int max) throws IOException {
        return tail(charon.log(), max);
    }

    /** strongSwan's version, as {@code swanctl --version} gives it (e.g. "strongSwan swanctl 5.9.13"). */
    public String version() throws IOException {
        return charon.swanctl(TIMEOUT, "--version").output().lines().filter(l -> l.contains("strongSwan"))
                .map(String::strip).findFirst().orElse("strongSwan");
    }

    /** The namespace charon runs in and the two ends of the veth, for the figures. */
    public String describe() {
        return namespace + " (charon " + charonAddress + ", host end " + hostLink + " " + hostAddress + ")";
    }

    private static String linesWith(String log, String mark) {
        return String.join("\n", log.lines().filter(l -> l.contains(mark)).limit(60).toList());
    }

    private static String tail(String s, int max) {
        return s.substring(Math.max(0, s.length() - max));
    }

    private BoundedCommand.Result exec(Duration timeout, String... command) throws IOException {
        List<String> c = new ArrayList<>(List.of("ip", "netns", "exec", namespace));
        c.addAll(List.of(command));
        return BoundedCommand.run(timeout, c);
    }

    private static void ip(String... args) throws IOException {
        List<String> c = new ArrayList<>(List.of("ip"));
        c.addAll(List.of(args));
        BoundedCommand.run(TIMEOUT, c).requireOk();
    }

    /** Stops the traffic, charon and the relay, and deletes the namespace (and so the veth); idempotent. */
    @Override
    public void close() throws Exception {
        Exception failed = null;
        for (AutoCloseable c : started.reversed()) {
            try {
                c.close();
            } catch (Exception e) {
                if (failed == null) {
                    failed = e;
                } else {
                    failed.addSuppressed(e);
                }
            }
        }
        started.clear();
        if (failed != null) {
            throw failed;
        }
    }

    /**
     * The host behind charon: one UDP socket per tunnel, bound to the tunnel's host address and
     * {@code port}; every second one datagram from each to {@code dst}, spread over the second
     * (no catching up when late); prints {@code s K} for each sent and {@code a K} for each
     * answer (the K-th tunnel of the share), which the test reads.
     */
    private static final String PINGER = """
            import selectors, socket, sys, time
            hosts = sys.argv[1].split(',')
            dst = (sys.argv[2], int(sys.argv[3]))
            sel = selectors.DefaultSelector()
            socks = []
            for k, h in enumerate(hosts):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.bind((h, int(sys.argv[3])))
                s.setblocking(False)
                sel.register(s, selectors.EVENT_READ, k)
                socks.append(s)
            n = len(socks)
            start = time.monotonic()
            turn = 0
            out = sys.stdout
            while True:
                due = start + turn / n
                now = time.monotonic()
                if now >= due:
                    k = turn % n
                    try:
                        socks[k].sendto(b'keel soak ' + str(k).encode(), dst)
                        out.write('s %d\\n' % k)
                    except OSError:
                        pass
                    turn += 1
                    if now - due > 1.0:  # late by a second or more: skip ahead, no burst
                        turn = int((now - start) * n)
                    continue
                for key, _ in sel.select(due - now):
                    while True:
                        try:
                            key.fileobj.recv(2048)
                        except BlockingIOError:
                            break
                        out.write('a %d\\n' % key.data)
                out.flush()
            """;
}
