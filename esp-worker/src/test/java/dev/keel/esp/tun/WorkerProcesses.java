package dev.keel.esp.tun;

import dev.keel.esp.EspWorkerMain;
import dev.keel.esp.wire.Tshark;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** keel-esp-worker processes in network namespaces for the netns tests: start, wait, read their logs, count decrypted frames. */
public final class WorkerProcesses {

    private WorkerProcesses() {
    }

    /** Starts {@code keel-esp-worker yaml} in namespace {@code ns} (this JVM's native-access flags), output to {@code log}. */
    public static Process start(String ns, Path yaml, Path log) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns,
                Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (arg.startsWith("--enable-native-access") || arg.startsWith("--add-opens") || arg.startsWith("--add-exports")
                    || arg.startsWith("--sun-misc") || arg.startsWith("-Dio.netty")) {
                cmd.add(arg);
            }
        }
        cmd.addAll(List.of("-Xmx256m", "-cp", System.getProperty("java.class.path"), EspWorkerMain.class.getName(),
                yaml.toString()));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    /** Waits until {@code log} contains {@code text}; fails early if {@code p} exits. */
    public static void awaitLine(Process p, Path log, String text, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            String s = Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
            if (s.contains(text)) {
                return;
            }
            if (!p.isAlive()) {
                throw new AssertionError("process exited (" + p.exitValue() + ") before printing '" + text + "':\n" + s);
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no '" + text + "' within " + timeout + ":\n"
                + (Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : ""));
    }

    /** Both gateways' logs, for assertion messages. */
    public static String logs(Path a, Path b) throws IOException {
        return "--- gateway A\n" + Files.readString(a) + "--- gateway B\n" + Files.readString(b);
    }

    /** Frames of {@code pcap} matching {@code filter} once ESP is decrypted with {@code espSa}. */
    public static long count(Tshark tshark, Path pcap, List<String> espSa, String filter) {
        List<String> args = new ArrayList<>(List.of("-n", "-r", pcap.toString()));
        for (String pref : Tshark.ESP_PREFERENCES) {
            args.addAll(List.of("-o", pref));
        }
        for (String line : espSa) {
            args.addAll(List.of("-o", "uat:esp_sa:" + line));
        }
        args.addAll(List.of("-Y", filter, "-T", "fields", "-e", "frame.number"));
        Tshark.Result r = tshark.run(args, Duration.ofSeconds(60)).requireSuccess();
        return r.stdout().lines().filter(l -> !l.isBlank()).count();
    }
}
