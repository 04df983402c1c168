package dev.keel.esp.net;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.datagram.DatagramSocket;
import io.vertx.core.datagram.DatagramSocketOptions;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.util.concurrent.atomic.LongAdder;

/**
 * A worker's plain IKE socket (UDP 500, RFC 7296 §2): no ESP and no non-ESP marker here, every
 * datagram is an IKE message for the {@link IkeHandoff} given with {@link #handTo}. IKE's rate
 * is low next to ESP's, so a Vert.x datagram socket serves it, not the data plane's epoll loops.
 */
public final class IkePortSocket implements IkeSender, AutoCloseable {

    private final DatagramSocket socket;
    private final InetSocketAddress local;
    private final LongAdder sendFailures = new LongAdder();
    private volatile IkeHandoff handoff = IkeHandoff.DISCARD;

    private IkePortSocket(DatagramSocket socket, InetSocketAddress local) {
        this.socket = socket;
        this.local = local;
    }

    /**
     * Binds {@code local} (port 0 picks one); datagrams are dropped until {@link #handTo}. With
     * {@code SO_REUSEPORT}, as the data plane's 4500 sockets: every worker process of one gateway
     * address (same user) binds it, and the kernel hands each peer's datagrams to one of them by
     * the peer's address and port (docs/esp-worker.md, "Several workers per address"). Needs
     * Vert.x's native transport (epoll), as the data plane does.
     */
    public static Future<IkePortSocket> bind(Vertx vertx, InetSocketAddress local) {
        if (!vertx.isNativeTransportEnabled()) {
            return Future.failedFuture(new IllegalStateException("IKE port " + local + ": SO_REUSEPORT needs Vert.x's"
                    + " native transport (epoll), which is not enabled"));
        }
        DatagramSocket s = vertx.createDatagramSocket(new DatagramSocketOptions().setReuseAddress(true)
                .setReusePort(true).setIpV6(local.getAddress() instanceof Inet6Address));
        return s.listen(local.getPort(), local.getAddress().getHostAddress()).map(bound -> {
            IkePortSocket port = new IkePortSocket(s,
                    new InetSocketAddress(local.getAddress(), bound.localAddress().port()));
            s.handler(packet -> {
                byte[] b = packet.data().getBytes();
                port.handoff.onIkeMessage(b, 0, b.length,
                        new InetSocketAddress(packet.sender().hostAddress(), packet.sender().port()));
            });
            return port;
        });
    }

    /** Where received IKE messages go from now on. */
    public IkePortSocket handTo(IkeHandoff h) {
        this.handoff = h;
        return this;
    }

    /** The bound address and port. */
    public InetSocketAddress local() {
        return local;
    }

    @Override
    public void send(byte[] msg, int off, int len, InetSocketAddress peer) {
        socket.send(Buffer.buffer(len).appendBytes(msg, off, len), peer.getPort(), peer.getAddress().getHostAddress())
                .onFailure(e -> sendFailures.increment());
    }

    /** Sends that failed locally (the peer's retransmission covers them). */
    public long sendFailures() {
        return sendFailures.sum();
    }

    @Override
    public void close() {
        socket.close();
    }
}
