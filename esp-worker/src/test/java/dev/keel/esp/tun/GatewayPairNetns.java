package dev.keel.esp.tun;

import dev.keel.esp.wire.SystemTests;
import dev.keel.esp.wire.Tshark;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Two network namespaces {@code <prefix>-<id>-a/b} joined by a veth pair on {@code <subnet>.1/24}
 * and {@code <subnet>.2/24}, for a gateway-pair test; {@link #close()} stops every process
 * registered with {@link #started} and removes both namespaces, also after a failed test.
 */
public final class GatewayPairNetns implements AutoCloseable {

    private static final HexFormat HEX = HexFormat.of();

    /** A random hex id, unique enough for parallel runs; it names the namespaces, links and TUN devices. */
    public final String id = Integer.toHexString(ThreadLocalRandom.current().nextInt(1 << 24));
    public final String nsA;
    public final String nsB;
    public final String vethA;
    public final String vethB;
    private final List<String> namespaces = new ArrayList<>();
    private final List<Process> processes = new ArrayList<>();

    private GatewayPairNetns(String prefix) {
        nsA = prefix + "-" + id + "-a";
        nsB = prefix + "-" + id + "-b";
        vethA = prefix + "v" + id + "a";
        vethB = prefix + "v" + id + "b";
    }

    /** Skips or fails (see {@link SystemTests}) unless 'ip netns' works; then builds the topology. */
    public static GatewayPairNetns create(String prefix, String subnet) throws IOException {
        SystemTests.assumeIpNetns();
        GatewayPairNetns n = new GatewayPairNetns(prefix);
        try {
            for (String ns : List.of(n.nsA, n.nsB)) {
                Netns.run(Netns.DEFAULT_TIMEOUT, "ip", "netns", "add", ns).requireOk();
                n.namespaces.add(ns);
                Netns.run(Netns.DEFAULT_TIMEOUT, "ip", "-n", ns, "link", "set", "lo", "up").requireOk();
            }
            Netns.run(Netns.DEFAULT_TIMEOUT, "ip", "link", "add", n.vethA, "netns", n.nsA, "type", "veth",
                    "peer", "name", n.vethB, "netns", n.nsB).requireOk();
            n.link(n.nsA, n.vethA, subnet + ".1/24");
            n.link(n.nsB, n.vethB, subnet + ".2/24");
            return n;
        } catch (IOException | RuntimeException | Error e) {
            n.close();
            throw e;
        }
    }

    private void link(String ns, String veth, String address) throws IOException {
        Netns.run(Netns.DEFAULT_TIMEOUT, "ip", "-n", ns, "addr", "add", address, "dev", veth).requireOk();
        Netns.run(Netns.DEFAULT_TIMEOUT, "ip", "-n", ns, "link", "set", veth, "up").requireOk();
    }

    /** Writes {@code bytes} random bytes as hex to {@code file}: a static key file. */
    public static void writeRandomKey(Path file, int bytes) throws IOException {
        byte[] key = new byte[bytes];
        ThreadLocalRandom.current().nextBytes(key);
        Files.writeString(file, HEX.formatHex(key) + "\n");
    }

    /**
     * Starts tshark capturing site A's end of the link into {@code pcap}, bounded by {@code packets}
     * and {@code seconds}, and returns once it captures (stopped in {@link #close()} at the latest).
     */
    public Process captureOuterLinkOfA(Tshark tshark, String filter, int packets, int seconds, Path pcap)
            throws Exception {
        Path log = pcap.resolveSibling(pcap.getFileName() + ".log");
        Process capture = started(new ProcessBuilder("ip", "netns", "exec", nsA, tshark.executable().toString(), "-n",
                "-i", vethA, "-f", filter, "-c", Integer.toString(packets), "-a", "duration:" + seconds,
                "-w", pcap.toString()).redirectErrorStream(true).redirectOutput(log.toFile()).start());
        WorkerProcesses.awaitLine(capture, log, "Capturing on", Duration.ofSeconds(30));
        return capture;
    }

    /** Registers {@code p} to be stopped in {@link #close()}; returns it. */
    public Process started(Process p) {
        processes.add(p);
        return p;
    }

    @Override
    public void close() throws IOException {
        for (Process p : processes.reversed()) {
            if (p.isAlive()) {
                p.destroy();
                try {
                    if (!p.waitFor(10, TimeUnit.SECONDS)) {
                        p.descendants().forEach(ProcessHandle::destroyForcibly);
                        p.destroyForcibly();
                        p.waitFor(5, TimeUnit.SECONDS);
                    }
                } catch (InterruptedException e) {
                    p.destroyForcibly();
                    Thread.currentThread().interrupt();
                }
            }
        }
        for (String ns : namespaces) {
            Netns.run(Netns.DEFAULT_TIMEOUT, "ip", "netns", "del", ns);
        }
        namespaces.clear();
    }
}
