package dev.keel.gateway.interop;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.esp.raw.RawEspTransport;
import dev.keel.esp.wire.BoundedCommand;
import dev.keel.esp.wire.SystemTests;
import dev.keel.esp.wire.Tshark;
import dev.keel.gateway.interop.NetnsTopology.Family;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * AH (RFC 4302), Keel to Keel, negotiated by IKE ({@code ah_proposals: sha256}) and carried as IP
 * protocol 51 over raw sockets ({@code gateway.raw_esp: yes}), in tunnel and transport mode over
 * IPv4 and IPv6 (strongSwan's kernel-libipsec has no AH and this kernel no XFRM AH, so Keel is
 * both ends). Pings are answered both ways; tshark dissects the captured AH (SPI, sequence, next
 * header, the ICMP inside, no ESP and no UDP); tshark 4.0 cannot verify AH ICVs, so a Python script
 * on the standard library's {@code hmac} ({@code verify_ah_icv.py}, RFC 4302 Appendix A mutable
 * fields zeroed) recomputes every captured ICV from the integrity keys Keel exported; and a
 * captured packet sent again with its sequence number changed is dropped by B and counted as
 * {@code icv_failure}. The namespaces and gateways are removed even when the test fails.
 */
@Timeout(value = 6, unit = TimeUnit.MINUTES)
class AhKeelToKeelNetnsTest {

    static final String PSK = "ah-netns-test-psk-not-a-secret";
    static final String IKE = "aes256gcm16-prfsha256-x25519";
    static final String METRICS = "127.0.0.1:9464";
    static final int PINGS = 5;
    static final Duration WAIT = Duration.ofSeconds(90);

    @TempDir
    Path work;

    @ParameterizedTest(name = "{1} mode over {0}")
    @CsvSource({"IPV4, tunnel", "IPV4, transport", "IPV6, tunnel", "IPV6, transport"})
    void pingsCrossAnAhChildAndEveryIcvVerifiesIndependently(Family family, String mode) throws Exception {
        SystemTests.assumeIpNetns();
        SystemTests.assumeTool("ping");
        SystemTests.assumeTool("python3");
        Tshark tshark = Tshark.assumeInstalled();
        boolean transport = mode.equals("transport");
        try (NetnsTopology topo = NetnsTopology.create(family, family)) {
            ConnectionSpec aSpec = shape(ConnectionSpec.psk(topo.a(), topo.b(), PSK, IKE, "sha256"), transport)
                    .withStartAction("start");
            ConnectionSpec bSpec = shape(ConnectionSpec.psk(topo.b(), topo.a(), PSK, IKE, "sha256"), transport);
            Path pcap = work.resolve("outer.pcap");
            Process capture = startCapture(topo, pcap);
            CompletableFuture<KeelGatewayProcess> startingB = CompletableFuture.supplyAsync(() -> {
                try {
                    return start(topo.b(), bSpec, work.resolve("keel-b"));
                } catch (IOException | InterruptedException e) {
                    throw new CompletionException(e);
                }
            });
            try (AutoCloseable stopB = () -> stopWhenStarted(startingB);
                    KeelGatewayProcess a = start(topo.a(), aSpec, work.resolve("keel-a"))) {
                KeelGatewayProcess b = startingB.get(150, TimeUnit.SECONDS);
                try {
                    a.awaitLog("usable in the data plane", WAIT);
                    b.awaitLog("usable in the data plane", WAIT);
                    if (transport) {
                        assertThat(pings(topo, topo.a().gatewayNamespace(), topo.b().outerAddress()))
                                .as("pings from gateway A answered").isEqualTo(PINGS);
                        assertThat(pings(topo, topo.b().gatewayNamespace(), topo.a().outerAddress()))
                                .as("pings from gateway B answered").isEqualTo(PINGS);
                    } else {
                        assertThat(CharonPairTest.pingsAnswered(topo, topo.a(), topo.b(), PINGS))
                                .as("pings from host A answered").isEqualTo(PINGS);
                        assertThat(CharonPairTest.pingsAnswered(topo, topo.b(), topo.a(), PINGS))
                                .as("pings from host B answered").isEqualTo(PINGS);
                    }
                    Thread.sleep(500); // the capture writes the last frames
                    capture.destroy();
                    capture.waitFor(10, TimeUnit.SECONDS);

                    // tshark dissects AH: protocol 51, no ESP, no UDP but IKE's
                    String ip = family == Family.IPV6 ? "ipv6" : "ip";
                    String echo = family == Family.IPV6 ? "icmpv6.type == 128" : "icmp.type == 8";
                    int inner = transport ? (family == Family.IPV6 ? 58 : 1) : (family == Family.IPV6 ? 41 : 4);
                    String toB = " && " + ip + ".dst == " + topo.b().outerAddress();
                    assertThat(KeelStrongSwanInteropTest.count(pcap, List.of(), "ah && ah.next_header == " + inner
                            + " && " + echo + toB)).as("echo requests inside AH to B").isGreaterThanOrEqualTo(PINGS);
                    assertThat(KeelStrongSwanInteropTest.count(pcap, List.of(), "esp || (udp && !isakmp)"))
                            .as("ESP or non-IKE UDP on the outer link").isZero();
                    assertThat(distinct(tshark, pcap, "ah" + toB, "ah.spi")).as("one SPI towards B").hasSize(1);

                    // every ICV recomputed apart from Keel
                    List<String> verdicts = verifyIcvs(pcap, a.keys());
                    assertThat(verdicts).as("AH packets captured").hasSizeGreaterThanOrEqualTo(4 * PINGS);
                    assertThat(verdicts).as("independent ICV verdicts").allMatch(v -> v.endsWith(" good"));

                    // a captured packet with another sequence number: B drops it for its ICV and counts it
                    double before = icvFailures(topo, topo.b());
                    resendTampered(topo, pcap, topo.b().outerAddress());
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                    while (icvFailures(topo, topo.b()) < before + 1 && System.nanoTime() < deadline) {
                        Thread.sleep(100);
                    }
                    assertThat(icvFailures(topo, topo.b())).as("B's icv_failure drops").isEqualTo(before + 1);
                } catch (AssertionError | Exception e) {
                    throw new AssertionError(e.getMessage() + "\n--- A ---\n" + a.log() + "\n--- B ---\n" + b.log(), e);
                }
            } finally {
                capture.destroy();
                capture.waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    /** {@code spec} with AH instead of ESP, host to host in transport mode. */
    private static ConnectionSpec shape(ConnectionSpec spec, boolean transport) {
        if (!transport) {
            return spec;
        }
        String bits = NetnsTopology.isIpv6(spec.localAddress()) ? "/128" : "/32";
        return spec.withModeAndSelectors("transport", List.of(spec.localAddress() + bits),
                List.of(spec.remoteAddress() + bits));
    }

    /** Keel with raw IP transports, metrics, key export, and the child's proposals as {@code ah_proposals}. */
    private static KeelGatewayProcess start(NetnsTopology.Site site, ConnectionSpec spec, Path dir)
            throws IOException, InterruptedException {
        Files.createDirectories(dir);
        Path keys = dir.resolve("keys");
        Path config = dir.resolve("keel.yaml");
        String policy = KeelGatewayProcess.policyYaml(spec, dir).replace("esp_proposals:", "ah_proposals:");
        Files.writeString(config, """
                gateway:
                  address: %s
                  loops: 2
                  raw_esp: yes
                  key_export: %s
                  admin: {socket: admin/keel.sock}
                  plaintext:
                    tun: {name: keel0, mtu: 1400}
                metrics:
                  listen: %s
                """.formatted(spec.localAddress(), keys, METRICS) + policy);
        return KeelGatewayProcess.start(site.gatewayNamespace(), config, dir.resolve("keel.log"), keys, List.of());
    }

    private static Process startCapture(NetnsTopology topo, Path pcap) throws IOException, InterruptedException {
        Path log = pcap.resolveSibling(pcap.getFileName() + ".log");
        Process p = topo.startInBackground(topo.a().gatewayNamespace(), log,
                Tshark.assumeInstalled().executable().toString(), "-n", "-i", "outer", "-c", "2000", "-a", "duration:200",
                "-f", "ip proto 51 or ip6 proto 51 or ip proto 50 or ip6 proto 50 or udp", "-F", "pcap", "-w", pcap.toString());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.readString(log).contains("Capturing on")) {
            assertThat(System.nanoTime()).as("tshark started capturing").isLessThan(deadline);
            Thread.sleep(50);
        }
        return p;
    }

    private static int pings(NetnsTopology topo, String namespace, String target) throws IOException {
        BoundedCommand.Result ping = topo.exec(namespace, Duration.ofSeconds(10 + PINGS), "ping", "-n", "-c",
                Integer.toString(PINGS), "-i", "0.2", "-W", "2", target);
        Matcher m = Pattern.compile("(\\d+) packets transmitted, (\\d+) received").matcher(ping.output());
        assertThat(m.find()).as("ping's summary line in:\n" + ping.output()).isTrue();
        return Integer.parseInt(m.group(2));
    }

    private static List<String> distinct(Tshark tshark, Path pcap, String filter, String field) {
        String out = tshark.run(List.of("-n", "-r", pcap.toString(), "-Y", filter, "-T", "fields", "-e", field),
                Duration.ofSeconds(60)).requireSuccess().stdout();
        return out.lines().map(String::strip).filter(l -> !l.isEmpty()).distinct().toList();
    }

    /** {@code verify_ah_icv.py}'s verdict per captured AH packet, with the integrity keys of A's {@code esp_sa} export. */
    private List<String> verifyIcvs(Path pcap, Path keys) throws IOException {
        Path script = script("verify_ah_icv.py");
        List<String> cmd = new ArrayList<>(List.of("python3", script.toString(), pcap.toString(), "sha256", "16"));
        // esp_sa lines: "IPv4","src","dst","0xSPI","NULL","0x","HMAC-SHA-256-128 [RFC4868]","0xKEY" (AH SAs too)
        for (String line : Files.readAllLines(keys.resolve("esp_sa"))) {
            String[] f = line.replace("\"", "").split(",");
            if (f.length == 8 && f[4].equals("NULL")) {
                cmd.add(f[3].substring(2) + "=" + f[7].substring(2));
            }
        }
        BoundedCommand.Result r = BoundedCommand.run(Duration.ofSeconds(60), cmd).requireOk();
        return r.output().lines().filter(l -> !l.isBlank()).toList();
    }

    /** Sends the last captured AH packet to {@code to} again from gateway A, its sequence number raised and its ICV kept. */
    private void resendTampered(NetnsTopology topo, Path pcap, String to) throws IOException {
        Path script = work.resolve("resend.py");
        Files.writeString(script, """
                import socket, struct, sys
                sys.path.insert(0, %s)
                import verify_ah_icv as v
                last = None
                for p in v.frames(sys.argv[1]):
                    if (p[0] >> 4 == 4 and p[9] == 51 and socket.inet_ntop(socket.AF_INET, bytes(p[16:20])) == sys.argv[2]) or \\
                       (p[0] >> 4 == 6 and p[6] == 51 and socket.inet_ntop(socket.AF_INET6, bytes(p[24:40])) == sys.argv[2]):
                        last = p
                ah = ((last[0] & 0x0f) * 4) if last[0] >> 4 == 4 else 40
                last[ah + 8:ah + 12] = struct.pack(">I", 0x7fff0000)
                fam = socket.AF_INET if last[0] >> 4 == 4 else socket.AF_INET6
                s = socket.socket(fam, socket.SOCK_RAW, socket.IPPROTO_RAW)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, %d)  # as Keel's raw sockets: not into A's TUN
                s.sendto(bytes(last), (sys.argv[2], 0))
                """.formatted("'" + script("verify_ah_icv.py").getParent() + "'", RawEspTransport.OWN_PACKET_MARK));
        topo.exec(topo.a().gatewayNamespace(), Duration.ofSeconds(20), "python3", script.toString(), pcap.toString(), to)
                .requireOk();
    }

    private static double icvFailures(NetnsTopology topo, NetnsTopology.Site site) throws IOException {
        Map<String, Double> m = FloodReadings.metrics(topo, site, METRICS, "keel_esp_inbound_drops_total");
        return m.getOrDefault("keel_esp_inbound_drops_total{reason=\"icv_failure\"}", 0.0);
    }

    /** The test resource {@code ah/<name>}, copied into the work directory (the class path may be a jar). */
    private Path script(String name) throws IOException {
        Path out = work.resolve(name);
        if (!Files.exists(out)) {
            try (InputStream in = AhKeelToKeelNetnsTest.class.getResourceAsStream("/ah/" + name)) {
                Files.copy(in, out);
            }
        }
        return out;
    }

    private static void stopWhenStarted(CompletableFuture<KeelGatewayProcess> starting) throws InterruptedException {
        try {
            starting.get(150, TimeUnit.SECONDS).close();
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            // never started; the namespaces go anyway
        }
    }
}
