package dev.keel.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code keel-gateway --check}: policy-service's and the gateway's readers read one file, and say a problem once. */
class GatewayMainCheckTest {

    @TempDir
    Path dir;

    @Test
    void aProblemOfTheWholeFileIsPrintedOnce() throws Exception {
        Path file = Files.writeString(dir.resolve("node.yaml"), "gateway: [unclosed\n");
        String err = check(file);
        assertThat(err.lines().filter(l -> l.contains("invalid YAML")).count()).as(err).isEqualTo(1);
        assertThat(err).startsWith(file + ":");
        assertThat(check(dir.resolve("none.yaml")).lines()).as("one line").singleElement().asString()
                .endsWith("none.yaml: cannot read the file: no such file");
    }

    @Test
    void aBadMetricsSectionStopsTheCheckNamingFileKeyPathAndProblem() throws Exception {
        Path file = Files.writeString(dir.resolve("node.yaml"), """
                gateway:
                  address: 127.0.0.1
                  plaintext: {virtual_wire: {bind: 127.0.0.1:20001, host: 127.0.0.1:21001}}
                metrics: {listen: "127.0.0.1"}
                connections: {}
                metrics2: {}
                """);
        assertThat(check(file)).contains(file + ":6:1: metrics2: unknown");
        Files.writeString(file, Files.readString(file).replace("metrics2: {}\n", "").replace("\"127.0.0.1\"",
                "\"127.0.0.1:x\""));
        assertThat(check(file).strip()).isEqualTo(file + ":4:19: metrics.listen: port 'x' is not a number 0-65535");
    }

    private static String check(Path file) {
        PrintStream saved = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            assertThat(new CommandLine(new GatewayMain()).execute("--check", "-c", file.toString())).isEqualTo(2);
        } finally {
            System.setErr(saved);
        }
        return captured.toString(StandardCharsets.UTF_8);
    }
}
