package dev.keel.esp.net;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.SegmentedDatagramPacket;
import io.netty.channel.socket.DatagramPacket;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.VertxInternal;
import java.net.InetSocketAddress;
import java.util.concurrent.atomic.LongAdder;

/**
 * One epoll UDP socket on one event loop: bound with {@code SO_REUSEPORT} so that every loop
 * has its own socket on the same address (the kernel spreads flows by 4-tuple hash), read with
 * {@code recvmmsg} ({@link UdpOptions#readBatch} datagrams a call) and written in batches: any
 * number of {@link #send}s, then one {@link #flush} (Netty writes the queue with
 * {@code sendmmsg}).
 *
 * <p>Received datagrams arrive in Netty's pooled direct buffer and are handed to the
 * {@link DatagramReceiver} as slices; the receiver copies once into its heap
 * {@code PacketBuffer} (JDK AES-GCM runs on {@code byte[]}). Sends copy once into a pooled
 * direct buffer, which the epoll channel would otherwise do itself.
 *
 * <p>Each read batch runs inside a Vert.x event-loop context dispatch, so Vert.x's blocked
 * thread checker watches the data plane like any other event-loop code.
 *
 * <p>Everything but {@link #open} and {@link #close} is for the owning loop's thread only.
 */
public final class LoopDatagramChannel {

    /**
     * Whether sends to one peer go out as UDP GSO batches ({@code UDP_SEGMENT}); on where the
     * kernel and Netty's native library support it, unless {@code -Dkeel.udp.gso=false}.
     */
    static final boolean GSO = SegmentedDatagramPacket.isSupported()
            && Boolean.parseBoolean(System.getProperty("keel.udp.gso", "true"));
    /**
     * Whether the socket takes coalesced datagrams ({@code UDP_GRO}, Linux 5.0): a peer's UDP GSO
     * batch arrives in one {@code recvmsg}, and Netty hands it on cut at the segment size. Off
     * unless {@code -Dkeel.udp.gro=true}: Netty reads GRO sockets one {@code recvmsg} at a time,
     * not with {@code recvmmsg}.
     */
    static final boolean GRO = Boolean.parseBoolean(System.getProperty("keel.udp.gro", "false"));
    /** Datagrams per GSO send (the kernel's UDP_MAX_SEGMENTS was 64 before Linux 6.x raised it). */
    static final int MAX_GSO_SEGMENTS = 64;
    /** Bytes per GSO send: below the 64 KiB an IP packet may carry, with room for the headers. */
    static final int MAX_GSO_BYTES = 65000;

    private final Channel channel;
    private final LongAdder backpressureDrops;
    private boolean dirty;
    private ByteBuf gsoBuf;
    private InetSocketAddress gsoTo;
    private int gsoSegment;
    private int gsoCount;
    private boolean gsoClosed;

    private LoopDatagramChannel(Channel channel, LongAdder backpressureDrops) {
        this.channel = channel;
        this.backpressureDrops = backpressureDrops;
    }

    /**
     * Binds a channel on {@code loop} (one of {@code vertx}'s) to {@code local}. Completes on
     * {@code loop}'s thread or the caller's.
     */
    public static Future<LoopDatagramChannel> open(Vertx vertx, EventLoop loop, InetSocketAddress local,
            UdpOptions options, DatagramReceiver receiver, LongAdder backpressureDrops) {
        VertxInternal vx = (VertxInternal) vertx;
        ContextInternal context = vx.contextBuilder().withEventLoop(loop).build();
        Promise<LoopDatagramChannel> promise = Promise.promise();
        Bootstrap b = new Bootstrap()
                .group(loop)
                .channel(EpollDatagramChannel.class)
                .option(EpollChannelOption.SO_REUSEPORT, true)
                .option(ChannelOption.SO_REUSEADDR, true)
                .option(EpollChannelOption.MAX_DATAGRAM_PAYLOAD_SIZE, GRO ? 0 : options.maxDatagram())
                .option(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(GRO
                        ? 65535 : options.maxDatagram() * options.readBatch()))
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK,
                        new WriteBufferWaterMark(options.writeHighWaterMark() / 2, options.writeHighWaterMark()))
                .handler(new Handler(receiver, context));
        if (GRO) {
            b.option(EpollChannelOption.UDP_GRO, true);
        }
        if (options.socketBuffer() > 0) {
            b.option(ChannelOption.SO_RCVBUF, options.socketBuffer()).option(ChannelOption.SO_SNDBUF, options.socketBuffer());
        }
        b.bind(local).addListener(f -> {
            if (f.isSuccess()) {
                promise.complete(new LoopDatagramChannel(((io.netty.channel.ChannelFuture) f).channel(), backpressureDrops));
            } else {
                promise.fail(f.cause());
            }
        });
        return promise.future();
    }

    /** The bound address (with the port the kernel chose, if 0 was asked for). */
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) channel.localAddress();
    }

    public EventLoop eventLoop() {
        return channel.eventLoop();
    }

    /**
     * Queues {@code buf[off, off+len)} for {@code to}; sent at the next {@link #flush}. When the
     * channel's queue is over its high-water mark the datagram is dropped and counted.
     *
     * @return false if dropped
     */
    public boolean send(byte[] buf, int off, int len, InetSocketAddress to) {
        if (!channel.isWritable()) {
            backpressureDrops.increment();
            return false;
        }
        if (!GSO) {
            ByteBuf out = channel.alloc().directBuffer(len, len);
            out.writeBytes(buf, off, len);
            channel.write(new DatagramPacket(out, to), channel.voidPromise());
            dirty = true;
            return true;
        }
        if (gsoBuf != null) {
            if (!gsoClosed && len <= gsoSegment && gsoCount < MAX_GSO_SEGMENTS && gsoBuf.writableBytes() >= len
                    && to.equals(gsoTo)) {
                gsoBuf.writeBytes(buf, off, len);
                gsoCount++;
                gsoClosed = len < gsoSegment; // only the last segment may be shorter
                return true;
            }
            emitGso();
        }
        int capacity = Math.min(MAX_GSO_BYTES, Math.max(len, len * MAX_GSO_SEGMENTS));
        gsoBuf = channel.alloc().directBuffer(Math.min(capacity, len * 8), capacity);
        gsoBuf.writeBytes(buf, off, len);
        gsoTo = to;
        gsoSegment = len;
        gsoCount = 1;
        gsoClosed = false;
        dirty = true;
        return true;
    }

    /**
     * Queues the datagrams collected for one peer: a run of equal-sized ones (and a shorter last)
     * as one {@code UDP_SEGMENT} send, which the kernel cuts into datagrams after routing and
     * queueing them once (UDP GSO, Linux 4.18); a single one as it is.
     */
    private void emitGso() {
        ByteBuf b = gsoBuf;
        gsoBuf = null;
        if (gsoCount == 1) {
            channel.write(new DatagramPacket(b, gsoTo), channel.voidPromise());
        } else {
            channel.write(new SegmentedDatagramPacket(b, gsoSegment, gsoTo), channel.voidPromise());
        }
        gsoTo = null;
    }

    /** Sends everything queued since the last flush, if anything. */
    public void flush() {
        if (dirty) {
            dirty = false;
            if (gsoBuf != null) {
                emitGso();
            }
            channel.flush();
        }
    }

    /** Closes the socket. */
    public Future<Void> close() {
        Promise<Void> p = Promise.promise();
        channel.close().addListener(f -> p.complete());
        return p.future();
    }

    private static final class Handler extends ChannelInboundHandlerAdapter {
        private final DatagramReceiver receiver;
        private final ContextInternal context;
        private ContextInternal previous;
        private boolean inBatch;

        Handler(DatagramReceiver receiver, ContextInternal context) {
            this.receiver = receiver;
            this.context = context;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (!inBatch) {
                inBatch = true;
                previous = context.beginDispatch();
            }
            DatagramPacket p = (DatagramPacket) msg;
            try {
                receiver.onDatagram(p.content(), p.sender());
            } finally {
                p.release();
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            if (inBatch) {
                try {
                    receiver.onBatchEnd();
                } finally {
                    inBatch = false;
                    context.endDispatch(previous);
                    previous = null;
                }
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            // ICMP errors surface here (e.g. port unreachable on a connected send); keep serving.
        }
    }
}
