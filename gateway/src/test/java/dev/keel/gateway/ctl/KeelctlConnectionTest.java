package dev.keel.gateway.ctl;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.proto.v1.IkeServiceGrpc;
import dev.keel.proto.v1.ListIkeSasResponse;
import dev.keel.proto.v1.StatsResponse;
import dev.keel.proto.v1.TerminateResponse;
import dev.keel.rpc.MethodRoles;
import dev.keel.rpc.MutualTls;
import dev.keel.rpc.RoleAuthorization;
import dev.keel.rpc.TestPki;
import dev.keel.rpc.UnixSocketServer;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * keelctl over the transports a node serves its admin API on: its Unix socket, mutual TLS with
 * the per-role authorization of the gateway (a reader may list, not terminate), plaintext TCP on
 * loopback; and what it says when it cannot get through (no socket, a refused peer, nobody
 * listening, a node whose certificate it does not trust).
 */
@Timeout(60)
class KeelctlConnectionTest {

    /** The roles of ike.proto, as a node enforces them. */
    enum Role { READER, OPERATOR, ADMIN }

    @TempDir
    Path dir;

    private FakeNode node;
    private final List<Server> servers = new ArrayList<>();

    @BeforeEach
    void start() throws IOException {
        node = new FakeNode();
        node.answers.put("ListIkeSas", ListIkeSasResponse.getDefaultInstance());
        node.answers.put("Stats", StatsResponse.newBuilder().setIkeSas(1).build());
        node.answers.put("Terminate", TerminateResponse.newBuilder().addIkeSas(1).build());
    }

    @AfterEach
    void stop() {
        servers.forEach(Server::shutdownNow);
        node.close();
    }

    @Test
    void theUnixSocketNeedsNoTlsAndAMissingOneIsNamed() throws Exception {
        Path socket = dir.resolve("run/gw-a.sock");
        servers.add(new UnixSocketServer(socket, UnixSocketServer.sameUserOrRoot()).start(node::addScripted));

        FakeNode.Run ok = keelctl("--stats", "--uri", "unix:" + socket);
        assertThat(ok.status()).as(ok.err()).isZero();
        assertThat(ok.out()).contains("IKE_SAs: 1 total");

        FakeNode.Run missing = keelctl("--stats", "--uri", "unix:" + dir.resolve("run/admin.sock"));
        assertThat(missing.status()).isEqualTo(Failures.UNREACHABLE);
        assertThat(missing.oneErrorLine()).isEqualTo("keelctl: no socket at " + dir.resolve("run/admin.sock")
                + ": the node's start-up line names its own ('admin API unix:...'); give it with --uri or"
                + " KEEL_ADMIN_URI (found: unix:" + socket + ")");
    }

    @Test
    void aSocketThatRefusesThisUserIsUnreachable() throws Exception {
        Path socket = dir.resolve("run/other.sock");
        servers.add(new UnixSocketServer(socket, uid -> false).start(node::addScripted));

        FakeNode.Run r = keelctl("--stats", "--uri", "unix:" + socket);

        assertThat(r.status()).isEqualTo(Failures.UNREACHABLE);
        assertThat(r.oneErrorLine()).startsWith("keelctl: cannot reach the node at unix:" + socket + ": ")
                .endsWith("is the node running? Its socket admits only the node's user and root");
    }

    @Test
    void mutualTlsReaderListsButMayNotTerminateAndAnOperatorMay() throws Exception {
        TestPki.Issued ca = TestPki.ca(dir, "keel-admin-ca");
        TestPki.Issued serverCert = TestPki.leaf(dir, ca, "gw.keel.test", "localhost");
        TestPki.Issued monitor = TestPki.leaf(dir, ca, "monitor");
        TestPki.Issued ops = TestPki.leaf(dir, ca, "ops");
        MethodRoles<Role> table = MethodRoles.builder(Role.class)
                .allow(IkeServiceGrpc.getListIkeSasMethod(), Role.READER, Role.OPERATOR, Role.ADMIN)
                .allow(IkeServiceGrpc.getTerminateMethod(), Role.OPERATOR, Role.ADMIN).build();
        NettyServerBuilder b = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0),
                        MutualTls.serverCredentials(serverCert.certPem(), serverCert.keyPem(), ca.certPem()))
                .intercept(RoleAuthorization.of(table, Map.of(Role.READER, List.of("monitor"),
                        Role.OPERATOR, List.of("ops"))));
        node.addScripted(b);
        Server server = b.build().start();
        servers.add(server);
        String uri = "127.0.0.1:" + server.getPort();

        FakeNode.Run list = keelctl("-l", "--uri", uri, "--cert", monitor.certPem().toString(), "--key",
                monitor.keyPem().toString(), "--cacert", ca.certPem().toString());
        assertThat(list.status()).as(list.err()).isZero();

        FakeNode.Run refused = keelctl("--terminate", "--ike", "tunnel", "--uri", uri, "--cert",
                monitor.certPem().toString(), "--key", monitor.keyPem().toString(), "--cacert", ca.certPem().toString());
        assertThat(refused.status()).isEqualTo(Failures.DENIED);
        assertThat(refused.oneErrorLine()).isEqualTo("keelctl: permission denied: the client certificate"
                + " O=Keel Test,CN=monitor may not call keel.v1.IkeService/Terminate (needs role OPERATOR or ADMIN);"
                + " --terminate needs the operator role: use a certificate the node grants it (gateway.admin"
                + " operators or admins)");

        // the same files through the environment, as the images' tools take them
        FakeNode.Run allowed = keelctl(Map.of("KEEL_ADMIN_URI", uri, "KEEL_TLS_CERT", ops.certPem().toString(),
                "KEEL_TLS_KEY", ops.keyPem().toString(), "KEEL_TLS_CA", ca.certPem().toString()),
                "--terminate", "--ike", "tunnel");
        assertThat(allowed.status()).as(allowed.err()).isZero();
        assertThat(allowed.out()).contains("terminated IKE_SA #1");

        TestPki.Issued otherCa = TestPki.ca(dir, "another-ca");
        FakeNode.Run untrusted = keelctl("-l", "--uri", uri, "--cert", ops.certPem().toString(), "--key",
                ops.keyPem().toString(), "--cacert", otherCa.certPem().toString());
        assertThat(untrusted.status()).isEqualTo(Failures.UNREACHABLE);
        assertThat(untrusted.oneErrorLine()).startsWith("keelctl: TLS with " + uri + " failed: ")
                .contains("--cacert must be the CA of the node's certificate");
    }

    @Test
    void plaintextTcpOnLoopbackWhenAskedAndNobodyListeningIsUnreachable() throws Exception {
        NettyServerBuilder b = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0));
        node.addScripted(b);
        Server server = b.build().start();
        servers.add(server);

        FakeNode.Run ok = keelctl("-S", "--uri", "127.0.0.1:" + server.getPort(), "--plaintext");
        assertThat(ok.status()).as(ok.err()).isZero();

        int closed;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            closed = s.getLocalPort();
        }
        FakeNode.Run nobody = keelctl("-S", "--uri", "127.0.0.1:" + closed, "--plaintext");
        assertThat(nobody.status()).isEqualTo(Failures.UNREACHABLE);
        assertThat(nobody.oneErrorLine()).isEqualTo("keelctl: cannot reach the node at 127.0.0.1:" + closed
                + ": Connection refused"
                + "; is the node running, with its admin API on that address (gateway.admin listen)?");
    }

    private FakeNode.Run keelctl(String... args) {
        return keelctl(Map.of(), args);
    }

    /** keelctl as its main runs it: real channels (AdminTarget.open). */
    private static FakeNode.Run keelctl(Map<String, String> env, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = Keelctl.run(args, new Keelctl.Environment(env, Clock.systemUTC(), AdminTarget::open),
                new PrintWriter(out), new PrintWriter(err));
        return new FakeNode.Run(status, out.toString(), err.toString());
    }
}
