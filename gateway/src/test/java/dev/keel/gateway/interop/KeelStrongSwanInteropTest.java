package dev.keel.gateway.interop;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.esp.wire.SystemTests;
import dev.keel.esp.wire.Tshark;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Keel against strongSwan (charon 5.9 with kernel-libipsec, {@code encap = yes}) across
 * {@link NetnsTopology}: Keel in site A's gateway namespace with a TUN interface, charon in
 * site B's. Both directions of initiation, both required suites: the tunnel comes up with the
 * configured proposals, ping and an iperf3 TCP transfer pass between the protected subnets,
 * charon's counters show the traffic went through the CHILD SA, and tshark decrypts the
 * IKE_AUTH exchange with nothing but the keys Keel exported.
 */
@Timeout(120)
class KeelStrongSwanInteropTest {

    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final String PSK = "keel-interop-psk-0123456"; // at least 20 bytes (ConfigLoader.MIN_PSK_BYTES)

    private Path work;

    @BeforeEach
    void requireTools() throws IOException {
        StrongSwanPeer.assumeAvailable();
        SystemTests.assumeTool("iperf3");
        SystemTests.assumeTool("ping");
        Tshark.assumeInstalled();
        work = Files.createTempDirectory("keel-interop");
    }

    @AfterEach
    void removeWorkDir() throws IOException {
        if (work != null) {
            try (var walk = Files.walk(work)) {
                for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    @ParameterizedTest(name = "{0} initiates, {1} / ESP {2}")
    @CsvSource(delimiter = ';', value = {
        "keel; aes256gcm16-prfsha256-x25519; aes256gcm16; AES_GCM_16-256/PRF_HMAC_SHA2_256/CURVE_25519; AES_GCM_16-256",
        "charon; aes256gcm16-prfsha256-x25519; aes256gcm16; AES_GCM_16-256/PRF_HMAC_SHA2_256/CURVE_25519; AES_GCM_16-256",
        "keel; aes128-sha256-modp2048; aes128-sha256; AES_CBC-128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048;"
                + " AES_CBC-128/HMAC_SHA2_256_128",
        "charon; aes128-sha256-modp2048; aes128-sha256; AES_CBC-128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048;"
                + " AES_CBC-128/HMAC_SHA2_256_128"})
    void tunnelComesUpCarriesTrafficAndDecryptsInTshark(String initiator, String ike, String esp, String expectedIke,
            String expectedEsp) throws Exception {
        boolean keelInitiates = initiator.equals("keel");
        try (NetnsTopology topo = NetnsTopology.create()) {
            Path pcap = work.resolve("outer.pcap");
            Process capture = startCapture(topo, pcap);
            ConnectionSpec keelSpec = ConnectionSpec.psk(topo.a(), topo.b(), PSK, ike, esp)
                    .withStartAction(keelInitiates ? "start" : "none");
            try (StrongSwanPeer charon = StrongSwanPeer.start(topo.b().gatewayNamespace(), work.resolve("charon"),
                    ConnectionSpec.psk(topo.b(), topo.a(), PSK, ike, esp));
                    KeelGatewayProcess keel = KeelGatewayProcess.start(topo, topo.a(), keelSpec, work.resolve("keel"))) {
                withLogs(charon, keel, () -> {
                    if (!keelInitiates) {
                        charon.initiate(WAIT).requireOk();
                    }
                    List<SwanctlSas.IkeSa> sas = charon.awaitSas(l -> l.size() == 1
                            && l.getFirst().child("net").filter(c -> c.state().equals("INSTALLED")).isPresent(), WAIT);
                    SwanctlSas.IkeSa ikeSa = CharonPairTest.single(sas);
                    assertThat(ikeSa.state()).isEqualTo("ESTABLISHED");
                    assertThat(ikeSa.initiator()).isEqualTo(!keelInitiates);
                    assertThat(ikeSa.remoteId()).isEqualTo("gw-a.keel.test");
                    assertThat(ikeSa.proposal()).isEqualTo(expectedIke);
                    SwanctlSas.ChildSa child = ikeSa.child("net").orElseThrow();
                    assertThat(child.encap()).as("ESP in UDP 4500").isTrue();
                    assertThat(child.proposal()).isEqualTo(expectedEsp);
                    assertThat(child.localTs()).containsExactly("10.2.0.0/24");
                    assertThat(child.remoteTs()).containsExactly("10.1.0.0/24");
                    keel.awaitLog("usable in the data plane", WAIT); // SAD install, watch, first lease

                    topo.exec(topo.a().hostNamespace(), WAIT, "ping", "-c", "3", "-i", "0.2", "-W", "2",
                            topo.b().hostAddress()).requireOk();
                    long bytes = CharonPairTest.iperf3(topo);
                    assertThat(bytes).as("bytes iperf3's receiver got in 2 s").isGreaterThan(100_000);
                    SwanctlSas.ChildSa after = CharonPairTest.single(charon.listSas()).child("net").orElseThrow();
                    assertThat(after.bytesIn()).as("charon's CHILD SA carried the transfer").isGreaterThan(bytes);
                });
            } finally {
                capture.destroy();
                capture.waitFor(10, TimeUnit.SECONDS);
            }
            // tshark decrypts IKE_AUTH (and the ESP) with only the keys Keel exported
            Path keys = work.resolve("keel").resolve("keys");
            List<String> prefs = new ArrayList<>();
            for (String line : Files.readAllLines(keys.resolve("ikev2_decryption_table"))) {
                prefs.add("uat:ikev2_decryption_table:" + line);
            }
            for (String line : Files.readAllLines(keys.resolve("esp_sa"))) {
                prefs.add("uat:esp_sa:" + line);
            }
            prefs.add("esp.enable_encryption_decode:TRUE");
            prefs.add("esp.enable_authentication_check:TRUE");
            assertThat(count(pcap, prefs, "isakmp.exchangetype == 35 && isakmp.auth.method"))
                    .as("IKE_AUTH messages tshark decrypted (AUTH payload visible)").isGreaterThanOrEqualTo(2);
            assertThat(count(pcap, prefs, "isakmp.exchangetype == 35 && isakmp.ts.type"))
                    .as("TSi/TSr visible in decrypted IKE_AUTH").isGreaterThanOrEqualTo(2);
            assertThat(count(pcap, prefs, "esp && icmp.type == 8")).as("decrypted pings").isGreaterThanOrEqualTo(3);
        }
    }

    @ParameterizedTest(name = "ECDSA certificates, {0} initiates, {1} / ESP {2}")
    @CsvSource({
        "keel, aes256gcm16-prfsha256-x25519, aes256gcm16",
        "charon, aes256gcm16-prfsha256-x25519, aes256gcm16",
        "keel, aes128-sha256-modp2048, aes128-sha256",
        "charon, aes128-sha256-modp2048, aes128-sha256"})
    void certificateAuthenticationComesUpAndCarriesTraffic(String initiator, String ike, String esp) throws Exception {
        SystemTests.assumeTool("openssl");
        boolean keelInitiates = initiator.equals("keel");
        Path pki = Files.createDirectories(work.resolve("pki"));
        TestPki.createCa(pki);
        TestPki.createLeaf(pki, "gw-a.keel.test");
        TestPki.createLeaf(pki, "gw-b.keel.test");
        try (NetnsTopology topo = NetnsTopology.create()) {
            ConnectionSpec keelSpec = ConnectionSpec.psk(topo.a(), topo.b(), PSK, ike, esp)
                    .withAuth(new PeerAuth.Certificates(pki.resolve("gw-a.keel.test.crt"),
                            pki.resolve("gw-a.keel.test.key"), List.of(pki.resolve("ca.crt"))))
                    .withStartAction(keelInitiates ? "start" : "none");
            ConnectionSpec charonSpec = ConnectionSpec.psk(topo.b(), topo.a(), PSK, ike, esp)
                    .withAuth(new PeerAuth.Certificates(pki.resolve("gw-b.keel.test.crt"),
                            pki.resolve("gw-b.keel.test.key"), List.of(pki.resolve("ca.crt"))));
            try (StrongSwanPeer charon = StrongSwanPeer.start(topo.b().gatewayNamespace(), work.resolve("charon"),
                    charonSpec);
                    KeelGatewayProcess keel = KeelGatewayProcess.start(topo, topo.a(), keelSpec, work.resolve("keel"))) {
                withLogs(charon, keel, () -> {
                    if (!keelInitiates) {
                        charon.initiate(WAIT).requireOk();
                    }
                    charon.awaitSas(l -> l.size() == 1
                            && l.getFirst().child("net").filter(c -> c.state().equals("INSTALLED")).isPresent(), WAIT);
                    // charon checked Keel's RFC 7427 signature against Keel's certificate and its CA
                    assertThat(charon.log()).contains("authentication of 'gw-a.keel.test' with ECDSA_WITH_SHA256_DER successful");
                    keel.awaitLog("usable in the data plane", WAIT); // SAD install, watch, first lease
                    topo.exec(topo.a().hostNamespace(), WAIT, "ping", "-c", "2", "-i", "0.2", "-W", "2",
                            topo.b().hostAddress()).requireOk();
                });
            }
        }
    }

    @ParameterizedTest(name = "{0}, {1} initiates")
    @CsvSource(delimiter = ';', value = {
        "wrong PSK; charon; received AUTHENTICATION_FAILED notify error; shared-key AUTH does not verify",
        "wrong PSK; keel; N(AUTH_FAILED); peer answered IKE_AUTH with AUTHENTICATION_FAILED",
        "IKE proposal mismatch; charon; received NO_PROPOSAL_CHOSEN notify error; no acceptable IKE proposal",
        "IKE proposal mismatch; keel; N(NO_PROP); peer answered IKE_SA_INIT with NO_PROPOSAL_CHOSEN",
        "traffic selector mismatch; charon; received TS_UNACCEPTABLE notify; CHILD_SA refused with TS_UNACCEPTABLE"})
    void mismatchFailsWithTheRightNotifyOnBothSidesAndLeavesNoHalfOpenState(String mismatch, String initiator,
            String charonSays, String keelSays) throws Exception {
        boolean keelInitiates = initiator.equals("keel");
        String ike = "aes256gcm16-prfsha256-x25519";
        String esp = "aes256gcm16";
        try (NetnsTopology topo = NetnsTopology.create()) {
            ConnectionSpec keelSpec = ConnectionSpec.psk(topo.a(), topo.b(), PSK, ike, esp)
                    .withStartAction(keelInitiates ? "start" : "none");
            keelSpec = switch (mismatch) {
                case "wrong PSK" -> keelSpec.withAuth(new PeerAuth.Psk("not-" + PSK));
                case "IKE proposal mismatch" -> keelSpec.withProposals("aes128-sha256-modp2048", esp);
                default -> keelSpec.withModeAndSelectors("tunnel", keelSpec.localTs(), List.of("10.9.0.0/24"));
            };
            try (StrongSwanPeer charon = StrongSwanPeer.start(topo.b().gatewayNamespace(), work.resolve("charon"),
                    ConnectionSpec.psk(topo.b(), topo.a(), PSK, ike, esp));
                    KeelGatewayProcess keel = KeelGatewayProcess.start(topo, topo.a(), keelSpec, work.resolve("keel"))) {
                withLogs(charon, keel, () -> {
                    if (!keelInitiates) {
                        assertThat(charon.initiate(WAIT).ok()).as("charon's initiate fails").isFalse();
                    }
                    keel.awaitLog(keelSays, WAIT);
                    long deadline = System.nanoTime() + WAIT.toNanos();
                    while (!charon.log().contains(charonSays)) {
                        assertThat(System.nanoTime()).as("charon logs '%s'", charonSays).isLessThan(deadline);
                        Thread.sleep(50);
                    }
                    // no half-open state: charon has no IKE SA stuck in CONNECTING and no CHILD SA
                    List<SwanctlSas.IkeSa> left = charon.awaitSas(l -> l.stream().allMatch(
                            sa -> sa.state().equals("ESTABLISHED")), WAIT);
                    assertThat(left).allSatisfy(sa -> assertThat(sa.child("net")).isEmpty());
                    if (!mismatch.equals("traffic selector mismatch")) {
                        assertThat(left).as("IKE SAs left on charon").isEmpty();
                        keel.awaitLog("destroyed", WAIT);
                    }
                    assertThat(keel.log()).doesNotContain("CHILD_SA ChildSa");
                });
            }
        }
    }

    private Process startCapture(NetnsTopology topo, Path pcap) throws IOException, InterruptedException {
        Path log = work.resolve("tshark-capture.log");
        Process p = topo.startInBackground(topo.a().gatewayNamespace(), log, Tshark.assumeInstalled().executable().toString(),
                "-n", "-i", "outer", "-f", "udp", "-w", pcap.toString());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.readString(log).contains("Capturing on")) {
            assertThat(System.nanoTime()).as("tshark started capturing").isLessThan(deadline);
            Thread.sleep(50);
        }
        return p;
    }

    private static long count(Path pcap, List<String> prefs, String filter) {
        List<String> args = new ArrayList<>(List.of("-n", "-r", pcap.toString()));
        for (String p : prefs) {
            args.addAll(List.of("-o", p));
        }
        args.addAll(List.of("-Y", filter, "-T", "fields", "-e", "frame.number"));
        String out = Tshark.assumeInstalled().run(args, Duration.ofSeconds(60)).requireSuccess().stdout();
        return out.lines().filter(l -> !l.isBlank()).count();
    }

    interface Body {
        void run() throws Exception;
    }

    private static void withLogs(StrongSwanPeer charon, KeelGatewayProcess keel, Body body) throws Exception {
        try {
            body.run();
        } catch (AssertionError | IOException e) {
            AssertionError withLogs = new AssertionError(e.getMessage() + "\n--- charon log ---\n" + charon.log()
                    + "\n--- Keel log ---\n" + keel.log(), e);
            throw withLogs;
        }
    }
}
