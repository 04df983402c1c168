package dev.keel.ike.net;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.DatagramPacket;
import io.netty.channel.socket.InternetProtocolFamily;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.internal.VertxInternal;
import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The IKE service's own UDP sockets: port 500 (plain IKE) and, when no esp-worker in the same
 * process owns it, port 4500 (IKE after NAT traversal, RFC 3948). Netty datagram channels
 * on Vert.x's event loops serve it (see {@link Endpoint}); the ESP hot path uses esp-worker's epoll
 * channels instead.
 *
 * <p>On 4500 a datagram starting with a zero non-ESP marker is IKE; anything else there (ESP
 * or a NAT keepalive) is not this socket's business and is counted and dropped.
 */
public final class UdpIkeSockets implements IkeTransport, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(UdpIkeSockets.class);

    /** The standard IKE port and its NAT-traversal companion. */
    public static final int IKE_PORT = 500;
    public static final int NAT_T_PORT = 4500;

    private final Endpoint ike;
    private final Endpoint natT;
    private final int ikePort;
    private final int natTPort;
    private final LongAdder sendFailures = new LongAdder();
    private final LongAdder notIke = new LongAdder();

    private UdpIkeSockets(Endpoint ike, int ikePort, Endpoint natT, int natTPort) {
        this.ike = ike;
        this.ikePort = ikePort;
        this.natT = natT;
        this.natTPort = natTPort;
    }

    /**
     * Binds {@code host:ikePort} and, when {@code natTPort} is not negative, {@code host:natTPort};
     * port 0 picks a free port (tests). Received messages go to {@code receiver} on the socket's
     * event loop; {@link #send} picks the socket by its bound port.
     */
    public static Future<UdpIkeSockets> bind(Vertx vertx, String host, int ikePort, int natTPort,
            IkeReceiver receiver) {
        if (!io.vertx.core.Context.isOnEventLoopThread()) { // the usual case: a main or a test binds
            loadNettyAllocatorEvents();
            return bindNow(vertx, host, ikePort, natTPort, receiver);
        }
        return vertx.executeBlocking(() -> {
            loadNettyAllocatorEvents();
            return null;
        }).compose(v -> bindNow(vertx, host, ikePort, natTPort, receiver));
    }

    /**
     * Netty's pooled allocator registers its JFR event types when it makes its first chunk, and the
     * first registration loads JFR's metadata: measured at 0.5-2.6 s on a busy machine, on the event
     * loop of the first IKE send (a Vert.x blocked-thread warning, retransmissions). Loading the
     * classes here, on a worker thread, moves that cost out of the exchange.
     */
    private static void loadNettyAllocatorEvents() {
        ClassLoader loader = Channel.class.getClassLoader();
        for (String name : new String[] {"io.netty.buffer.AllocateChunkEvent", "io.netty.buffer.FreeChunkEvent",
            "io.netty.buffer.AllocateBufferEvent", "io.netty.buffer.FreeBufferEvent",
            "io.netty.buffer.ReallocateBufferEvent"}) {
            try {
                Class.forName(name, true, loader);
            } catch (ClassNotFoundException | LinkageError e) {
                LOG.debug("Netty allocator event {} not loaded: {}", name, e.toString());
            }
        }
    }

    private static Future<UdpIkeSockets> bindNow(Vertx vertx, String host, int ikePort, int natTPort,
            IkeReceiver receiver) {
        UdpIkeSockets[] self = new UdpIkeSockets[1];
        Future<Endpoint> ike = Endpoint.open((VertxInternal) vertx, host, ikePort,
                (from, b, off, len) -> receiver.onMessage(self[0].ikePort, from, b, off, len));
        Future<Endpoint> natT = natTPort < 0 ? Future.succeededFuture(null)
                : Endpoint.open((VertxInternal) vertx, host, natTPort, (from, b, off, len) -> {
                    if (len < 4 || b[off] != 0 || b[off + 1] != 0 || b[off + 2] != 0 || b[off + 3] != 0) {
                        self[0].notIke.increment();
                        return;
                    }
                    receiver.onMessage(self[0].natTPort, from, b, off + 4, len - 4);
                });
        return Future.join(ike, natT).transform(all -> {
            if (all.failed()) {
                if (ike.succeeded()) {
                    ike.result().close();
                }
                if (natT.succeeded() && natT.result() != null) {
                    natT.result().close();
                }
                return Future.failedFuture(all.cause());
            }
            Endpoint n = natT.result();
            UdpIkeSockets sockets = new UdpIkeSockets(ike.result(), ike.result().port(), n, n == null ? -1 : n.port());
            self[0] = sockets;
            return Future.succeededFuture(sockets);
        });
    }

    @Override
    public void send(int localPort, InetSocketAddress peer, byte[] message) {
        Endpoint socket = localPort == natTPort && natT != null ? natT : ike;
        if (!socket.send(peer, message, socket == natT)) {
            sendFailures.increment();
        }
    }

    /** Datagram bytes and their sender, before the IKE-or-not decision of port 4500. */
    @FunctionalInterface
    private interface DatagramHandler {
        void onDatagram(InetSocketAddress from, byte[] buf, int off, int len);
    }

    /**
     * One bound UDP socket: a Netty channel of Vert.x's transport on one of its event loops,
     * without Vert.x's DatagramSocket layer, which turned every send's address into a host string
     * and resolved it again, and every sender address into a string and back. With the NIO
     * transport (Vert.x's default) the socket also sends directly from the calling thread (an IKE
     * SA's event loop): the JDK's DatagramChannel allows a send concurrent with the event loop's
     * receive, so a send costs one system call instead of a task hop to the socket's loop. The
     * native transports write through Netty's pipeline (a hop when called off the socket's loop).
     */
    private static final class Endpoint extends SimpleChannelInboundHandler<DatagramPacket> {

        /** Any IKE message fits (RFC 7296 §2: UDP, up to 64 KiB; certificates can exceed 2 KiB). */
        private static final int MAX_DATAGRAM = 65_535;

        private final DatagramHandler handler;
        private Channel channel;
        /** Set with the NIO transport: the socket that sends from any thread. */
        private java.nio.channels.DatagramChannel direct;

        private Endpoint(DatagramHandler handler) {
            super(DatagramPacket.class, true);
            this.handler = handler;
        }

        static Future<Endpoint> open(VertxInternal vertx, String host, int port, DatagramHandler handler) {
            Endpoint endpoint = new Endpoint(handler);
            Promise<Endpoint> done = Promise.promise();
            try {
                InetSocketAddress local = new InetSocketAddress(host, port);
                boolean v6 = local.getAddress() instanceof Inet6Address;
                DatagramChannel channel;
                if (vertx.isNativeTransportEnabled()) {
                    channel = vertx.transport().datagramChannel(v6 ? InternetProtocolFamily.IPv6 : InternetProtocolFamily.IPv4);
                } else {
                    endpoint.direct = java.nio.channels.DatagramChannel.open(
                            v6 ? StandardProtocolFamily.INET6 : StandardProtocolFamily.INET);
                    channel = new NioDatagramChannel(endpoint.direct);
                }
                endpoint.channel = channel;
                channel.config().setReuseAddress(true);
                channel.config().setRecvByteBufAllocator(new FixedRecvByteBufAllocator(MAX_DATAGRAM));
                channel.pipeline().addLast(endpoint);
                vertx.nettyEventLoopGroup().next().register(channel).addListener((ChannelFuture registered) -> {
                    if (!registered.isSuccess()) {
                        done.fail(registered.cause());
                        return;
                    }
                    channel.bind(local).addListener((ChannelFuture bound) -> {
                        if (bound.isSuccess()) {
                            done.complete(endpoint);
                        } else {
                            channel.close();
                            done.fail(bound.cause());
                        }
                    });
                });
            } catch (IOException | RuntimeException e) {
                done.fail(e);
            }
            return done.future();
        }

        int port() {
            return ((InetSocketAddress) channel.localAddress()).getPort();
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket packet) {
            ByteBuf content = packet.content();
            byte[] b = new byte[content.readableBytes()];
            content.getBytes(content.readerIndex(), b);
            try {
                handler.onDatagram(packet.sender(), b, 0, b.length);
            } catch (RuntimeException e) { // the receiver's fault must not close the socket
                LOG.error("IKE receive from {} failed", packet.sender(), e);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            LOG.debug("IKE socket {}: {}", ctx.channel().localAddress(), cause.toString());
        }

        /** Sends one datagram, with the non-ESP marker when asked; false when it failed locally. */
        boolean send(InetSocketAddress peer, byte[] message, boolean nonEspMarker) {
            if (direct != null) {
                ByteBuffer data = nonEspMarker
                        ? ByteBuffer.allocate(message.length + 4).putInt(0).put(message).flip()
                        : ByteBuffer.wrap(message);
                try {
                    if (direct.send(data, peer) > 0) {
                        return true;
                    }
                    // 0: the socket's send buffer is full; Netty's write queues it until writable
                    data.rewind();
                } catch (IOException e) {
                    LOG.debug("IKE send to {} failed: {}", peer, e.toString());
                    return false;
                } catch (RuntimeException e) { // closed by now, or an address the channel cannot reach
                    LOG.debug("IKE send to {} failed: {}", peer, e.toString());
                    return false;
                }
            }
            ByteBuf data = nonEspMarker
                    ? Unpooled.buffer(message.length + 4).writeInt(0).writeBytes(message)
                    : Unpooled.wrappedBuffer(message);
            channel.writeAndFlush(new DatagramPacket(data, peer)).addListener(SEND_FAILED);
            return true;
        }

        void close() {
            channel.close();
        }
    }

    /** Counts and logs a send Netty could not complete. */
    private static final ChannelFutureListener SEND_FAILED = f -> {
        if (!f.isSuccess()) {
            LOG.debug("IKE send on {} failed: {}", f.channel().localAddress(), f.cause().toString());
        }
    };

    /** The bound port that serves as 500. */
    public int ikePort() {
        return ikePort;
    }

    /** The bound port that serves as 4500, or -1. */
    public int natTPort() {
        return natTPort;
    }

    /** Sends that failed locally. */
    public long sendFailures() {
        return sendFailures.sum();
    }

    /** Datagrams on 4500 without the non-ESP marker. */
    public long notIke() {
        return notIke.sum();
    }

    @Override
    public void close() {
        ike.close();
        if (natT != null) {
            natT.close();
        }
    }
}
