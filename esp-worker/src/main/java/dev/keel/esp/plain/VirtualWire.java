package dev.keel.esp.plain;

import dev.keel.core.packet.PacketBuffer;
import dev.keel.esp.net.DatagramReceiver;
import dev.keel.esp.net.LoopDatagramChannel;
import dev.keel.esp.net.UdpOptions;
import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.concurrent.atomic.LongAdder;

/**
 * A plaintext port made of UDP on loopback, for tests and benchmarks without privileges: each
 * datagram received on {@link #bindAddress} is one IP packet entering the gateway, and each
 * IP packet leaving the gateway is sent as one datagram to {@link #hostAddress} (the "host"
 * end of the wire, standing in for the protected network). Every queue binds the same address
 * with {@code SO_REUSEPORT}, so a sender's packets (one 4-tuple) stay on one loop, in order.
 */
public final class VirtualWire implements PlaintextPort {

    private final Vertx vertx;
    private final InetSocketAddress bindAddress;
    private final InetSocketAddress hostAddress;
    private final UdpOptions options;
    private final LongAdder outputDrops = new LongAdder();
    private final LongAdder oversize = new LongAdder();

    public VirtualWire(Vertx vertx, InetSocketAddress bindAddress, InetSocketAddress hostAddress, UdpOptions options) {
        this.vertx = Objects.requireNonNull(vertx, "vertx");
        this.bindAddress = Objects.requireNonNull(bindAddress, "bindAddress");
        this.hostAddress = Objects.requireNonNull(hostAddress, "hostAddress");
        this.options = Objects.requireNonNull(options, "options");
    }

    public InetSocketAddress bindAddress() {
        return bindAddress;
    }

    public InetSocketAddress hostAddress() {
        return hostAddress;
    }

    @Override
    public Future<PlaintextQueue> openQueue(int index, EventLoop loop, PlaintextReceiver receiver) {
        Reader reader = new Reader(receiver, new PacketBuffer(options.maxDatagram()));
        return LoopDatagramChannel.open(vertx, loop, bindAddress, options, reader, outputDrops)
                .map(ch -> new Queue(ch, hostAddress));
    }

    @Override
    public long outputDrops() {
        return outputDrops.sum();
    }

    /** Datagrams too big for a packet buffer, dropped. */
    public long oversizeDrops() {
        return oversize.sum();
    }

    private final class Reader implements DatagramReceiver {
        private final PlaintextReceiver receiver;
        private final PacketBuffer pkt;

        Reader(PlaintextReceiver receiver, PacketBuffer pkt) {
            this.receiver = receiver;
            this.pkt = pkt;
        }

        @Override
        public void onDatagram(ByteBuf payload, InetSocketAddress sender) {
            int len = payload.readableBytes();
            pkt.reset();
            if (len > pkt.tailroom()) {
                oversize.increment();
                return;
            }
            payload.getBytes(payload.readerIndex(), pkt.data(), pkt.offset(), len);
            pkt.bounds(pkt.offset(), len);
            receiver.onPacket(pkt);
        }

        @Override
        public void onBatchEnd() {
            receiver.onBatchEnd();
        }
    }

    private record Queue(LoopDatagramChannel channel, InetSocketAddress host) implements PlaintextQueue {
        @Override
        public boolean write(PacketBuffer packet) {
            return channel.send(packet.data(), packet.offset(), packet.length(), host);
        }

        @Override
        public void flush() {
            channel.flush();
        }

        @Override
        public Future<Void> close() {
            return channel.close();
        }
    }
}
