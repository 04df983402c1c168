package dev.keel.gateway.interop;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One Keel service (any main class) in a child JVM inside a network namespace: this JVM's
 * java.home, class path and module flags, its output (stdout and stderr) to one log file.
 * {@code ip netns exec} execs into java, so {@link #kill()} is a {@code kill -9} of the service.
 */
public final class ServiceProcess implements AutoCloseable {

    private final String name;
    private final Process process;
    private final Path log;

    private ServiceProcess(String name, Process process, Path log) {
        this.name = name;
        this.process = process;
        this.log = log;
    }

    /**
     * Starts {@code main} with {@code args} in {@code namespace} ({@code jvmArgs} and {@code env}
     * added) and waits until its log shows {@code ready}; on failure kills it and throws with the log.
     */
    public static ServiceProcess start(String name, String namespace, Class<?> main, List<String> args,
            List<String> jvmArgs, Map<String, String> env, Path log, String ready, Duration timeout)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", namespace,
                Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (arg.startsWith("--enable-native-access") || arg.startsWith("--add-opens")
                    || arg.startsWith("--add-exports") || arg.startsWith("--sun-misc") || arg.startsWith("-Dio.netty")) {
                cmd.add(arg);
            }
        }
        cmd.addAll(jvmArgs);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), main.getName()));
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().putAll(env);
        ServiceProcess s = new ServiceProcess(name, pb.start(), log);
        try {
            s.awaitLog(ready, timeout);
        } catch (IOException | RuntimeException | AssertionError e) {
            s.close();
            throw e;
        }
        return s;
    }

    /** Waits until the log contains {@code text}; fails with the log when the process dies or time runs out. */
    public void awaitLog(String text, Duration timeout) throws IOException, InterruptedException {
        awaitLog(text, 1, timeout);
    }

    /** Waits until the log contains {@code text} {@code times} times (or more); fails as {@link #awaitLog(String, Duration)}. */
    public void awaitLog(String text, int times, Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (occurrences(log(), text) < times) {
            if (!process.isAlive()) {
                throw new AssertionError(name + " exited (" + process.exitValue() + ") before '" + text + "':\n" + log());
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no '" + text + "' (" + times + " times) from " + name + " within " + timeout
                        + ":\n" + log());
            }
            Thread.sleep(50);
        }
    }

    private static int occurrences(String log, String text) {
        int n = 0;
        for (int i = log.indexOf(text); i >= 0; i = log.indexOf(text, i + text.length())) {
            n++;
        }
        return n;
    }

    /** Everything the service printed so far. */
    public String log() throws IOException {
        return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
    }

    public String name() {
        return name;
    }

    public ProcessHandle process() {
        return process.toHandle();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** SIGKILL ({@code kill -9}): no shutdown hook runs; returns once it is gone (bounded). */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    /** SIGTERM (the service's shutdown hook runs), then SIGKILL after 10 s. */
    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
            process.waitFor(5, TimeUnit.SECONDS);
        }
    }
}
