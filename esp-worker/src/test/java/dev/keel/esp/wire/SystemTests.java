package dev.keel.esp.wire;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Guards for tests that need something of the machine: a tool on the PATH, root, network
 * namespaces. Where it is missing the test is skipped with the reason, unless the environment
 * variable {@value #REQUIRE_ENV} is {@code 1} (CI sets it): then the test fails, so a build
 * machine that lost a tool cannot turn the system tests green by skipping them.
 */
public final class SystemTests {

    /** Set to {@code 1} to turn every skip of this class into a failure. */
    public static final String REQUIRE_ENV = "KEEL_REQUIRE_SYSTEM_TESTS";

    private SystemTests() {
    }

    /** True when {@value #REQUIRE_ENV}=1. */
    public static boolean required() {
        return "1".equals(System.getenv(REQUIRE_ENV));
    }

    /**
     * Returns the executable {@code name} from the PATH (or from {@code /usr/bin},
     * {@code /usr/sbin}, {@code /sbin}, {@code /bin}), skipping or failing the test when it is
     * not there.
     */
    public static Path assumeTool(String name) {
        Optional<Path> tool = findTool(name);
        if (tool.isEmpty()) {
            unavailable("'" + name + "' is not installed (not on PATH nor in /usr/bin, /usr/sbin, /sbin, /bin)");
        }
        return tool.orElseThrow();
    }

    /** Skips or fails unless the JVM runs as root (uid 0). */
    public static void assumeRoot() {
        if (!isRoot()) {
            unavailable("the test needs root (uid 0); it runs as uid " + uid().map(String::valueOf).orElse("unknown"));
        }
    }

    /** Skips or fails unless {@code ip netns} works: iproute2 present and run as root. */
    public static void assumeIpNetns() {
        Path ip = assumeTool("ip");
        assumeRoot();
        try {
            Process p = new ProcessBuilder(ip.toString(), "netns", "list")
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                unavailable("'ip netns list' did not finish within 10 s");
            }
            if (p.exitValue() != 0) {
                unavailable("'ip netns list' exited with " + p.exitValue());
            }
        } catch (IOException e) {
            unavailable("cannot run 'ip netns list': " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            unavailable("interrupted while checking 'ip netns'");
        }
    }

    /** The executable {@code name}, looked up in the PATH and the usual system directories. */
    public static Optional<Path> findTool(String name) {
        String path = System.getenv("PATH");
        String dirs = (path == null ? "" : path) + ":/usr/bin:/usr/sbin:/sbin:/bin";
        for (String dir : dirs.split(":")) {
            if (dir.isEmpty()) {
                continue;
            }
            Path candidate = Path.of(dir, name);
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    /** True when the effective user is root. */
    public static boolean isRoot() {
        return uid().map(u -> u == 0).orElse(false);
    }

    private static Optional<Integer> uid() {
        try {
            Object uid = Files.getAttribute(Path.of("/proc/self"), "unix:uid");
            return Optional.of((Integer) uid);
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    private static void unavailable(String reason) {
        if (required()) {
            fail(reason + " and " + REQUIRE_ENV + "=1 forbids skipping");
        }
        Assumptions.abort("skipped: " + reason + " (set " + REQUIRE_ENV + "=1 to fail instead)");
    }
}
