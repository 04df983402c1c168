package dev.keel.gateway.interop;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.esp.wire.SystemTests;
import dev.keel.esp.wire.Tshark;
import dev.keel.gateway.interop.NetnsTopology.Family;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
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
 * installs tunnel-mode SAs only, so the test pins down what charon does with the agreed SA.
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
    @CsvSource({
        "IPV6, IPV6, keel",
        "IPV6, IPV6, charon",
        "IPV6, IPV4, keel",
        "IPV4, IPV6, charon"})
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
                    KeelGatewayProcess keel = KeelGatewayProcess.start(topo, topo.a(), keelSpec, work.resolve("keel"))) {
                KeelStrongSwanInteropTest.withLogs(charon, keel, () -> {
                    if (!keelInitiates) {
                        charon.initiate(WAIT).requireOk();
                    }
                    SwanctlSas.ChildSa child = awaitInstalled(charon, keelInitiates);
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
                    assertThat(after.packetsIn()).as("charon's CHILD SA carried the pings").isGreaterThanOrEqualTo(2L * PINGS);
                });
            } finally {
                capture.destroy();
                capture.waitFor(10, TimeUnit.SECONDS);
            }
            List<String> prefs = keelKeyPreferences(work.resolve("keel").resolve("keys"));
            String ip = outer == Family.IPV6 ? "ipv6" : "ip";
            assertThat(KeelStrongSwanInteropTest.count(pcap, prefs, ip + " && isakmp.exchangetype == 35 && isakmp.auth.method"))
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
                    KeelGatewayProcess keel = KeelGatewayProcess.start(topo, topo.a(), keelSpec, work.resolve("keel"))) {
                KeelStrongSwanInteropTest.withLogs(charon, keel, () -> {
                    assertThat(charon.initiate(WAIT).ok()).as("charon's initiate fails: no CHILD SA").isFalse();
                    assertThat(charon.log()).contains("IPsec SA: unsupported mode");
                    List<SwanctlSas.IkeSa> sas = charon.awaitSas(l -> l.size() == 1 && l.getFirst().children().isEmpty(),
                            WAIT);
                    SwanctlSas.IkeSa ikeSa = CharonPairTest.single(sas);
                    assertThat(ikeSa.state()).isEqualTo("ESTABLISHED");
                    assertThat(ikeSa.children()).as("CHILD SAs on charon").isEmpty();
                    // Keel agreed and installed its SA; charon's Delete took it away again
                    String child = "TRANSPORT [" + keelSpec.localTs().getFirst() + "] === [" + keelSpec.remoteTs().getFirst()
                            + "]]";
                    keel.awaitLog(child + " established", WAIT);
                    keel.awaitLog(child + " deleted", WAIT);
                });
            } finally {
                capture.destroy();
                capture.waitFor(10, TimeUnit.SECONDS);
            }
            List<String> prefs = keelKeyPreferences(work.resolve("keel").resolve("keys"));
            assertThat(KeelStrongSwanInteropTest.count(pcap, prefs,
                    "isakmp.exchangetype == 35 && isakmp.notify.msgtype == 16391"))
                    .as("IKE_AUTH request and response with USE_TRANSPORT_MODE").isEqualTo(2);
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

    /** tshark's {@code -o} preferences to decrypt IKE and ESP with the keys Keel exported into {@code keys}. */
    static List<String> keelKeyPreferences(Path keys) throws IOException {
        List<String> prefs = new ArrayList<>();
        for (String line : Files.readAllLines(keys.resolve("ikev2_decryption_table"))) {
            prefs.add("uat:ikev2_decryption_table:" + line);
        }
        for (String line : Files.readAllLines(keys.resolve("esp_sa"))) {
            prefs.add("uat:esp_sa:" + line);
        }
        prefs.add("esp.enable_encryption_decode:TRUE");
        prefs.add("esp.enable_authentication_check:TRUE");
        return prefs;
    }
}
