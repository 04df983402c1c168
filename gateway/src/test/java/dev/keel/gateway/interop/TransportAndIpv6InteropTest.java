package dev.keel.gateway.interop;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.esp.wire.BoundedCommand;
import dev.keel.esp.wire.SystemTests;
import dev.keel.esp.wire.Tshark;
import dev.keel.gateway.interop.NetnsTopology.Family;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Keel against strongSwan (charon 5.9, kernel-libipsec, {@code encap = yes}) beyond IPv4
 * tunnels: IKE and UDP-encapsulated ESP over an IPv6 outer link, and IPv6 and IPv4 subnets
 * inside either (docs/interop.md has the matrix). Each tunnel carries pings both ways, every one
 * answered, and tshark decrypts IKE_AUTH and the pings with only the keys Keel exported. Transport
 * mode: charon negotiates it with Keel (USE_TRANSPORT_MODE, RFC 7296 §1.3.1) but its libipsec
 * installs tunnel-mode SAs only, so the test pins down what charon does with the agreed SA, and
 * Keel's own transport mode runs Keel to Keel, decoded by tshark. Every case is bounded by the
 * class's timeout; namespaces and processes go with try-with-resources, also on failure.
 */
@Timeout(90)
class TransportAndIpv6InteropTest {

    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final String PSK = "keel-interop-psk-0123456"; // at least 20 bytes (ConfigLoader.MIN_PSK_BYTES)
    private static final String IKE = "aes256gcm16-prfsha256-x25519";
    private static final String ESP = "aes256gcm16";
    /** Pings per direction; every one must be answered. */
    private static final int PINGS = 3;

    /** Configurations, logs, captures; JUnit removes it, also after a failure. */
    @TempDir
    Path work;

    @BeforeEach
    void requireTools() throws IOException {
        StrongSwanPeer.assumeAvailable();
        SystemTests.assumeTool("ping");
        Tshark.assumeInstalled();
    }

    @ParameterizedTest(name = "{1} in {0}, {2} initiates")
    @CsvSource({ // each initiator once over the IPv6 outer link; three cases keep the class near 3 minutes
        "IPV6, IPV6, keel",
        "IPV6, IPV4, charon",
        "IPV4, IPV6, keel"})
    void tunnelCarriesPingsBothWaysAndTsharkDecryptsThem(Family outer, Family inner, String initiator)
            throws Exception {
        boolean keelInitiates = initiator.equals("keel");
        try (NetnsTopology topo = NetnsTopology.create(outer, inner)) {
            Path pcap = work.resolve("outer.pcap");
            Process capture = KeelStrongSwanInteropTest.startCapture(topo, pcap);
            ConnectionSpec keelSpec = ConnectionSpec.psk(topo.a(), topo.b(), PSK, IKE, ESP)
                    .withStartAction(keelInitiates ? "start" : "none");
            try (StrongSwanPeer charon = StrongSwanPeer.start(topo.b().gatewayNamespace(), work.resolve("charon"),
                    ConnectionSpec.psk(topo.b(), topo.a(), PSK, IKE, ESP));
                    KeelGatewayProcess keel = KeelGatewayProcess.start(topo, topo.a(), keelSpec,
                            work.resolve("keel"))) {
                KeelStrongSwanInteropTest.withLogs(charon, keel, () -> {
                    if (!keelInitiates) {
                        charon.initiate(WAIT).requireOk();
                    }
                    SwanctlSas.ChildSa child = awaitInstalled(charon, keelInitiates);
                    // RFC 7296 §2.23: Keel's NAT_DETECTION_DESTINATION_IP hash, over charon's outer address and
                    // port, matches charon's own; its source hash is random (the gateway forces ESP in UDP,
                    // RFC 3948), so charon sees Keel "behind a NAT"
                    assertThat(charon.log()).contains("remote host is behind NAT")
                            .doesNotContain("local host is behind NAT");
                    assertThat(child.mode()).isEqualTo("TUNNEL");
                    assertThat(child.encap()).as("ESP in UDP 4500").isTrue();
                    assertThat(child.localTs()).containsExactly(topo.b().protectedSubnet());
                    assertThat(child.remoteTs()).containsExactly(topo.a().protectedSubnet());
                    List<String> espKeys = KeelStrongSwanInteropTest.awaitExported(keel.keys().resolve("esp_sa"), 2);
                    assertThat(espKeys).as("Keel's esp_sa lines name the outer IP version")
                            .allMatch(l -> l.startsWith(outer == Family.IPV6 ? "\"IPv6\"" : "\"IPv4\""));
                    if (keelInitiates) {
                        keel.awaitLog("usable in the data plane", WAIT); // see KeelStrongSwanInteropTest
                    }
                    assertThat(CharonPairTest.pingsAnswered(topo, topo.a(), topo.b(), PINGS))
                            .as("pings from host A answered").isEqualTo(PINGS);
                    assertThat(CharonPairTest.pingsAnswered(topo, topo.b(), topo.a(), PINGS))
                            .as("pings from host B answered").isEqualTo(PINGS);
                    SwanctlSas.ChildSa after = CharonPairTest.single(charon.listSas()).child("net").orElseThrow();
                    assertThat(after.spiIn()).as("still the same CHILD SA").isEqualTo(child.spiIn());
                    assertThat(after.packetsIn()).as("charon's CHILD SA carried the pings")
                            .isGreaterThanOrEqualTo(2L * PINGS);
                });
            } finally {
                capture.destroy();
                capture.waitFor(10, TimeUnit.SECONDS);
            }
            List<String> prefs = KeelGatewayProcess.tsharkPreferences(work.resolve("keel").resolve("keys"));
            String ip = outer == Family.IPV6 ? "ipv6" : "ip";
            assertThat(KeelStrongSwanInteropTest.count(pcap, prefs,
                    ip + " && isakmp.exchangetype == 35 && isakmp.auth.method"))
                    .as("IKE_AUTH messages tshark decrypted over the %s outer link", ip).isGreaterThanOrEqualTo(2);
            String request = inner == Family.IPV6 ? "icmpv6.type == 128" : "icmp.type == 8";
            String reply = inner == Family.IPV6 ? "icmpv6.type == 129" : "icmp.type == 0";
            assertThat(KeelStrongSwanInteropTest.count(pcap, prefs, "esp && " + request))
                    .as("decrypted echo requests, both directions").isEqualTo(2L * PINGS);
            assertThat(KeelStrongSwanInteropTest.count(pcap, prefs, "esp && " + reply))
                    .as("decrypted echo replies, both directions").isEqualTo(2L * PINGS);
        }
    }

    /**
     * Transport mode host to host (RFC 7296 §1.3.1): charon proposes it, Keel agrees (both
     * IKE_AUTH messages carry USE_TRANSPORT_MODE, as tshark reads them with Keel's keys), but
     * charon's kernel-libipsec refuses to install a transport-mode SA ({@code ipsec_sa_create}:
     * "IPsec SA: unsupported mode"), so charon keeps the IKE SA without the CHILD SA and deletes
     * the one Keel installed. This is the most charon with libipsec can do in transport mode.
     */
    @ParameterizedTest(name = "over {0}")
    @CsvSource({"IPV4", "IPV6"})
    void charonNegotiatesTransportModeWithKeelButItsLibipsecCannotInstallIt(Family family) throws Exception {
        try (NetnsTopology topo = NetnsTopology.create(family, family)) {
            Path pcap = work.resolve("outer.pcap");
            Process capture = KeelStrongSwanInteropTest.startCapture(topo, pcap);
            ConnectionSpec keelSpec = hostToHost(ConnectionSpec.psk(topo.a(), topo.b(), PSK, IKE, ESP));
            try (StrongSwanPeer charon = StrongSwanPeer.start(topo.b().gatewayNamespace(), work.resolve("charon"),
                    hostToHost(ConnectionSpec.psk(topo.b(), topo.a(), PSK, IKE, ESP)));
                    KeelGatewayProcess keel = KeelGatewayProcess.start(topo, topo.a(), keelSpec,
                            work.resolve("keel"))) {
                KeelStrongSwanInteropTest.withLogs(charon, keel, () -> {
                    assertThat(charon.initiate(WAIT).ok()).as("charon's initiate fails: no CHILD SA").isFalse();
                    assertThat(charon.log()).contains("IPsec SA: unsupported mode");
                    List<SwanctlSas.IkeSa> sas = charon.awaitSas(
                            l -> l.size() == 1 && l.getFirst().children().isEmpty(), WAIT);
                    SwanctlSas.IkeSa ikeSa = CharonPairTest.single(sas);
                    assertThat(ikeSa.state()).isEqualTo("ESTABLISHED");
                    assertThat(ikeSa.children()).as("CHILD SAs on charon").isEmpty();
                    // Keel agreed and installed its SA; charon's Delete took it away again
                    String child = "TRANSPORT [" + keelSpec.localTs().getFirst() + "] === ["
                            + keelSpec.remoteTs().getFirst() + "]]";
                    keel.awaitLog(child + " established", WAIT);
                    keel.awaitLog(child + " deleted", WAIT);
                });
            } finally {
                capture.destroy();
                capture.waitFor(10, TimeUnit.SECONDS);
            }
            List<String> prefs = KeelGatewayProcess.tsharkPreferences(work.resolve("keel").resolve("keys"));
            assertThat(KeelStrongSwanInteropTest.count(pcap, prefs,
                    "isakmp.exchangetype == 35 && isakmp.notify.msgtype == 16391"))
                    .as("IKE_AUTH request and response with USE_TRANSPORT_MODE").isEqualTo(2);
        }
    }

    /**
     * Keel's own transport mode, Keel to Keel (charon's libipsec cannot be the other end): the
     * two gateways protect their own traffic to each other, with the IKE addresses as selectors.
     * Pings both ways, a TCP and a UDP transfer (iperf3) between the two addresses are answered,
     * and tshark, with Keel's keys, finds each ping inside ESP as transport-mode ICMP (no inner IP
     * header: ESP's next header is the upper-layer protocol, RFC 4303 §3.1.1) and the TCP and UDP
     * segments inside ESP with checksums that verify against the outer addresses.
     */
    @ParameterizedTest(name = "over {0}")
    @CsvSource({"IPV4", "IPV6"})
    void keelToKeelTransportModeCarriesPingTcpAndUdpBetweenTheGateways(Family family) throws Exception {
        SystemTests.assumeTool("iperf3");
        try (NetnsTopology topo = NetnsTopology.create(family, family)) {
            Path pcap = work.resolve("outer.pcap");
            Process capture = KeelStrongSwanInteropTest.startCapture(topo, pcap);
            ConnectionSpec aSpec = hostToHost(ConnectionSpec.psk(topo.a(), topo.b(), PSK, IKE, ESP))
                    .withStartAction("start");
            ConnectionSpec bSpec = hostToHost(ConnectionSpec.psk(topo.b(), topo.a(), PSK, IKE, ESP));
            // B (the responder) starts beside A: two JVM start-ups at once, not one after the other
            CompletableFuture<KeelGatewayProcess> starting = CompletableFuture.supplyAsync(() -> {
                try {
                    return KeelGatewayProcess.start(topo, topo.b(), bSpec, work.resolve("keel-b"));
                } catch (IOException | InterruptedException e) {
                    throw new CompletionException(e);
                }
            });
            try (AutoCloseable stopB = () -> stopWhenStarted(starting);
                    KeelGatewayProcess a = KeelGatewayProcess.start(topo, topo.a(), aSpec, work.resolve("keel-a"))) {
                KeelGatewayProcess b = starting.get(150, TimeUnit.SECONDS);
                withBothLogs(a, b, () -> {
                    String child = "TRANSPORT [" + aSpec.localTs().getFirst() + "] === [" + aSpec.remoteTs().getFirst()
                            + "]]";
                    a.awaitLog(child + " established", WAIT);
                    a.awaitLog("usable in the data plane", WAIT);
                    b.awaitLog("usable in the data plane", WAIT);
                    String aAddr = topo.a().outerAddress();
                    String bAddr = topo.b().outerAddress();
                    assertThat(pingsAnswered(topo, topo.a().gatewayNamespace(), bAddr)).as("pings from A answered")
                            .isEqualTo(PINGS);
                    assertThat(pingsAnswered(topo, topo.b().gatewayNamespace(), aAddr)).as("pings from B answered")
                            .isEqualTo(PINGS);
                    assertThat(iperf3(topo, bAddr, false)).as("TCP bytes B received").isGreaterThan(10_000);
                    assertThat(iperf3(topo, bAddr, true)).as("UDP datagrams B received").isGreaterThan(40);
                });
            } finally {
                capture.destroy();
                capture.waitFor(10, TimeUnit.SECONDS);
            }
            List<String> prefs = new ArrayList<>(KeelGatewayProcess.tsharkPreferences(work.resolve("keel-a").resolve("keys")));
            prefs.add("tcp.check_checksum:TRUE");
            prefs.add("udp.check_checksum:TRUE");
            String a = topo.a().outerAddress();
            String b = topo.b().outerAddress();
            String ip = family == Family.IPV6 ? "ipv6" : "ip";
            String request = family == Family.IPV6 ? "icmpv6.type == 128" : "icmp.type == 8";
            String reply = family == Family.IPV6 ? "icmpv6.type == 129" : "icmp.type == 0";
            for (String[] flow : List.of(new String[] {a, b}, new String[] {b, a})) {
                String from = " && " + ip + ".src == " + flow[0] + " && " + ip + ".dst == " + flow[1];
                String back = " && " + ip + ".src == " + flow[1] + " && " + ip + ".dst == " + flow[0];
                assertThat(KeelStrongSwanInteropTest.count(pcap, prefs, "esp && " + request + from))
                        .as("decrypted echo requests from %s", flow[0]).isEqualTo(PINGS);
                assertThat(KeelStrongSwanInteropTest.count(pcap, prefs, "esp && " + reply + back))
                        .as("decrypted echo replies to %s", flow[0]).isEqualTo(PINGS);
            }
            assertThat(KeelStrongSwanInteropTest.count(pcap, prefs, "esp && count(" + ip + ".src) > 1"))
                    .as("ESP frames with an inner IP header (tunnel mode)").isZero();
            // Only frames whose ICV verifies: the capture also holds Keel's UDP GSO sends as one frame of several
            // ESP packets (tshark decrypts the first and fails its ICV), and the outer UDP checksums are the
            // veth's partial ones (offload); udp#2 is the inner UDP header.
            assertThat(KeelStrongSwanInteropTest.count(pcap, prefs,
                    "esp.icv_good == 1 && tcp.port == 5201 && tcp.checksum.status == 1"))
                    .as("decrypted TCP segments with good checksums").isGreaterThan(10);
            assertThat(KeelStrongSwanInteropTest.count(pcap, prefs, "esp.icv_good == 1 && udp.checksum.status#2 == 1"))
                    .as("decrypted UDP datagrams with good checksums").isGreaterThan(10);
            assertThat(KeelStrongSwanInteropTest.count(pcap, prefs, "esp.icv_good == 1 && (tcp.checksum.status == 0"
                    + " || udp.checksum.status#2 == 0)")).as("decrypted segments with bad checksums").isZero();
        }
    }

    /** Pings {@code target} from {@code namespace} {@link #PINGS} times, 0.2 s apart; how many were answered. */
    private static int pingsAnswered(NetnsTopology topo, String namespace, String target) throws IOException {
        BoundedCommand.Result ping = topo.exec(namespace, Duration.ofSeconds(10 + PINGS), "ping", "-n", "-c",
                Integer.toString(PINGS), "-i", "0.2", "-W", "2", target);
        Matcher m = Pattern.compile("(\\d+) packets transmitted, (\\d+) received").matcher(ping.output());
        assertThat(m.find()).as("ping's summary line in:\n" + ping.output()).isTrue();
        return Integer.parseInt(m.group(2));
    }

    /**
     * An iperf3 transfer, TCP (300 KB) or UDP (1 s at 1 Mbit/s), from gateway A to the server on gateway B's
     * {@code bAddress}; returns the bytes (TCP) or datagrams (UDP) the server received.
     */
    private long iperf3(NetnsTopology topo, String bAddress, boolean udp) throws IOException, InterruptedException {
        Path serverLog = work.resolve(udp ? "iperf3-udp.log" : "iperf3-tcp.log");
        Process server = topo.startInBackground(topo.b().gatewayNamespace(), serverLog, "iperf3", "-s", "-1", "-B",
                bAddress, "-p", "5201");
        try {
            List<String> client = new ArrayList<>(List.of("iperf3", "-c", bAddress, "-p", "5201", "-J",
                    "--connect-timeout", "2000"));
            // TCP: 300 KB (a few hundred segments; a 1 s transfer made a pcap tshark took seconds to decrypt)
            client.addAll(udp ? List.of("-u", "-b", "1M", "-t", "1") : List.of("-n", "300K"));
            BoundedCommand.Result r = null;
            for (int attempt = 0; attempt < 20; attempt++) { // the server needs a moment to listen
                r = topo.exec(topo.a().gatewayNamespace(), Duration.ofSeconds(15), client.toArray(String[]::new));
                if (r.ok() && r.output().contains("\"sum")) {
                    break;
                }
                Thread.sleep(100);
            }
            r.requireOk();
            assertThat(r.output()).as("iperf3 client").doesNotContain("\"error\"");
            if (!udp) {
                Matcher m = Pattern.compile("\"sum_received\":\\s*\\{[^}]*?\"bytes\":\\s*(\\d+)").matcher(r.output());
                assertThat(m.find()).as("iperf3 JSON has end.sum_received.bytes:\n" + r.output()).isTrue();
                return Long.parseLong(m.group(1));
            }
            // UDP: end.sum (the only sum with lost_packets) holds the server's count of lost datagrams
            Matcher m = Pattern.compile("\"sum\":\\s*\\{[^}]*?\"lost_packets\":\\s*(\\d+),\\s*\"packets\":\\s*(\\d+)")
                    .matcher(r.output());
            assertThat(m.find()).as("iperf3 JSON has end.sum.lost_packets and packets:\n" + r.output()).isTrue();
            return Long.parseLong(m.group(2)) - Long.parseLong(m.group(1));
        } finally {
            server.descendants().forEach(ProcessHandle::destroyForcibly);
            server.destroyForcibly();
            server.waitFor(5, TimeUnit.SECONDS);
        }
    }

    /** Stops the Keel that {@code starting} brings up, once it is up or has failed (bounded by its start-up). */
    private static void stopWhenStarted(CompletableFuture<KeelGatewayProcess> starting) throws Exception {
        try {
            starting.get(150, TimeUnit.SECONDS).close();
        } catch (ExecutionException e) {
            // it never started: ServiceProcess stopped what it had launched
        }
    }

    /** Runs {@code body}; a failure carries both Keel logs. */
    private static void withBothLogs(KeelGatewayProcess a, KeelGatewayProcess b, KeelStrongSwanInteropTest.Body body)
            throws Exception {
        try {
            body.run();
        } catch (AssertionError | IOException e) {
            throw new AssertionError(e.getMessage() + "\n--- Keel A log ---\n" + a.log() + "\n--- Keel B log ---\n"
                    + b.log(), e);
        }
    }

    /** {@code spec} in transport mode, protecting traffic between its own two IKE addresses. */
    private static ConnectionSpec hostToHost(ConnectionSpec spec) {
        String bits = NetnsTopology.isIpv6(spec.localAddress()) ? "/128" : "/32";
        return spec.withModeAndSelectors("transport", List.of(spec.localAddress() + bits),
                List.of(spec.remoteAddress() + bits));
    }

    /** charon's one IKE SA with an installed CHILD SA "net", who initiated checked. */
    private static SwanctlSas.ChildSa awaitInstalled(StrongSwanPeer charon, boolean keelInitiates) throws IOException {
        List<SwanctlSas.IkeSa> sas = charon.awaitSas(l -> l.size() == 1
                && l.getFirst().child("net").filter(c -> c.state().equals("INSTALLED")).isPresent(), WAIT);
        SwanctlSas.IkeSa ikeSa = CharonPairTest.single(sas);
        assertThat(ikeSa.state()).isEqualTo("ESTABLISHED");
        assertThat(ikeSa.initiator()).as("charon initiated").isEqualTo(!keelInitiates);
        return ikeSa.child("net").orElseThrow();
    }

}
