package dev.keel.esp.wire;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Runs tshark on a capture and reads back what its ESP dissector made of each packet: SPI,
 * sequence number, the ICV verdict and the decrypted inner packet. tshark dissects UDP port
 * 4500 as ESP-in-UDP (RFC 3948) by default, so no "decode as" is needed.
 *
 * <p>Each run gets a fresh, empty Wireshark configuration directory
 * ({@code WIRESHARK_CONFIG_DIR}), so the user's own {@code esp_sa} or preferences never leak
 * in; SAs are given only as {@code -o uat:esp_sa:<line>} options. Output goes to files, not
 * pipes, so a chatty tshark cannot block; a run that outlives its timeout is killed.
 *
 * <p>Checked with TShark 4.0.17 (Debian 12). With {@code -T fields} it prints booleans as
 * {@code 1}/{@code 0} (4.2 and later print {@code True}/{@code False}; both are read) and
 * checksum statuses as {@code 0} bad, {@code 1} good, {@code 2} unverified.
 */
public final class Tshark {

    /** The default bound on one tshark run. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);

    /** Preferences that turn on ESP decryption and ICV checking, plus IP and UDP checksum checks. */
    public static final List<String> ESP_PREFERENCES = List.of(
            "esp.enable_encryption_decode:TRUE",
            "esp.enable_authentication_check:TRUE",
            "ip.check_checksum:TRUE",
            "udp.check_checksum:TRUE");

    /** The fields {@link #dissectEsp} asks for, in this order. */
    static final List<String> ESP_FIELDS = List.of(
            "frame.number", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
            "udp.srcport", "udp.dstport", "ip.checksum.status", "udp.checksum.status",
            "esp.spi", "esp.sequence", "esp.icv_good", "esp.icv_bad",
            "esp.decrypted_data", "esp.contained_data", "esp.pad_len", "esp.protocol");

    private static final String AGGREGATOR = "|";
    private static final HexFormat HEX = HexFormat.of();

    private final Path executable;

    public Tshark(Path executable) {
        this.executable = executable;
    }

    /** tshark from the PATH (or /usr/bin), if installed. */
    public static Optional<Tshark> find() {
        return SystemTests.findTool("tshark").map(Tshark::new);
    }

    /** tshark, or the test is skipped (failed under {@code KEEL_REQUIRE_SYSTEM_TESTS=1}). */
    public static Tshark assumeInstalled() {
        return new Tshark(SystemTests.assumeTool("tshark"));
    }

    public Path executable() {
        return executable;
    }

    /** The first line of {@code tshark -v}, e.g. {@code TShark (Wireshark) 4.0.17 (...)}. */
    public String version() {
        Result r = run(List.of("-v"), Duration.ofSeconds(20));
        return r.stdout().lines().findFirst().orElse("");
    }

    /** The outcome of one tshark run. */
    public record Result(List<String> command, int exitCode, String stdout, String stderr) {

        /** Throws with the command and stderr unless tshark exited with 0. */
        public Result requireSuccess() {
            if (exitCode != 0) {
                throw new IllegalStateException("tshark exited with " + exitCode + ": " + String.join(" ", command)
                        + "\n" + stderr);
            }
            return this;
        }
    }

    /**
     * Runs {@code tshark <args>} with an empty configuration directory and waits at most
     * {@code timeout}; on expiry tshark is killed and an {@link IllegalStateException} thrown.
     */
    public Result run(List<String> args, Duration timeout) {
        List<String> command = new ArrayList<>(args.size() + 1);
        command.add(executable.toString());
        command.addAll(args);
        Path work = null;
        try {
            work = Files.createTempDirectory("keel-tshark");
            Path config = Files.createDirectory(work.resolve("config"));
            Path out = work.resolve("stdout");
            Path err = work.resolve("stderr");
            ProcessBuilder pb = new ProcessBuilder(command)
                    .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                    .redirectOutput(out.toFile())
                    .redirectError(err.toFile());
            pb.environment().put("WIRESHARK_CONFIG_DIR", config.toString());
            pb.environment().put("LC_ALL", "C");
            Process p = pb.start();
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
                throw new IllegalStateException("tshark did not finish within " + timeout + " and was killed: "
                        + String.join(" ", command));
            }
            return new Result(List.copyOf(command), p.exitValue(),
                    Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + command, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running tshark", e);
        } finally {
            deleteTree(work);
        }
    }

    /** The ICV verdict tshark reports for a packet. */
    public enum IcvStatus {
        /** The ICV was computed and matched. */
        GOOD,
        /** The ICV was computed and did not match. */
        BAD,
        /** No verdict: no matching SA, checking off, or an algorithm tshark cannot check. */
        UNCHECKED
    }

    /** A checksum verdict of {@code ip.checksum.status} / {@code udp.checksum.status}. */
    public enum ChecksumStatus {
        BAD, GOOD, UNVERIFIED;

        static ChecksumStatus parse(String s) {
            return switch (s) {
                case "0", "Bad" -> BAD;
                case "1", "Good" -> GOOD;
                default -> UNVERIFIED;
            };
        }
    }

    /**
     * What tshark made of one frame. Multi-valued header fields list every occurrence, outer
     * header first (an IPv4 inner packet adds a second {@code ip.src}).
     *
     * @param frame the frame number, from 1
     * @param ipSources {@code ip.src}, outer first
     * @param ipDestinations {@code ip.dst}
     * @param ipv6Sources {@code ipv6.src}
     * @param ipv6Destinations {@code ipv6.dst}
     * @param udpSourcePort -1 when the frame has no UDP header
     * @param udpDestinationPort -1 when the frame has no UDP header
     * @param ipChecksums {@code ip.checksum.status} of every IPv4 header, outer first
     * @param udpChecksum the (outer) UDP checksum verdict, null without UDP
     * @param spi the ESP SPI, -1 when tshark found no ESP header
     * @param sequence the ESP sequence number (low 32 bits), -1 without ESP
     * @param icv the ICV verdict
     * @param decrypted {@code esp.decrypted_data}: the plaintext with padding, pad length and next
     *     header; empty when tshark did not decrypt
     * @param inner {@code esp.contained_data}: the plaintext without the trailer, i.e. the inner
     *     packet in tunnel mode; empty when tshark did not decrypt
     * @param padLength the ESP pad length, -1 when not decrypted
     * @param nextHeader the ESP next header, -1 when not decrypted
     */
    public record EspFrame(int frame, List<String> ipSources, List<String> ipDestinations,
            List<String> ipv6Sources, List<String> ipv6Destinations, int udpSourcePort, int udpDestinationPort,
            List<ChecksumStatus> ipChecksums, ChecksumStatus udpChecksum,
            long spi, long sequence, IcvStatus icv, byte[] decrypted, byte[] inner, int padLength, int nextHeader) {

        /** True when tshark decrypted the payload (which it also does when the ICV is bad). */
        public boolean wasDecrypted() {
            return inner.length > 0;
        }
    }

    /**
     * Dissects {@code pcap} with ESP decryption and ICV checking on, the given {@code esp_sa}
     * lines as the SA table and {@code extraOptions} as further {@code -o} preferences.
     *
     * @param espSaLines lines as {@code dev.keel.esp.export.EspSaTable#format} writes them
     */
    public List<EspFrame> dissectEsp(Path pcap, List<String> espSaLines, List<String> extraOptions, Duration timeout) {
        List<String> args = new ArrayList<>();
        args.add("-n");
        args.add("-r");
        args.add(pcap.toString());
        for (String pref : ESP_PREFERENCES) {
            args.add("-o");
            args.add(pref);
        }
        for (String line : espSaLines) {
            args.add("-o");
            args.add("uat:esp_sa:" + line);
        }
        for (String pref : extraOptions) {
            args.add("-o");
            args.add(pref);
        }
        args.addAll(List.of("-T", "fields", "-E", "header=n", "-E", "separator=/t", "-E", "quote=n",
                "-E", "occurrence=a", "-E", "aggregator=" + AGGREGATOR));
        for (String f : ESP_FIELDS) {
            args.add("-e");
            args.add(f);
        }
        Result r = run(args, timeout).requireSuccess();
        List<EspFrame> frames = new ArrayList<>();
        for (String line : r.stdout().lines().toList()) {
            if (!line.isEmpty()) {
                frames.add(parse(line));
            }
        }
        return frames;
    }

    /** {@link #dissectEsp(Path, List, List, Duration)} with no extra options and the default timeout. */
    public List<EspFrame> dissectEsp(Path pcap, List<String> espSaLines) {
        return dissectEsp(pcap, espSaLines, List.of(), DEFAULT_TIMEOUT);
    }

    static EspFrame parse(String line) {
        String[] f = line.split("\t", -1);
        if (f.length != ESP_FIELDS.size()) {
            throw new IllegalStateException("tshark printed " + f.length + " fields, expected "
                    + ESP_FIELDS.size() + ": " + line);
        }
        IcvStatus icv = bool(f[11]) ? IcvStatus.GOOD : bool(f[12]) ? IcvStatus.BAD : IcvStatus.UNCHECKED;
        List<String> udpSums = list(f[8]);
        return new EspFrame(Integer.parseInt(f[0]), list(f[1]), list(f[2]), list(f[3]), list(f[4]),
                firstInt(f[5]), firstInt(f[6]),
                list(f[7]).stream().map(ChecksumStatus::parse).toList(),
                udpSums.isEmpty() ? null : ChecksumStatus.parse(udpSums.getFirst()),
                number(f[9]), number(f[10]), icv, bytes(f[13]), bytes(f[14]), (int) number(f[15]),
                (int) number(f[16]));
    }

    private static List<String> list(String field) {
        if (field.isEmpty()) {
            return List.of();
        }
        return List.of(field.split("\\" + AGGREGATOR, -1));
    }

    private static boolean bool(String field) {
        String v = list(field).isEmpty() ? "" : list(field).getFirst();
        return v.equals("1") || v.equalsIgnoreCase("true");
    }

    private static int firstInt(String field) {
        return (int) number(field);
    }

    /** The first value of a numeric field, decimal or 0x-hex; -1 when absent. */
    private static long number(String field) {
        List<String> values = list(field);
        if (values.isEmpty()) {
            return -1;
        }
        String v = values.getFirst();
        return v.startsWith("0x") ? Long.parseLong(v.substring(2), 16) : Long.parseLong(v);
    }

    private static byte[] bytes(String field) {
        List<String> values = list(field);
        if (values.isEmpty()) {
            return new byte[0];
        }
        return HEX.parseHex(values.getFirst().replace(":", ""));
    }

    private static void deleteTree(Path dir) {
        if (dir == null) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // best effort: a temp directory left behind is harmless
        }
    }
}
