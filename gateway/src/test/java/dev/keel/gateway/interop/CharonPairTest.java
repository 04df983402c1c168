package dev.keel.gateway.interop;

import dev.keel.esp.wire.BoundedCommand;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.esp.wire.SystemTests;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * charon to charon across {@link NetnsTopology} with PSK: proves the interop harness (the
 * tunnel comes up with the configured proposals, carries ping and TCP, and a wrong PSK fails on
 * both sides), so one charon can later be swapped for a Keel gateway.
 */
@Timeout(60)
class CharonPairTest {

    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final String PSK = "keel-interop-psk";

    /** Configurations, logs and charon's files; JUnit removes it, also after a failure. */
    @TempDir
    Path work;

    @BeforeEach
    void requireTools() throws IOException {
        StrongSwanPeer.assumeAvailable();
        SystemTests.assumeTool("iperf3");
        SystemTests.assumeTool("ping");
    }

    @ParameterizedTest(name = "{0} / ESP {1}")
    @CsvSource(delimiter = ';', value = {
        "aes256gcm16-prfsha256-x25519; aes256gcm16; AES_GCM_16-256/PRF_HMAC_SHA2_256/CURVE_25519; AES_GCM_16-256",
        "aes128-sha256-modp2048; aes128-sha256; AES_CBC-128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048;"
                + " AES_CBC-128/HMAC_SHA2_256_128"})
    void tunnelComesUpAndCarriesPingAndTcp(String ike, String esp, String expectedIke, String expectedEsp)
            throws IOException, InterruptedException {
        try (NetnsTopology topo = NetnsTopology.create();
                StrongSwanPeer a = StrongSwanPeer.start(topo.a().gatewayNamespace(), work.resolve("a"),
                        ConnectionSpec.psk(topo.a(), topo.b(), PSK, ike, esp));
                StrongSwanPeer b = StrongSwanPeer.start(topo.b().gatewayNamespace(), work.resolve("b"),
                        ConnectionSpec.psk(topo.b(), topo.a(), PSK, ike, esp))) {
            withLogsOnFailure(a, b, () -> {
                a.initiate(WAIT).requireOk();

                SwanctlSas.IkeSa ikeA = single(a.listSas());
                assertThat(ikeA.state()).isEqualTo("ESTABLISHED");
                assertThat(ikeA.initiator()).isTrue();
                assertThat(ikeA.localHost()).isEqualTo("192.0.2.1");
                assertThat(ikeA.remoteId()).isEqualTo("gw-b.keel.test");
                assertThat(ikeA.proposal()).isEqualTo(expectedIke);
                SwanctlSas.ChildSa childA = ikeA.child("net").orElseThrow();
                assertThat(childA.state()).isEqualTo("INSTALLED");
                assertThat(childA.mode()).isEqualTo("TUNNEL");
                assertThat(childA.protocol()).isEqualTo("ESP");
                assertThat(childA.encap()).as("ESP in UDP 4500").isTrue();
                assertThat(childA.proposal()).isEqualTo(expectedEsp);
                assertThat(childA.localTs()).containsExactly("10.1.0.0/24");
                assertThat(childA.remoteTs()).containsExactly("10.2.0.0/24");

                // The responder sees the same IKE SA and the mirror image of the CHILD_SA.
                SwanctlSas.IkeSa ikeB = single(b.listSas());
                assertThat(ikeB.state()).isEqualTo("ESTABLISHED");
                assertThat(ikeB.initiator()).isFalse();
                assertThat(ikeB.initiatorSpi()).isEqualTo(ikeA.initiatorSpi());
                assertThat(ikeB.responderSpi()).isEqualTo(ikeA.responderSpi());
                assertThat(ikeB.proposal()).isEqualTo(expectedIke);
                SwanctlSas.ChildSa childB = ikeB.child("net").orElseThrow();
                assertThat(childB.spiIn()).isEqualTo(childA.spiOut());
                assertThat(childB.spiOut()).isEqualTo(childA.spiIn());
                assertThat(childB.proposal()).isEqualTo(expectedEsp);

                assertEveryPingAnswered(topo, 3);
                long bytes = iperf3(topo);
                assertThat(bytes).as("bytes iperf3's receiver got in 2 s").isGreaterThan(100_000);

                // The traffic went through the CHILD_SA, not around it.
                SwanctlSas.ChildSa after = single(b.listSas()).child("net").orElseThrow();
                assertThat(after.packetsIn()).isGreaterThan(3);
                assertThat(after.bytesIn()).isGreaterThan(bytes);
            });
        }
    }

    @Test
    void wrongPskFailsAuthenticationAndLeavesNoSa() throws IOException, InterruptedException {
        String ike = "aes256gcm16-prfsha256-x25519";
        String esp = "aes256gcm16";
        try (NetnsTopology topo = NetnsTopology.create();
                StrongSwanPeer a = StrongSwanPeer.start(topo.a().gatewayNamespace(), work.resolve("a"),
                        ConnectionSpec.psk(topo.a(), topo.b(), PSK, ike, esp));
                StrongSwanPeer b = StrongSwanPeer.start(topo.b().gatewayNamespace(), work.resolve("b"),
                        ConnectionSpec.psk(topo.b(), topo.a(), "not-" + PSK, ike, esp))) {
            withLogsOnFailure(a, b, () -> {
                assertThat(a.initiate(WAIT).ok()).as("initiate with a wrong PSK").isFalse();

                assertThat(a.awaitSas(List::isEmpty, WAIT)).as("IKE SAs left on the initiator").isEmpty();
                assertThat(b.awaitSas(List::isEmpty, WAIT)).as("IKE SAs left on the responder").isEmpty();
                // RFC 7296 2.21.2: the responder answers IKE_AUTH with AUTHENTICATION_FAILED.
                // charon 5.9 logs it by its short name N(AUTH_FAILED) when sending, in full on receipt.
                assertThat(a.log()).contains("received AUTHENTICATION_FAILED notify error");
                assertThat(b.log()).contains("MAC mismatched").contains("IKE_AUTH response 1 [ N(AUTH_FAILED) ]");
                assertThat(b.log()).doesNotContain("IKE_SA tunnel[1] established");
            });
        }
    }

    @Test
    void certificateAuthenticationComesUp() throws IOException, InterruptedException {
        SystemTests.assumeTool("openssl");
        Path pki = Files.createDirectories(work.resolve("pki"));
        TestPki.createCa(pki);
        TestPki.createLeaf(pki, "gw-a.keel.test");
        TestPki.createLeaf(pki, "gw-b.keel.test");
        String ike = "aes256gcm16-prfsha256-x25519";
        String esp = "aes256gcm16";
        try (NetnsTopology topo = NetnsTopology.create()) {
            ConnectionSpec specA = ConnectionSpec.psk(topo.a(), topo.b(), PSK, ike, esp).withAuth(new PeerAuth.Certificates(
                    pki.resolve("gw-a.keel.test.crt"), pki.resolve("gw-a.keel.test.key"), List.of(pki.resolve("ca.crt"))));
            ConnectionSpec specB = ConnectionSpec.psk(topo.b(), topo.a(), PSK, ike, esp).withAuth(new PeerAuth.Certificates(
                    pki.resolve("gw-b.keel.test.crt"), pki.resolve("gw-b.keel.test.key"), List.of(pki.resolve("ca.crt"))));
            try (StrongSwanPeer a = StrongSwanPeer.start(topo.a().gatewayNamespace(), work.resolve("a"), specA);
                    StrongSwanPeer b = StrongSwanPeer.start(topo.b().gatewayNamespace(), work.resolve("b"), specB)) {
                withLogsOnFailure(a, b, () -> {
                    a.initiate(WAIT).requireOk();
                    assertThat(single(b.listSas()).state()).isEqualTo("ESTABLISHED");
                    assertThat(b.log()).contains("authentication of 'gw-a.keel.test' with ECDSA_WITH_SHA256_DER successful");
                    assertEveryPingAnswered(topo, 2);
                });
            }
        }
    }

    /**
     * Pings host B from host A {@code count} times, 0.2 s apart; every one must be answered
     * (ping's own exit status is 0 when any one is, which would hide losses).
     */
    static void assertEveryPingAnswered(NetnsTopology topo, int count) throws IOException {
        assertThat(pingsAnswered(topo, count)).as("pings answered of " + count).isEqualTo(count);
    }

    /** Pings host B from host A {@code count} times, 0.2 s apart; returns how many were answered. */
    static int pingsAnswered(NetnsTopology topo, int count) throws IOException {
        return pingsAnswered(topo, topo.a(), topo.b(), count);
    }

    /** Pings {@code to}'s host from {@code from}'s {@code count} times, 0.2 s apart; returns how many were answered. */
    static int pingsAnswered(NetnsTopology topo, NetnsTopology.Site from, NetnsTopology.Site to, int count)
            throws IOException {
        BoundedCommand.Result ping = topo.exec(from.hostNamespace(), Duration.ofSeconds(10 + count), "ping", "-n",
                "-c", Integer.toString(count), "-i", "0.2", "-W", "2", to.hostAddress());
        Matcher m = Pattern.compile("(\\d+) packets transmitted, (\\d+) received").matcher(ping.output());
        assertThat(m.find()).as("ping's summary line in:\n" + ping.output()).isTrue();
        assertThat(Integer.parseInt(m.group(1))).as("pings sent:\n" + ping.output()).isEqualTo(count);
        return Integer.parseInt(m.group(2));
    }

    /** Runs an iperf3 TCP transfer of 2 s from host A to host B; returns the bytes received. */
    static long iperf3(NetnsTopology topo) throws IOException, InterruptedException {
        Path serverLog = Files.createTempFile("keel-iperf3", ".log");
        Process server = topo.startInBackground(topo.b().hostNamespace(), serverLog, "iperf3", "-s", "-1", "-B",
                topo.b().hostAddress(), "-p", "5201");
        try {
            BoundedCommand.Result client = null;
            for (int attempt = 0; attempt < 20; attempt++) { // the server needs a moment to listen
                client = topo.exec(topo.a().hostNamespace(), Duration.ofSeconds(15), "iperf3", "-c",
                        topo.b().hostAddress(), "-p", "5201", "-t", "2", "-J", "--connect-timeout", "2000");
                // iperf3 -J may exit 0 with an "error" member (connection refused while the server starts).
                if (client.ok() && client.output().contains("\"sum_received\"")) {
                    break;
                }
                Thread.sleep(100);
            }
            client.requireOk();
            assertThat(client.output()).as("iperf3 client").doesNotContain("\"error\"");
            Matcher m = Pattern.compile("\"sum_received\":\\s*\\{[^}]*?\"bytes\":\\s*(\\d+)").matcher(client.output());
            assertThat(m.find()).as("iperf3 JSON has end.sum_received.bytes:\n" + client.output()).isTrue();
            return Long.parseLong(m.group(1));
        } finally {
            server.descendants().forEach(ProcessHandle::destroyForcibly);
            server.destroyForcibly();
            server.waitFor(5, java.util.concurrent.TimeUnit.SECONDS);
            Files.deleteIfExists(serverLog);
        }
    }

    static SwanctlSas.IkeSa single(List<SwanctlSas.IkeSa> sas) {
        assertThat(sas).hasSize(1);
        return sas.getFirst();
    }

    interface Body {
        void run() throws IOException, InterruptedException;
    }

    /** Runs {@code body}; when it fails, the failure carries both charon logs. */
    static void withLogsOnFailure(StrongSwanPeer a, StrongSwanPeer b, Body body)
            throws IOException, InterruptedException {
        try {
            body.run();
        } catch (AssertionError | IOException e) {
            e.addSuppressed(new AssertionError("charon A log:\n" + tail(a.log()) + "\ncharon B log:\n" + tail(b.log())));
            throw e;
        }
    }

    private static String tail(String log) {
        return log.substring(Math.max(0, log.length() - 6000));
    }
}
