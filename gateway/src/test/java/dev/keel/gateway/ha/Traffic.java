package dev.keel.gateway.ha;

import dev.keel.esp.wire.BoundedCommand;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The traffic through the tunnel during a failover run, both ways between the host behind
 * strongSwan and the LAN host behind the pair: ping at 100/s in each direction, the
 * sequence-numbered UDP probe (udp_probe.py, 1,000/s, echoed) and, per kill, an iperf3 TCP stream
 * from the peer's host to the LAN host.
 */
final class Traffic implements AutoCloseable {

    /** UDP probe packets per second (one every millisecond: the resolution of the figures). */
    static final int PROBE_RATE = 1000;
    static final int PROBE_PORT = 7000;
    static final int IPERF_PORT = 5201;
    /** iperf3's rate: a steady TCP stream that leaves the 2-core build machine room for the rest. */
    static final String IPERF_RATE = "5M";

    /**
     * The probes and pings run SCHED_FIFO (chrt -f 10): on a loaded machine a descheduled sender
     * stops sending for hundreds of ms, a gap that would read as the network's. They use little
     * CPU (a packet a millisecond), so they cannot starve the system under test.
     */
    static String[] realtime(String... command) {
        List<String> c = new ArrayList<>(List.of("chrt", "-f", "10"));
        c.addAll(List.of(command));
        return c.toArray(String[]::new);
    }

    private final AnycastPairNetns net;
    private final Path dir;
    private final List<Process> processes = new ArrayList<>();
    private final Path probeSenderLog;
    private final Path probeEchoLog;
    private final Path pingForwardLog;
    private final Path pingReturnLog;
    private final Path replay;
    private boolean stopped;

    private Traffic(AnycastPairNetns net, Path dir) {
        this.net = net;
        this.dir = dir;
        this.probeSenderLog = dir.resolve("probe-sender.log");
        this.probeEchoLog = dir.resolve("probe-echo.log");
        this.pingForwardLog = dir.resolve("ping-peer-to-lan.log");
        this.pingReturnLog = dir.resolve("ping-lan-to-peer.log");
        this.replay = dir.resolve("udp_replay.py");
    }

    /** Starts the iperf3 server, the probe's echo and sender and both pings. */
    static Traffic start(AnycastPairNetns net, Path dir) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        Traffic t = new Traffic(net, dir);
        try {
            Path probe = t.resource("udp_probe.py");
            t.resource("udp_replay.py");
            t.awaitReady(t.started(net.start(net.lanHost(), dir.resolve("probe-echo.out"), realtime("python3",
                    probe.toString(), "echo", AnycastPairNetns.LAN_HOST, Integer.toString(PROBE_PORT),
                    t.probeEchoLog.toString()))), dir.resolve("probe-echo.out"));
            t.started(net.start(net.lanHost(), dir.resolve("iperf3-server.log"), "iperf3", "-s", "-B",
                    AnycastPairNetns.LAN_HOST, "-p", Integer.toString(IPERF_PORT)));
            t.awaitReady(t.started(net.start(net.peerHost(), dir.resolve("probe-sender.out"), realtime("python3",
                    probe.toString(), "send", AnycastPairNetns.PEER_HOST, AnycastPairNetns.LAN_HOST,
                    Integer.toString(PROBE_PORT), Integer.toString(PROBE_RATE), t.probeSenderLog.toString()))),
                    dir.resolve("probe-sender.out"));
            t.started(net.start(net.peerHost(), t.pingForwardLog, realtime("ping", "-D", "-n", "-i", "0.01", "-W",
                    "1", AnycastPairNetns.LAN_HOST)));
            t.started(net.start(net.lanHost(), t.pingReturnLog, realtime("ping", "-D", "-n", "-i", "0.01", "-W", "1",
                    AnycastPairNetns.PEER_HOST)));
            return t;
        } catch (IOException | InterruptedException | RuntimeException e) {
            t.close();
            throw e;
        }
    }

    private Path resource(String name) throws IOException {
        Path p = dir.resolve(name);
        try (InputStream in = Traffic.class.getResourceAsStream("/ha/" + name)) {
            if (in == null) {
                throw new IOException("test resource /ha/" + name + " is missing");
            }
            Files.write(p, in.readAllBytes());
        }
        return p;
    }

    private Process started(Process p) {
        processes.add(p);
        return p;
    }

    private void awaitReady(Process p, Path out) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!Files.readString(out).contains("ready")) {
            if (!p.isAlive() || System.nanoTime() > deadline) {
                throw new IOException("udp_probe.py did not start:\n" + Files.readString(out));
            }
            Thread.sleep(20);
        }
    }

    /** The probe's records so far (the logs are flushed in blocks; complete after {@link #stop()}). */
    ProbeLog probe() throws IOException {
        return ProbeLog.read(probeSenderLog, probeEchoLog);
    }

    /** ping's replies, host behind strongSwan to LAN host. */
    PingLog pingForward() throws IOException {
        return PingLog.read(pingForwardLog);
    }

    /** ping's replies, LAN host to host behind strongSwan. */
    PingLog pingReturn() throws IOException {
        return PingLog.read(pingReturnLog);
    }

    /**
     * An iperf3 TCP stream from the peer's host to the LAN host, in the background: {@code seconds}
     * long at {@link #IPERF_RATE}.
     */
    Process startIperf(int seconds, Path json) throws IOException {
        return started(net.start(net.peerHost(), json, "iperf3", "-c", AnycastPairNetns.LAN_HOST, "-p",
                Integer.toString(IPERF_PORT), "-t", Integer.toString(seconds), "-b", IPERF_RATE, "-J",
                "--connect-timeout", "3000"));
    }

    /** What one iperf3 stream did: bytes the server received, TCP retransmissions, or its error. */
    record IperfResult(long bytesReceived, long retransmits, String error) {
    }

    /** Waits (bounded) for an iperf3 stream started by {@link #startIperf} and reads its JSON. */
    static IperfResult iperfResult(Process iperf, Path json, Duration timeout) throws IOException, InterruptedException {
        if (!iperf.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            iperf.destroyForcibly();
            return new IperfResult(0, 0, "did not finish within " + timeout);
        }
        String out = Files.readString(json);
        Matcher error = Pattern.compile("\"error\":\\s*\"([^\"]*)\"").matcher(out);
        if (error.find()) {
            return new IperfResult(0, 0, error.group(1));
        }
        Matcher received = Pattern.compile("\"sum_received\":\\s*\\{[^}]*?\"bytes\":\\s*(\\d+)").matcher(out);
        Matcher retransmits = Pattern.compile("\"sum_sent\":\\s*\\{[^}]*?\"retransmits\":\\s*(\\d+)").matcher(out);
        if (!received.find()) {
            return new IperfResult(0, 0, "no sum_received in iperf3's output: " + AnycastPairNetns.tail(out, 2000));
        }
        return new IperfResult(Long.parseLong(received.group(1)),
                retransmits.find() ? Long.parseLong(retransmits.group(1)) : -1, "");
    }

    /**
     * Sends {@code payloads} (hex UDP payloads) again from the peer's address and port 4500 to
     * the anycast address (udp_replay.py, a raw socket, since charon holds the port); returns how
     * many went out.
     */
    int replayFromPeer(List<String> payloads) throws IOException {
        Path file = dir.resolve("replay-" + System.nanoTime() + ".hex");
        Files.write(file, payloads);
        BoundedCommand.Result r = net.exec(net.peer(), Duration.ofSeconds(30 + payloads.size() / 500), "python3",
                replay.toString(), AnycastPairNetns.PEER_ADDRESS, "4500", AnycastPairNetns.ANYCAST, "4500",
                file.toString()).requireOk();
        return Integer.parseInt(r.output().strip().lines().reduce((x, y) -> y).orElse("0").strip());
    }

    /** Stops everything (SIGTERM: the probe flushes its logs); idempotent. */
    void stop() throws InterruptedException {
        if (stopped) {
            return;
        }
        stopped = true;
        for (Process p : processes.reversed()) {
            p.destroy();
        }
        for (Process p : processes) {
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
            }
        }
    }

    @Override
    public void close() throws InterruptedException {
        stop();
    }
}
