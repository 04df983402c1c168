package dev.keel.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import dev.keel.rpc.TestPki;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The standalone server refuses to serve without mutual TLS, except plaintext on loopback on request. */
class PolicyServiceMainTest {

    @TempDir
    Path dir;

    private String run(String... args) throws Exception {
        Path config = dir.resolve("keel.yaml");
        Files.writeString(config, "connections: {}\n");
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new PolicyServiceMain()).setErr(new PrintWriter(err));
        String[] all = new String[args.length + 2];
        all[0] = "--config";
        all[1] = config.toString();
        System.arraycopy(args, 0, all, 2, args.length);
        int code = cl.execute(all);
        assertThat(code).as("exit status, stderr: %s", err).isNotZero();
        return err.toString();
    }

    @Test
    void withoutTlsOptionsItRefusesToServe() throws Exception {
        assertThat(run("--listen", "127.0.0.1:0")).contains("requires mutual TLS");
    }

    @Test
    void plaintextOnlyOnLoopback() throws Exception {
        assertThat(run("--plaintext", "--listen", "0.0.0.0:0")).contains("only allowed on a loopback");
    }

    @Test
    void aMetricsAddressThatIsNoneStopsStartupNamingTheOption() throws Exception {
        assertThat(run("--plaintext", "--listen", "127.0.0.1:0", "--metrics-listen", "metrics.example:9464"))
                .contains("--metrics-listen: ").contains("metrics.example");
    }

    @Test
    void tlsWithoutAnyRoleIsRefused() throws Exception {
        Path f = Files.writeString(dir.resolve("x.pem"), "");
        assertThat(run("--listen", "127.0.0.1:0", "--tls-cert", f.toString(), "--tls-key", f.toString(),
                "--tls-client-ca", f.toString())).contains("--admin");
    }

    @Test
    void badTlsFilesAndIdentitiesStopStartupNamingTheProblem() throws Exception {
        TestPki.Issued ca = TestPki.ca(dir, "ca");
        TestPki.Issued server = TestPki.leaf(dir, ca, "server", "localhost");
        Path notAKey = Files.writeString(dir.resolve("not-a-key.pem"), "-----BEGIN PRIVATE KEY-----\nAAAA\n"
                + "-----END PRIVATE KEY-----\n");
        assertThat(run("--listen", "127.0.0.1:0", "--tls-cert", server.certPem().toString(), "--tls-key",
                server.keyPem().toString(), "--tls-client-ca", dir.resolve("nope.pem").toString(), "--admin", "a"))
                .contains("client CA " + dir.resolve("nope.pem") + ": not a readable file");
        assertThat(run("--listen", "127.0.0.1:0", "--tls-cert", server.certPem().toString(), "--tls-key",
                server.keyPem().toString(), "--tls-client-ca", ca.certPem().toString(), "--admin", "CN=a,,x"))
                .contains("--admin / --reader: role ADMIN: identity 'CN=a,,x' is not a distinguished name");
        assertThat(run("--listen", "127.0.0.1:0", "--tls-cert", server.certPem().toString(), "--tls-key",
                notAKey.toString(), "--tls-client-ca", ca.certPem().toString(), "--admin", "a"))
                .contains("--tls-key " + notAKey);
    }
}
