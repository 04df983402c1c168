package dev.keel.esp.tun;

import static dev.keel.esp.tun.WorkerProcesses.awaitLine;
import static dev.keel.esp.tun.WorkerProcesses.count;
import static dev.keel.esp.tun.WorkerProcesses.logs;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.esp.EspWorkerMain;
import dev.keel.esp.wire.BoundedCommand;
import dev.keel.esp.wire.SystemTests;
import dev.keel.esp.wire.Tshark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two Keel gateways ({@link EspWorkerMain} in child JVMs, each in its own network namespace,
 * joined by a veth pair) with TUN devices and static AES-GCM SAs from YAML files: kernel ping
 * (IPv4, IPv6) and an iperf3 TCP transfer between the TUN subnets cross the tunnel; ping with DF
 * and a packet above the tunnel MTU gets Keel's ICMP "fragmentation needed"; without DF it is
 * fragmented by Keel and reassembled by the peer's kernel; tshark, given only the {@code esp_sa}
 * table the gateway exported, decrypts the capture of the outer link and finds the inner ICMP,
 * ICMPv6 and TCP. Namespaces are {@code kd-<random>-a/b}; processes and namespaces are removed
 * in {@link #cleanUp()} even when the test fails.
 */
class NetnsTunnelTest {

    /** Site A's TUN MTU is set above the tunnel's inner MTU (1438 for AES-GCM over IPv4 on a 1500 path). */
    private static final int A_TUN_MTU = 1500;
    private static final int INNER_MTU = 1438;

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
    @Timeout(value = 110, unit = TimeUnit.SECONDS)
    void pingIperf3AndTsharkThroughTwoKeelGatewaysInNamespaces() throws Exception {
        Path iperf3 = SystemTests.assumeTool("iperf3");
        Path ping = SystemTests.assumeTool("ping");
        Tshark tshark = Tshark.assumeInstalled();

        net = GatewayPairNetns.create("kd", "10.77.0");
        String id = net.id;
        String nsA = net.nsA;
        String nsB = net.nsB;
        String vethA = net.vethA;
        String vethB = net.vethB;
        // Keel sends ESP in UDP GSO batches (UDP_SEGMENT). A veth passes such a batch on whole, and
        // a capture on it would show one datagram holding many ESP packets; at most one segment
        // per packet makes the kernel cut the batch before the device, as for a NIC without USO.
        Netns.run(Netns.DEFAULT_TIMEOUT, "ip", "-n", nsA, "link", "set", vethA, "gso_max_segs", "1").requireOk();
        Netns.run(Netns.DEFAULT_TIMEOUT, "ip", "-n", nsB, "link", "set", vethB, "gso_max_segs", "1").requireOk();

        GatewayPairNetns.writeRandomKey(dir.resolve("a-to-b.hex"), 36);
        GatewayPairNetns.writeRandomKey(dir.resolve("b-to-a.hex"), 36);
        Path exportA = dir.resolve("keys-a");
        Path yamlA = dir.resolve("site-a.yaml");
        Path yamlB = dir.resolve("site-b.yaml");
        Files.writeString(yamlA, site("10.77.0.1", "10.77.0.2", "kdt" + id + "a", "71", "72", "0xc0000002",
                "b-to-a.hex", "0xc0000001", "a-to-b.hex", "mtu: " + A_TUN_MTU, "export_keys: keys-a"));
        Files.writeString(yamlB, site("10.77.0.2", "10.77.0.1", "kdt" + id + "b", "72", "71", "0xc0000001",
                "a-to-b.hex", "0xc0000002", "b-to-a.hex", "mtu: auto", ""));

        Path logA = dir.resolve("gw-a.log");
        Path logB = dir.resolve("gw-b.log");
        Process gwA = net.started(WorkerProcesses.start(nsA, yamlA, logA));
        Process gwB = net.started(WorkerProcesses.start(nsB, yamlB, logB));
        awaitLine(gwA, logA, "keel-esp-worker: started", Duration.ofSeconds(60));
        awaitLine(gwB, logB, "keel-esp-worker: started", Duration.ofSeconds(60));
        assertThat(Files.readString(logA)).contains("mtu " + A_TUN_MTU + ", inner mtu " + INNER_MTU);
        assertThat(Files.readString(logB)).contains("mtu " + INNER_MTU + ", inner mtu " + INNER_MTU);

        // Capture the outer link in A: ESP-in-UDP only, bounded in packets and time.
        Path pcap = dir.resolve("outer.pcap");
        Process capture = net.captureOuterLinkOfA(tshark, "udp port 4500", 4000, 60, pcap);

        // Warm-up: the first packets wait for class loading and the JIT in both gateways (seconds on a loaded machine).
        Netns.run(Duration.ofSeconds(40), "ip", "netns", "exec", nsA, ping.toString(), "-n", "-c", "1", "-W", "30",
                "-I", "192.168.71.1", "192.168.72.1");
        BoundedCommand.Result v4 = Netns.run(Duration.ofSeconds(20), "ip", "netns", "exec", nsA, ping.toString(), "-n",
                "-c", "3", "-i", "0.2", "-W", "3", "-I", "192.168.71.1", "192.168.72.1");
        assertThat(v4.output()).as(v4 + "\n" + logs(logA, logB)).contains("3 received");
        BoundedCommand.Result v6 = Netns.run(Duration.ofSeconds(20), "ip", "netns", "exec", nsA, ping.toString(), "-6", "-n",
                "-c", "3", "-i", "0.2", "-W", "3", "-I", "fd71::1", "fd72::1");
        assertThat(v6.output()).as(v6 + "\n" + logs(logA, logB)).contains("3 received");

        // DF clear, 1488 B on a 1500 B TUN but a 1438 B tunnel: Keel fragments the inner packet and
        // B's kernel reassembles it and answers. (First, before any PMTU is cached for 192.168.72.1.)
        BoundedCommand.Result frag = Netns.run(Duration.ofSeconds(20), "ip", "netns", "exec", nsA, ping.toString(), "-n",
                "-c", "2", "-i", "0.3", "-W", "3", "-M", "dont", "-s", "1460", "-I", "192.168.71.1", "192.168.72.1");
        assertThat(frag.output()).as(frag + "\n" + logs(logA, logB)).contains("2 received");
        // DF set: Keel answers ICMP "fragmentation needed" with MTU 1438; ping reports it (then the cached PMTU).
        BoundedCommand.Result df = Netns.run(Duration.ofSeconds(20), "ip", "netns", "exec", nsA, ping.toString(), "-n",
                "-c", "2", "-i", "0.3", "-W", "2", "-M", "do", "-s", "1460", "-I", "192.168.71.1", "192.168.72.1");
        assertThat(df.output()).as(df + "\n" + logs(logA, logB)).containsPattern("mtu ?= ?" + INNER_MTU);

        // iperf3 TCP, A -> B, 3 s.
        Path iperfLog = dir.resolve("iperf3-server.log");
        Process server = new ProcessBuilder("ip", "netns", "exec", nsB, iperf3.toString(), "-s", "-1", "--forceflush",
                "-B", "192.168.72.1", "-p", "5201").redirectErrorStream(true).redirectOutput(iperfLog.toFile()).start();
        net.started(server);
        awaitLine(server, iperfLog, "Server listening", Duration.ofSeconds(15));
        BoundedCommand.Result client = Netns.run(Duration.ofSeconds(30), "ip", "netns", "exec", nsA, iperf3.toString(),
                "-c", "192.168.72.1", "-B", "192.168.71.1", "-p", "5201", "-t", "3", "-f", "m");
        assertThat(client.ok()).as(client + "\n" + logs(logA, logB)).isTrue();
        Matcher m = Pattern.compile("([0-9.]+) Mbits/sec\\s+receiver").matcher(client.output());
        assertThat(m.find()).as(client.output()).isTrue();
        double mbits = Double.parseDouble(m.group(1));
        // Not a benchmark (bench/run-esp-iperf.sh is): only that the transfer moved data.
        assertThat(mbits).as("iperf3 TCP through the tunnel, Mbit/s").isGreaterThan(0.1);
        System.out.println("NetnsTunnelTest: iperf3 TCP through the Keel tunnel: " + mbits + " Mbit/s");

        // Stop the capture (it may already have its 4000 packets) and the gateways (their counters go to the logs).
        capture.destroy();
        capture.waitFor(15, TimeUnit.SECONDS);
        gwA.destroy();
        gwB.destroy();
        assertThat(gwA.waitFor(20, TimeUnit.SECONDS)).isTrue();
        assertThat(gwB.waitFor(20, TimeUnit.SECONDS)).isTrue();
        String a = Files.readString(logA);
        assertThat(a).contains("keel-esp-worker: stopping").containsPattern("too-big: icmp [1-9]")
                .containsPattern("fragmented [1-9]");
        // TUN offload: A read TCP super-packets from its TUN and cut them; B wrote coalesced ones.
        assertThat(a).as(a).containsPattern("gso: super-packets read [1-9]").contains("malformed 0");
        assertThat(Files.readString(logB)).as(Files.readString(logB)).containsPattern("gro: super-packets written [1-9]");

        // tshark decrypts the outer capture with nothing but the esp_sa lines gateway A exported.
        List<String> espSa = Files.readAllLines(exportA.resolve("esp_sa")).stream()
                .filter(l -> l.startsWith("\"")).toList();
        assertThat(espSa).hasSize(2);
        String keep = System.getProperty("keel.netns.keep");
        if (keep != null) { // -Dkeel.netns.keep=DIR keeps the capture, the key table and the logs for a look
            Path k = Files.createDirectories(Path.of(keep));
            for (Path f : List.of(pcap, exportA.resolve("esp_sa"), logA, logB)) {
                Files.copy(f, k.resolve(f.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        }
        assertThat(count(tshark, pcap, espSa, "esp.icv_good == 1")).isPositive();
        assertThat(count(tshark, pcap, espSa, "esp.icv_bad == 1")).isZero();
        assertThat(count(tshark, pcap, espSa, "esp && icmp.type == 8 && ip.dst == 192.168.72.1")).isGreaterThanOrEqualTo(3);
        assertThat(count(tshark, pcap, espSa, "esp && icmp.type == 0 && ip.src == 192.168.72.1")).isGreaterThanOrEqualTo(3);
        assertThat(count(tshark, pcap, espSa, "esp && icmpv6.type == 128 && ipv6.dst == fd72::1")).isGreaterThanOrEqualTo(3);
        assertThat(count(tshark, pcap, espSa, "esp && ip.flags.mf == 1 && ip.dst == 192.168.72.1"))
                .as("inner IPv4 fragments made by Keel").isPositive();
        assertThat(count(tshark, pcap, espSa, "esp && tcp.dstport == 5201 && tcp.len > 0")).isGreaterThan(100);
    }

    private static String site(String local, String peer, String tun, String mine, String theirs, String inSpi,
            String inKey, String outSpi, String outKey, String mtu, String export) {
        return """
                listen: %s:4500
                loops: 2
                keepalive: 0
                plaintext:
                  tun:
                    name: %s
                    addresses: [192.168.%s.1/24, "fd%s::1/64"]
                    %s
                %s
                sas:
                  peer:
                    peer: %s:4500
                    esp: aes256gcm16
                    replay_window: 1024
                    local_ts: [192.168.%s.0/24, "fd%s::/64"]
                    remote_ts: [192.168.%s.0/24, "fd%s::/64"]
                    in: {spi: %s, enc_key: "file:%s"}
                    out: {spi: %s, enc_key: "file:%s"}
                """.formatted(local, tun, mine, mine, mtu, export, peer, mine, mine, theirs, theirs, inSpi, inKey,
                outSpi, outKey);
    }
}
