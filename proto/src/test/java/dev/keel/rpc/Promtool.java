package dev.keel.rpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Prometheus' own check of an exposition: {@code promtool check metrics} (Debian package
 * {@code prometheus}) parses it and lints the names, types, units and help texts. Where promtool is
 * missing the test is skipped with the reason, unless {@code KEEL_REQUIRE_SYSTEM_TESTS=1} (CI):
 * then it fails.
 */
public final class Promtool {

    private Promtool() {
    }

    /** The promtool executable, or the test skipped (failed under KEEL_REQUIRE_SYSTEM_TESTS=1). */
    public static Path assumeInstalled() {
        for (String dir : (System.getenv().getOrDefault("PATH", "") + ":/usr/bin:/bin").split(":")) {
            Path p = dir.isEmpty() ? null : Path.of(dir, "promtool");
            if (p != null && Files.isExecutable(p)) {
                return p;
            }
        }
        String reason = "'promtool' is not installed (Debian package prometheus)";
        if ("1".equals(System.getenv("KEEL_REQUIRE_SYSTEM_TESTS"))) {
            fail(reason + " and KEEL_REQUIRE_SYSTEM_TESTS=1 forbids skipping");
        }
        Assumptions.abort("skipped: " + reason + " (set KEEL_REQUIRE_SYSTEM_TESTS=1 to fail instead)");
        return null;
    }

    /**
     * Asserts that {@code promtool check rules} accepts {@code rulesYaml}, a Prometheus rules file:
     * every expression in it parses.
     */
    public static void assertRulesValid(String rulesYaml) throws IOException, InterruptedException {
        Path promtool = assumeInstalled();
        Path file = Files.createTempFile("keel-rules", ".yml");
        try {
            Files.writeString(file, rulesYaml);
            Process p = new ProcessBuilder(promtool.toString(), "check", "rules", file.toString())
                    .redirectErrorStream(true).start();
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                fail("promtool check rules did not finish in 30 s");
            }
            assertThat(p.exitValue()).as("promtool check rules: " + output).isZero();
        } finally {
            Files.deleteIfExists(file);
        }
    }

    /** Asserts that {@code promtool check metrics} finds nothing wrong with {@code exposition}. */
    public static void assertValid(String exposition) throws IOException, InterruptedException {
        Path promtool = assumeInstalled();
        Process p = new ProcessBuilder(promtool.toString(), "check", "metrics").redirectErrorStream(true).start();
        try (OutputStream in = p.getOutputStream()) {
            in.write(exposition.getBytes(StandardCharsets.UTF_8));
        }
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("promtool check metrics did not finish in 30 s");
        }
        assertThat(output).as("promtool check metrics").isBlank();
        assertThat(p.exitValue()).as("promtool's exit code; its output: " + output).isZero();
    }
}
