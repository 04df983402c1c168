package dev.keel.esp.tun;

import dev.keel.core.packet.PacketBuffer;
import dev.keel.esp.plain.PathMtuGuard;
import dev.keel.esp.plain.PlaintextPort;
import dev.keel.esp.plain.PlaintextQueue;
import dev.keel.esp.plain.PlaintextReceiver;
import io.netty.channel.EventLoop;
import io.netty.channel.IoEvent;
import io.netty.channel.IoEventLoop;
import io.netty.channel.IoRegistration;
import io.netty.channel.epoll.EpollIoHandle;
import io.netty.channel.epoll.EpollIoOps;
import io.netty.channel.unix.FileDescriptor;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.io.IOException;
import java.util.Objects;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The plaintext side on a multi-queue {@link TunDevice}: queue {@code i} is registered with
 * event loop {@code i}'s own epoll (Netty 4.2's {@link EpollIoHandle}) for {@code EPOLLIN} (no
 * {@code EPOLLET} asked for); each wake-up reads up to {@link #readBatch} packets without blocking
 * ({@link TunQueue#tryRead}), hands them to the forwarder and ends the batch; a full batch
 * re-queues itself on the loop, so the queue drains whether the registration is level- or
 * edge-triggered. Writes go straight
 * to the queue's non-blocking fd. No extra thread, no lock, no allocation per packet.
 *
 * <p>Inner packets longer than {@link #innerMtu()} (the tunnel's MTU, normally the device's
 * MTU, so the kernel already refused longer ones) go to a per-loop {@link PathMtuGuard}: ICMP
 * too-big back into the device, or IPv4 fragments into the tunnel.
 *
 * <p>The port does not own the device: close the device after the gateway has closed its queues.
 */
public final class TunPort implements PlaintextPort {

    private static final Logger LOG = LoggerFactory.getLogger(TunPort.class);

    /** Default packets per read batch. */
    public static final int DEFAULT_READ_BATCH = 64;
    /** Default ICMP too-big messages per second and event loop. */
    public static final int DEFAULT_ICMP_PER_SECOND = 100;

    private final TunDevice device;
    private final int readBatch;
    private final byte[] icmpSourceV4;
    private final byte[] icmpSourceV6;
    private final int icmpPerSecond;
    private volatile int innerMtu;
    private final LongAdder outputDrops = new LongAdder();
    private final LongAdder readErrors = new LongAdder();
    private final PathMtuGuard.Counters mtuCounters = new PathMtuGuard.Counters();
    private final java.util.List<QueueHandle> handles = new java.util.concurrent.CopyOnWriteArrayList<>();

    /**
     * @param innerMtu the longest inner packet the tunnel carries (see {@link TunMtu})
     * @param icmpSourceV4 the address ICMP errors come from (the device's IPv4 address), or null
     * @param icmpSourceV6 likewise for ICMPv6, or null
     */
    public TunPort(TunDevice device, int innerMtu, byte[] icmpSourceV4, byte[] icmpSourceV6) {
        this(device, innerMtu, icmpSourceV4, icmpSourceV6, DEFAULT_READ_BATCH, DEFAULT_ICMP_PER_SECOND);
    }

    public TunPort(TunDevice device, int innerMtu, byte[] icmpSourceV4, byte[] icmpSourceV6, int readBatch,
            int icmpPerSecond) {
        this.device = Objects.requireNonNull(device, "device");
        if (innerMtu < 68 || innerMtu > TunDevice.MAX_PACKET) {
            throw new IllegalArgumentException("inner MTU " + innerMtu + " outside 68.." + TunDevice.MAX_PACKET);
        }
        if (readBatch < 1) {
            throw new IllegalArgumentException("read batch " + readBatch + " < 1");
        }
        this.innerMtu = innerMtu;
        this.icmpSourceV4 = icmpSourceV4 == null ? null : icmpSourceV4.clone();
        this.icmpSourceV6 = icmpSourceV6 == null ? null : icmpSourceV6.clone();
        this.readBatch = readBatch;
        this.icmpPerSecond = icmpPerSecond;
    }

    public TunDevice device() {
        return device;
    }

    /** The longest inner packet forwarded as is. */
    public int innerMtu() {
        return innerMtu;
    }

    /** Changes the inner MTU (a new SA with more overhead, a lower path MTU); takes effect at once. */
    public void innerMtu(int mtu) {
        this.innerMtu = mtu;
    }

    public int readBatch() {
        return readBatch;
    }

    /** Too-big handling: ICMP errors sent and rate-limited, fragments. */
    public PathMtuGuard.Counters mtuCounters() {
        return mtuCounters;
    }

    /**
     * Offload counters summed over the queues (read racily from other threads: for reports),
     * or null when the device has no offloads.
     */
    public String offloadSummary() {
        if (!device.offload()) {
            return null;
        }
        long sp = 0, seg = 0, cs = 0, bad = 0, gp = 0, gs = 0, plain = 0;
        for (QueueHandle h : handles) {
            sp += h.segCounters.superPackets;
            seg += h.segCounters.segments;
            cs += h.segCounters.checksumsCompleted;
            bad += h.segCounters.malformed;
            gp += h.groCounters.superPackets;
            gs += h.groCounters.segments;
            plain += h.groCounters.plain;
        }
        return "gso: super-packets read " + sp + " -> segments " + seg + ", checksums completed " + cs
                + ", malformed " + bad + "; gro: super-packets written " + gp + " <- segments " + gs
                + ", plain writes " + plain;
    }

    /** Reads that failed with an error other than "nothing queued". */
    public long readErrors() {
        return readErrors.sum();
    }

    @Override
    public long outputDrops() {
        return outputDrops.sum();
    }

    @Override
    public Future<PlaintextQueue> openQueue(int index, EventLoop loop, PlaintextReceiver receiver) {
        if (index >= device.queueCount()) {
            return Future.failedFuture(new IllegalArgumentException("TUN device " + device.name() + " has "
                    + device.queueCount() + " queue(s); event loop " + index + " has none (open it with one queue per loop)"));
        }
        if (!(loop instanceof IoEventLoop io) || !io.isCompatible(QueueHandle.class)) {
            return Future.failedFuture(new IllegalStateException("event loop " + loop
                    + " is not a Netty epoll IoEventLoop; the TUN port needs Vert.x's native epoll transport"));
        }
        QueueHandle h = new QueueHandle(device.queue(index), receiver, loop);
        handles.add(h);
        Promise<PlaintextQueue> p = Promise.promise();
        io.register(h).addListener(f -> {
            if (!f.isSuccess()) {
                p.fail(f.cause());
                return;
            }
            IoRegistration reg = (IoRegistration) f.getNow();
            h.registration = reg;
            reg.submit(EpollIoOps.EPOLLIN);
            p.complete(new Queue(h));
        });
        return p.future();
    }

    /** One queue on one loop: the epoll handle and the {@link PlaintextQueue}. */
    private final class QueueHandle implements EpollIoHandle, PathMtuGuard.Output, TunOffload.Sink,
            TunOffload.Writer {
        private final TunQueue queue;
        private final PlaintextReceiver receiver;
        private final FileDescriptor fd;
        private final PacketBuffer pkt = new PacketBuffer(TunDevice.MAX_PACKET);
        private final PathMtuGuard guard;
        private final EventLoop loop;
        /** Reads the rest when a batch filled up: whether Netty's epoll registration is edge- or level-triggered. */
        private final Runnable more;
        private volatile IoRegistration registration;
        private boolean reportedError;
        /** Offload devices: a whole read (virtio_net_hdr + up to 64 KiB), then cut into packets. */
        private final byte[] raw;
        private final TunOffload.SegmentCounters segCounters = new TunOffload.SegmentCounters();
        private final TunOffload.CoalesceCounters groCounters = new TunOffload.CoalesceCounters();
        private final TunOffload.Segmenter segmenter;
        private final TunOffload.Coalescer coalescer;
        private int mtuNow;

        QueueHandle(TunQueue queue, PlaintextReceiver receiver, EventLoop loop) {
            this.queue = queue;
            this.receiver = receiver;
            this.loop = loop;
            this.more = () -> {
                IoRegistration r = registration;
                if (r != null && r.isValid()) {
                    handle(r, null);
                }
            };
            // A view of the queue's descriptor for epoll; the device owns and closes it.
            this.fd = new FileDescriptor(queue.fd());
            this.guard = new PathMtuGuard(mtuCounters, this, icmpSourceV4, icmpSourceV6, icmpPerSecond,
                    TunDevice.MAX_PACKET);
            boolean offload = device.offload();
            this.raw = offload ? new byte[TunDevice.VNET_HDR_LEN + TunDevice.MAX_PACKET] : null;
            this.segmenter = offload ? new TunOffload.Segmenter(TunDevice.MAX_PACKET, segCounters) : null;
            this.coalescer = offload ? new TunOffload.Coalescer(this, groCounters) : null;
        }

        /** A packet (or a segment of a super-packet) read from the device. */
        @Override
        public void onPacket(PacketBuffer p) {
            if (p.length() > mtuNow) {
                guard.tooBig(p, mtuNow);
            } else {
                receiver.onPacket(p);
            }
        }

        @Override
        public boolean writePlain(byte[] b, int off, int len) {
            return writeOut(b, off, len);
        }

        @Override
        public boolean writeRaw(byte[] b, int off, int len) {
            try {
                if (queue.writeRaw(b, off, len)) {
                    return true;
                }
            } catch (IOException | RuntimeException e) {
                // closed device, or a header the kernel refuses: drop and count
            }
            outputDrops.increment();
            return false;
        }

        @Override
        public FileDescriptor fd() {
            return fd;
        }

        @Override
        public void handle(IoRegistration reg, IoEvent event) {
            int mtu = innerMtu;
            mtuNow = mtu;
            int n = 0;
            try {
                if (segmenter != null) {
                    int pending = 0;
                    for (; n < readBatch; n++) {
                        int len = queue.tryRead(raw, 0, raw.length);
                        if (len <= 0) {
                            if (len < 0) {
                                reg.cancel(); // device closed
                            }
                            break;
                        }
                        pending += segmenter.split(raw, 0, len, this);
                        if (pending >= readBatch) {
                            // A read may hold 45 segments: flush the outer side every batch's
                            // worth, not after 64 reads (megabytes queued in the UDP channel).
                            receiver.onBatchEnd();
                            pending = 0;
                        }
                    }
                }
                for (; segmenter == null && n < readBatch; n++) {
                    pkt.reset();
                    int len = queue.tryRead(pkt.data(), pkt.offset(), pkt.tailroom());
                    if (len <= 0) {
                        if (len < 0) {
                            reg.cancel(); // device closed
                        }
                        break;
                    }
                    pkt.bounds(pkt.offset(), len);
                    if (len > mtu) {
                        guard.tooBig(pkt, mtu);
                    } else {
                        receiver.onPacket(pkt);
                    }
                }
            } catch (IOException | RuntimeException e) {
                readErrors.increment();
                if (!reportedError) {
                    reportedError = true;
                    LOG.warn("TUN device {} queue {}: read failed: {}", device.name(), queue.index(), e.toString());
                }
                if (!device.isOpen()) {
                    reg.cancel();
                }
            }
            if (n > 0) {
                receiver.onBatchEnd();
            }
            if (n == readBatch) {
                // More may be queued; read it after the loop's other work (fairness with the UDP side).
                loop.execute(more);
            }
        }

        @Override
        public void close() {
            // The registration ends; the descriptor belongs to the device.
        }

        boolean writeOut(byte[] b, int off, int len) {
            try {
                if (queue.write(b, off, len)) {
                    return true;
                }
            } catch (IOException | RuntimeException e) {
                // closed device, or bytes the kernel refuses as an IP packet: drop and count
            }
            outputDrops.increment();
            return false;
        }

        @Override
        public void forward(PacketBuffer fragment) {
            receiver.onPacket(fragment);
        }

        @Override
        public void reply(byte[] packet, int off, int len) {
            writeOut(packet, off, len);
        }
    }

    /** The forwarder's side of one queue. */
    private record Queue(QueueHandle handle) implements PlaintextQueue {
        @Override
        public boolean write(PacketBuffer packet) {
            if (handle.coalescer != null) {
                return handle.coalescer.add(packet.data(), packet.offset(), packet.length());
            }
            return handle.writeOut(packet.data(), packet.offset(), packet.length());
        }

        @Override
        public void flush() {
            // Without offloads writes go out one by one (a TUN fd has no batched write); with
            // them, the batch's TCP segments go out as super-packets.
            if (handle.coalescer != null) {
                handle.coalescer.flush();
            }
        }

        @Override
        public Future<Void> close() {
            IoRegistration r = handle.registration;
            if (r != null) {
                r.cancel();
            }
            return Future.succeededFuture();
        }
    }
}
