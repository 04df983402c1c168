package dev.keel.gateway.interop;

import dev.keel.esp.wire.BoundedCommand;
import dev.keel.esp.wire.SystemTests;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Four network namespaces for gateway interop tests: two gateways joined by a veth (the outer
 * link) and, behind each, a host on a protected subnet.
 *
 * <pre>
 * host-a 10.1.0.2 --inner-- 10.1.0.1 gw-a 192.0.2.1 ==outer== 192.0.2.2 gw-b 10.2.0.1 --inner-- 10.2.0.2 host-b
 * </pre>
 *
 * {@link #create(Family, Family)} puts the outer link, the protected subnets or both on IPv6
 * instead (see {@link Family}).
 *
 * {@link #createWithNatInFrontOfB()} puts a router namespace ({@code ks-<6 hex>-nat}) doing
 * nftables masquerade (iptables-nft) between the gateways: gw-b is then 172.16.0.2 behind it and
 * reaches gw-a from the router's 192.0.2.2 ({@link #publicAddressOfB()}), a real NAT for RFC 7296
 * §2.23 and RFC 3948.
 *
 * <pre>
 * gw-a 192.0.2.1 ==outer== 192.0.2.2 wan [nat: masquerade] lan 172.16.0.1 ==outer== 172.16.0.2 gw-b
 * </pre>
 *
 * Names are {@code ks-<6 hex>-{gwa,gwb,hosta,hostb}}; interfaces are called {@code outer} and
 * {@code inner} in every namespace (names are per namespace, so parallel runs cannot collide).
 * Gateways forward (IPv4 and IPv6, rp_filter off); hosts route everything via their gateway.
 * Nothing is bound to a particular IKE daemon: put charon, a Keel gateway or anything else in
 * {@link Site#gatewayNamespace()}. {@link #close()} kills what still runs in the namespaces and
 * deletes them; {@link #create()} first removes {@code ks-*} namespaces left over from killed
 * runs: those of a JVM that no longer runs ({@link #ownedName}), and those of scripts (no JVM in
 * the name) older than 10 minutes. A run beside another never sweeps the other's namespaces.
 */
public final class NetnsTopology implements AutoCloseable {

    /** Namespace name prefix owned by this harness (and bench/ike/lib.sh). */
    public static final String PREFIX = "ks-";

    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    private static final Duration LEFTOVER_AGE = Duration.ofMinutes(10);
    /** {@code ks-<pid of the JVM that made it>-<6 hex>}, with anything after. */
    private static final Pattern OWNED = Pattern.compile(Pattern.quote(PREFIX) + "(\\d+)-[0-9a-f]{6}(-.*)?");

    /**
     * One side: a gateway namespace and the host namespace behind it.
     *
     * @param gatewayNamespace namespace of the gateway (IKE daemon, ESP endpoint)
     * @param hostNamespace namespace of the host on the protected subnet
     * @param outerAddress the gateway's address on the outer link (IKE/ESP endpoint)
     * @param innerAddress the gateway's address on the protected subnet
     * @param hostAddress the host's address
     * @param protectedSubnet the protected subnet in CIDR form (a traffic selector)
     */
    public record Site(String name, String gatewayNamespace, String hostNamespace, String outerAddress,
            String innerAddress, String hostAddress, String protectedSubnet) {
    }

    private static final String NAT_PUBLIC_ADDRESS = "192.0.2.2";

    private final String prefix;
    private final Site a;
    private final Site b;
    /** The NAT router's namespace, or null when the gateways share the outer link. */
    private final String router;
    private final List<String> created = new ArrayList<>();
    private boolean closed;

    /** An IP version, of the outer link (IKE and ESP) or of the protected subnets. */
    public enum Family {
        /** 192.0.2.0/24 outside (RFC 5737), 10.1.0.0/24 and 10.2.0.0/24 inside. */
        IPV4,
        /** 2001:db8::/64 outside (RFC 3849), fd00:1::/64 and fd00:2::/64 inside (RFC 4193). */
        IPV6
    }

    private NetnsTopology(String prefix, Family outer, Family inner, boolean nat) {
        this.prefix = prefix;
        boolean v6out = outer == Family.IPV6;
        boolean v6in = inner == Family.IPV6;
        this.a = new Site("a", prefix + "-gwa", prefix + "-hosta", v6out ? "2001:db8::1" : "192.0.2.1",
                v6in ? "fd00:1::1" : "10.1.0.1", v6in ? "fd00:1::2" : "10.1.0.2", v6in ? "fd00:1::/64" : "10.1.0.0/24");
        this.b = new Site("b", prefix + "-gwb", prefix + "-hostb",
                v6out ? "2001:db8::2" : nat ? "172.16.0.2" : NAT_PUBLIC_ADDRESS,
                v6in ? "fd00:2::1" : "10.2.0.1", v6in ? "fd00:2::2" : "10.2.0.2", v6in ? "fd00:2::/64" : "10.2.0.0/24");
        this.router = nat ? prefix + "-nat" : null;
    }

    /** Skips or fails (see {@link SystemTests}) unless 'ip netns' works; then builds the IPv4 topology. */
    public static NetnsTopology create() throws IOException {
        return create(Family.IPV4, Family.IPV4);
    }

    /**
     * As {@link #create()} with gw-b behind a masquerading router; skips or fails (see
     * {@link SystemTests}) unless iptables-nft is there too.
     */
    public static NetnsTopology createWithNatInFrontOfB() throws IOException {
        SystemTests.assumeTool("iptables-nft");
        return create(Family.IPV4, Family.IPV4, true);
    }

    /**
     * As {@link #create()} with the outer link and the protected subnets in the given IP versions;
     * IPv6 addresses are added {@code nodad} (usable at once, no 1-2 s of duplicate address detection).
     */
    public static NetnsTopology create(Family outer, Family inner) throws IOException {
        return create(outer, inner, false);
    }

    private static NetnsTopology create(Family outer, Family inner, boolean nat) throws IOException {
        SystemTests.assumeIpNetns();
        sweepLeftovers();
        byte[] r = new byte[3];
        ThreadLocalRandom.current().nextBytes(r);
        NetnsTopology t = new NetnsTopology(ownedName(HexFormat.of().formatHex(r)), outer, inner, nat);
        try {
            t.build();
            return t;
        } catch (IOException | RuntimeException | Error e) {
            t.close();
            throw e;
        }
    }

    private void build() throws IOException {
        List<String> namespaces = new ArrayList<>(List.of(a.gatewayNamespace(), b.gatewayNamespace(),
                a.hostNamespace(), b.hostNamespace()));
        if (router != null) {
            namespaces.add(router);
        }
        for (String ns : namespaces) {
            ip("netns", "add", ns);
            created.add(ns);
            ip("-n", ns, "link", "set", "lo", "up");
        }
        if (router == null) {
            ip("-n", a.gatewayNamespace(), "link", "add", "outer", "type", "veth", "peer", "name", "outer",
                    "netns", b.gatewayNamespace());
        } else {
            ip("-n", router, "link", "add", "wan", "type", "veth", "peer", "name", "outer", "netns", a.gatewayNamespace());
            ip("-n", router, "link", "add", "lan", "type", "veth", "peer", "name", "outer", "netns", b.gatewayNamespace());
        }
        for (Site s : List.of(a, b)) {
            ip("-n", s.gatewayNamespace(), "link", "add", "inner", "type", "veth", "peer", "name", "inner",
                    "netns", s.hostNamespace());
            addAddress(s.gatewayNamespace(), s.outerAddress(), "outer");
            addAddress(s.gatewayNamespace(), s.innerAddress(), "inner");
            addAddress(s.hostNamespace(), s.hostAddress(), "inner");
            ip("-n", s.gatewayNamespace(), "link", "set", "outer", "up");
            ip("-n", s.gatewayNamespace(), "link", "set", "inner", "up");
            ip("-n", s.hostNamespace(), "link", "set", "inner", "up");
            ip("-n", s.hostNamespace(), isIpv6(s.hostAddress()) ? "-6" : "-4", "route", "add", "default", "via",
                    s.innerAddress());
            exec(s.gatewayNamespace(), TIMEOUT, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1",
                    "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0",
                    "net.ipv6.conf.all.forwarding=1").requireOk();
        }
        if (router != null) {
            ip("-n", router, "addr", "add", NAT_PUBLIC_ADDRESS + "/24", "dev", "wan");
            ip("-n", router, "addr", "add", "172.16.0.1/24", "dev", "lan");
            ip("-n", router, "link", "set", "wan", "up");
            ip("-n", router, "link", "set", "lan", "up");
            ip("-n", b.gatewayNamespace(), "route", "add", "default", "via", "172.16.0.1");
            exec(router, TIMEOUT, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1").requireOk();
            String iptables = SystemTests.findTool("iptables-nft").orElseThrow().toString();
            exec(router, TIMEOUT, iptables, "-t", "nat", "-A", "POSTROUTING", "-o", "wan", "-j", "MASQUERADE")
                    .requireOk();
        }
    }

    /** The NAT router's namespace ({@link #createWithNatInFrontOfB()}); its links are {@code wan} and {@code lan}. */
    public String routerNamespace() {
        if (router == null) {
            throw new IllegalStateException("this topology has no NAT router");
        }
        return router;
    }

    /** gw-b's address as gw-a sees it: its own, or the NAT router's public one. */
    public String publicAddressOfB() {
        return NAT_PUBLIC_ADDRESS;
    }

    /** {@code address/24}, or for IPv6 {@code address/64 nodad}, on {@code device} in {@code namespace}. */
    private static void addAddress(String namespace, String address, String device) throws IOException {
        if (isIpv6(address)) {
            ip("-n", namespace, "addr", "add", address + "/64", "dev", device, "nodad");
        } else {
            ip("-n", namespace, "addr", "add", address + "/24", "dev", device);
        }
    }

    /** True for an IPv6 address in text form. */
    static boolean isIpv6(String address) {
        return address.contains(":");
    }

    /** The namespace-name prefix of this run, e.g. {@code ks-3fa2c1}. */
    public String prefix() {
        return prefix;
    }

    /** Site A (IPv4: gateway 192.0.2.1, subnet 10.1.0.0/24). */
    public Site a() {
        return a;
    }

    /** Site B (IPv4: gateway 192.0.2.2, subnet 10.2.0.0/24). */
    public Site b() {
        return b;
    }

    /**
     * Makes the outer link drop IPv4 fragments, as some middleboxes do: both gateways discard every
     * fragment that arrives on {@code outer}, the first (More Fragments set) and the later ones
     * (offset above 0), before anything reassembles them. Skips or fails unless iptables is there.
     * The rules go with the namespaces.
     */
    public void dropIpFragments() throws IOException {
        SystemTests.assumeTool("iptables");
        for (Site s : List.of(a, b)) {
            exec(s.gatewayNamespace(), TIMEOUT, "iptables", "-t", "raw", "-A", "PREROUTING", "-i", "outer", "-f",
                    "-j", "DROP").requireOk();
            // bytes 3..6 as one word: its low byte is the flags byte, 0x20 More Fragments
            exec(s.gatewayNamespace(), TIMEOUT, "iptables", "-t", "raw", "-A", "PREROUTING", "-i", "outer", "-m", "u32",
                    "--u32", "3&0x20=0x20", "-j", "DROP").requireOk();
        }
    }

    /** Runs {@code command} inside {@code namespace} ({@code ip netns exec}), bounded by {@code timeout}. */
    public BoundedCommand.Result exec(String namespace, Duration timeout, String... command) throws IOException {
        List<String> c = new ArrayList<>(List.of("ip", "netns", "exec", namespace));
        c.addAll(List.of(command));
        return BoundedCommand.run(timeout, c);
    }

    /**
     * Starts {@code command} inside {@code namespace} in the background (output to {@code log});
     * the caller must destroy it (a process left running is killed by {@link #close()}).
     */
    public Process startInBackground(String namespace, Path log, String... command) throws IOException {
        List<String> c = new ArrayList<>(List.of("ip", "netns", "exec", namespace));
        c.addAll(List.of(command));
        return new ProcessBuilder(c).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    private static void ip(String... args) throws IOException {
        List<String> c = new ArrayList<>(List.of("ip"));
        c.addAll(List.of(args));
        BoundedCommand.run(TIMEOUT, c).requireOk();
    }

    /**
     * The name for namespaces of this JVM with the random tag {@code hex6}: {@code ks-<pid>-<hex6>};
     * {@link #sweepLeftovers} removes them only once this JVM is gone.
     */
    public static String ownedName(String hex6) {
        return PREFIX + ProcessHandle.current().pid() + "-" + hex6;
    }

    /**
     * Kills processes left in, and deletes, {@code ks-*} namespaces whose JVM no longer runs, and
     * those without a JVM in the name (bench/ike/lib.sh's) older than 10 minutes.
     */
    static void sweepLeftovers() {
        Path dir = Path.of("/run/netns");
        if (!Files.isDirectory(dir)) {
            return;
        }
        Instant cutoff = Instant.now().minus(LEFTOVER_AGE);
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, PREFIX + "*")) {
            for (Path p : ds) {
                String ns = p.getFileName().toString();
                Matcher m = OWNED.matcher(ns);
                boolean leftover = m.matches()
                        ? ProcessHandle.of(Long.parseLong(m.group(1))).map(h -> !h.isAlive()).orElse(true)
                        : Files.getLastModifiedTime(p).toInstant().isBefore(cutoff);
                if (leftover) {
                    removeNamespace(ns);
                }
            }
        } catch (IOException | NumberFormatException e) {
            // Best effort: a sweep that cannot read /run/netns leaves the leftovers for later.
        }
    }

    private static void removeNamespace(String ns) throws IOException {
        BoundedCommand.Result pids = BoundedCommand.run(TIMEOUT, List.of("ip", "netns", "pids", ns));
        for (String pid : pids.output().split("\\s+")) {
            if (pid.matches("\\d+")) {
                ProcessHandle.of(Long.parseLong(pid)).ifPresent(ProcessHandle::destroyForcibly);
            }
        }
        BoundedCommand.run(TIMEOUT, List.of("ip", "netns", "del", ns));
    }

    /** Kills what still runs in the namespaces and deletes them; idempotent. */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
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
        if (first != null) {
            throw first;
        }
    }
}
