package dev.keel.ike.net;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.datagram.DatagramSocket;
import io.vertx.core.datagram.DatagramSocketOptions;
import java.net.InetSocketAddress;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The IKE service's own UDP sockets: port 500 (plain IKE) and, when no esp-worker in the same
 * process owns it, port 4500 (IKE after NAT traversal, RFC 3948). IKE is a few messages per
 * SA, so Vert.x's {@link DatagramSocket} serves it; the ESP hot path uses esp-worker's epoll
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

    private final DatagramSocket ike;
    private final DatagramSocket natT;
    private final int ikePort;
    private final int natTPort;
    private final LongAdder sendFailures = new LongAdder();
    private final LongAdder notIke = new LongAdder();

    private UdpIkeSockets(DatagramSocket ike, int ikePort, DatagramSocket natT, int natTPort) {
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
        ClassLoader loader = DatagramSocket.class.getClassLoader();
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
        DatagramSocket ike = vertx.createDatagramSocket(new DatagramSocketOptions().setReuseAddress(true));
        Future<DatagramSocket> ikeBound = ike.listen(ikePort, host);
        Future<DatagramSocket> natTBound = natTPort < 0 ? Future.succeededFuture(null)
                : vertx.createDatagramSocket(new DatagramSocketOptions().setReuseAddress(true)).listen(natTPort, host);
        return Future.all(ikeBound, natTBound).map(all -> {
            DatagramSocket natT = natTBound.result();
            UdpIkeSockets sockets = new UdpIkeSockets(ike, ike.localAddress().port(), natT,
                    natT == null ? -1 : natT.localAddress().port());
            ike.handler(p -> {
                byte[] b = p.data().getBytes();
                receiver.onMessage(sockets.ikePort, new InetSocketAddress(p.sender().host(), p.sender().port()), b, 0, b.length);
            });
            if (natT != null) {
                natT.handler(p -> {
                    byte[] b = p.data().getBytes();
                    if (b.length < 4 || b[0] != 0 || b[1] != 0 || b[2] != 0 || b[3] != 0) {
                        sockets.notIke.increment();
                        return;
                    }
                    receiver.onMessage(sockets.natTPort, new InetSocketAddress(p.sender().host(), p.sender().port()),
                            b, 4, b.length - 4);
                });
            }
            return sockets;
        });
    }

    @Override
    public void send(int localPort, InetSocketAddress peer, byte[] message) {
        DatagramSocket socket = localPort == natTPort && natT != null ? natT : ike;
        Buffer data = socket == natT
                ? Buffer.buffer(message.length + 4).appendInt(0).appendBytes(message)
                : Buffer.buffer(message);
        socket.send(data, peer.getPort(), peer.getAddress().getHostAddress()).onFailure(e -> {
            sendFailures.increment();
            LOG.debug("IKE send to {} failed: {}", peer, e.toString());
        });
    }

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
