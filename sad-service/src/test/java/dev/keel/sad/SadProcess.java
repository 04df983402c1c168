package dev.keel.sad;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A sad-service started as its own JVM ({@link SadMain}) from this JVM's java.home and class
 * path with Keel's JVM flags; its output goes to files next to the test's temp dir.
 */
final class SadProcess implements AutoCloseable {

    private static final Pattern READY = Pattern.compile("keel-sad ready node=(\\S+) grpc-port=(\\d+) pid=(\\d+)");

    final String nodeId;
    final Process process;
    final Path stdout;
    final Path stderr;
    int grpcPort = -1;

    private SadProcess(String nodeId, Process process, Path stdout, Path stderr) {
        this.nodeId = nodeId;
        this.process = process;
        this.stdout = stdout;
        this.stderr = stderr;
    }

    static SadProcess start(Path dir, String nodeId, List<String> args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        String flags = System.getProperty("keel.jvm.flags", "");
        for (String f : flags.trim().split("\\s+")) {
            if (!f.isEmpty()) {
                cmd.add(f);
            }
        }
        cmd.add("-Xmx256m");
        cmd.add("-XX:+UseSerialGC");
        cmd.add("-XX:TieredStopAtLevel=1");
        cmd.add("-Dhazelcast.phone.home.enabled=false");
        String logging = System.getProperty("java.util.logging.config.file");
        if (logging != null) {
            cmd.add("-Djava.util.logging.config.file=" + logging);
        }
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(SadMain.class.getName());
        cmd.add("--node-id");
        cmd.add(nodeId);
        cmd.addAll(args);
        Path out = dir.resolve(nodeId + ".out");
        Path err = dir.resolve(nodeId + ".err");
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        return new SadProcess(nodeId, p, out, err);
    }

    /** Waits for the ready line; fails with the process's stderr tail if it dies or times out. */
    void awaitReady(long timeoutMillis) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (System.nanoTime() < deadline) {
            String s = Files.readString(stdout, StandardCharsets.UTF_8);
            Matcher m = READY.matcher(s);
            if (m.find()) {
                grpcPort = Integer.parseInt(m.group(2));
                return;
            }
            if (!process.isAlive()) {
                throw new IllegalStateException(nodeId + " exited with " + process.exitValue() + ": " + tail());
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException(nodeId + " not ready in " + timeoutMillis + " ms: " + tail());
    }

    String tail() throws IOException {
        String e = Files.readString(stderr, StandardCharsets.UTF_8);
        return e.length() > 4000 ? e.substring(e.length() - 4000) : e;
    }

    /** kill -9 (SIGKILL on Unix) and reap. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            try {
                kill();
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }
}
