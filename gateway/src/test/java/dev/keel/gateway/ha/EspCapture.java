package dev.keel.gateway.ha;

import dev.keel.esp.wire.Tshark;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * A tshark capture of every UDP packet on strongSwan's link to the router (all IKE and ESP
 * between the peer and the pair, whichever node sent it), and what tshark makes of it with the
 * keys the nodes exported: each Keel ESP packet's ICV verdict and (SPI, sequence number), and
 * every IKE message.
 */
final class EspCapture implements AutoCloseable {

    private static final Duration TSHARK_TIMEOUT = Duration.ofMinutes(10);

    private final Tshark tshark;
    private final Path pcap;
    private final Process process;
    private final Path log;

    private EspCapture(Tshark tshark, Path pcap, Process process, Path log) {
        this.tshark = tshark;
        this.pcap = pcap;
        this.process = process;
        this.log = log;
    }

    /** Starts capturing on {@code iface} in {@code namespace} into {@code pcap}; returns once it captures. */
    static EspCapture start(AnycastPairNetns net, String namespace, String iface, Path pcap)
            throws IOException, InterruptedException {
        Tshark tshark = Tshark.assumeInstalled();
        Path log = pcap.resolveSibling(pcap.getFileName() + ".log");
        // pcap, not pcapng: the file can be read while the capture still writes it (replay); 64 MiB buffer
        Process p = net.start(namespace, log, tshark.executable().toString(), "-n", "-q", "-i", iface, "-B", "64",
                "-f", "udp", "-F", "pcap", "-w", pcap.toString());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.readString(log).contains("Capturing on")) {
            if (!p.isAlive() || System.nanoTime() > deadline) {
                p.destroyForcibly();
                throw new IOException("tshark did not start capturing on " + iface + " in " + namespace + ":\n"
                        + Files.readString(log));
            }
            Thread.sleep(50);
        }
        return new EspCapture(tshark, pcap, p, log);
    }

    /** The capture file. */
    Path pcap() {
        return pcap;
    }

    /** Stops the capture (SIGTERM: tshark flushes and reports drops); returns what it said. */
    String stop() throws IOException, InterruptedException {
        if (process.isAlive()) {
            process.destroy();
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
        return Files.readString(log);
    }

    @Override
    public void close() throws IOException, InterruptedException {
        stop();
    }

    /** One IKE message on the wire. */
    record IkeMessage(double time, String source, String initiatorSpi, int exchange, boolean response) {
        /** IKE_SA_INIT (34), IKE_AUTH (35), CREATE_CHILD_SA (36), INFORMATIONAL (37). */
        String exchangeName() {
            return switch (exchange) {
                case 34 -> "IKE_SA_INIT";
                case 35 -> "IKE_AUTH";
                case 36 -> "CREATE_CHILD_SA";
                case 37 -> "INFORMATIONAL";
                default -> Integer.toString(exchange);
            };
        }
    }

    /** Every IKE message in the capture, in order. */
    List<IkeMessage> ikeMessages() {
        String out = fields(List.of(), "isakmp", "frame.time_epoch", "ip.src", "isakmp.ispi", "isakmp.exchangetype",
                "isakmp.flags");
        List<IkeMessage> messages = new ArrayList<>();
        for (String line : out.lines().toList()) {
            String[] f = line.split("\t", -1);
            if (f.length < 5 || f[3].isEmpty()) {
                continue;
            }
            int flags = parseInt(f[4]);
            messages.add(new IkeMessage(Double.parseDouble(f[0]), f[1], f[2], parseInt(f[3]), (flags & 0x20) != 0));
        }
        return messages;
    }

    /**
     * What tshark says of the ESP packets {@code source} sent, decrypted and checked with
     * {@code espSaLines} (Keel's exported esp_sa lines).
     *
     * @param packets ESP packets from {@code source}
     * @param icvGood those whose ICV tshark verified as good
     * @param notGood frame numbers of the others (bad, or no verdict: an SA tshark was not given)
     * @param repeated (SPI, sequence number) pairs seen more than once, as "spi/seq"
     * @param spis the SPIs seen
     */
    record EspCheck(int packets, int icvGood, List<Integer> notGood, List<String> repeated, Set<String> spis) {
    }

    EspCheck checkEsp(String source, List<String> espSaLines) {
        List<String> prefs = new ArrayList<>();
        for (String p : List.of("esp.enable_encryption_decode:TRUE", "esp.enable_authentication_check:TRUE")) {
            prefs.add(p);
        }
        for (String l : espSaLines) {
            prefs.add("uat:esp_sa:" + l);
        }
        String out = fields(prefs, "ip.src == " + source + " && esp.spi", "frame.number", "esp.spi", "esp.sequence",
                "esp.icv_good", "esp.icv_bad");
        int packets = 0;
        int good = 0;
        List<Integer> notGood = new ArrayList<>();
        Map<String, Integer> seen = new HashMap<>();
        Set<String> repeated = new LinkedHashSet<>();
        Set<String> spis = new HashSet<>();
        for (String line : out.lines().toList()) {
            String[] f = line.split("\t", -1);
            if (f.length < 5) {
                continue;
            }
            packets++;
            if (truth(f[3]) && !truth(f[4])) {
                good++;
            } else if (notGood.size() < 100) {
                notGood.add(parseInt(f[0]));
            }
            String key = f[1] + "/" + f[2];
            spis.add(f[1]);
            if (seen.merge(key, 1, Integer::sum) == 2) {
                repeated.add(key);
            }
        }
        return new EspCheck(packets, good, notGood, List.copyOf(repeated), spis);
    }

    /**
     * The UDP payloads (hex) of the ESP packets {@code source} sent to port {@code port} before
     * {@code before}, oldest first, at most the last {@code max} of them: what an attacker on the
     * link could have recorded. Reads the capture while it still runs.
     */
    List<String> espPayloadsBefore(String source, int port, Instant before, int max) {
        double limit = before.getEpochSecond() + before.getNano() / 1e9;
        String out = fields(List.of(), "ip.src == " + source + " && udp.dstport == " + port + " && esp.spi",
                "frame.time_epoch", "udp.payload");
        List<String> payloads = new ArrayList<>();
        for (String line : out.lines().toList()) {
            String[] f = line.split("\t", -1);
            if (f.length == 2 && !f[1].isEmpty() && Double.parseDouble(f[0]) < limit) {
                payloads.add(f[1]);
            }
        }
        return payloads.subList(Math.max(0, payloads.size() - max), payloads.size());
    }

    /** tshark -r over the capture with {@code filter}, printing {@code fields} tab-separated. */
    private String fields(List<String> prefs, String filter, String... fields) {
        List<String> args = new ArrayList<>(List.of("-n", "-r", pcap.toString()));
        for (String p : prefs) {
            args.add("-o");
            args.add(p);
        }
        args.addAll(List.of("-Y", filter, "-T", "fields", "-E", "separator=/t", "-E", "occurrence=f"));
        for (String f : fields) {
            args.add("-e");
            args.add(f);
        }
        Tshark.Result r = tshark.run(args, TSHARK_TIMEOUT);
        // A capture still being written ends in a cut-short packet: tshark says so and exits non-zero
        // after printing every whole packet, which is all that is wanted here.
        if (r.exitCode() != 0 && !r.stderr().contains("cut short")) {
            r.requireSuccess();
        }
        return r.stdout();
    }

    private static boolean truth(String field) {
        return field.equals("1") || field.equalsIgnoreCase("true");
    }

    private static int parseInt(String s) {
        return s.startsWith("0x") ? Integer.parseInt(s.substring(2), 16) : Integer.parseInt(s);
    }
}
