package dev.keel.gateway.interop;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.esp.wire.SystemTests;
import dev.keel.esp.wire.Tshark;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * NAT traversal of the IKE-driven gateway (RFC 7296 §2.23, RFC 3948) in network namespaces,
 * with {@code gateway.raw_esp: yes}: honest NAT detection decides whether ESP runs raw (IP
 * protocol 50) or in UDP 4500, and tshark, reading the outer link with the keys Keel exported,
 * shows which it was and decrypts the traffic of both directions.
 */
@Timeout(120)
class NatTraversalInteropTest {

    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final String PSK = "keel-interop-psk-0123456";
    private static final String IKE = "aes256gcm16-prfsha256-x25519";
    private static final String ESP = "aes256gcm16";
    /** Pings per direction; every one must be answered. */
    private static final int PINGS = 3;

    /** Configurations, logs and captures; JUnit removes it, also after a failure. */
    @TempDir
    Path work;

    @BeforeEach
    void requireTools() {
        StrongSwanPeer.assumeAvailable(); // root, ip netns (and charon, for the cases with one)
        SystemTests.assumeTool("ping");
        Tshark.assumeInstalled();
    }

    /**
     * No NAT between two Keel gateways: both NAT detection hashes match, so the CHILD SA is raw
     * ESP. (strongSwan 5.9.8's kernel-libipsec sends ESP in UDP only, raw ESP came in 5.9.11, and
     * this kernel has no ESP of its own, so the peer here is Keel; tshark is the independent
     * reader of the wire.)
     */
    @Test
    void withoutNatTheChildSaRunsAsRawEspBothWays() throws Exception {
        try (NetnsTopology topo = NetnsTopology.create()) {
            Path pcap = work.resolve("outer.pcap");
            Process capture = startCapture(topo, topo.a().gatewayNamespace(), pcap);
            ConnectionSpec aSpec = ConnectionSpec.psk(topo.a(), topo.b(), PSK, IKE, ESP);
            ConnectionSpec bSpec = ConnectionSpec.psk(topo.b(), topo.a(), PSK, IKE, ESP).withStartAction("start");
            try (KeelGatewayProcess a = startKeel(topo.a(), aSpec, work.resolve("keel-a"));
                    KeelGatewayProcess b = startKeel(topo.b(), bSpec, work.resolve("keel-b"))) {
                withLogs(a, b, () -> {
                    b.awaitLog("usable in the data plane", WAIT);
                    a.awaitLog("usable in the data plane", WAIT);
                    assertThat(CharonPairTest.pingsAnswered(topo, topo.a(), topo.b(), PINGS)).as("A -> B")
                            .isEqualTo(PINGS);
                    assertThat(CharonPairTest.pingsAnswered(topo, topo.b(), topo.a(), PINGS)).as("B -> A")
                            .isEqualTo(PINGS);
                });
            } finally {
                stop(capture);
            }
            List<String> prefs = KeelGatewayProcess.tsharkPreferences(work.resolve("keel-a").resolve("keys"));
            assertThat(count(pcap, List.of(), "ip.proto == 50")).as("raw ESP frames").isGreaterThanOrEqualTo(4L * PINGS);
            assertThat(count(pcap, List.of(), "udp.port == 4500")).as("frames on UDP 4500").isZero();
            assertThat(count(pcap, List.of(), "isakmp.notify.msgtype == 16388")).as("NAT_DETECTION_SOURCE_IP sent")
                    .isEqualTo(2);
            // each direction's echo requests and replies, decrypted with the keys of A's two SAs
            assertThat(count(pcap, prefs, "ip.proto == 50 && icmp.type == 8")).as("decrypted echo requests")
                    .isEqualTo(2L * PINGS);
            assertThat(count(pcap, prefs, "ip.proto == 50 && icmp.type == 0")).as("decrypted echo replies")
                    .isEqualTo(2L * PINGS);
        }
    }

    /**
     * A real NAT: charon (encap = no, so its hashes are honest too) sits behind a masquerading
     * router and initiates to Keel. Both sides detect the NAT, float IKE to 4500 and run the
     * CHILD SA in UDP 4500 (RFC 3948); charon, behind the NAT, knows it is and keeps the mapping
     * alive. Pings pass both ways and tshark on Keel's link sees only ESP in UDP, from the
     * router's address, and decrypts it with Keel's keys.
     */
    @Test
    void behindARealNatCharonInitiatesAndTheChildSaRunsInUdp() throws Exception {
        try (NetnsTopology topo = NetnsTopology.createWithNatInFrontOfB()) {
            Path pcap = work.resolve("outer.pcap");
            Process capture = startCapture(topo, topo.a().gatewayNamespace(), pcap);
            ConnectionSpec keelSpec = withRemote(ConnectionSpec.psk(topo.a(), topo.b(), PSK, IKE, ESP),
                    topo.publicAddressOfB());
            ConnectionSpec charonSpec = withoutEncap(ConnectionSpec.psk(topo.b(), topo.a(), PSK, IKE, ESP));
            try (StrongSwanPeer charon = StrongSwanPeer.start(topo.b().gatewayNamespace(), work.resolve("charon"),
                    charonSpec);
                    KeelGatewayProcess keel = startKeel(topo.a(), keelSpec, work.resolve("keel"))) {
                withLogs(charon, keel, () -> {
                    charon.initiate(WAIT).requireOk();
                    List<SwanctlSas.IkeSa> sas = charon.awaitSas(l -> l.size() == 1
                            && l.getFirst().child("net").filter(c -> c.state().equals("INSTALLED")).isPresent(), WAIT);
                    SwanctlSas.ChildSa child = CharonPairTest.single(sas).child("net").orElseThrow();
                    assertThat(child.encap()).as("charon's CHILD SA in UDP").isTrue();
                    assertThat(charon.log()).as("charon found itself behind the NAT")
                            .contains("local host is behind NAT, sending keep alives")
                            .doesNotContain("remote host is behind NAT");
                    assertThat(CharonPairTest.pingsAnswered(topo, topo.b(), topo.a(), PINGS)).as("B -> A")
                            .isEqualTo(PINGS);
                    assertThat(CharonPairTest.pingsAnswered(topo, topo.a(), topo.b(), PINGS)).as("A -> B")
                            .isEqualTo(PINGS);
                    SwanctlSas.ChildSa after = CharonPairTest.single(charon.listSas()).child("net").orElseThrow();
                    assertThat(after.packetsIn()).as("charon's CHILD SA carried both directions")
                            .isGreaterThanOrEqualTo(2L * PINGS);
                });
            } finally {
                stop(capture);
            }
            String nat = topo.publicAddressOfB();
            List<String> prefs = KeelGatewayProcess.tsharkPreferences(work.resolve("keel").resolve("keys"));
            assertThat(count(pcap, List.of(), "ip.proto == 50")).as("raw ESP frames").isZero();
            assertThat(count(pcap, List.of(), "ip.src == " + nat + " && udp.port == 4500 && esp"))
                    .as("ESP in UDP 4500 from the NAT's address").isGreaterThanOrEqualTo(2L * PINGS);
            assertThat(count(pcap, List.of(), "ip.src == 172.16.0.2")).as("frames with charon's own address").isZero();
            assertThat(count(pcap, prefs, "udp.port == 4500 && icmp.type == 8")).as("decrypted echo requests")
                    .isEqualTo(2L * PINGS);
            assertThat(count(pcap, prefs, "udp.port == 4500 && icmp.type == 0")).as("decrypted echo replies")
                    .isEqualTo(2L * PINGS);
        }
    }

    /**
     * Keel behind the NAT (RFC 7296 §2.23: the side behind it keeps the mapping alive) initiates
     * to charon; with {@code nat_keepalive: 1s} tshark on charon's link sees one 0xFF byte a
     * second from the NAT's address to charon's UDP 4500 (RFC 3948 §2.3) while the tunnel idles,
     * and none from charon, which is not behind a NAT. Pings pass both ways.
     */
    @Test
    void keelBehindTheNatSendsKeepalives() throws Exception {
        try (NetnsTopology topo = NetnsTopology.createWithNatInFrontOfB()) {
            Path pcap = work.resolve("outer.pcap");
            Process capture = startCapture(topo, topo.a().gatewayNamespace(), pcap);
            ConnectionSpec keelSpec = ConnectionSpec.psk(topo.b(), topo.a(), PSK, IKE, ESP).withStartAction("start");
            ConnectionSpec charonSpec = withoutEncap(withRemote(ConnectionSpec.psk(topo.a(), topo.b(), PSK, IKE, ESP),
                    topo.publicAddressOfB()));
            try (StrongSwanPeer charon = StrongSwanPeer.start(topo.a().gatewayNamespace(), work.resolve("charon"),
                    charonSpec);
                    KeelGatewayProcess keel = startKeel(topo.b(), keelSpec, work.resolve("keel"),
                            "  nat_keepalive: 1s\n")) {
                withLogs(charon, keel, () -> {
                    keel.awaitLog("usable in the data plane", WAIT);
                    List<SwanctlSas.IkeSa> sas = charon.awaitSas(l -> l.size() == 1
                            && l.getFirst().child("net").filter(c -> c.state().equals("INSTALLED")).isPresent(), WAIT);
                    assertThat(CharonPairTest.single(sas).child("net").orElseThrow().encap()).isTrue();
                    assertThat(charon.log()).as("charon found Keel behind the NAT").contains("remote host is behind NAT")
                            .doesNotContain("local host is behind NAT");
                    assertThat(CharonPairTest.pingsAnswered(topo, topo.b(), topo.a(), PINGS)).as("B -> A")
                            .isEqualTo(PINGS);
                    assertThat(CharonPairTest.pingsAnswered(topo, topo.a(), topo.b(), PINGS)).as("A -> B")
                            .isEqualTo(PINGS);
                    Thread.sleep(KEEPALIVE_WATCH.toMillis()); // idle: only keepalives keep the mapping
                });
            } finally {
                stop(capture);
            }
            String nat = topo.publicAddressOfB();
            long keepalives = count(pcap, List.of(), "udpencap.nat_keepalive && ip.src == " + nat
                    + " && udp.dstport == 4500 && udp.length == 9");
            // one a second from the IKE SA's establishment to the end of the capture: at least the idle watch's
            assertThat(keepalives).as("keepalives from Keel behind the NAT").isGreaterThanOrEqualTo(
                    KEEPALIVE_WATCH.toSeconds() - 1);
            assertThat(count(pcap, List.of(), "udpencap.nat_keepalive && ip.src == " + topo.a().outerAddress()))
                    .as("keepalives from charon, not behind a NAT").isZero();
        }
    }

    /**
     * The NAT in front of charon changes its mapping under traffic (the masquerade rule moves to
     * ports 31000-31999 and the router's address is removed and added, which drops its
     * masqueraded connections): charon's next packets come from a new port. Its next protected
     * IKE request (DPD, every second) moves Keel's IKE SA there (RFC 7296 §2.23), and the CHILD
     * SA's records in the SAD follow (UpdateChildSa), so Keel's ESP reaches the new mapping:
     * pings from Keel's side pass again, and tshark sees Keel's ESP go to a port of the new range.
     */
    @Test
    void whenThePeersNatMappingChangesTheChildSaFollowsTheIkeSa() throws Exception {
        mappingChangeUnderTraffic(false);
    }

    /**
     * As {@link #whenThePeersNatMappingChangesTheChildSaFollowsTheIkeSa} with MOBIKE negotiated
     * (charon's {@code mobike = yes}, strongSwan's default): no request moves Keel's IKE SA by
     * itself (RFC 4555 §3.5). charon's DPD carries NAT detection; Keel's answer hashes where the
     * request came from, so charon sees its mapping changed, sends UPDATE_SA_ADDRESSES from the new
     * one, Keel checks its return routability (§3.7) and the CHILD SA follows.
     */
    @Test
    void withMobikeCharonReportsItsNewNatMappingAndTheChildSaFollows() throws Exception {
        mappingChangeUnderTraffic(true);
    }

    private void mappingChangeUnderTraffic(boolean mobike) throws Exception {
        try (NetnsTopology topo = NetnsTopology.createWithNatInFrontOfB()) {
            Path pcap = work.resolve("outer.pcap");
            Process capture = startCapture(topo, topo.a().gatewayNamespace(), pcap);
            ConnectionSpec keelSpec = withRemote(ConnectionSpec.psk(topo.a(), topo.b(), PSK, IKE, ESP),
                    topo.publicAddressOfB());
            ConnectionSpec charonSpec = withoutEncap(ConnectionSpec.psk(topo.b(), topo.a(), PSK, IKE, ESP));
            // DPD every second: charon's protected requests are what moves the IKE SA (without MOBIKE), or what
            // tells charon its mapping changed (with it); the harness's charon has mobike = no, a later key wins
            CharonOptions options = CharonOptions.defaults().withConnectionLine("dpd_delay = 1s")
                    .withConnectionLine("mobike = " + (mobike ? "yes" : "no"));
            try (StrongSwanPeer charon = StrongSwanPeer.start(topo.b().gatewayNamespace(), work.resolve("charon"),
                    charonSpec, options);
                    KeelGatewayProcess keel = startKeel(topo.a(), keelSpec, work.resolve("keel"))) {
                withLogs(charon, keel, () -> {
                    charon.initiate(WAIT).requireOk();
                    charon.awaitSas(l -> l.size() == 1
                            && l.getFirst().child("net").filter(c -> c.state().equals("INSTALLED")).isPresent(), WAIT);
                    assertThat(CharonPairTest.pingsAnswered(topo, topo.a(), topo.b(), PINGS)).as("A -> B before")
                            .isEqualTo(PINGS);
                    if (mobike) {
                        keel.awaitLog(", MOBIKE)", WAIT);
                        // strongSwan compares the NAT detection of each DPD answer with the previous one's (not
                        // IKE_SA_INIT's): a mapping that changes before its first DPD is never noticed
                        awaitCharonLog(charon, "parsed INFORMATIONAL response", WAIT);
                    }

                    String router = topo.routerNamespace();
                    String iptables = SystemTests.findTool("iptables-nft").orElseThrow().toString();
                    topo.exec(router, WAIT, iptables, "-t", "nat", "-R", "POSTROUTING", "1", "-o", "wan", "-p", "udp",
                            "-j", "MASQUERADE", "--to-ports", "31000-31999").requireOk();
                    topo.exec(router, WAIT, "ip", "addr", "del", topo.publicAddressOfB() + "/24", "dev", "wan")
                            .requireOk();
                    topo.exec(router, WAIT, "ip", "addr", "add", topo.publicAddressOfB() + "/24", "dev", "wan")
                            .requireOk();

                    // under traffic: charon's pings go out through the new mapping; Keel's answers reach it
                    // once a DPD request moved the IKE SA and the SAD update reached the data plane
                    long deadline = System.nanoTime() + WAIT.toNanos();
                    int rounds = 0;
                    while (CharonPairTest.pingsAnswered(topo, topo.b(), topo.a(), 1) == 0) {
                        assertThat(System.nanoTime()).as("B -> A answered again after the mapping changed")
                                .isLessThan(deadline);
                        assertThat(++rounds).as("ping rounds").isLessThan(60);
                    }
                    if (mobike) {
                        keel.awaitLog("MOBIKE: UPDATE_SA_ADDRESSES from /" + topo.publicAddressOfB() + ":31", WAIT);
                        keel.awaitLog("passed the return routability check", WAIT);
                        assertThat(charon.log()).contains("detected changes in NAT mappings");
                    }
                    keel.awaitLog("CHILD SA net follows", WAIT);
                    assertThat(CharonPairTest.pingsAnswered(topo, topo.a(), topo.b(), PINGS)).as("A -> B after")
                            .isEqualTo(PINGS);
                    assertThat(CharonPairTest.pingsAnswered(topo, topo.b(), topo.a(), PINGS)).as("B -> A after")
                            .isEqualTo(PINGS);
                    assertThat(charon.listSas()).as("the same IKE SA, still up").hasSize(1);
                });
            } finally {
                stop(capture);
            }
            String nat = topo.publicAddressOfB();
            assertThat(count(pcap, List.of(), "ip.dst == " + nat + " && udp.dstport >= 31000 && udp.dstport <= 31999"
                    + " && esp")).as("Keel's ESP to the new mapping").isGreaterThanOrEqualTo(2L * PINGS);
            assertThat(count(pcap, List.of(), "ip.src == " + nat + " && udp.srcport >= 31000 && udp.srcport <= 31999"
                    + " && isakmp")).as("charon's IKE from the new mapping").isGreaterThan(0);
        }
    }

    /** Waits (bounded) until charon's log has {@code text}. */
    private static void awaitCharonLog(StrongSwanPeer charon, String text, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!charon.log().contains(text)) {
            assertThat(System.nanoTime()).as("charon logged '" + text + "'").isLessThan(deadline);
            Thread.sleep(100);
        }
    }

    /** How long the keepalive test watches an idle tunnel (keepalives every second). */
    private static final Duration KEEPALIVE_WATCH = Duration.ofSeconds(4);

    /** {@code s} with another remote address (the NAT's public one). */
    static ConnectionSpec withRemote(ConnectionSpec s, String remoteAddress) {
        return new ConnectionSpec(s.name(), s.childName(), s.localAddress(), remoteAddress, s.localId(), s.remoteId(),
                s.auth(), s.ikeProposal(), s.espProposal(), s.localTs(), s.remoteTs(), s.startAction(), s.mode(),
                s.udpEncapsulation());
    }

    /** {@code s} with {@code encap = no}: charon's NAT detection hashes are honest. */
    static ConnectionSpec withoutEncap(ConnectionSpec s) {
        return new ConnectionSpec(s.name(), s.childName(), s.localAddress(), s.remoteAddress(), s.localId(),
                s.remoteId(), s.auth(), s.ikeProposal(), s.espProposal(), s.localTs(), s.remoteTs(), s.startAction(),
                s.mode(), false);
    }

    /** Keel with {@code raw_esp: yes} in {@code site}'s gateway namespace for {@code spec}, keys exported. */
    static KeelGatewayProcess startKeel(NetnsTopology.Site site, ConnectionSpec spec, Path dir)
            throws IOException, InterruptedException {
        return startKeel(site, spec, dir, "");
    }

    /** As {@link #startKeel(NetnsTopology.Site, ConnectionSpec, Path)} with more {@code gateway:} lines. */
    static KeelGatewayProcess startKeel(NetnsTopology.Site site, ConnectionSpec spec, Path dir, String gatewayLines)
            throws IOException, InterruptedException {
        Files.createDirectories(dir);
        Path keys = dir.resolve("keys");
        Path config = dir.resolve("keel.yaml");
        Files.writeString(config, """
                gateway:
                  address: %s
                  loops: 2
                  raw_esp: yes
                  key_export: %s
                  admin: {socket: admin/keel.sock}
                  plaintext:
                    tun: {name: keel0, mtu: 1400}
                %s""".formatted(spec.localAddress(), keys, gatewayLines)
                + KeelGatewayProcess.policyYaml(spec, dir));
        return KeelGatewayProcess.start(site.gatewayNamespace(), config, dir.resolve("keel.log"), keys, List.of());
    }

    /** tshark on {@code namespace}'s {@code outer} link, UDP and raw ESP, into {@code pcap}; returns once it captures. */
    static Process startCapture(NetnsTopology topo, String namespace, Path pcap) throws IOException,
            InterruptedException {
        Path log = pcap.resolveSibling(pcap.getFileName() + ".log");
        Process p = topo.startInBackground(namespace, log, Tshark.assumeInstalled().executable().toString(),
                "-n", "-i", "outer", "-f", "udp or ip proto 50", "-w", pcap.toString());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.readString(log).contains("Capturing on")) {
            assertThat(p.isAlive()).as("tshark runs: " + Files.readString(log)).isTrue();
            assertThat(System.nanoTime()).as("tshark started capturing").isLessThan(deadline);
            Thread.sleep(50);
        }
        return p;
    }

    private static void stop(Process capture) throws InterruptedException {
        capture.destroy();
        if (!capture.waitFor(10, TimeUnit.SECONDS)) {
            capture.destroyForcibly();
        }
    }

    private static long count(Path pcap, List<String> prefs, String filter) {
        return KeelStrongSwanInteropTest.count(pcap, prefs, filter);
    }

    interface Body {
        void run() throws Exception;
    }

    /** Runs {@code body}; a failure carries charon's and Keel's logs. */
    private static void withLogs(StrongSwanPeer charon, KeelGatewayProcess keel, Body body) throws Exception {
        try {
            body.run();
        } catch (AssertionError | IOException e) {
            throw new AssertionError(e.getMessage() + "\n--- charon log ---\n" + charon.log() + "\n--- Keel log ---\n"
                    + keel.log(), e);
        }
    }

    /** Runs {@code body}; a failure carries both logs. */
    private static void withLogs(KeelGatewayProcess a, KeelGatewayProcess b, Body body) throws Exception {
        try {
            body.run();
        } catch (AssertionError | IOException e) {
            throw new AssertionError(e.getMessage() + "\n--- Keel A log ---\n" + a.log() + "\n--- Keel B log ---\n"
                    + b.log(), e);
        }
    }
}
