package dev.keel.esp.forward;

import dev.keel.core.net.IpPrefix;
import dev.keel.core.packet.Checksums;
import dev.keel.core.sa.IpsecMode;
import dev.keel.core.ts.TrafficSelector;
import dev.keel.esp.net.IkeHandoff;
import dev.keel.esp.net.UdpOptions;
import dev.keel.esp.packet.InnerPackets;
import dev.keel.esp.packet.Suites;
import dev.keel.esp.plain.VirtualWire;
import dev.keel.esp.sa.EspSaSpec;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.internal.threadchecker.BlockedThreadEvent;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Two gateways on loopback with static AES-128-GCM SAs and virtual wires, for tests and the
 * throughput run. Gateway A (UDP 127.0.0.2) protects 10.1.0.0/16, gateway B (127.0.0.3)
 * protects 10.2.0.0/16. The test's "hosts" are plain JDK datagram sockets on 127.0.0.1:
 * {@link #hostA} sends into A's wire, {@link #hostB} receives what B's wire puts out.
 */
final class TwoGateways implements AutoCloseable {

    static final int SPI_A_TO_B = 0x0a0b0001;
    static final int SPI_B_TO_A = 0x0b0a0001;
    static final byte[] NET_A = {10, 1, 0, 5};
    static final byte[] NET_B = {10, 2, 0, 7};

    final Vertx vertx;
    final ConcurrentLinkedQueue<BlockedThreadEvent> blocked = new ConcurrentLinkedQueue<>();
    final ConcurrentLinkedQueue<byte[]> ikeAtB = new ConcurrentLinkedQueue<>();
    final StaticGateway a;
    final StaticGateway b;
    final DatagramChannel hostA;
    final DatagramChannel hostB;
    final InetSocketAddress udpA;
    final InetSocketAddress udpB;
    final InetSocketAddress wireA;
    final InetSocketAddress wireB;

    TwoGateways(ForwardMode mode, int loops, Duration keepalive) throws Exception {
        vertx = Vertx.vertx(new VertxOptions()
                .setPreferNativeTransport(true)
                .setEventLoopPoolSize(loops)
                .setBlockedThreadCheckInterval(50).setBlockedThreadCheckIntervalUnit(TimeUnit.MILLISECONDS)
                .setMaxEventLoopExecuteTime(500).setMaxEventLoopExecuteTimeUnit(TimeUnit.MILLISECONDS));
        ((VertxInternal) vertx).blockedThreadChecker().setThreadBlockedHandler(blocked::add);
        try {
            hostA = hostSocket();
            hostB = hostSocket();
            udpA = new InetSocketAddress("127.0.0.2", freePort("127.0.0.2"));
            udpB = new InetSocketAddress("127.0.0.3", freePort("127.0.0.3"));
            wireA = new InetSocketAddress("127.0.0.2", freePort("127.0.0.2"));
            wireB = new InetSocketAddress("127.0.0.3", freePort("127.0.0.3"));
            TrafficSelector netA = TrafficSelector.of(IpPrefix.parse("10.1.0.0/16"));
            TrafficSelector netB = TrafficSelector.of(IpPrefix.parse("10.2.0.0/16"));
            StaticSaPair atA = new StaticSaPair(spec(SPI_B_TO_A), spec(SPI_A_TO_B), udpB, List.of(netA), List.of(netB));
            StaticSaPair atB = new StaticSaPair(spec(SPI_A_TO_B), spec(SPI_B_TO_A), udpA, List.of(netB), List.of(netA));
            UdpOptions udp = UdpOptions.DEFAULTS;
            a = StaticGateway.start(vertx, StaticGateway.Config.of(udpA, List.of(atA)).withMode(mode)
                            .withKeepaliveInterval(keepalive),
                    new VirtualWire(vertx, wireA, (InetSocketAddress) hostA.getLocalAddress(), udp))
                    .await(10, TimeUnit.SECONDS);
            IkeHandoff ike = (buf, off, len, peer) -> ikeAtB.add(java.util.Arrays.copyOfRange(buf, off, off + len));
            b = StaticGateway.start(vertx, StaticGateway.Config.of(udpB, List.of(atB)).withMode(mode)
                            .withKeepaliveInterval(keepalive).withIke(ike),
                    new VirtualWire(vertx, wireB, (InetSocketAddress) hostB.getLocalAddress(), udp))
                    .await(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            vertx.close().await(10, TimeUnit.SECONDS);
            throw e;
        }
    }

    /** The SA both sides derive from the SPI (deterministic test keys), 1024-packet replay window. */
    static EspSaSpec spec(int spi) {
        Suites s = Suites.AES128_GCM16;
        return new EspSaSpec(spi, IpsecMode.TUNNEL, s.encryption, s.encryptionKey(spi), s.integrity,
                s.integrityKey(spi), false, 1024, 0, false);
    }

    private static DatagramChannel hostSocket() throws IOException {
        DatagramChannel ch = DatagramChannel.open(StandardProtocolFamily.INET);
        ch.setOption(StandardSocketOptions.SO_RCVBUF, 8 << 20);
        ch.setOption(StandardSocketOptions.SO_SNDBUF, 8 << 20);
        ch.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        return ch;
    }

    static int freePort(String host) throws IOException {
        try (DatagramChannel ch = DatagramChannel.open(StandardProtocolFamily.INET)) {
            ch.bind(new InetSocketAddress(host, 0));
            return ((InetSocketAddress) ch.getLocalAddress()).getPort();
        }
    }

    /** Inner packet number {@code seq}: IPv4/UDP 10.1.0.5 -> 10.2.0.7, 64..1400 bytes, IP id = seq. */
    static byte[] packet(long seq) {
        int total = 64 + (int) ((seq * 7919) % (1400 - 64 + 1));
        return packet(seq, total);
    }

    static byte[] packet(long seq, int total) {
        byte[] p = InnerPackets.ipv4(NET_A, NET_B, 17, total - 28, seq);
        p[4] = (byte) (seq >>> 8);
        p[5] = (byte) seq;
        p[10] = 0;
        p[11] = 0;
        int sum = Checksums.ipv4Header(p, 0, 20);
        p[10] = (byte) (sum >>> 8);
        p[11] = (byte) sum;
        return p;
    }

    /**
     * Sends {@code count} packets from {@code packets} into A's wire with at most {@code window}
     * in flight (loopback drops when a socket buffer fills), while a receiver thread hands every
     * packet B's wire puts out to {@code check}. Returns the nanoseconds from first send to last
     * receipt; throws if no progress is made for {@code stallMillis}.
     */
    long pump(long count, int window, long stallMillis, java.util.function.LongFunction<byte[]> packets,
            Checker check) throws Exception {
        return pump(wireA, count, window, stallMillis, packets, check);
    }

    /** As {@link #pump(long, int, long, java.util.function.LongFunction, Checker)}, sending to {@code target}. */
    long pump(InetSocketAddress target, long count, int window, long stallMillis,
            java.util.function.LongFunction<byte[]> packets, Checker check) throws Exception {
        AtomicLong received = new AtomicLong();
        AtomicLong failure = new AtomicLong(-1);
        StringBuilder why = new StringBuilder();
        hostB.configureBlocking(true);
        Thread rx = Thread.ofPlatform().name("hostB-rx").start(() -> {
            ByteBuffer bb = ByteBuffer.allocate(65536);
            try {
                while (received.get() < count) {
                    bb.clear();
                    hostB.receive(bb);
                    bb.flip();
                    long n = received.get();
                    String err = check.check(n, bb);
                    if (err != null && failure.get() < 0) {
                        synchronized (why) {
                            why.append(err);
                        }
                        failure.set(n);
                    }
                    received.incrementAndGet();
                }
            } catch (IOException e) {
                // closed: the test ends
            }
        });
        ByteBuffer out = ByteBuffer.allocate(65536);
        long start = System.nanoTime();
        try {
            long lastProgress = System.nanoTime();
            long lastSeen = 0;
            for (long seq = 0; seq < count; seq++) {
                while (seq - received.get() >= window) {
                    long r = received.get();
                    if (r != lastSeen) {
                        lastSeen = r;
                        lastProgress = System.nanoTime();
                    } else if (System.nanoTime() - lastProgress > stallMillis * 1_000_000L) {
                        throw new AssertionError("stalled at " + r + " of " + count + " received (" + seq + " sent); A="
                                + a.counters() + " espA=" + a.espCounters().outboundSnapshot() + " B=" + b.counters()
                                + " espB=" + b.espCounters().inboundSnapshot());
                    }
                    // Park rather than spin: on a 2-core machine a spinning sender starves the loops.
                    java.util.concurrent.locks.LockSupport.parkNanos(20_000);
                    if (failure.get() >= 0) {
                        break;
                    }
                }
                if (failure.get() >= 0) {
                    break;
                }
                out.clear();
                out.put(packets.apply(seq)).flip();
                hostA.send(out, target);
            }
            long deadline = System.nanoTime() + stallMillis * 1_000_000L;
            while (received.get() < count && failure.get() < 0 && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
        } finally {
            if (received.get() < count) {
                rx.interrupt(); // closes hostB (interruptible channel); the caller sees the count
            }
            rx.join(5000);
        }
        long elapsed = System.nanoTime() - start;
        if (failure.get() >= 0) {
            throw new AssertionError("packet " + failure.get() + ": " + why);
        }
        if (received.get() < count) {
            throw new AssertionError("only " + received.get() + " of " + count + " arrived; A=" + a.counters()
                    + " B=" + b.counters() + " espB=" + b.espCounters().inboundSnapshot());
        }
        return elapsed;
    }

    /** Checks the {@code n}-th packet out of B's wire; returns null if right, else what is wrong. */
    @FunctionalInterface
    interface Checker {
        String check(long n, ByteBuffer packet);
    }

    @Override
    public void close() throws Exception {
        try {
            if (a != null) {
                a.close().await(10, TimeUnit.SECONDS);
            }
            if (b != null) {
                b.close().await(10, TimeUnit.SECONDS);
            }
        } finally {
            hostA.close();
            hostB.close();
            vertx.close().await(10, TimeUnit.SECONDS);
        }
    }
}
