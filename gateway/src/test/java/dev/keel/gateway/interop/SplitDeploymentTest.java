package dev.keel.gateway.interop;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.proposal.EncryptionAlgorithm;
import dev.keel.core.transform.EncryptionTransform;
import dev.keel.core.transform.IntegrityTransform;
import dev.keel.core.transform.KeyExchangeTransform;
import dev.keel.core.transform.PrfTransform;
import dev.keel.esp.export.EspSaKeys;
import dev.keel.esp.export.EspSaTable;
import dev.keel.esp.wire.SystemTests;
import dev.keel.esp.wire.Tshark;
import dev.keel.ike.crypto.IkeSuite;
import dev.keel.ike.export.IkeDecryptionTable;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Keel's services apart carry a real tunnel to strongSwan (issue 12): in site A's gateway
 * namespace two sad-service members, policy-service, ike-service and an esp-worker each run as
 * their own JVM ({@link SplitDeployment}); charon (kernel-libipsec, {@code encap = yes}) is site
 * B. IKE reaches ike-service only through the worker's UDP 500 and 4500 and the IKE relay; the
 * CHILD SAs reach the worker only through the SAD. Both directions of initiation, PSK and ECDSA
 * certificates; pings and an iperf3 transfer between the protected subnets; then the control
 * plane is killed under traffic: {@code kill -9} of ike-service loses no ping, of the SAD member
 * the worker and ike-service use at most a second of them; the restarted ike-service takes its
 * IKE SA over from the SAD and answers charon's CHILD SA and IKE SA rekeys.
 * tshark decrypts the captured IKE_AUTH and pings with the keys charon logged ({@link CharonKeyLog}).
 */
@Timeout(300)
class SplitDeploymentTest {

    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final String PSK = "keel-split-psk-0123456789";
    private static final String IKE = "aes256gcm16-prfsha256-x25519";
    private static final String ESP = "aes256gcm16";

    @TempDir
    Path work;

    @BeforeEach
    void requireTools() {
        StrongSwanPeer.assumeAvailable();
        SystemTests.assumeTool("iperf3");
        SystemTests.assumeTool("ping");
        Tshark.assumeInstalled();
    }

    @ParameterizedTest(name = "{0} initiates, {1}")
    @CsvSource({"charon, psk", "keel, certificates", "trap, psk"})
    void theServicesApartCarryATunnelAndSurviveLosingTheControlPlane(String initiator, String auth) throws Exception {
        boolean trap = initiator.equals("trap"); // host A's first packet: an acquire from the worker
        boolean keelInitiates = !initiator.equals("charon");
        try (NetnsTopology topo = NetnsTopology.create()) {
            ConnectionSpec keelSpec = ConnectionSpec.psk(topo.a(), topo.b(), PSK, IKE, ESP)
                    .withStartAction(trap ? "trap" : keelInitiates ? "start" : "none");
            ConnectionSpec charonSpec = ConnectionSpec.psk(topo.b(), topo.a(), PSK, IKE, ESP);
            if (auth.equals("certificates")) {
                SystemTests.assumeTool("openssl");
                Path pki = Files.createDirectories(work.resolve("pki"));
                TestPki.createCa(pki);
                TestPki.createLeaf(pki, "gw-a.keel.test");
                TestPki.createLeaf(pki, "gw-b.keel.test");
                keelSpec = keelSpec.withAuth(certificates(pki, "gw-a.keel.test"));
                charonSpec = charonSpec.withAuth(certificates(pki, "gw-b.keel.test"));
            }
            Path pcap = work.resolve("outer.pcap");
            Process capture = KeelStrongSwanInteropTest.startCapture(topo, pcap);
            boolean charonInitiated = !keelInitiates;
            try (StrongSwanPeer charon = StrongSwanPeer.start(topo.b().gatewayNamespace(), work.resolve("charon"),
                    charonSpec, CharonOptions.defaults().withLogLevel("ike", 4).withLogLevel("chd", 4));
                    SplitDeployment keel = SplitDeployment.start(topo.a(), keelSpec, work.resolve("keel"))) {
                withLogs(charon, keel, () -> {
                    keel.startWorker("sad-a", "keel0");
                    keel.startIkeService("sad-a").awaitLog("worker sad-a attached", WAIT); // its relay backs off
                    if (!keelInitiates) {
                        charon.initiate(WAIT).requireOk();
                    }
                    if (trap) {
                        awaitFirstPing(topo);
                        assertThat(keel.service("ike-service").log()).as("ike-service initiated on the worker's acquire")
                                .contains("acquire tunnel/net");
                    }
                    SwanctlSas.ChildSa child = awaitTunnel(charon);
                    assertPingsOnANewSa(topo);
                    long bytes = CharonPairTest.iperf3(topo);
                    if (bytes <= 100_000) {
                        // Seen once in about ten runs: TCP's first ACKs held back on the fresh SA while its replay
                        // margin grew one checkpoint round trip (to the sad-service JVM) at a time
                        // (CHECKPOINT_BEHIND; docs/ha.md, "Sizing the margin"), and TCP backed off. Once more.
                        System.out.printf("SplitDeploymentTest: iperf3 got %d bytes in 2 s; again%n", bytes);
                        bytes = CharonPairTest.iperf3(topo);
                    }
                    assertThat(bytes).as("bytes iperf3's receiver got in 2 s").isGreaterThan(100_000);

                    // The control plane goes; the data plane keeps the tunnel (its SAs are the worker's).
                    keel.service("ike-service").kill();
                    CharonPairTest.assertEveryPingAnswered(topo, 10);
                    // The member the worker calls and watches: its replay checkpoints and sequence leases
                    // wait while the other member takes its partitions over (docs/gateway.md).
                    keel.service("sad-b").kill();
                    int answered = CharonPairTest.pingsAnswered(topo, 20);
                    System.out.printf("SplitDeploymentTest: %d of 20 pings answered after kill -9 of sad-b%n", answered);
                    assertThat(answered).as("pings answered of 20 (0.2 s apart) after kill -9 of a SAD member")
                            .isGreaterThanOrEqualTo(15);
                    CharonPairTest.assertEveryPingAnswered(topo, 10);

                    // ike-service comes back and takes its IKE SA over from the SAD: charon's rekeys work.
                    keel.startIkeService("sad-a").awaitLog("taken over from another node", WAIT);
                    keel.service("ike-service").awaitLog("worker sad-a attached", WAIT);
                    SwanctlSas.IkeSa before = CharonPairTest.single(charon.listSas());
                    assertThat(before.child("net").orElseThrow().spiIn()).as("the same CHILD SA until now")
                            .isEqualTo(child.spiIn());
                    charon.swanctl(WAIT, "--rekey", "--child", "net").requireOk();
                    SwanctlSas.ChildSa rekeyed = charon.awaitSas(s -> s.size() == 1 && s.getFirst().child("net")
                            .filter(c -> c.state().equals("INSTALLED") && !c.spiIn().equals(child.spiIn())).isPresent(),
                            WAIT).getFirst().child("net").orElseThrow();
                    assertPingsOnANewSa(topo); // the worker takes the new CHILD SA from the SAD's Watch stream
                    charon.swanctl(WAIT, "--rekey", "--ike", "tunnel").requireOk();
                    SwanctlSas.IkeSa after = charon.awaitSas(s -> s.size() == 1 && s.getFirst().state()
                            .equals("ESTABLISHED") && !s.getFirst().initiatorSpi().equals(before.initiatorSpi()), WAIT)
                            .getFirst();
                    assertThat(after.child("net").orElseThrow().spiIn()).as("the CHILD SA moved to the new IKE SA")
                            .isEqualTo(rekeyed.spiIn());
                    CharonPairTest.assertEveryPingAnswered(topo, 5);

                    capture.destroy();
                    capture.waitFor(10, TimeUnit.SECONDS);
                    List<String> prefs = charonKeys(charon.log(), before, child, topo, charonInitiated);
                    assertThat(KeelStrongSwanInteropTest.count(pcap, List.of(), "isakmp.exchangetype == 34"))
                            .as("IKE_SA_INIT messages in the whole run: one exchange, no new IKE SA")
                            .isEqualTo(2);
                    assertThat(KeelStrongSwanInteropTest.count(pcap, prefs,
                            "isakmp.exchangetype == 35 && isakmp.auth.method"))
                            .as("IKE_AUTH messages (through the worker's port and the relay) tshark decrypted")
                            .isGreaterThanOrEqualTo(2);
                    assertThat(KeelStrongSwanInteropTest.count(pcap, prefs, "esp && icmp.type == 8"))
                            .as("echo requests the worker encrypted, decrypted").isGreaterThanOrEqualTo(35);
                    assertThat(KeelStrongSwanInteropTest.count(pcap, prefs, "esp && icmp.type == 0"))
                            .as("echo replies to the worker, decrypted").isGreaterThanOrEqualTo(35);
                });
            } finally {
                capture.destroy();
                capture.waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    /**
     * tshark's key tables from the keys charon logged (its first IKE SA and CHILD SA), so the
     * capture is decrypted with keys Keel did not write: RFC 7296 §2.17, the initiator's keys
     * protect what the initiator sends, under the SPI the responder chose.
     */
    private static List<String> charonKeys(String charonLog, SwanctlSas.IkeSa ike, SwanctlSas.ChildSa child,
            NetnsTopology topo, boolean charonInitiated) {
        Map<String, List<byte[]>> dumps = CharonKeyLog.dumps(charonLog);
        byte[] initiatorKey = CharonKeyLog.first(dumps, "encryption initiator key");
        byte[] responderKey = CharonKeyLog.first(dumps, "encryption responder key");
        InetAddress keel = InetAddress.ofLiteral(topo.a().outerAddress());
        InetAddress charon = InetAddress.ofLiteral(topo.b().outerAddress());
        EspSaKeys keelToCharon = new EspSaKeys(keel, charon, (int) Long.parseLong(child.spiIn(), 16),
                EncryptionTransform.AES_GCM_16, charonInitiated ? responderKey : initiatorKey, IntegrityTransform.NONE,
                new byte[0]);
        EspSaKeys charonToKeel = new EspSaKeys(charon, keel, (int) Long.parseLong(child.spiOut(), 16),
                EncryptionTransform.AES_GCM_16, charonInitiated ? initiatorKey : responderKey, IntegrityTransform.NONE,
                new byte[0]);
        IkeDecryptionTable.Row row = new IkeDecryptionTable.Row(Long.parseUnsignedLong(ike.initiatorSpi(), 16),
                Long.parseUnsignedLong(ike.responderSpi(), 16), new IkeSuite(new EncryptionAlgorithm(
                        EncryptionTransform.AES_GCM_16, 256), IntegrityTransform.NONE, PrfTransform.HMAC_SHA2_256,
                        KeyExchangeTransform.CURVE25519), CharonKeyLog.first(dumps, "Sk_ei secret"),
                CharonKeyLog.first(dumps, "Sk_er secret"), new byte[0], new byte[0]);
        return List.of(EspSaTable.tsharkOption(keelToCharon), EspSaTable.tsharkOption(charonToKeel),
                IkeDecryptionTable.tsharkOption(row), "esp.enable_encryption_decode:TRUE",
                "esp.enable_authentication_check:TRUE");
    }

    /**
     * Two esp-worker processes share the gateway's address (one SO_REUSEPORT group for UDP 500
     * and 4500); the kernel's hash sends charon's packets to one of them, whose node then owns
     * the CHILD SAs. Twice the worker that carries the tunnel (its TUN's counters move) is killed
     * ({@code kill -9}) and restarted after: host A's pings reach the survivor first, whose outbound
     * miss (an acquire through the relay) claims the CHILD SAs for its node, without a new IKE SA
     * or CHILD SA, and pings both ways keep being answered.
     */
    @org.junit.jupiter.api.Test
    void twoWorkersShareTheAddressAndEachTakesOverWhenTheOtherIsKilled() throws Exception {
        try (NetnsTopology topo = NetnsTopology.create()) {
            ConnectionSpec keelSpec = ConnectionSpec.psk(topo.a(), topo.b(), PSK, IKE, ESP);
            try (StrongSwanPeer charon = StrongSwanPeer.start(topo.b().gatewayNamespace(), work.resolve("charon"),
                    ConnectionSpec.psk(topo.b(), topo.a(), PSK, IKE, ESP));
                    SplitDeployment keel = SplitDeployment.start(topo.a(), keelSpec, work.resolve("keel"))) {
                withLogs(charon, keel, () -> {
                    keel.startWorker("sad-a", "keel0");
                    keel.startWorker("sad-b", "keel1");
                    ServiceProcess ike = keel.startIkeService(null);
                    ike.awaitLog("worker sad-a attached", WAIT);
                    ike.awaitLog("worker sad-b attached", WAIT);
                    charon.initiate(WAIT).requireOk();
                    SwanctlSas.ChildSa child = awaitTunnel(charon);
                    assertPingsOnANewSa(topo);
                    Map<String, String> tuns = Map.of("sad-a", "keel0", "sad-b", "keel1");
                    Map<String, Integer> started = new java.util.HashMap<>(Map.of("sad-a", 1, "sad-b", 1));
                    for (int kill = 1; kill <= 2; kill++) {
                        String carrier = carrier(topo, tuns);
                        int claims = occurrences(ike.log(), "from node '" + carrier + "'");
                        keel.service("esp-worker " + carrier).kill();
                        // host A first: the LAN's packets reach the survivor (its route) before charon's ESP does,
                        // and its outbound miss claims the CHILD SAs through the relay (an acquire)
                        int fromA = CharonPairTest.pingsAnswered(topo, 20);
                        int fromB = CharonPairTest.pingsAnswered(topo, topo.b(), topo.a(), 20);
                        System.out.printf("SplitDeploymentTest: after kill -9 of worker %s (the carrier): %d of 20"
                                + " pings from host A answered, then %d of 20 from host B%n", carrier, fromA, fromB);
                        ike.log().lines().filter(l -> l.contains("claimed CHILD SA") && l.contains("'" + carrier + "'"))
                                .forEach(l -> System.out.println("SplitDeploymentTest: ike-service: " + l));
                        // lost: the first request (its acquire claims, ~130 ms), then charon's replies below the
                        // survivor's replay floor, the last checkpoint plus its margin (docs/ha.md, "Sizing the margin")
                        assertThat(fromA).as("pings from host A answered of 20 after kill -9 of worker " + carrier)
                                .isGreaterThanOrEqualTo(12);
                        assertThat(fromB).as("pings from host B answered of 20 after that").isGreaterThanOrEqualTo(18);
                        assertThat(occurrences(ike.log(), "from node '" + carrier + "'"))
                                .as("the survivor claimed the CHILD SA from the killed worker's node").isGreaterThan(claims);
                        keel.startWorker(carrier, tuns.get(carrier));
                        ike.awaitLog("worker " + carrier + " attached", started.merge(carrier, 1, Integer::sum), WAIT);
                        // the group grew: the kernel may hash charon to the restarted worker, which claims back
                        assertPingsOnANewSa(topo);
                    }
                    SwanctlSas.IkeSa after = CharonPairTest.single(charon.listSas());
                    assertThat(after.child("net").orElseThrow().spiIn()).as("the same CHILD SA all along")
                            .isEqualTo(child.spiIn());
                    assertThat(charon.log()).as("charon set up one IKE SA, no CHILD SA rekey")
                            .containsOnlyOnce("initiating IKE_SA").doesNotContain("CREATE_CHILD_SA");
                });
            }
        }
    }

    /**
     * The worker whose TUN interface carries the tunnel now: the one whose packet counters move
     * while host A pings host B (each worker routes the remote selectors of the SAs it owns at the
     * owner's metric).
     */
    private static String carrier(NetnsTopology topo, Map<String, String> tuns) throws IOException {
        Map<String, Long> before = new java.util.HashMap<>();
        for (var e : tuns.entrySet()) {
            before.put(e.getKey(), tunPackets(topo, e.getValue()));
        }
        assertThat(CharonPairTest.pingsAnswered(topo, 5)).as("pings answered of 5").isGreaterThanOrEqualTo(4);
        List<String> moved = tuns.entrySet().stream().filter(e -> {
            try {
                return tunPackets(topo, e.getValue()) >= before.get(e.getKey()) + 8;
            } catch (IOException x) {
                throw new java.io.UncheckedIOException(x);
            }
        }).map(Map.Entry::getKey).toList();
        assertThat(moved).as("the one worker whose TUN carried the pings both ways").hasSize(1);
        return moved.getFirst();
    }

    /** Packets through TUN {@code tun} in site A's gateway namespace, both directions. */
    private static long tunPackets(NetnsTopology topo, String tun) throws IOException {
        String out = topo.exec(topo.a().gatewayNamespace(), Duration.ofSeconds(5), "cat",
                "/sys/class/net/" + tun + "/statistics/rx_packets", "/sys/class/net/" + tun + "/statistics/tx_packets")
                .requireOk().output();
        return out.lines().filter(l -> !l.isBlank()).mapToLong(l -> Long.parseLong(l.strip())).sum();
    }

    private static int occurrences(String text, String what) {
        int n = 0;
        for (int i = text.indexOf(what); i >= 0; i = text.indexOf(what, i + what.length())) {
            n++;
        }
        return n;
    }

    private static PeerAuth.Certificates certificates(Path pki, String name) {
        return new PeerAuth.Certificates(pki.resolve(name + ".crt"), pki.resolve(name + ".key"),
                List.of(pki.resolve("ca.crt")));
    }

    /** Waits until charon has the IKE SA established with its one CHILD SA installed; returns it. */
    private static SwanctlSas.ChildSa awaitTunnel(StrongSwanPeer charon) throws IOException, InterruptedException {
        List<SwanctlSas.IkeSa> sas = charon.awaitSas(s -> s.size() == 1 && s.getFirst().state().equals("ESTABLISHED")
                && s.getFirst().child("net").filter(c -> c.state().equals("INSTALLED")).isPresent(), WAIT);
        return sas.getFirst().child("net").orElseThrow();
    }

    /**
     * Pings once a second until one is answered, then 10 at 0.2 s of which one may be lost: a CHILD
     * SA new at a worker (installed, rekeyed or claimed) starts with the margin of its first
     * packets, and a flow that speeds up grows it one replay checkpoint round trip at a time, so
     * a late answer holds back one packet (CHECKPOINT_BEHIND; docs/ha.md, "Sizing the margin").
     */
    private static void assertPingsOnANewSa(NetnsTopology topo) throws IOException, InterruptedException {
        awaitFirstPing(topo);
        assertThat(CharonPairTest.pingsAnswered(topo, 10)).as("pings answered of 10 on a new CHILD SA")
                .isGreaterThanOrEqualTo(9);
    }

    /**
     * Pings once a second until one is answered (bounded): the worker picks the CHILD SA up from
     * the SAD's Watch stream a moment after charon installed it.
     */
    private static void awaitFirstPing(NetnsTopology topo) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!topo.exec(topo.a().hostNamespace(), Duration.ofSeconds(5), "ping", "-n", "-c", "1", "-W", "1",
                topo.b().hostAddress()).ok()) {
            assertThat(System.nanoTime()).as("a ping answered within " + WAIT).isLessThan(deadline);
        }
    }

    private static void withLogs(StrongSwanPeer charon, SplitDeployment keel, CharonPairTest.Body body)
            throws Exception {
        try {
            body.run();
        } catch (AssertionError | IOException e) {
            keel.close(); // each service prints its counters as it stops
            String charonLog = charon.log();
            throw new AssertionError(e.getMessage() + "\n--- charon log ---\n"
                    + charonLog.substring(Math.max(0, charonLog.length() - 8_000)) + "\n--- Keel's services ---\n"
                    + keel.logs(), e);
        }
    }
}
