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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * IKE fragmentation (RFC 7383) between Keel and strongSwan over a path that drops IPv4
 * fragments ({@link NetnsTopology#dropIpFragments}). Both sides authenticate with RSA-4096
 * certificates under an intermediate CA and send the chain, so each IKE_AUTH message is about
 * 3.5 to 5 KB: it passes only as SKF fragments of at most {@code fragment_size} (1280, both sides'
 * default). Whoever initiates, the tunnel comes up and carries pings, and tshark sees SKF
 * payloads (type 53) from both gateways. With {@code fragmentation: no} on Keel the same
 * exchange fails: the path really drops IP fragments.
 */
@Timeout(180)
class IkeFragmentationInteropTest {

    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final String IKE = "aes256gcm16-prfsha256-x25519";
    private static final String ESP = "aes256gcm16";
    private static final int PINGS = 3;
    private static final String SKF = "isakmp.typepayload == 53";

    @TempDir
    Path work;

    @BeforeEach
    void requireTools() {
        StrongSwanPeer.assumeAvailable();
        SystemTests.assumeTool("openssl");
        SystemTests.assumeTool("iptables");
        SystemTests.assumeTool("ping");
        Tshark.assumeInstalled();
    }

    /** The RSA chain in {@code work/pki}; Keel's side gets its leaf and the intermediate in its own directory. */
    private Path pki() throws IOException {
        Path pki = Files.createDirectories(work.resolve("pki"));
        TestPki.createRsaChain(pki, List.of("gw-a.keel.test", "gw-b.keel.test"));
        return pki;
    }

    private static ConnectionSpec keelSpec(NetnsTopology topo, Path pki, boolean initiates) {
        return ConnectionSpec.psk(topo.a(), topo.b(), "unused-psk-0123456789", IKE, ESP)
                .withAuth(new PeerAuth.Certificates(pki.resolve("gw-a.keel.test.crt"), pki.resolve("gw-a.keel.test.key"),
                        List.of(pki.resolve("ca.crt"))))
                .withStartAction(initiates ? "start" : "none");
    }

    /** charon trusts the root and knows the intermediate (x509ca), which it sends with its own certificate. */
    private static ConnectionSpec charonSpec(NetnsTopology topo, Path pki) {
        return ConnectionSpec.psk(topo.b(), topo.a(), "unused-psk-0123456789", IKE, ESP)
                .withAuth(new PeerAuth.Certificates(pki.resolve("gw-b.keel.test.crt"), pki.resolve("gw-b.keel.test.key"),
                        List.of(pki.resolve("ca.crt"), pki.resolve("mid.crt"))));
    }

    /** Keel sends its leaf and the intermediate (certs: [cert.pem, mid.pem]) and trusts only the root. */
    private static KeelGatewayProcess startKeel(NetnsTopology topo, Path dir, Path pki, ConnectionSpec spec,
            String fragmentation) throws Exception {
        Files.createDirectories(dir);
        Files.copy(pki.resolve("mid.crt"), dir.resolve("mid.pem"));
        return KeelGatewayProcess.start(topo.a(), dir, policy -> {
            String edited = policy.replace("certs: [cert.pem]", "certs: [cert.pem, mid.pem]");
            if (fragmentation != null) {
                edited = edited.replace("    proposals: ", "    fragmentation: " + fragmentation + "\n    proposals: ");
            }
            assertThat(edited).as("policy edited").contains("mid.pem");
            return edited;
        }, spec);
    }

    @ParameterizedTest(name = "{0} initiates")
    @ValueSource(strings = {"keel", "charon"})
    void ikeAuthPassesOnlyInFragmentsAndTheTunnelCarriesTraffic(String initiator) throws Exception {
        boolean keelInitiates = initiator.equals("keel");
        Path pki = pki();
        try (NetnsTopology topo = NetnsTopology.create()) {
            topo.dropIpFragments();
            Path pcap = work.resolve("outer.pcap");
            Process capture = KeelStrongSwanInteropTest.startCapture(topo, pcap);
            try (StrongSwanPeer charon = StrongSwanPeer.start(topo.b().gatewayNamespace(), work.resolve("charon"),
                    charonSpec(topo, pki));
                    KeelGatewayProcess keel = startKeel(topo, work.resolve("keel"), pki, keelSpec(topo, pki, keelInitiates),
                            null)) {
                withLogs(charon, keel, () -> {
                    if (!keelInitiates) {
                        charon.initiate(WAIT).requireOk();
                    }
                    List<SwanctlSas.IkeSa> sas = charon.awaitSas(l -> l.size() == 1 && l.getFirst().child("net")
                            .filter(c -> c.state().equals("INSTALLED")).isPresent(), WAIT);
                    SwanctlSas.IkeSa ikeSa = CharonPairTest.single(sas);
                    assertThat(ikeSa.state()).isEqualTo("ESTABLISHED");
                    assertThat(ikeSa.initiator()).as("charon initiated").isEqualTo(!keelInitiates);
                    assertThat(ikeSa.remoteId()).isEqualTo("gw-a.keel.test");
                    String log = charon.log();
                    // charon checked Keel's RSA signature through the intermediate Keel sent
                    assertThat(log).contains("authentication of 'gw-a.keel.test' with RSA");
                    assertThat(log).containsPattern("received fragment #\\d+ of \\d+, reassembled fragmented IKE message");
                    assertThat(log).containsPattern("splitting IKE message \\(\\d+ bytes\\) into \\d+ fragments");
                    if (keelInitiates) {
                        keel.awaitLog("usable in the data plane", WAIT);
                    }
                    CharonPairTest.assertEveryPingAnswered(topo, PINGS);
                });
            } finally {
                capture.destroy();
                capture.waitFor(10, TimeUnit.SECONDS);
            }
            String a = topo.a().outerAddress();
            String b = topo.b().outerAddress();
            long fromKeel = KeelStrongSwanInteropTest.count(pcap, List.of(), SKF + " && ip.src == " + a);
            long fromCharon = KeelStrongSwanInteropTest.count(pcap, List.of(), SKF + " && ip.src == " + b);
            System.out.printf("%s initiated: SKF fragments from Keel %d, from charon %d%n", initiator, fromKeel, fromCharon);
            // an IKE_AUTH of 3.5 to 5 KB in datagrams of at most 1280 bytes: three fragments or more each way
            assertThat(fromKeel).as("SKF fragments Keel sent").isGreaterThanOrEqualTo(3);
            assertThat(fromCharon).as("SKF fragments charon sent").isGreaterThanOrEqualTo(3);
            assertThat(KeelStrongSwanInteropTest.count(pcap, List.of(), "ip.flags.mf == 1 || ip.frag_offset > 0"))
                    .as("IP fragments").isZero();
            assertThat(KeelStrongSwanInteropTest.count(pcap, List.of(), "isakmp && frame.len > 1280 + 14"))
                    .as("IKE datagrams beyond fragment_size (Ethernet header aside)").isZero();
        }
    }

    /**
     * The control: Keel's connection says {@code fragmentation: no}, so it does not announce
     * support and charon sends its IKE_AUTH request (about 5 KB) whole, in IP fragments that the path
     * drops. charon retransmits and gives up; no SA comes up on either side.
     */
    @Test
    void withoutFragmentationTheSameExchangeFails() throws Exception {
        Path pki = pki();
        try (NetnsTopology topo = NetnsTopology.create()) {
            topo.dropIpFragments();
            Path pcap = work.resolve("outer.pcap");
            Process capture = KeelStrongSwanInteropTest.startCapture(topo, pcap);
            try (StrongSwanPeer charon = StrongSwanPeer.start(topo.b().gatewayNamespace(), work.resolve("charon"),
                    charonSpec(topo, pki));
                    KeelGatewayProcess keel = startKeel(topo, work.resolve("keel"), pki, keelSpec(topo, pki, false),
                            "no")) {
                withLogs(charon, keel, () -> {
                    assertThat(charon.initiate(WAIT).ok()).as("charon's initiate fails").isFalse();
                    assertThat(charon.log()).contains("giving up after");
                    assertThat(charon.log()).doesNotContain("splitting IKE message");
                    assertThat(charon.awaitSas(List::isEmpty, WAIT)).as("SAs left on charon").isEmpty();
                    assertThat(keel.log()).doesNotContain(" established with ");
                });
            } finally {
                capture.destroy();
                capture.waitFor(10, TimeUnit.SECONDS);
            }
            assertThat(KeelStrongSwanInteropTest.count(pcap, List.of(), SKF)).as("SKF fragments").isZero();
            assertThat(KeelStrongSwanInteropTest.count(pcap, List.of(),
                    "ip.src == " + topo.b().outerAddress() + " && ip.flags.mf == 1"))
                    .as("first IP fragments of charon's IKE_AUTH request, one per send").isGreaterThanOrEqualTo(2);
        }
    }

    private static void withLogs(StrongSwanPeer charon, KeelGatewayProcess keel, KeelStrongSwanInteropTest.Body body)
            throws Exception {
        try {
            body.run();
        } catch (AssertionError | IOException e) {
            throw new AssertionError(e.getMessage() + "\n--- charon log ---\n" + charon.log() + "\n--- Keel log ---\n"
                    + keel.log(), e);
        }
    }
}
