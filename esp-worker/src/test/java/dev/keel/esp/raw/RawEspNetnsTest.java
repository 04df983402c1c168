package dev.keel.esp.raw;

import static dev.keel.esp.tun.WorkerProcesses.awaitLine;
import static dev.keel.esp.tun.WorkerProcesses.count;
import static dev.keel.esp.tun.WorkerProcesses.logs;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.esp.tun.GatewayPairNetns;
import dev.keel.esp.tun.Netns;
import dev.keel.esp.tun.WorkerProcesses;
import dev.keel.esp.wire.BoundedCommand;
import dev.keel.esp.wire.SystemTests;
import dev.keel.esp.wire.Tshark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
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

    @TempDir
    Path dir;

    private GatewayPairNetns net;

    @AfterEach
    void cleanUp() throws Exception {
        if (net != null) {
            net.close();
        }
    }

    @Test
    @Timeout(value = 100, unit = TimeUnit.SECONDS)
    void pingCrossesARawEspTunnelAndTsharkDecryptsProtocol50() throws Exception {
        Path ping = SystemTests.assumeTool("ping");
        Tshark tshark = Tshark.assumeInstalled();

        net = GatewayPairNetns.create("kraw", "10.78.0");
        String id = net.id;
        String nsA = net.nsA;
        String nsB = net.nsB;

        GatewayPairNetns.writeRandomKey(dir.resolve("a-to-b.hex"), 36);
        GatewayPairNetns.writeRandomKey(dir.resolve("b-to-a.hex"), 36);
        Path exportA = dir.resolve("keys-a");
        Path yamlA = dir.resolve("site-a.yaml");
        Path yamlB = dir.resolve("site-b.yaml");
        Files.writeString(yamlA, site("10.78.0.1", "10.78.0.2", "krt" + id + "a", "81", "82", "0xc0000012",
                "b-to-a.hex", "0xc0000011", "a-to-b.hex", "export_keys: keys-a"));
        Files.writeString(yamlB, site("10.78.0.2", "10.78.0.1", "krt" + id + "b", "82", "81", "0xc0000011",
                "a-to-b.hex", "0xc0000012", "b-to-a.hex", ""));

        Path logA = dir.resolve("gw-a.log");
        Path logB = dir.resolve("gw-b.log");
        Process gwA = net.started(WorkerProcesses.start(nsA, yamlA, logA));
        Process gwB = net.started(WorkerProcesses.start(nsB, yamlB, logB));
        awaitLine(gwA, logA, "keel-esp-worker: started", Duration.ofSeconds(60));
        awaitLine(gwB, logB, "keel-esp-worker: started", Duration.ofSeconds(60));
        assertThat(Files.readString(logA)).contains("esp: raw ip protocol 50");

        // Capture ESP and anything on UDP (there must be none), bounded in packets and time.
        Path pcap = dir.resolve("outer.pcap");
        Process capture = net.captureOuterLinkOfA(tshark, "ip proto 50 or udp", 500, 40, pcap);

        // Warm-up: the first packet waits for class loading and the JIT in both gateways.
        Netns.run(Duration.ofSeconds(40), "ip", "netns", "exec", nsA, ping.toString(), "-n", "-c", "1", "-W", "30",
                "-I", "192.168.81.1", "192.168.82.1");
        BoundedCommand.Result v4 = Netns.run(Duration.ofSeconds(20), "ip", "netns", "exec", nsA, ping.toString(), "-n", "-c", "3", "-i",
                "0.2", "-W", "3", "-I", "192.168.81.1", "192.168.82.1");
        assertThat(v4.output()).as(v4 + "\n" + logs(logA, logB)).contains("3 received");
        BoundedCommand.Result v6 = Netns.run(Duration.ofSeconds(20), "ip", "netns", "exec", nsA, ping.toString(), "-6", "-n", "-c", "3",
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
}
