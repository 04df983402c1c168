package dev.keel.esp.wire;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs an external command with a bounded wait: a process still running at the timeout is killed
 * (with its descendants) and reported as timed out, so no test can hang on a tool.
 */
public final class BoundedCommand {

    /** What a finished (or killed) command printed, stdout and stderr together. */
    public record Result(List<String> command, int exitCode, boolean timedOut, String output) {

        /** Exit 0 and not killed. */
        public boolean ok() {
            return exitCode == 0 && !timedOut;
        }

        /** This result, or an AssertionError naming the command and its output. */
        public Result requireOk() {
            if (!ok()) {
                throw new AssertionError(this.toString());
            }
            return this;
        }

        @Override
        public String toString() {
            return String.join(" ", command) + " -> " + (timedOut ? "killed after timeout" : "exit " + exitCode)
                    + (output.isBlank() ? "" : "\n" + output.strip());
        }
    }

    private BoundedCommand() {
    }

    /** Runs {@code command} with the inherited environment. */
    public static Result run(Duration timeout, List<String> command) throws IOException {
        return run(timeout, Map.of(), command);
    }

    /** Runs {@code command} with {@code env} added to the inherited environment. */
    public static Result run(Duration timeout, Map<String, String> env, List<String> command) throws IOException {
        Path out = Files.createTempFile("keel-interop-cmd", ".out");
        try {
            ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile());
            pb.environment().putAll(env);
            Process p = pb.start();
            boolean timedOut = false;
            try {
                if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    timedOut = true;
                    p.descendants().forEach(ProcessHandle::destroyForcibly);
                    p.destroyForcibly();
                    p.waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while running " + String.join(" ", command), e);
            }
            int exit = p.isAlive() ? -1 : p.exitValue();
            return new Result(List.copyOf(command), exit, timedOut, Files.readString(out, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
        }
    }

    /** Sends {@code signal} (e.g. "TERM", "KILL") to the process group {@code pgid}; errors ignored. */
    public static void signalGroup(long pgid, String signal) {
        try {
            run(Duration.ofSeconds(5), List.of("kill", "-" + signal, "--", "-" + pgid));
        } catch (IOException e) {
            // The group is gone or kill is missing: the caller falls back to ProcessHandle.
        }
    }
}
