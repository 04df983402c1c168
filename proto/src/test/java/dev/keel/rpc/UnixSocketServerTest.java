package dev.keel.rpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.proto.v1.ListConnectionsRequest;
import dev.keel.proto.v1.PolicyServiceGrpc;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The admin API's Unix socket: private directory and 0600 socket, peer credentials checked per
 * connection, stale sockets removed, live ones and anything else in the way left alone.
 */
class UnixSocketServerTest {

    @TempDir
    Path dir;

    private final List<Server> servers = new ArrayList<>();
    private final List<ManagedChannel> channels = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        channels.forEach(ManagedChannel::shutdownNow);
        for (Server s : servers) {
            s.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    /** A PolicyService whose methods all answer UNIMPLEMENTED: an answer proves the call got in. */
    private Server start(UnixSocketServer uds) throws IOException {
        Server s = uds.start(b -> b.addService(new PolicyServiceGrpc.PolicyServiceImplBase() { }));
        servers.add(s);
        return s;
    }

    private Status.Code call(Path socket) {
        ManagedChannel ch = Grpc.newChannelBuilder("unix:" + socket, InsecureChannelCredentials.create()).build();
        channels.add(ch);
        try {
            PolicyServiceGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .listConnections(ListConnectionsRequest.getDefaultInstance());
            return Status.Code.OK;
        } catch (StatusRuntimeException e) {
            return e.getStatus().getCode();
        }
    }

    @Test
    void theSameUserGetsInThroughA0600SocketInA0700DirectoryTheServerMade() throws Exception {
        Path socket = dir.resolve("run/keel/gw.sock");
        UnixSocketServer uds = new UnixSocketServer(socket, UnixSocketServer.sameUserOrRoot());
        start(uds);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(socket.getParent())))
                .isEqualTo("rwx------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(socket, LinkOption.NOFOLLOW_LINKS)))
                .isEqualTo("rw-------");
        assertThat(call(socket)).as("reached the service").isEqualTo(Status.Code.UNIMPLEMENTED);
        assertThat(uds.refusedPeers()).isZero();
    }

    @Test
    void aPeerWhoseUidIsNotAllowedIsClosedBeforeItsCallAndCounted() throws Exception {
        Path socket = dir.resolve("gw.sock");
        int me = UnixSocketServer.processUid();
        UnixSocketServer uds = new UnixSocketServer(socket, uid -> uid != me);
        start(uds);
        assertThat(call(socket)).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(uds.refusedPeers()).isPositive();
    }

    @Test
    void aDirectoryOthersMayEnterOrASymlinkedOneIsRefused() throws Exception {
        Path open = Files.createDirectory(dir.resolve("open"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxr-xr-x"));
        assertThatThrownBy(() -> start(new UnixSocketServer(open.resolve("gw.sock"), uid -> true)))
                .isInstanceOf(IOException.class).hasMessageContaining(open.toString())
                .hasMessageContaining("lets group or others in");
        Path link = Files.createSymbolicLink(dir.resolve("link"), Files.createDirectory(dir.resolve("real")));
        assertThatThrownBy(() -> start(new UnixSocketServer(link.resolve("gw.sock"), uid -> true)))
                .isInstanceOf(IOException.class).hasMessageContaining("symbolic link");
        assertThat(Files.list(open)).isEmpty();
    }

    @Test
    void aStaleSocketIsReplacedALiveOneAndOtherFilesAreNot() throws Exception {
        Path stale = dir.resolve("stale.sock");
        try (ServerSocketChannel dead = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            dead.bind(UnixDomainSocketAddress.of(stale)); // closing leaves the file behind
        }
        assertThat(Files.exists(stale, LinkOption.NOFOLLOW_LINKS)).isTrue();
        start(new UnixSocketServer(stale, uid -> true));
        assertThat(call(stale)).isEqualTo(Status.Code.UNIMPLEMENTED);

        assertThatThrownBy(() -> start(new UnixSocketServer(stale, uid -> true)))
                .isInstanceOf(IOException.class).hasMessageContaining("another process serves it");
        assertThat(call(stale)).as("the first server still serves").isEqualTo(Status.Code.UNIMPLEMENTED);

        Path file = Files.writeString(dir.resolve("file.sock"), "not a socket");
        assertThatThrownBy(() -> start(new UnixSocketServer(file, uid -> true)))
                .isInstanceOf(IOException.class).hasMessageContaining("is in the way");
        assertThat(Files.readString(file)).isEqualTo("not a socket");
    }

    @Test
    void anotherUserCannotEvenConnect() throws Exception {
        // The file-system lock on its own: uid 65534 meets a 0700 directory before the peer check.
        assumeRootAndSetpriv();
        Path socket = dir.resolve("run/gw.sock");
        start(new UnixSocketServer(socket, uid -> true));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x")); // @TempDir is 0700
        Path probe = Files.writeString(Files.createTempFile("keel-uds-probe", ".java"), """
                import java.net.*; import java.nio.channels.*;
                class Probe { public static void main(String[] a) throws Exception {
                  try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                    c.connect(UnixDomainSocketAddress.of(a[0])); System.out.println("CONNECTED");
                  } catch (java.io.IOException e) { System.out.println("REFUSED " + e.getMessage()); } } }
                """);
        try {
            Files.setPosixFilePermissions(probe, PosixFilePermissions.fromString("rw-r--r--"));
            String java = ProcessHandle.current().info().command().orElseThrow();
            Process p = new ProcessBuilder("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", java,
                    probe.toString(), socket.toString()).redirectErrorStream(true).start();
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            String out = new String(p.getInputStream().readAllBytes());
            assertThat(out).as(out).contains("REFUSED").contains("Permission denied").doesNotContain("CONNECTED");
        } finally {
            Files.delete(probe);
        }
    }

    private static void assumeRootAndSetpriv() {
        String reason = UnixSocketServer.processUid() != 0 ? "needs root to run a probe as uid 65534"
                : !Files.isExecutable(Path.of("/usr/bin/setpriv")) ? "needs /usr/bin/setpriv (util-linux)" : null;
        if (reason != null && "1".equals(System.getenv("KEEL_REQUIRE_SYSTEM_TESTS"))) {
            throw new AssertionError(reason + " (KEEL_REQUIRE_SYSTEM_TESTS=1)");
        }
        Assumptions.assumeTrue(reason == null, reason);
    }
}
