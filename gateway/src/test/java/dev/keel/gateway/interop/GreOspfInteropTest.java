package dev.keel.gateway.interop;

import static dev.keel.gateway.interop.BgpOverTunnelsNetnsTest.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.esp.wire.BoundedCommand;
import dev.keel.esp.wire.SystemTests;
import dev.keel.esp.wire.Tshark;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * GRE over IPsec with OSPF across it, Keel against strongSwan (issue 18 item 3): host-a and host-b
 * of a {@link NetnsTopology} run a GRE tunnel between their addresses (10.1.0.2 and 10.2.0.2) and
 * BIRD 2 OSPF over it, each announcing a LAN (10.11.0.0/24, 10.12.0.0/24); the gateways protect
 * only GRE between the two sites: Keel in gw-a with {@code 10.1.0.0/24[gre]} to
 * {@code 10.2.0.0/24[gre]}, charon (kernel-libipsec, ESP in UDP) in gw-b with the mirror image.
 *
 * <pre>
 * host-a [gre1 10.255.0.1, lan 10.11.0.1] -- gw-a (Keel) ==ESP(GRE)== gw-b (charon) -- host-b [gre1 10.255.0.2, lan 10.12.0.1]
 * </pre>
 *
 * This kernel has no ip_gre ({@code CONFIG_NET_IPGRE_DEMUX} unset), so the GRE endpoints are
 * {@code usergre.py} (test resource): RFC 2784 GRE on a TUN device and a raw protocol-47 socket,
 * the same packets on the wire as Linux's GRE. Asserted: OSPF reaches Full over GRE (its hellos to
 * 224.0.0.5 cross the tunnel), each side learns the other's LAN, pings LAN to LAN are answered, and
 * on the outer link tshark sees no clear GRE, only ESP in UDP, which Keel's exported keys open to
 * GRE carrying OSPF and the pings; Keel's ESP counters rise by the pings; an ICMP packet between the
 * same two hosts (not GRE) matches no policy and is dropped by Keel ({@code no_policy}).
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class GreOspfInteropTest {

    private static final String PSK = "keel-interop-psk-0123456";
    private static final String IKE = "aes256gcm16-prfsha256-x25519";
    private static final String ESP = "aes256gcm16";
    private static final String METRICS = "127.0.0.1:9464";
    private static final int PINGS = 5;
    private static final Duration WAIT = Duration.ofSeconds(30);

    /** One host's GRE end: its tunnel address, LAN address and the OSPF router id. */
    record GreEnd(String greAddress, String grePeer, String lanAddress, String lanPrefix) {
    }

    static final GreEnd END_A = new GreEnd("10.255.0.1", "10.255.0.2", "10.11.0.1", "10.11.0.0/24");
    static final GreEnd END_B = new GreEnd("10.255.0.2", "10.255.0.1", "10.12.0.1", "10.12.0.0/24");

    @TempDir
    Path work;

    @Test
    void ospfOverGreOverIpsecLearnsBothLansAndTheirTrafficIsEspOnly() throws Exception {
        StrongSwanPeer.assumeAvailable();
        Tshark tshark = Tshark.assumeInstalled();
        Path bird = SystemTests.assumeTool("bird");
        Path birdc = SystemTests.assumeTool("birdc");
        SystemTests.assumeTool("python3");
        Path gre = work.resolve("usergre.py");
        try (InputStream in = GreOspfInteropTest.class.getResourceAsStream("usergre.py")) {
            Files.copy(in, gre);
        }
        try (NetnsTopology topo = NetnsTopology.create()) {
            NetnsTopology.Site a = topo.a();
            NetnsTopology.Site b = topo.b();
            // GRE between the two sites' subnets: kernel-libipsec routes a CHILD SA only when one of charon's
            // own addresses lies in its local selector (10.2.0.1 here), whatever install_routes says
            List<String> tsA = List.of(a.protectedSubnet() + "[gre]");
            List<String> tsB = List.of(b.protectedSubnet() + "[gre]");
            ConnectionSpec keelSpec = ConnectionSpec.psk(a, b, PSK, IKE, ESP).withStartAction("start")
                    .withModeAndSelectors("tunnel", tsA, tsB);
            ConnectionSpec charonSpec = ConnectionSpec.psk(b, a, PSK, IKE, ESP).withModeAndSelectors("tunnel", tsB, tsA);
            Path pcap = work.resolve("outer.pcap");
            Process capture = startFullCapture(topo, tshark, pcap);
            long tStart = System.nanoTime();
            try (StrongSwanPeer charon = StrongSwanPeer.start(b.gatewayNamespace(), work.resolve("charon"), charonSpec);
                    KeelGatewayProcess keel = KeelGatewayProcess.start(a, work.resolve("keel"),
                            policy -> policy + "metrics:\n  listen: " + METRICS + "\n", keelSpec);
                    GreProcess greA = startGre(topo, a, b, gre, END_A);
                    GreProcess greB = startGre(topo, b, a, gre, END_B)) {
                KeelStrongSwanInteropTest.withLogs(charon, keel, () -> {
                    keel.awaitLog("usable in the data plane", WAIT);
                    List<SwanctlSas.IkeSa> sas = charon.awaitSas(s -> s.size() == 1 && s.getFirst().child("net")
                            .map(c -> c.state().equals("INSTALLED")).orElse(false), WAIT);
                    SwanctlSas.ChildSa child = CharonPairTest.single(sas).child("net").orElseThrow();
                    // charon agreed to the protocol-47 selectors (its list-sas prints them with the protocol)
                    assertThat(child.localTs()).as("charon's local selectors").containsExactly(b.protectedSubnet() + "[gre]");
                    assertThat(child.remoteTs()).as("charon's remote selectors").containsExactly(a.protectedSubnet() + "[gre]");
                    double espOutBefore = espPackets(topo, a, "out");
                    try (BirdDaemon birdA = BirdDaemon.start(topo, a.hostNamespace(), bird, birdc, work.resolve("bird-a"),
                            ospfConfig(END_A));
                            BirdDaemon birdB = BirdDaemon.start(topo, b.hostNamespace(), bird, birdc,
                                    work.resolve("bird-b"), ospfConfig(END_B))) {
                        long tBird = System.nanoTime();
                        await(() -> full(birdA) && full(birdB), Duration.ofSeconds(60), () -> "OSPF not Full over GRE:\nA:\n"
                                + birdA.show("ospf", "neighbors") + "\nB:\n" + birdB.show("ospf", "neighbors")
                                + "\nA's log:\n" + birdA.logText());
                        await(() -> routeVia(topo, a, END_B.lanAddress()).contains("dev gre1")
                                && routeVia(topo, b, END_A.lanAddress()).contains("dev gre1"), Duration.ofSeconds(30),
                                () -> "LAN routes not learned over gre1: A " + routeVia(topo, a, END_B.lanAddress())
                                        + ", B " + routeVia(topo, b, END_A.lanAddress()));
                        long fullMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - tBird);
                        assertThat(birdA.show("route", "protocol", "ospf1")).as("A's OSPF routes").contains(END_B.lanPrefix());
                        assertThat(birdB.show("route", "protocol", "ospf1")).as("B's OSPF routes").contains(END_A.lanPrefix());
                        assertThat(pingsAnswered(topo, a.hostNamespace(), END_A.lanAddress(), END_B.lanAddress()))
                                .as("LAN a to LAN b over GRE over IPsec").isEqualTo(PINGS);
                        assertThat(pingsAnswered(topo, b.hostNamespace(), END_B.lanAddress(), END_A.lanAddress()))
                                .as("LAN b to LAN a").isEqualTo(PINGS);
                        double espOut = espPackets(topo, a, "out") - espOutBefore;
                        assertThat(espOut).as("Keel's ESP packets out during OSPF and the pings")
                                .isGreaterThanOrEqualTo(2 * PINGS);
                        // not GRE: the selectors do not cover it, so Keel drops it as matching no policy
                        double noPolicyBefore = drops(topo, a, "no_policy");
                        BoundedCommand.Result plain = topo.exec(a.hostNamespace(), Duration.ofSeconds(10), "ping", "-n",
                                "-c", "2", "-i", "0.2", "-W", "1", b.hostAddress());
                        assertThat(plain.output()).as("plain ICMP host-a to host-b").contains(" 0 received");
                        assertThat(drops(topo, a, "no_policy") - noPolicyBefore).as("Keel's no_policy drops")
                                .isGreaterThanOrEqualTo(2);
                        SwanctlSas.ChildSa after = CharonPairTest.single(charon.listSas()).child("net").orElseThrow();
                        System.out.printf("GRE+OSPF over IPsec vs strongSwan: OSPF Full and both LANs routed %d ms after"
                                + " BIRD started; Keel ESP out %.0f packets, charon's CHILD SA in %d / out %d packets;"
                                + " whole run %d ms%n", fullMillis, espOut, after.packetsIn(), after.packetsOut(),
                                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - tStart));
                    }
                });
            } finally {
                capture.destroy();
                capture.waitFor(10, TimeUnit.SECONDS);
            }
            List<String> prefs = KeelGatewayProcess.tsharkPreferences(work.resolve("keel").resolve("keys"));
            assertThat(KeelStrongSwanInteropTest.count(pcap, List.of(), "gre || ip.proto == 47"))
                    .as("clear GRE on the outer link").isZero();
            assertThat(KeelStrongSwanInteropTest.count(pcap, List.of(), "ip && !udp"))
                    .as("IPv4 on the outer link other than UDP (IKE, ESP in UDP)").isZero();
            String fromA = "esp.icv_good == 1 && ip.src == " + a.outerAddress() + " && gre";
            String fromB = "esp.icv_good == 1 && ip.src == " + b.outerAddress() + " && gre";
            assertThat(KeelStrongSwanInteropTest.count(pcap, prefs, fromA + " && ospf")).as("OSPF in GRE in ESP from Keel")
                    .isPositive();
            assertThat(KeelStrongSwanInteropTest.count(pcap, prefs, fromB + " && ospf"))
                    .as("OSPF in GRE in ESP from charon").isPositive();
            assertThat(KeelStrongSwanInteropTest.count(pcap, prefs, fromA + " && icmp.type == 8 && ip.dst == "
                    + END_B.lanAddress())).as("echo requests LAN a to LAN b in GRE in ESP").isEqualTo(PINGS);
            assertThat(KeelStrongSwanInteropTest.count(pcap, prefs, fromB + " && icmp.type == 0 && ip.dst == "
                    + END_A.lanAddress())).as("echo replies in GRE in ESP from charon").isEqualTo(PINGS);
        }
    }

    /**
     * The GRE end in {@code site}'s host ({@code usergre.py}: TUN {@code gre1}, point to point to the
     * peer's tunnel address, MTU 1300 so that GRE in ESP in UDP fits 1,500 bytes) and its LAN: a veth
     * {@code lan} whose other end stays unused (no dummy interfaces in this kernel). Closing stops it.
     */
    private static GreProcess startGre(NetnsTopology topo, NetnsTopology.Site site, NetnsTopology.Site peer,
            Path script, GreEnd end) throws IOException, InterruptedException {
        String ns = site.hostNamespace();
        Path log = script.resolveSibling("gre-" + site.name() + ".log");
        GreProcess gre = new GreProcess(topo.startInBackground(ns, log, "python3", "-u", script.toString(), "gre1",
                site.hostAddress(), peer.hostAddress()));
        try {
            await(() -> read(log).contains("usergre: gre1 up"), Duration.ofSeconds(10),
                    () -> "usergre did not start in " + ns + ":\n" + read(log));
            for (String[] c : List.of(
                    new String[] {"ip", "addr", "add", end.greAddress(), "peer", end.grePeer(), "dev", "gre1"},
                    new String[] {"ip", "link", "set", "gre1", "mtu", "1300", "up"},
                    new String[] {"ip", "link", "add", "lan", "type", "veth", "peer", "name", "lan-end"},
                    new String[] {"ip", "addr", "add", end.lanAddress() + "/24", "dev", "lan"},
                    new String[] {"ip", "link", "set", "lan", "up"},
                    new String[] {"ip", "link", "set", "lan-end", "up"},
                    new String[] {"sysctl", "-q", "-w", "net.ipv4.conf.all.rp_filter=0",
                            "net.ipv4.conf.default.rp_filter=0"})) {
                topo.exec(ns, Duration.ofSeconds(10), c).requireOk();
            }
            return gre;
        } catch (IOException | InterruptedException | RuntimeException | Error e) {
            gre.close();
            throw e;
        }
    }

    /** A running {@code usergre.py}; closing stops it (SIGTERM, SIGKILL after 5 s), and its TUN device goes with it. */
    private record GreProcess(Process process) implements AutoCloseable {
        @Override
        public void close() throws InterruptedException {
            process.destroy();
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(5, TimeUnit.SECONDS);
            }
        }
    }

    /** BIRD 2 for one host: OSPF area 0 over gre1 (point to point, hello 1 s, dead 4 s) and the LAN as a stub. */
    static String ospfConfig(GreEnd end) {
        return """
                router id %s;
                log stderr all;
                protocol device { scan time 2; }
                # OSPF routes into the kernel, nothing read back from it
                protocol kernel { ipv4 { import none; export where source = RTS_OSPF; }; }
                protocol ospf v2 ospf1 {
                  ipv4 { import all; export none; };
                  area 0 {
                    # hellos to 224.0.0.5 over the GRE tunnel; short timers keep the test quick
                    interface "gre1" { type ptp; hello 1; dead 4; };
                    # the LAN is announced, nothing is spoken on it
                    interface "lan" { stub yes; };
                  };
                }
                """.formatted(end.lanAddress());
    }

    private static boolean full(BirdDaemon bird) {
        return bird.show("ospf", "neighbors").lines().anyMatch(l -> l.contains("Full") && l.contains("gre1"));
    }

    private static String routeVia(NetnsTopology topo, NetnsTopology.Site site, String destination) {
        try {
            return topo.exec(site.hostNamespace(), Duration.ofSeconds(10), "ip", "-4", "route", "get", destination)
                    .output().strip();
        } catch (IOException e) {
            return e.toString();
        }
    }

    private static int pingsAnswered(NetnsTopology topo, String ns, String from, String to) throws IOException {
        BoundedCommand.Result r = topo.exec(ns, Duration.ofSeconds(20), "ping", "-n", "-c", Integer.toString(PINGS),
                "-i", "0.2", "-W", "2", "-I", from, to);
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+) received").matcher(r.output());
        assertThat(m.find()).as("ping's summary in:\n" + r.output()).isTrue();
        return Integer.parseInt(m.group(1));
    }

    private static double espPackets(NetnsTopology topo, NetnsTopology.Site site, String direction) throws IOException {
        return FloodReadings.metrics(topo, site, METRICS, "keel_esp_packets_total")
                .getOrDefault("keel_esp_packets_total{direction=\"" + direction + "\"}", 0.0);
    }

    private static double drops(NetnsTopology topo, NetnsTopology.Site site, String reason) throws IOException {
        Map<String, Double> m = FloodReadings.metrics(topo, site, METRICS, "keel_forward_drops_total");
        return m.getOrDefault("keel_forward_drops_total{reason=\"" + reason + "\"}", 0.0);
    }

    /** tshark on gw-a's outer link, every frame (not only UDP: clear GRE would be IP protocol 47). */
    private static Process startFullCapture(NetnsTopology topo, Tshark tshark, Path pcap)
            throws IOException, InterruptedException {
        Path log = pcap.resolveSibling(pcap.getFileName() + ".log");
        Process p = topo.startInBackground(topo.a().gatewayNamespace(), log, tshark.executable().toString(), "-n", "-i",
                "outer", "-w", pcap.toString());
        try {
            await(() -> read(log).contains("Capturing on"), Duration.ofSeconds(30), () -> "tshark did not start:\n"
                    + read(log));
        } catch (AssertionError e) {
            p.destroyForcibly();
            throw e;
        }
        return p;
    }

    private static String read(Path p) {
        try {
            return Files.exists(p) ? Files.readString(p) : "";
        } catch (IOException e) {
            return e.toString();
        }
    }
}
