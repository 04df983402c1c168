package dev.keel.gateway.interop;

import static dev.keel.gateway.interop.FloodReadings.metrics;
import static dev.keel.gateway.interop.FloodReadings.number;
import static dev.keel.gateway.interop.FloodReadings.tail;
import static dev.keel.gateway.interop.FloodReadings.udp;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.esp.wire.BoundedCommand;
import dev.keel.esp.wire.SystemTests;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 16's ESP flood: a Keel gateway (A) carries an iperf3 TCP transfer from its peer, another
 * Keel gateway (B, ESP in UDP 4500: Keel forces encapsulation without {@code raw_esp}), while
 * {@link EspFlood} in B's namespace sends A unknown SPIs, bad ICVs on the tunnel's SPI and
 * replays below its window, interleaved. Alternating transfers of {@value #SECONDS} s each, in
 * {@value #ROUNDS} rounds: without the flood, at {@value #FIXED_RATE} packets a second, without
 * again, and as fast as the generator (two sending threads) goes on this machine.
 *
 * <p>Printed: each run's throughput, the flood's rate (packets/s, Mbit/s), the growth of A's
 * inbound drop counters by reason and of its outer datagrams, the kernel's UDP counters in A's
 * namespace (datagrams the socket buffers could not take never reach Keel), and the load
 * average. Asserted: every kind of flood packet is counted under its own reason, in the
 * proportion it was sent; what Keel counted plus what the kernel dropped accounts for what the
 * generator sent; the tunnel keeps carrying traffic under the fastest flood; at the fixed rate
 * the transfer keeps at least {@value #FLOOR_PERCENT}% of its throughput without the flood
 * (docs/security.md, "ESP flood", says why that floor and what limits it on two shared cores).
 */
@Timeout(300)
class EspFloodTest {

    private static final String PSK = "keel-esp-flood-psk-0123456789";
    private static final String IKE = "aes256gcm16-prfsha256-x25519";
    private static final String ESP = "aes256gcm16"; // no ESN: EspFlood's replays are below a 32-bit window
    private static final String METRICS = "127.0.0.1:9464";
    private static final int SECONDS = 5;
    /** Rounds of quiet, fixed-rate flood, quiet, fastest flood: the other work on the machine varies over a minute. */
    private static final int ROUNDS = 2;
    private static final int FIXED_RATE = 50_000;
    /**
     * On two cores the flood takes CPU from the transfer whatever Keel does: the generator alone
     * uses about 0.45 of a core at 50,000/s. Measured: 63-90 % on a loaded machine, 41 % and 54 %
     * (mean 49 %) on an idle one, where the quiet transfer had the whole machine. The floor catches
     * a drop path grown costly (one SAD look-up per unknown SPI would halve it again), not the 90 %.
     */
    private static final int FLOOR_PERCENT = 30;
    private static final String[] REASONS = {"unknown_spi", "icv_failure", "replayed"};
    private static final String[] KINDS = {"unknown_spi", "bad_icv", "replay"};

    /** Configurations and logs; JUnit removes it, also after a failure. */
    @TempDir
    Path work;

    @BeforeEach
    void requireTools() {
        SystemTests.assumeIpNetns();
        SystemTests.assumeTool("iperf3");
        SystemTests.assumeTool("python3");
    }

    /** One run: the transfer's throughput, and with a flood what the flood and the counters saw. */
    private record Run(String name, double bitsPerSecond, String flood, Map<String, Double> grown,
            Map<String, Long> udp, String load, double keelCpuPerSecond) {
    }

    @Test
    void theTunnelKeepsCarryingTrafficWhileFloodedWithUnknownSpisBadIcvsAndReplays() throws Exception {
        try (NetnsTopology topo = NetnsTopology.create()) {
            NetnsTopology.Site a = topo.a();
            NetnsTopology.Site b = topo.b();
            ConnectionSpec aSpec = ConnectionSpec.psk(a, b, PSK, IKE, ESP);
            ConnectionSpec bSpec = ConnectionSpec.psk(b, a, PSK, IKE, ESP).withStartAction("start");
            Path aDir = Files.createDirectories(work.resolve("keel-a"));
            Path config = aDir.resolve("keel.yaml");
            Files.writeString(config, """
                    gateway:
                      address: %s
                      loops: 2
                      admin: {socket: admin/keel.sock}
                      plaintext:
                        tun: {name: keel0, mtu: 1400}
                    metrics:
                      listen: %s
                    """.formatted(aSpec.localAddress(), METRICS) + KeelGatewayProcess.policyYaml(aSpec, aDir));
            CompletableFuture<KeelGatewayProcess> startingA = CompletableFuture.supplyAsync(() -> {
                try {
                    return KeelGatewayProcess.start(a.gatewayNamespace(), config, aDir.resolve("keel.log"),
                            aDir.resolve("keys"), List.of());
                } catch (IOException | InterruptedException e) {
                    throw new CompletionException(e);
                }
            });
            try (AutoCloseable stopA = () -> startingA.get(150, TimeUnit.SECONDS).close();
                    KeelGatewayProcess keelB = KeelGatewayProcess.start(topo, b, bSpec, work.resolve("keel-b"))) {
                KeelGatewayProcess keelA = startingA.get(150, TimeUnit.SECONDS);
                try {
                    keelA.awaitLog("usable in the data plane", Duration.ofSeconds(30));
                    keelB.awaitLog("usable in the data plane", Duration.ofSeconds(30));
                    String spi = inboundSpi(metrics(topo, a, METRICS, "keel_esp_", "keel_forward_"));
                    iperf3(topo, 2); // warms both JVMs and moves A's replay window far past sequence number 1,024
                    List<Run> runs = new ArrayList<>();
                    for (int round = 0; round < ROUNDS; round++) {
                        runs.add(run(topo, keelA, "quiet", -1, spi));
                        runs.add(run(topo, keelA, "flood " + FIXED_RATE + "/s", FIXED_RATE, spi));
                        runs.add(run(topo, keelA, "quiet", -1, spi));
                        runs.add(run(topo, keelA, "flood max", 0, spi));
                    }
                    String report = report(runs);
                    System.out.println("EspFloodTest:\n" + report);
                    for (Run r : runs) {
                        if (r.flood() != null) {
                            checkAccounting(r, report);
                        }
                    }
                    assertThat(runs.stream().filter(r -> r.name().equals("flood max")).mapToDouble(Run::bitsPerSecond))
                            .as("throughput of each transfer under the fastest flood (" + report + ")")
                            .allSatisfy(bits -> assertThat(bits).isGreaterThan(1e6));
                    assertThat(mean(runs, "flood " + FIXED_RATE + "/s") / mean(runs, "quiet"))
                            .as("throughput at " + FIXED_RATE + " flood packets/s over without (" + report + ")")
                            .isGreaterThanOrEqualTo(FLOOR_PERCENT / 100.0);
                } catch (AssertionError | IOException e) {
                    throw new AssertionError(e.getMessage() + "\n--- Keel A log (tail) ---\n" + tail(keelA.log()), e);
                }
            }
        }
    }

    /**
     * Every kind the flood sent is counted under its reason, in the proportion sent (the kinds are
     * interleaved, so the kernel's drops at the socket take from each alike), and Keel's count
     * plus the kernel's drops in A's namespace account for every flood packet sent.
     */
    private static void checkAccounting(Run r, String report) {
        long sent = number(r.flood(), "sent");
        double counted = 0;
        for (int i = 0; i < REASONS.length; i++) {
            double got = r.grown().getOrDefault(drops(REASONS[i]), 0.0);
            long kind = number(r.flood(), KINDS[i]);
            counted += got;
            assertThat(got).as(r.name() + ": " + REASONS[i] + " drops, of " + kind + " sent (" + report + ")")
                    .isGreaterThan(0.0).isLessThanOrEqualTo(kind);
        }
        for (int i = 0; i < REASONS.length; i++) {
            double share = r.grown().getOrDefault(drops(REASONS[i]), 0.0) / counted;
            assertThat(share).as(r.name() + ": share of " + REASONS[i] + " in the counted drops (" + report + ")")
                    .isBetween(0.30, 0.37);
        }
        long kernelDrops = r.udp().getOrDefault("RcvbufErrors", 0L);
        // The valid transfer's datagrams can be among the kernel's drops too, so this is a lower bound.
        assertThat(counted + kernelDrops).as(r.name() + ": flood drops Keel counted plus the kernel's, of " + sent
                + " sent (" + report + ")").isGreaterThanOrEqualTo(sent * 0.99);
    }

    /** A transfer of {@value #SECONDS} s, during a flood at {@code rate} (0: as fast as it goes; negative: none). */
    private Run run(NetnsTopology topo, KeelGatewayProcess keel, String name, int rate, String spi) throws Exception {
        if (rate < 0) {
            long cpu0 = cpuNanos(keel);
            long t0 = System.nanoTime();
            double bits = iperf3(topo, SECONDS);
            double cpu = (cpuNanos(keel) - cpu0) / (double) (System.nanoTime() - t0);
            return new Run(name, bits, null, Map.of(), Map.of(), loadAverage(), cpu);
        }
        Map<String, Double> before = metrics(topo, topo.a(), METRICS, "keel_esp_", "keel_forward_");
        Map<String, Long> udpBefore = udp(topo, topo.a());
        Path log = work.resolve("flood-" + rate + ".log");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), EspFlood.class.getName(),
                "--target", topo.a().outerAddress() + ":4500", "--spi", spi, "--rate", Integer.toString(rate),
                "--seconds", Integer.toString(SECONDS + 2), "--threads", rate == 0 ? "2" : "1"));
        Process flood = topo.startInBackground(topo.b().gatewayNamespace(), log, cmd.toArray(String[]::new));
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (!Files.readString(log).contains("esp-flood: sending")) {
                assertThat(flood.isAlive() && System.nanoTime() < deadline)
                        .as("the flood generator starts: " + Files.readString(log)).isTrue();
                Thread.sleep(50);
            }
            Thread.sleep(500); // past the generator's first, slowest (interpreted) packets
            long cpu0 = cpuNanos(keel);
            long t0 = System.nanoTime();
            double bits = iperf3(topo, SECONDS);
            double cpu = (cpuNanos(keel) - cpu0) / (double) (System.nanoTime() - t0);
            String load = loadAverage();
            assertThat(flood.waitFor(SECONDS + 20, TimeUnit.SECONDS)).as("the flood ends").isTrue();
            Thread.sleep(500); // the last packets in the sockets' buffers are read and counted
            String json = Files.readString(log).lines().filter(l -> l.startsWith("{")).findFirst()
                    .orElseThrow(() -> new AssertionError("no result from the flood generator: " + readQuietly(log)));
            Map<String, Double> grown = new TreeMap<>(metrics(topo, topo.a(), METRICS, "keel_esp_", "keel_forward_"));
            before.forEach((k, v) -> grown.merge(k, -v, Double::sum));
            grown.values().removeIf(v -> v == 0);
            Map<String, Long> udpGrown = new TreeMap<>(udp(topo, topo.a()));
            udpBefore.forEach((k, v) -> udpGrown.merge(k, -v, Long::sum));
            return new Run(name, bits, json, grown, udpGrown, load, cpu);
        } finally {
            flood.destroyForcibly();
            flood.waitFor(5, TimeUnit.SECONDS);
        }
    }

    /** An iperf3 TCP transfer of {@code seconds} from host B to host A through the tunnel; bits a second received. */
    private double iperf3(NetnsTopology topo, int seconds) throws IOException, InterruptedException {
        Path serverLog = work.resolve("iperf3-server.log");
        Process server = topo.startInBackground(topo.a().hostNamespace(), serverLog, "iperf3", "-s", "-1", "-B",
                topo.a().hostAddress(), "-p", "5201");
        try {
            BoundedCommand.Result client = null;
            for (int attempt = 0; attempt < 20; attempt++) { // the server needs a moment to listen
                client = topo.exec(topo.b().hostNamespace(), Duration.ofSeconds(seconds + 15), "iperf3", "-c",
                        topo.a().hostAddress(), "-p", "5201", "-t", Integer.toString(seconds), "-J",
                        "--connect-timeout", "2000");
                if (client.ok() && client.output().contains("\"sum_received\"")) {
                    break;
                }
                Thread.sleep(100);
            }
            client.requireOk();
            Matcher m = Pattern.compile("\"sum_received\":\\s*\\{[^}]*?\"bits_per_second\":\\s*([0-9.e+]+)")
                    .matcher(client.output());
            assertThat(m.find()).as("iperf3 JSON has end.sum_received.bits_per_second:\n" + client.output()).isTrue();
            return Double.parseDouble(m.group(1));
        } finally {
            server.descendants().forEach(ProcessHandle::destroyForcibly);
            server.destroyForcibly();
            server.waitFor(5, TimeUnit.SECONDS);
        }
    }

    /** CPU time Keel's process has used so far (user and system, all threads). */
    private static long cpuNanos(KeelGatewayProcess keel) {
        return keel.process().info().totalCpuDuration().orElseThrow().toNanos();
    }

    /** The SPI of A's one inbound CHILD SA, from its per-SA series. */
    private static String inboundSpi(Map<String, Double> metrics) {
        Pattern spi = Pattern.compile("spi=\"(?:0x)?([0-9a-fA-F]{1,8})\"");
        List<String> found = metrics.keySet().stream()
                .filter(k -> k.startsWith("keel_esp_sa_packets_total") && k.contains("direction=\"in\"")).toList();
        assertThat(found).as("A's inbound SA series").hasSize(1);
        Matcher m = spi.matcher(found.getFirst());
        assertThat(m.find()).as("an SPI in " + found.getFirst()).isTrue();
        return m.group(1);
    }

    private static String drops(String reason) {
        return "keel_esp_inbound_drops_total{reason=\"" + reason + "\"}";
    }

    /** The mean throughput of the runs called {@code name}. */
    private static double mean(List<Run> runs, String name) {
        return runs.stream().filter(r -> r.name().equals(name)).mapToDouble(Run::bitsPerSecond).average().orElseThrow();
    }

    private static String report(List<Run> runs) {
        double quiet = mean(runs, "quiet");
        StringBuilder b = new StringBuilder();
        for (String name : List.of("flood " + FIXED_RATE + "/s", "flood max")) {
            b.append(String.format(Locale.ROOT, "  %s: %.1f Mbit/s, %.0f%% of the quiet mean %.1f Mbit/s%n", name,
                    mean(runs, name) / 1e6, 100 * mean(runs, name) / quiet, quiet / 1e6));
        }
        for (Run r : runs) {
            b.append(String.format(Locale.ROOT, "  %-14s %7.1f Mbit/s, Keel A used %.0f%% of a core, load %s", r.name(),
                    r.bitsPerSecond() / 1e6, 100 * r.keelCpuPerSecond(), r.load()));
            if (r.flood() != null) {
                b.append("\n      flood ").append(r.flood()).append("\n      Keel A grew:");
                r.grown().forEach((k, v) -> {
                    if (k.contains("drops") || k.contains("outer_datagrams") || k.contains("packets_total{direction")
                            || k.contains("unknown_spi")) {
                        b.append(String.format(Locale.ROOT, " %s=%.0f", k.replace("keel_", ""), v));
                    }
                });
                b.append("\n      kernel UDP in A's namespace grew: ").append(r.udp());
            }
            b.append('\n');
        }
        return b.toString();
    }

    private static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException e) {
            return "unknown";
        }
    }

    private static String readQuietly(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return e.toString();
        }
    }
}
