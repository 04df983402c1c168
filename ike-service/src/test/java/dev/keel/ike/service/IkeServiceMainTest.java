package dev.keel.ike.service;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.ike.admin.IkeAdminService;
import dev.keel.ike.admin.LogControl;
import dev.keel.ike.engine.IkeSettings;
import dev.keel.proto.v1.IkeServiceGrpc;
import dev.keel.proto.v1.ListIkeSasRequest;
import dev.keel.rpc.TestPki;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * keel-ike-service's start-up checks: plaintext gRPC only on this host, no short PSK, a KEK file that
 * is one, an admin listener with mutual TLS and roles or plaintext on loopback.
 */
class IkeServiceMainTest {

    @Test
    void plaintextIsAllowedToLoopbackAndUnixSocketsOnly() {
        for (String local : new String[] {"127.0.0.1:7420", "127.0.0.5:7420", "localhost:7420", "[::1]:7420",
                "dns:///127.0.0.1:7420", "unix:/run/keel/policy.sock"}) {
            assertThat(IkeServiceMain.plaintextRefusal(local)).as(local).isNull();
        }
        assertThat(IkeServiceMain.plaintextRefusal("192.0.2.10:7420")).contains("only to a loopback address")
                .contains("192.0.2.10").contains("--tls-cert");
        assertThat(IkeServiceMain.plaintextRefusal("dns:///10.0.0.1:7420")).contains("10.0.0.1");
        assertThat(IkeServiceMain.plaintextRefusal("[2001:db8::1]:7420")).contains("2001:db8:0:0:0:0:0:1");
        assertThat(IkeServiceMain.plaintextRefusal("sad.keel.invalid:7430")).contains("cannot resolve 'sad.keel.invalid'");
    }

    @Test
    void aPskShorterThan20BytesStopsTheStartWithExitCode2() {
        // Any variable of this process with a short value stands in for a short PSK.
        String variable = System.getenv().entrySet().stream()
                .filter(e -> e.getKey().matches("[A-Z_]+") && !e.getValue().isEmpty()
                        && e.getValue().getBytes(StandardCharsets.UTF_8).length < 20)
                .map(java.util.Map.Entry::getKey).sorted().findFirst().orElse(null);
        org.junit.jupiter.api.Assumptions.assumeTrue(variable != null, "no environment variable with a short value");
        int length = System.getenv(variable).getBytes(StandardCharsets.UTF_8).length;
        String out = run("--address", "127.0.0.1", "--ike-port", "41500", "--nat-t-port", "-1",
                "--policy", "127.0.0.1:1", "--sad", "127.0.0.1:2", "--node-id", "ike-test", "--psk", "psk=" + variable);
        assertThat(out).contains("exit 2").contains("--psk psk=" + variable + ": the key is " + length + " bytes")
                .contains("at least 20");
    }

    /** Runs the main with {@code args}; its standard error and "exit N". */
    private static String run(String... args) {
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        int exit;
        try {
            exit = Assertions.assertTimeoutPreemptively(Duration.ofSeconds(30),
                    () -> new CommandLine(new IkeServiceMain()).execute(args));
        } finally {
            System.setErr(err);
        }
        return captured.toString(StandardCharsets.UTF_8) + "\nexit " + exit;
    }

    @Test
    void aNodeIdTheSadWouldRefuseStopsTheStartWithExitCode2() {
        String out = run("--address", "127.0.0.1", "--ike-port", "41500", "--nat-t-port", "-1",
                "--policy", "127.0.0.1:1", "--sad", "127.0.0.1:2", "--node-id", "ike 1");
        assertThat(out).contains("exit 2").contains("--node-id 'ike 1': 1..64 of [A-Za-z0-9._-]");
    }

    @Test
    void aMetricsAddressThatIsNoneStopsTheStartWithExitCode2() {
        String out = run("--address", "127.0.0.1", "--ike-port", "41500", "--nat-t-port", "-1",
                "--policy", "127.0.0.1:1", "--sad", "127.0.0.1:2", "--node-id", "ike-test",
                "--metrics-listen", "metrics.example:9464");
        assertThat(out).contains("exit 2").contains("--metrics-listen: ").contains("metrics.example");
    }

    @Test
    void aBadHalfOpenLimitStopsTheStartWithExitCode2NamingTheSetting() {
        String[] base = {"--address", "127.0.0.1", "--ike-port", "41500", "--nat-t-port", "-1", "--policy",
            "127.0.0.1:1", "--sad", "127.0.0.1:2", "--node-id", "ike-test"};
        assertThat(run(concat(base, "--ike", "cookie_threshold=many"))).contains("exit 2")
                .contains("--ike cookie_threshold=many: cookie_threshold: 'many' is not a whole number");
        assertThat(run(concat(base, "--ike", "block_threshold=0"))).contains("exit 2")
                .contains("block_threshold: 0 is out of range 1-1000000");
        assertThat(run(concat(base, "--ike", "half_open_timeout=soon"))).contains("exit 2")
                .contains("half_open_timeout: ");
        assertThat(run(concat(base, "--ike", "dos_protection=yes"))).contains("exit 2")
                .contains("dos_protection: unknown setting; known: cookie_threshold, cookie_threshold_ip");
    }

    @Test
    void halfOpenLimitsTakeStrongSwansNames() {
        IkeSettings l = IkeSettings.DEFAULT.with("cookie_threshold", "5").with("cookie_threshold_ip", "2")
                .with("init_limit_half_open", "50").with("block_threshold", "7").with("half_open_timeout", "1m")
                .with("cookie_secret_lifetime", "0");
        assertThat(l).isEqualTo(new IkeSettings(5, 2, 50, 7, java.time.Duration.ofMinutes(1),
                java.time.Duration.ZERO));
        assertThat(l.with("fragment_size", "1400").with("block_threshold", "8").fragmentSize()).isEqualTo(1400);
        assertThat(IkeSettings.DEFAULT.fragmentSize()).isEqualTo(1280); // strongSwan's charon.fragment_size
        assertThat(IkeSettings.DEFAULT.with("fragment_size", "0").fragmentSize()).isZero();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> IkeSettings.DEFAULT.with("fragment_size", "500"))
                .hasMessage("fragment_size: 500 is below 576 (IPv4's minimum datagram); 0 picks the family's minimum");
    }

    @Test
    void aNonLoopbackServiceWithoutTlsStopsTheStartWithExitCode2() {
        // Issue 19: ike-service sent CHILD SA keys to any --sad address in plaintext.
        String out = run("--address", "127.0.0.1", "--ike-port", "41500", "--nat-t-port", "-1",
                "--policy", "127.0.0.1:1", "--sad", "192.0.2.7:7430", "--node-id", "ike-test");
        assertThat(out).contains("exit 2").contains("--sad 192.0.2.7:7430")
                .contains("plaintext gRPC only to a loopback address");
    }

    @Test
    void aKeyOptionNamesAReadablePemPrivateKeyFile(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        java.util.Map<String, byte[]> secrets = new java.util.HashMap<>();
        assertThat(IkeServiceMain.readKey("gw-key", secrets)).isEqualTo("expected NAME=PEM_FILE");
        assertThat(IkeServiceMain.readKey("gw-key=" + dir.resolve("none.pem"), secrets))
                .isEqualTo("cannot read " + dir.resolve("none.pem") + " (NoSuchFileException)");
        java.nio.file.Path notAKey = java.nio.file.Files.writeString(dir.resolve("cert.pem"), "secret stuff\n");
        assertThat(IkeServiceMain.readKey("gw-key=" + notAKey, secrets)).startsWith(notAKey + " holds no PEM private key")
                .doesNotContain("secret stuff");
        var keys = java.security.KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        java.nio.file.Path key = java.nio.file.Files.writeString(dir.resolve("gw.key"), "-----BEGIN PRIVATE KEY-----\n"
                + java.util.Base64.getMimeEncoder().encodeToString(keys.getPrivate().getEncoded())
                + "\n-----END PRIVATE KEY-----\n");
        assertThat(secrets).isEmpty();
        assertThat(IkeServiceMain.readKey("gw-key=" + key, secrets)).isNull();
        assertThat(secrets).containsOnlyKeys("gw-key");
    }

    @Test
    void aKekFileThatIsNoKekStopsTheStartWithExitCode2(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        String[] base = {"--address", "127.0.0.1", "--ike-port", "41500", "--nat-t-port", "-1",
            "--policy", "127.0.0.1:1", "--sad", "127.0.0.1:2", "--node-id", "ike-test"};
        java.nio.file.Path none = dir.resolve("none.hex");
        assertThat(run(concat(base, "--kek-file", none.toString()))).contains("exit 2")
                .contains("--kek-file " + none + ": cannot be read");
        java.nio.file.Path open = java.nio.file.Files.writeString(dir.resolve("kek.hex"), "00".repeat(32) + "\n");
        java.nio.file.Files.setPosixFilePermissions(open, java.nio.file.attribute.PosixFilePermissions
                .fromString("rw-r--r--"));
        assertThat(run(concat(base, "--kek-file", open.toString()))).contains("exit 2")
                .contains("--kek-file " + open + ": permissions rw-r--r--").doesNotContain("0000");
    }

    @Test
    void aRelayOffLoopbackWithoutTlsOrWorkersStopsTheStartWithExitCode2() {
        // the relay lets its caller speak IKE as any peer and out of the workers' address
        String[] base = {"--address", "127.0.0.1", "--policy", "127.0.0.1:1", "--sad", "127.0.0.1:2",
            "--node-id", "ike-test"};
        assertThat(run(concat(base, "--relay-listen", "192.0.2.7:7600"))).contains("exit 2")
                .contains("--relay-listen 192.0.2.7:7600: plaintext only on a loopback address");
        assertThat(run(concat(base, "--relay-listen", "127.0.0.1:7600", "--esp-worker", "w1"))).contains("exit 2")
                .contains("--esp-worker needs mutual TLS");
        assertThat(run(concat(base, "--esp-worker", "w1"))).contains("exit 2").contains("give --relay-listen");
        assertThat(run(concat(base, "--relay-listen", "127.0.0.1"))).contains("exit 2").contains("expected HOST:PORT");
        assertThat(run(concat(base, "--relay-listen", "127.0.0.1:7600", "--nat-t-port", "-1"))).contains("exit 2")
                .contains("names no port");
    }

    @Test
    void anAdminListenerOffLoopbackWithoutTlsOrWithoutRolesStopsTheStartWithExitCode2(
            @TempDir Path dir) throws Exception {
        String[] base = {"--address", "127.0.0.1", "--policy", "127.0.0.1:1", "--sad", "127.0.0.2:2",
            "--node-id", "ike-test"};
        assertThat(run(concat(base, "--admin-listen", "192.0.2.7:7601"))).contains("exit 2")
                .contains("--admin-listen 192.0.2.7:7601: plaintext only on a loopback address");
        assertThat(run(concat(base, "--admin-listen", "127.0.0.1:7601", "--reader", "monitor"))).contains("exit 2")
                .contains("--admin, --operator and --reader need mutual TLS");
        assertThat(run(concat(base, "--operator", "oncall"))).contains("exit 2").contains("give --admin-listen");
        assertThat(run(concat(base, "--admin-listen", "127.0.0.1"))).contains("exit 2")
                .contains("--admin-listen 127.0.0.1: expected HOST:PORT");
        TestPki.Issued ca = TestPki.ca(dir, "keel-test-ca");
        TestPki.Issued me = TestPki.leaf(dir, ca, "ike.keel.test", "localhost");
        String[] tls = concat(base, "--tls-cert", me.certPem().toString(), "--tls-key", me.keyPem().toString(),
                "--tls-ca", ca.certPem().toString(), "--admin-listen", "127.0.0.1:0");
        assertThat(run(tls)).contains("exit 2").contains("no client may call anything");
        assertThat(run(concat(tls, "--reader", "CN=x,,O=y"))).contains("exit 2").contains("--reader: ");
    }

    @Test
    void theAdminListenerServesIkeServiceToTheRolesItNames(@TempDir Path dir)
            throws Exception {
        TestPki.Issued ca = TestPki.ca(dir, "keel-test-ca");
        TestPki.Issued me = TestPki.leaf(dir, ca, "ike.keel.test", "localhost");
        IkeServiceMain main = new IkeServiceMain();
        new CommandLine(main).parseArgs("--address", "127.0.0.1", "--policy", "127.0.0.1:1", "--sad", "127.0.0.1:2",
                "--node-id", "ike-test", "--tls-cert", me.certPem().toString(), "--tls-key", me.keyPem().toString(),
                "--tls-ca", ca.certPem().toString(), "--admin-listen", "127.0.0.1:0", "--reader", "monitor",
                "--operator", "oncall", "--admin", "ops");
        Server server = main.adminServer(true)
                .addService(new IkeAdminService("", () -> 1, LogControl.NODE))
                .build().start();
        try {
            assertThat(call(server, ca, TestPki.leaf(dir, ca, "monitor")))
                    .as("a reader gets through to the service, whose engine is not attached").isEqualTo("UNAVAILABLE");
            assertThat(call(server, ca, TestPki.leaf(dir, ca, "stranger"))).isEqualTo("PERMISSION_DENIED");
        } finally {
            server.shutdownNow();
        }
    }

    private static String call(Server server, TestPki.Issued ca, TestPki.Issued client)
            throws Exception {
        ManagedChannel ch = Grpc.newChannelBuilderForAddress("127.0.0.1", server.getPort(),
                TlsChannelCredentials.newBuilder().trustManager(ca.certPem().toFile())
                        .keyManager(client.certPem().toFile(), client.keyPem().toFile()).build())
                .overrideAuthority("localhost").build();
        try {
            IkeServiceGrpc.newBlockingStub(ch).withDeadlineAfter(20, TimeUnit.SECONDS)
                    .listIkeSas(ListIkeSasRequest.getDefaultInstance());
            return "OK";
        } catch (StatusRuntimeException e) {
            return e.getStatus().getCode().name();
        } finally {
            ch.shutdownNow();
        }
    }

    private static String[] concat(String[] a, String... b) {
        return java.util.stream.Stream.concat(java.util.Arrays.stream(a), java.util.Arrays.stream(b))
                .toArray(String[]::new);
    }
}
