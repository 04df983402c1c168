package dev.keel.esp.raw;

import static dev.keel.esp.tun.WorkerProcesses.awaitLine;
import static dev.keel.esp.tun.WorkerProcesses.count;
import static dev.keel.esp.tun.WorkerProcesses.logs;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.esp.tun.Netns;
import dev.keel.esp.tun.WorkerProcesses;
import dev.keel.esp.wire.SystemTests;
import dev.keel.esp.wire.Tshark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two Keel gateways ({@link EspWorkerMain} in child JVMs, one per network namespace, joined by a
 * veth pair) with TUN devices, static AES-GCM SAs and {@code transport: raw-esp}: kernel ping
 * (IPv4 and IPv6 inside) crosses the tunnel; tshark on the outer link sees ESP as IP protocol 50
 * and no UDP at all, and, given only the {@code esp_sa} table gateway A exported, decrypts it and
 * finds the inner ICMP/ICMPv6. Namespaces are {@code kraw-<random>-a/b}; they and every process
 * started are removed in {@link #cleanUp()} even when the test fails.
 */
class RawEspNetnsTest {

    private static final HexFormat HEX = HexFormat.of();

    @TempDir
    Path dir;

    private final List<String> namespaces = new ArrayList<>();
    private final List<Process> processes = new ArrayList<>();

    @AfterEach
    void cleanUp() throws Exception {
        for (Process p : processes.reversed()) {
            if (p.isAlive()) {
                p.destroy();
                if (!p.waitFor(10, TimeUnit.SECONDS)) {
                    p.descendants().forEach(ProcessHandle::destroyForcibly);
                    p.destroyForcibly();
                    p.waitFor(5, TimeUnit.SECONDS);
                }
            }
        }
        for (String ns : namespaces) {
            Netns.run(Duration.ofSeconds(10), "ip", "netns", "del", ns);
        }
    }

    @Test
    @Timeout(value = 100, unit = TimeUnit.SECONDS)
    void pingCrossesARawEspTunnelAndTsharkDecryptsProtocol50() throws Exception {
        SystemTests.assumeIpNetns();
        Path ping = SystemTests.assumeTool("ping");
        Tshark tshark = Tshark.assumeInstalled();

        String id = Integer.toHexString(ThreadLocalRandom.current().nextInt(1 << 24));
        String nsA = "kraw-" + id + "-a";
        String nsB = "kraw-" + id + "-b";
        String vethA = "krv" + id + "a";
        String vethB = "krv" + id + "b";
        for (String ns : List.of(nsA, nsB)) {
            Netns.run(Duration.ofSeconds(10), "ip", "netns", "add", ns).requireOk();
            namespaces.add(ns);
            Netns.run(Duration.ofSeconds(10), "ip", "-n", ns, "link", "set", "lo", "up").requireOk();
        }
        Netns.run(Duration.ofSeconds(10), "ip", "link", "add", vethA, "netns", nsA, "type", "veth", "peer", "name",
                vethB, "netns", nsB).requireOk();
        Netns.run(Duration.ofSeconds(10), "ip", "-n", nsA, "addr", "add", "10.78.0.1/24", "dev", vethA).requireOk();
        Netns.run(Duration.ofSeconds(10), "ip", "-n", nsB, "addr", "add", "10.78.0.2/24", "dev", vethB).requireOk();
        Netns.run(Duration.ofSeconds(10), "ip", "-n", nsA, "link", "set", vethA, "up").requireOk();
        Netns.run(Duration.ofSeconds(10), "ip", "-n", nsB, "link", "set", vethB, "up").requireOk();

        byte[] ab = new byte[36];
        byte[] ba = new byte[36];
        ThreadLocalRandom.current().nextBytes(ab);
        ThreadLocalRandom.current().nextBytes(ba);
        Files.writeString(dir.resolve("a-to-b.hex"), HEX.formatHex(ab) + "\n");
        Files.writeString(dir.resolve("b-to-a.hex"), HEX.formatHex(ba) + "\n");
        Path exportA = dir.resolve("keys-a");
        Path yamlA = dir.resolve("site-a.yaml");
        Path yamlB = dir.resolve("site-b.yaml");
        Files.writeString(yamlA, site("10.78.0.1", "10.78.0.2", "krt" + id + "a", "81", "82", "0xc0000012",
                "b-to-a.hex", "0xc0000011", "a-to-b.hex", "export_keys: keys-a"));
        Files.writeString(yamlB, site("10.78.0.2", "10.78.0.1", "krt" + id + "b", "82", "81", "0xc0000011",
                "a-to-b.hex", "0xc0000012", "b-to-a.hex", ""));

        Path logA = dir.resolve("gw-a.log");
        Path logB = dir.resolve("gw-b.log");
        Process gwA = started(WorkerProcesses.start(nsA, yamlA, logA));
        Process gwB = started(WorkerProcesses.start(nsB, yamlB, logB));
        awaitLine(gwA, logA, "keel-esp-worker: started", Duration.ofSeconds(60));
        awaitLine(gwB, logB, "keel-esp-worker: started", Duration.ofSeconds(60));
        assertThat(Files.readString(logA)).contains("esp: raw ip protocol 50");

        // Capture ESP and anything on UDP (there must be none), bounded in packets and time.
        Path pcap = dir.resolve("outer.pcap");
        Path tsharkLog = dir.resolve("tshark-capture.log");
        Process capture = new ProcessBuilder("ip", "netns", "exec", nsA, tshark.executable().toString(), "-n",
                "-i", vethA, "-f", "ip proto 50 or udp", "-c", "500", "-a", "duration:40", "-w", pcap.toString())
                .redirectErrorStream(true).redirectOutput(tsharkLog.toFile()).start();
        processes.add(capture);
        awaitLine(capture, tsharkLog, "Capturing on", Duration.ofSeconds(30));

        // Warm-up: the first packet waits for class loading and the JIT in both gateways.
        Netns.run(Duration.ofSeconds(40), "ip", "netns", "exec", nsA, ping.toString(), "-n", "-c", "1", "-W", "30",
                "-I", "192.168.81.1", "192.168.82.1");
        Netns.Result v4 = Netns.run(Duration.ofSeconds(20), "ip", "netns", "exec", nsA, ping.toString(), "-n", "-c", "3", "-i",
                "0.2", "-W", "3", "-I", "192.168.81.1", "192.168.82.1");
        assertThat(v4.output()).as(v4 + "\n" + logs(logA, logB)).contains("3 received");
        Netns.Result v6 = Netns.run(Duration.ofSeconds(20), "ip", "netns", "exec", nsA, ping.toString(), "-6", "-n", "-c", "3",
                "-i", "0.2", "-W", "3", "-I", "fd81::1", "fd82::1");
        assertThat(v6.output()).as(v6 + "\n" + logs(logA, logB)).contains("3 received");

        // The last replies may still sit in the capture's buffer: give it a moment before stopping it.
        Thread.sleep(1500);
        capture.destroy();
        capture.waitFor(15, TimeUnit.SECONDS);
        gwA.destroy();
        gwB.destroy();
        assertThat(gwA.waitFor(20, TimeUnit.SECONDS)).isTrue();
        assertThat(gwB.waitFor(20, TimeUnit.SECONDS)).isTrue();
        String a = Files.readString(logA);
        assertThat(a).as(a).containsPattern("raw esp: received [1-9][0-9]*, sent [1-9]").contains("malformed 0");

        List<String> espSa = Files.readAllLines(exportA.resolve("esp_sa")).stream()
                .filter(l -> l.startsWith("\"")).toList();
        assertThat(espSa).hasSize(2);
        assertThat(count(tshark, pcap, espSa, "udp")).as("UDP on the outer link").isZero();
        assertThat(count(tshark, pcap, espSa, "ip.proto == 50 && esp")).as("3 IPv4 and 3 IPv6 echoes and replies").isGreaterThanOrEqualTo(12);
        assertThat(count(tshark, pcap, espSa, "esp.icv_good == 1")).isPositive();
        assertThat(count(tshark, pcap, espSa, "esp.icv_bad == 1")).isZero();
        assertThat(count(tshark, pcap, espSa, "ip.proto == 50 && icmp.type == 8 && ip.dst == 192.168.82.1"))
                .isGreaterThanOrEqualTo(3);
        assertThat(count(tshark, pcap, espSa, "ip.proto == 50 && icmp.type == 0 && ip.src == 192.168.82.1"))
                .isGreaterThanOrEqualTo(3);
        assertThat(count(tshark, pcap, espSa, "ip.proto == 50 && icmpv6.type == 128 && ipv6.dst == fd82::1"))
                .isGreaterThanOrEqualTo(3);
    }

    private static String site(String local, String peer, String tun, String mine, String theirs, String inSpi,
            String inKey, String outSpi, String outKey, String export) {
        return """
                listen: %s:4500
                loops: 2
                transport: raw-esp
                plaintext:
                  tun:
                    name: %s
                    addresses: [192.168.%s.1/24, "fd%s::1/64"]
                %s
                sas:
                  peer:
                    peer: %s
                    esp: aes256gcm16
                    replay_window: 1024
                    local_ts: [192.168.%s.0/24, "fd%s::/64"]
                    remote_ts: [192.168.%s.0/24, "fd%s::/64"]
                    in: {spi: %s, enc_key: "file:%s"}
                    out: {spi: %s, enc_key: "file:%s"}
                """.formatted(local, tun, mine, mine, export, peer, mine, mine, theirs, theirs, inSpi, inKey,
                outSpi, outKey);
    }

    private Process started(Process p) {
        processes.add(p);
        return p;
    }
}
