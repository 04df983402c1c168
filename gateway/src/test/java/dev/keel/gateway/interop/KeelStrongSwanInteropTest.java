package dev.keel.gateway.interop;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.esp.wire.SystemTests;
import dev.keel.esp.wire.Tshark;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Keel against strongSwan (charon 5.9 with kernel-libipsec, {@code encap = yes}) across
 * {@link NetnsTopology}: Keel in site A's gateway namespace with a TUN interface, charon in
 * site B's. Both directions of initiation, both required suites: the tunnel comes up with the
 * configured proposals and the same SPIs on both sides, every ping and an iperf3 TCP transfer
 * pass between the protected subnets, charon's counters show the traffic went through the CHILD
 * SA, and tshark decrypts the IKE_AUTH exchange and the pings with nothing but the keys Keel
 * exported. Failures (wrong PSK, mismatched proposals or selectors, a bad certificate from
 * charon) end with the right notify on both sides and no CHILD SA.
 */
@Timeout(120)
class KeelStrongSwanInteropTest {

    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final String PSK = "keel-interop-psk-0123456"; // at least 20 bytes (ConfigLoader.MIN_PSK_BYTES)
    /** Pings per tunnel; every one must be answered. */
    private static final int PINGS = 3;

    /** Configurations, logs and charon's files; JUnit removes it, also after a failure. */
    @TempDir
    Path work;

    @BeforeEach
    void requireTools() throws IOException {
        StrongSwanPeer.assumeAvailable();
        SystemTests.assumeTool("iperf3");
        SystemTests.assumeTool("ping");
        Tshark.assumeInstalled();
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
                    SwanctlSas.ChildSa child = assertTunnelUp(charon, keel, topo, keelInitiates, expectedIke,
                            expectedEsp);
                    awaitUsableIfKeelInitiated(keel, keelInitiates);
                    CharonPairTest.assertEveryPingAnswered(topo, PINGS);
                    long bytes = CharonPairTest.iperf3(topo);
                    assertThat(bytes).as("bytes iperf3's receiver got in 2 s").isGreaterThan(100_000);
                    SwanctlSas.ChildSa after = CharonPairTest.single(charon.listSas()).child("net").orElseThrow();
                    assertThat(after.spiIn()).as("still the same CHILD SA").isEqualTo(child.spiIn());
                    assertThat(after.packetsIn()).as("charon's CHILD SA carried the pings").isGreaterThan(PINGS);
                    assertThat(after.bytesIn()).as("charon's CHILD SA carried the transfer").isGreaterThan(bytes);
                });
            } finally {
                capture.destroy();
                capture.waitFor(10, TimeUnit.SECONDS);
            }
            // tshark decrypts IKE_AUTH (and the ESP) with only the keys Keel exported
            List<String> prefs = KeelGatewayProcess.tsharkPreferences(work.resolve("keel").resolve("keys"));
            assertThat(count(pcap, prefs, "isakmp.exchangetype == 35 && isakmp.auth.method"))
                    .as("IKE_AUTH messages tshark decrypted (AUTH payload visible)").isGreaterThanOrEqualTo(2);
            assertThat(count(pcap, prefs, "isakmp.exchangetype == 35 && isakmp.ts.type"))
                    .as("TSi/TSr visible in decrypted IKE_AUTH").isGreaterThanOrEqualTo(2);
            assertThat(count(pcap, prefs, "esp && icmp.type == 8")).as("decrypted echo requests").isEqualTo(PINGS);
            assertThat(count(pcap, prefs, "esp && icmp.type == 0")).as("decrypted echo replies").isEqualTo(PINGS);
        }
    }

    @ParameterizedTest(name = "ECDSA certificates, {0} initiates, {1} / ESP {2}")
    @CsvSource(delimiter = ';', value = {
        "keel; aes256gcm16-prfsha256-x25519; aes256gcm16; AES_GCM_16-256/PRF_HMAC_SHA2_256/CURVE_25519; AES_GCM_16-256",
        "charon; aes256gcm16-prfsha256-x25519; aes256gcm16; AES_GCM_16-256/PRF_HMAC_SHA2_256/CURVE_25519; AES_GCM_16-256",
        "keel; aes128-sha256-modp2048; aes128-sha256; AES_CBC-128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048;"
                + " AES_CBC-128/HMAC_SHA2_256_128",
        "charon; aes128-sha256-modp2048; aes128-sha256; AES_CBC-128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048;"
                + " AES_CBC-128/HMAC_SHA2_256_128"})
    void certificateAuthenticationComesUpAndCarriesTraffic(String initiator, String ike, String esp, String expectedIke,
            String expectedEsp) throws Exception {
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
                    assertTunnelUp(charon, keel, topo, keelInitiates, expectedIke, expectedEsp);
                    // charon checked Keel's RFC 7427 signature against Keel's certificate and its CA
                    assertThat(charon.log()).contains("authentication of 'gw-a.keel.test' with ECDSA_WITH_SHA256_DER successful");
                    awaitUsableIfKeelInitiated(keel, keelInitiates);
                    CharonPairTest.assertEveryPingAnswered(topo, PINGS);
                });
            }
        }
    }

    /**
     * IKE SA rekey by time (swanctl's rekey_time; RFC 7296 §2.18): charon initiates, Keel's
     * connection has {@code rekey_time: 5s} (charon keeps its 4 h), so Keel rekeys the IKE SA by
     * itself after 4 to 5 s. charon's {@code swanctl --list-sas} then shows one IKE SA with new
     * SPIs that Keel initiated, Keel exported the keys of that same IKE SA, and the CHILD SA, moved
     * to it unchanged, still carries every ping.
     */
    @Test
    void keelRekeysTheIkeSaAtItsRekeyTimeAndTheChildSaKeepsCarryingTraffic() throws Exception {
        String ike = "aes256gcm16-prfsha256-x25519";
        try (NetnsTopology topo = NetnsTopology.create()) {
            ConnectionSpec keelSpec = ConnectionSpec.psk(topo.a(), topo.b(), PSK, ike, "aes256gcm16");
            try (StrongSwanPeer charon = StrongSwanPeer.start(topo.b().gatewayNamespace(), work.resolve("charon"),
                    ConnectionSpec.psk(topo.b(), topo.a(), PSK, ike, "aes256gcm16"));
                    KeelGatewayProcess keel = KeelGatewayProcess.start(topo.a(), work.resolve("keel"),
                            policy -> policy.replace("    proposals: ",
                                    "    rekey_time: 5s\n    over_time: 30s\n    rand_time: 1s\n    proposals: "),
                            keelSpec)) {
                withLogs(charon, keel, () -> {
                    charon.initiate(WAIT).requireOk();
                    SwanctlSas.ChildSa child = assertTunnelUp(charon, keel, topo, false,
                            "AES_GCM_16-256/PRF_HMAC_SHA2_256/CURVE_25519", "AES_GCM_16-256");
                    SwanctlSas.IkeSa first = CharonPairTest.single(charon.listSas());
                    CharonPairTest.assertEveryPingAnswered(topo, PINGS);

                    List<SwanctlSas.IkeSa> sas = charon.awaitSas(l -> l.size() == 1
                            && !l.getFirst().initiatorSpi().equals(first.initiatorSpi())
                            && l.getFirst().child("net").filter(c -> c.state().equals("INSTALLED")).isPresent(), WAIT);
                    SwanctlSas.IkeSa rekeyed = CharonPairTest.single(sas);
                    assertThat(rekeyed.state()).isEqualTo("ESTABLISHED");
                    assertThat(rekeyed.responderSpi()).isNotEqualTo(first.responderSpi());
                    assertThat(rekeyed.initiator()).as("Keel initiated the rekey, charon answered").isFalse();
                    assertThat(rekeyed.proposal()).isEqualTo("AES_GCM_16-256/PRF_HMAC_SHA2_256/CURVE_25519");
                    assertThat(charon.log()).contains("rekeyed");
                    List<String> ikeKeys = awaitExported(keel.keys().resolve("ikev2_decryption_table"), 2);
                    assertThat(ikeKeys.get(1).split(",", 3)).as("Keel's new IKE SA is charon's")
                            .startsWith(rekeyed.initiatorSpi(), rekeyed.responderSpi());

                    SwanctlSas.ChildSa moved = rekeyed.child("net").orElseThrow();
                    assertThat(moved.spiIn()).as("the same CHILD SA, moved to the new IKE SA").isEqualTo(child.spiIn());
                    assertThat(moved.spiOut()).isEqualTo(child.spiOut());
                    CharonPairTest.assertEveryPingAnswered(topo, PINGS);
                    SwanctlSas.ChildSa after = CharonPairTest.single(charon.listSas()).child("net").orElseThrow();
                    assertThat(after.packetsIn()).as("charon's CHILD SA carried the pings before and after")
                            .isGreaterThanOrEqualTo(2L * PINGS);
                    assertThat(keel.log()).contains("rekeying, rekey_time reached");
                });
            }
        }
    }

    /**
     * DESIGN §4, install before use: when charon initiated, Keel's IKE_AUTH response left only once
     * the CHILD SA was in the SAD and in Keel's data plane, so the pings go at once and every one
     * must come back. When Keel initiated, charon may send before Keel has installed the SA it
     * just learned of (an initiator cannot install before the response names the SPI and
     * proposal), so the test waits for Keel's data plane as an operator's first packet would not.
     */
    private static void awaitUsableIfKeelInitiated(KeelGatewayProcess keel, boolean keelInitiates) throws Exception {
        if (keelInitiates) {
            keel.awaitLog("usable in the data plane", WAIT); // SAD install, watch, first lease
        }
    }

    /**
     * charon presents a certificate Keel must not accept (RFC 7296 §2.15: the peer's AUTH is
     * verified against a certificate the local policy trusts; RFC 5280 §6: the path must end at a
     * trust anchor and every certificate be within its validity): issued by a CA Keel does not
     * trust, by a look-alike CA with the trusted CA's name but another key, or expired. Keel's
     * own certificate is good, so only Keel refuses: as responder it answers IKE_AUTH with
     * AUTHENTICATION_FAILED alone (RFC 7296 §2.21.2), as initiator it rejects charon's IKE_AUTH
     * response and tells charon with AUTHENTICATION_FAILED and a Delete. Either way no CHILD SA
     * is left on either side and Keel reports the failure.
     */
    @ParameterizedTest(name = "{0}, {1} initiates")
    @CsvSource(delimiter = ';', value = {
        "issued by an untrusted CA; charon; certificate chain rejected: NO_TRUST_ANCHOR;"
                + " received AUTHENTICATION_FAILED notify error",
        "issued by an untrusted CA; keel; certificate chain rejected: NO_TRUST_ANCHOR;"
                + " parsed INFORMATIONAL request 2 [ N(AUTH_FAILED) D ]",
        "issued by a look-alike of the trusted CA; charon; certificate chain rejected: NO_TRUST_ANCHOR;"
                + " received AUTHENTICATION_FAILED notify error",
        "expired; keel; certificate chain rejected: EXPIRED; parsed INFORMATIONAL request 2 [ N(AUTH_FAILED) D ]"})
    void keelRefusesABadCertificateFromCharon(String problem, String initiator, String keelSays, String charonSays)
            throws Exception {
        SystemTests.assumeTool("openssl");
        boolean keelInitiates = initiator.equals("keel");
        String ike = "aes256gcm16-prfsha256-x25519";
        String esp = "aes256gcm16";
        Path pki = Files.createDirectories(work.resolve("pki"));
        TestPki.createCa(pki);
        TestPki.createLeaf(pki, "gw-a.keel.test");
        Path charonPki = switch (problem) {
            case "issued by an untrusted CA" -> {
                Path rogue = Files.createDirectories(work.resolve("rogue-pki"));
                TestPki.createCa(rogue, "/O=Rogue test/CN=Rogue test CA");
                TestPki.createLeaf(rogue, "gw-b.keel.test");
                yield rogue;
            }
            case "issued by a look-alike of the trusted CA" -> {
                Path lookAlike = Files.createDirectories(work.resolve("look-alike-pki"));
                TestPki.createCa(lookAlike, TestPki.CA_SUBJECT);
                TestPki.createLeaf(lookAlike, "gw-b.keel.test");
                yield lookAlike;
            }
            case "expired" -> {
                TestPki.createLeaf(pki, "gw-b.keel.test", -1);
                yield pki;
            }
            default -> throw new IllegalArgumentException(problem);
        };
        try (NetnsTopology topo = NetnsTopology.create()) {
            ConnectionSpec keelSpec = ConnectionSpec.psk(topo.a(), topo.b(), PSK, ike, esp)
                    .withAuth(new PeerAuth.Certificates(pki.resolve("gw-a.keel.test.crt"),
                            pki.resolve("gw-a.keel.test.key"), List.of(pki.resolve("ca.crt"))))
                    .withStartAction(keelInitiates ? "start" : "none");
            // charon trusts Keel's CA, so Keel's certificate passes; charon's own is the bad one.
            ConnectionSpec charonSpec = ConnectionSpec.psk(topo.b(), topo.a(), PSK, ike, esp)
                    .withAuth(new PeerAuth.Certificates(charonPki.resolve("gw-b.keel.test.crt"),
                            charonPki.resolve("gw-b.keel.test.key"), List.of(pki.resolve("ca.crt"))));
            try (StrongSwanPeer charon = StrongSwanPeer.start(topo.b().gatewayNamespace(), work.resolve("charon"),
                    charonSpec);
                    KeelGatewayProcess keel = KeelGatewayProcess.start(topo, topo.a(), keelSpec, work.resolve("keel"))) {
                withLogs(charon, keel, () -> {
                    if (!keelInitiates) {
                        assertThat(charon.initiate(WAIT).ok()).as("charon's initiate fails").isFalse();
                    }
                    // Keel's side: one failure event (IkeEvents.failed, which IkeCounters.failed counts with it)
                    // naming the certificate problem, the IKE SA destroyed, no CHILD SA ever established.
                    keel.awaitLog("destroyed: " + keelSays, WAIT);
                    // charon's side: told AUTHENTICATION_FAILED, and no IKE or CHILD SA left
                    long deadline = System.nanoTime() + WAIT.toNanos();
                    while (!charon.log().contains(charonSays)) {
                        assertThat(System.nanoTime()).as("charon logs '%s'", charonSays).isLessThan(deadline);
                        Thread.sleep(50);
                    }
                    assertThat(charon.awaitSas(List::isEmpty, WAIT)).as("SAs left on charon").isEmpty();
                    if (keelInitiates) {
                        // charon accepted Keel and installed its CHILD SA; Keel's Delete took it away
                        assertThat(charon.log()).contains("received DELETE for IKE_SA tunnel[1]");
                    } else {
                        assertThat(charon.log()).doesNotContain("IKE_SA tunnel[1] established")
                                .doesNotContain("CHILD_SA net{1} established");
                    }
                    String keelLog = keel.log();
                    assertThat(Pattern.compile("WARN  \\[ike\\] IKE_SA\\[tunnel"
                            + " \\p{XDigit}{16}_i \\p{XDigit}{16}_r\\]: " + Pattern.quote(keelSays)).matcher(keelLog)
                            .results().count()).as("Keel's failure events").isEqualTo(1);
                    assertThat(keelLog).doesNotContain("CHILD_SA ChildSa").doesNotContain("usable in the data plane")
                            .doesNotContain(" established with ");
                    assertThat(exportedLines(keel.keys().resolve("esp_sa"))).as("CHILD SA keys Keel exported").isEmpty();
                    assertThat(exportedLines(keel.keys().resolve("ikev2_decryption_table")))
                            .as("IKE SA keys Keel exported").isEmpty();
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
                    // No half-open state: only a refused CHILD SA leaves its IKE SA, established and childless
                    // (RFC 7296 §1.2); an IKE SA that failed leaves nothing on charon.
                    boolean ikeSaStays = mismatch.equals("traffic selector mismatch");
                    List<SwanctlSas.IkeSa> left = charon.awaitSas(l -> ikeSaStays
                            ? l.size() == 1 && l.getFirst().state().equals("ESTABLISHED") : l.isEmpty(), WAIT);
                    if (ikeSaStays) {
                        SwanctlSas.IkeSa ikeSa = CharonPairTest.single(left);
                        assertThat(ikeSa.state()).isEqualTo("ESTABLISHED");
                        assertThat(ikeSa.children()).as("CHILD SAs on charon").isEmpty();
                    } else {
                        assertThat(left).as("IKE SAs left on charon").isEmpty();
                        keel.awaitLog("destroyed", WAIT);
                    }
                    assertThat(keel.log()).doesNotContain("CHILD_SA ChildSa").doesNotContain("usable in the data plane");
                    assertThat(exportedLines(keel.keys().resolve("esp_sa"))).as("CHILD SA keys Keel exported").isEmpty();
                });
            }
        }
    }

    /**
     * Waits for charon's view of the tunnel (one IKE SA with an installed CHILD SA "net") and
     * checks it: the negotiated algorithms, who initiated, the identities and selectors, and that
     * its SPIs are the ones Keel negotiated (Keel's exported keys name them): the IKE SPIs, and
     * the CHILD SA's in mirror image (charon's inbound SPI is Keel's outbound one).
     */
    private static SwanctlSas.ChildSa assertTunnelUp(StrongSwanPeer charon, KeelGatewayProcess keel,
            NetnsTopology topo, boolean keelInitiates, String expectedIke, String expectedEsp) throws Exception {
        List<SwanctlSas.IkeSa> sas = charon.awaitSas(l -> l.size() == 1
                && l.getFirst().child("net").filter(c -> c.state().equals("INSTALLED")).isPresent(), WAIT);
        SwanctlSas.IkeSa ikeSa = CharonPairTest.single(sas);
        assertThat(ikeSa.state()).isEqualTo("ESTABLISHED");
        assertThat(ikeSa.initiator()).as("charon initiated").isEqualTo(!keelInitiates);
        assertThat(ikeSa.localId()).isEqualTo("gw-b.keel.test");
        assertThat(ikeSa.remoteId()).isEqualTo("gw-a.keel.test");
        assertThat(ikeSa.proposal()).isEqualTo(expectedIke);
        assertThat(ikeSa.children()).as("CHILD SAs").hasSize(1);
        SwanctlSas.ChildSa child = ikeSa.child("net").orElseThrow();
        assertThat(child.state()).isEqualTo("INSTALLED");
        assertThat(child.mode()).isEqualTo("TUNNEL");
        assertThat(child.protocol()).isEqualTo("ESP");
        assertThat(child.encap()).as("ESP in UDP 4500").isTrue();
        assertThat(child.proposal()).isEqualTo(expectedEsp);
        assertThat(child.localTs()).containsExactly("10.2.0.0/24");
        assertThat(child.remoteTs()).containsExactly("10.1.0.0/24");

        String a = topo.a().outerAddress();
        String b = topo.b().outerAddress();
        List<String> ikeKeys = awaitExported(keel.keys().resolve("ikev2_decryption_table"), 1);
        assertThat(ikeKeys.getFirst().split(",", 3)).as("Keel's IKE SPIs (initiator, responder)")
                .startsWith(ikeSa.initiatorSpi(), ikeSa.responderSpi());
        List<String> espKeys = awaitExported(keel.keys().resolve("esp_sa"), 2);
        assertThat(espKeys.stream().map(KeelStrongSwanInteropTest::espSaFlow).toList())
                .as("Keel's CHILD SA (source -> destination SPI)")
                .containsExactlyInAnyOrder(b + " -> " + a + " 0x" + child.spiOut(), a + " -> " + b + " 0x" + child.spiIn());
        return child;
    }

    /** "source -> destination 0xSPI" of one esp_sa line ("IPv4","src","dst","0xSPI",...). */
    private static String espSaFlow(String line) {
        String[] f = line.split(",");
        return unquote(f[1]) + " -> " + unquote(f[2]) + " " + unquote(f[3]);
    }

    private static String unquote(String field) {
        return field.replace("\"", "");
    }

    /** The lines of a key export file once it has {@code count} (Keel writes them off the event loop). */
    static List<String> awaitExported(Path file, int count) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        List<String> lines = exportedLines(file);
        while (lines.size() < count && System.nanoTime() < deadline) {
            Thread.sleep(50);
            lines = exportedLines(file);
        }
        assertThat(lines).as(file + " lines").hasSize(count);
        return lines;
    }

    private static List<String> exportedLines(Path file) throws IOException {
        return Files.exists(file) ? Files.readAllLines(file).stream().filter(l -> !l.isBlank()).toList() : List.of();
    }

    /** Starts tshark on site A's outer link (UDP only) into {@code pcap}; returns once it captures. */
    static Process startCapture(NetnsTopology topo, Path pcap) throws IOException, InterruptedException {
        Path log = pcap.resolveSibling(pcap.getFileName() + ".log");
        Process p = topo.startInBackground(topo.a().gatewayNamespace(), log, Tshark.assumeInstalled().executable().toString(),
                "-n", "-i", "outer", "-f", "udp", "-w", pcap.toString());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.readString(log).contains("Capturing on")) {
            assertThat(System.nanoTime()).as("tshark started capturing").isLessThan(deadline);
            Thread.sleep(50);
        }
        return p;
    }

    /** Frames of {@code pcap} that match {@code filter} with tshark's preferences {@code prefs} ({@code -o}). */
    static long count(Path pcap, List<String> prefs, String filter) {
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

    static void withLogs(StrongSwanPeer charon, KeelGatewayProcess keel, Body body) throws Exception {
        try {
            body.run();
        } catch (AssertionError | IOException e) {
            AssertionError withLogs = new AssertionError(e.getMessage() + "\n--- charon log ---\n" + charon.log()
                    + "\n--- Keel log ---\n" + keel.log(), e);
            throw withLogs;
        }
    }
}
