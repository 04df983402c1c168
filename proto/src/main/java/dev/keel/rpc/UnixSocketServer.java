package dev.keel.rpc;

import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.Channel;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandlerContext;
import io.grpc.netty.shaded.io.netty.channel.ChannelInboundHandlerAdapter;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.netty.shaded.io.netty.channel.unix.PeerCredentials;
import io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.net.ConnectException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import java.util.function.IntPredicate;

/**
 * A plaintext gRPC server on a Unix domain socket that only this process's user and root can
 * use: the admin API's default (DESIGN §5 asks for mutual TLS off the node; on the node, the
 * kernel's file permissions and peer credentials do the same job without certificates).
 *
 * <p>Two locks, either of which suffices: the socket lives in a directory only its owner can
 * enter (0700, created so when missing; an existing one must be owned by this user and grant
 * nothing to group or others, so the socket is never reachable by anyone else, not even
 * between bind and chmod) and is itself 0600; and every accepted connection's peer
 * credentials (SO_PEERCRED) are checked before a byte of it is read. A peer whose uid is not
 * allowed is closed at once, counted and logged: gRPC gives its interceptors no view of a
 * connection's credentials, and refusing before HTTP/2 starts is the stricter choice; the
 * client sees UNAVAILABLE.
 *
 * <p>A socket file left by a process that died is removed at start; one that a live server
 * answers on is not, and the start fails naming it. Linux only (Netty's epoll transport).
 */
public final class UnixSocketServer {

    private static final System.Logger LOG = System.getLogger(UnixSocketServer.class.getName());

    /** sun_path holds 108 bytes with the terminating NUL (unix(7)). */
    public static final int MAX_PATH_BYTES = 107;

    private static final Set<PosixFilePermission> OWNER_ONLY_FILE = PosixFilePermissions.fromString("rw-------");
    private static final Set<PosixFilePermission> OWNER_ONLY_DIR = PosixFilePermissions.fromString("rwx------");

    private final Path socket;
    private final IntPredicate allowedUid;
    private final LongAdder refused = new LongAdder();

    /**
     * A server for {@code socket} that accepts peers whose uid {@code allowedUid} allows
     * (usually {@link #sameUserOrRoot()}); nothing is touched until {@link #start}.
     */
    public UnixSocketServer(Path socket, IntPredicate allowedUid) {
        this.socket = socket.toAbsolutePath().normalize();
        this.allowedUid = allowedUid;
    }

    /** The uid of this process, or of root and nobody else. */
    public static IntPredicate sameUserOrRoot() {
        int self = processUid();
        return uid -> uid == self || uid == 0;
    }

    /** The uid this process runs as (the owner of {@code /proc/self}). */
    public static int processUid() {
        try {
            return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        } catch (IOException | UnsupportedOperationException e) {
            throw new IllegalStateException("cannot tell this process's uid from /proc/self: " + e.getMessage(), e);
        }
    }

    /** The socket's path. */
    public Path socket() {
        return socket;
    }

    /** Connections closed because the peer's uid was not allowed (or its credentials unreadable). */
    public long refusedPeers() {
        return refused.sum();
    }

    /**
     * Prepares the socket's directory, removes a stale socket file, then builds the server with
     * {@code services} added, starts it and makes the socket 0600.
     *
     * @throws IOException naming the path and the problem: no epoll transport, a directory that
     *     is not private to this user, a socket another server answers on, a file in the way
     */
    public Server start(Consumer<ServerBuilder<?>> services) throws IOException {
        if (!Epoll.isAvailable()) {
            throw new IOException("admin socket " + socket + ": Unix domain sockets need Netty's epoll transport"
                    + " (Linux): " + Epoll.unavailabilityCause());
        }
        if (socket.toString().getBytes(StandardCharsets.UTF_8).length > MAX_PATH_BYTES) {
            throw new IOException("admin socket " + socket + ": longer than " + MAX_PATH_BYTES + " bytes (unix(7))");
        }
        privateDirectory(socket.getParent());
        removeStale(socket);
        NettyServerBuilder b = NettyServerBuilder.forAddress(new DomainSocketAddress(socket.toString()))
                .channelFactory(() -> {
                    EpollServerDomainSocketChannel ch = new EpollServerDomainSocketChannel();
                    ch.pipeline().addLast(new PeerCheck()); // before ServerBootstrap's acceptor
                    return ch;
                })
                .bossEventLoopGroup(Loop.GROUP)
                .workerEventLoopGroup(Loop.GROUP)
                // gRPC asks every child for SO_KEEPALIVE, which a domain socket does not have (a warning each)
                .withChildOption(ChannelOption.SO_KEEPALIVE, null);
        services.accept(b);
        Server server = b.build().start();
        try {
            Files.setPosixFilePermissions(socket, OWNER_ONLY_FILE);
        } catch (IOException e) {
            server.shutdownNow();
            throw new IOException("admin socket " + socket + ": cannot make it 0600: " + e.getMessage(), e);
        }
        return server;
    }

    /** One event loop for every such server of the process: admin traffic is light. */
    private static final class Loop {
        static final EventLoopGroup GROUP = new MultiThreadIoEventLoopGroup(1,
                new DefaultThreadFactory("keel-admin-socket", true), EpollIoHandler.newFactory());
    }

    /** The directory exists, is no symlink, belongs to this user and grants group and others nothing. */
    private static void privateDirectory(Path dir) throws IOException {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(OWNER_ONLY_DIR));
        }
        PosixFileAttributes a = Files.readAttributes(dir, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        if (!a.isDirectory()) {
            throw new IOException("admin socket directory " + dir + ": not a directory"
                    + (a.isSymbolicLink() ? " (a symbolic link; give the real path)" : ""));
        }
        int owner = (Integer) Files.getAttribute(dir, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        if (owner != processUid()) {
            throw new IOException("admin socket directory " + dir + ": owned by uid " + owner + ", not by this"
                    + " process's uid " + processUid());
        }
        Set<PosixFilePermission> perms = a.permissions();
        if (!OWNER_ONLY_DIR.containsAll(perms)) {
            throw new IOException("admin socket directory " + dir + ": mode " + PosixFilePermissions.toString(perms)
                    + " lets group or others in; it must be private to its owner (chmod 700, or a new directory"
                    + " Keel creates)");
        }
    }

    /** A socket file nobody answers on is removed; anything else in the way stops the start. */
    private static void removeStale(Path socket) throws IOException {
        if (!Files.exists(socket, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        PosixFileAttributes a = Files.readAttributes(socket, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        if (!a.isOther()) {
            throw new IOException("admin socket " + socket + ": a " + (a.isSymbolicLink() ? "symbolic link"
                    : a.isDirectory() ? "directory" : "file") + " is in the way; not removing it");
        }
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            probe.connect(UnixDomainSocketAddress.of(socket));
        } catch (ConnectException stale) {
            LOG.log(System.Logger.Level.INFO, "admin socket {0}: removing the socket file a stopped process left",
                    socket);
            Files.delete(socket);
            return;
        } catch (IOException e) {
            throw new IOException("admin socket " + socket + ": cannot tell whether a server answers on it: " + e, e);
        }
        throw new IOException("admin socket " + socket + ": another process serves it (is a gateway with this"
                + " node id running?)");
    }

    /**
     * On the server channel's pipeline: each accepted connection arrives here as a channel,
     * before it is registered or read from.
     */
    private final class PeerCheck extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            Channel child = (Channel) msg;
            PeerCredentials peer = null;
            try {
                peer = ((EpollDomainSocketChannel) child).peerCredentials();
            } catch (IOException | RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "admin socket {0}: connection refused: cannot read its peer"
                        + " credentials: {1}", socket, e.toString());
            }
            if (peer != null && allowedUid.test(peer.uid())) {
                ctx.fireChannelRead(msg);
                return;
            }
            refused.increment();
            if (peer != null) {
                LOG.log(System.Logger.Level.WARNING, "admin socket {0}: connection from uid {1} (pid {2}) refused:"
                        + " only this process''s user and root may use it", socket, String.valueOf(peer.uid()),
                        String.valueOf(peer.pid()));
            }
            child.unsafe().closeForcibly();
        }
    }
}
