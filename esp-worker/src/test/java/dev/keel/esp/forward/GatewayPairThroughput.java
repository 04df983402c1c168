package dev.keel.esp.forward;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * A quick throughput figure for the gateway pair on loopback, not a benchmark (JMH and the
 * end-to-end scripts live in bench/): 1400-byte inner packets pushed through A -> B over the
 * virtual wires, with AES-128-GCM and with the crypto-free relay over the same path as the
 * ceiling. Runs only with {@code -Dkeel.bench=true}; prints packets/s and Gbit/s of inner
 * packets. The sender keeps at most {@code keel.bench.window} packets in flight so loopback
 * socket buffers never overflow.
 */
@EnabledIfSystemProperty(named = "keel.bench", matches = "true")
@Timeout(300)
class GatewayPairThroughput {

    private static final int SIZE = Integer.getInteger("keel.bench.size", 1400);
    private static final long COUNT = Long.getLong("keel.bench.count", 300_000);
    private static final int WINDOW = Integer.getInteger("keel.bench.window", 1024);
    private static final int LOOPS = Integer.getInteger("keel.bench.loops", 2);

    @Test
    void relayThenEsp() throws Exception {
        harnessOnly();
        double relay = run(ForwardMode.RELAY);
        double esp = run(ForwardMode.ESP);
        System.out.printf("ESP / relay = %.2f%n", esp / relay);
    }

    /**
     * What the copy between Netty's direct receive buffer and the heap PacketBuffer costs next
     * to AES-128-GCM on the same 1400 bytes (epoll always reads into a direct buffer, and the
     * JDK's GCM is fastest on byte[]). Crude nanoTime loops, after a warm-up.
     */
    @Test
    void copyVersusCipher() {
        io.netty.buffer.ByteBuf direct = io.netty.buffer.PooledByteBufAllocator.DEFAULT.directBuffer(2048);
        direct.writeBytes(new byte[SIZE]);
        dev.keel.core.packet.PacketBuffer pkt = new dev.keel.core.packet.PacketBuffer(2048);
        dev.keel.esp.sa.OutboundSa sa = new dev.keel.esp.sa.OutboundSa(TwoGateways.spec(0x1234), null);
        dev.keel.esp.packet.EspEncapsulator encap = new dev.keel.esp.packet.EspEncapsulator(new dev.keel.esp.packet.EspCounters());
        byte[] inner = TwoGateways.packet(1, SIZE);
        long sink = 0;
        for (int round = 0; round < 3; round++) {
            int n = 200_000;
            long t0 = System.nanoTime();
            for (int i = 0; i < n; i++) {
                direct.getBytes(0, pkt.data(), 128, SIZE);
                sink += pkt.data()[128 + (i & 1023)];
            }
            long t1 = System.nanoTime();
            for (int i = 0; i < n; i++) {
                pkt.set(inner, 0, inner.length);
                encap.encapsulate(sa, pkt);
                sink += pkt.length();
            }
            long t2 = System.nanoTime();
            System.out.printf("round %d: copy direct->heap %d B: %.1f ns; ESP encap AES-128-GCM %d B: %.1f ns (%d)%n",
                    round, SIZE, (t1 - t0) / (double) n, SIZE, (t2 - t1) / (double) n, sink & 1);
        }
        direct.release();
        sa.close();
    }

    /** The test harness alone (host A's socket straight to host B's), the floor under both runs. */
    private static void harnessOnly() throws Exception {
        try (TwoGateways pair = new TwoGateways(ForwardMode.RELAY, LOOPS, Duration.ZERO)) {
            byte[] p = TwoGateways.packet(1, SIZE);
            InetSocketAddress b = (InetSocketAddress) pair.hostB.getLocalAddress();
            pair.pump(b, COUNT / 5, WINDOW, 10_000, seq -> p, (n, got) -> null);
            long nanos = pair.pump(b, COUNT, WINDOW, 10_000, seq -> p, (n, got) -> null);
            double pps = COUNT / (nanos / 1e9);
            System.out.printf("HARNESS host->host %d B x %d: %,.0f packets/s, %.3f Gbit/s%n", SIZE, COUNT, pps, pps * SIZE * 8 / 1e9);
        }
    }

    /** Bytes allocated so far by every Vert.x event-loop thread (HotSpot's per-thread counter). */
    private static long loopAllocatedBytes() {
        var mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long sum = 0;
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith("vert.x-eventloop-thread")) {
                sum += mx.getThreadAllocatedBytes(t.threadId());
            }
        }
        return sum;
    }

    private static double run(ForwardMode mode) throws Exception {
        try (TwoGateways pair = new TwoGateways(mode, LOOPS, Duration.ZERO)) {
            byte[][] packets = new byte[256][];
            for (int i = 0; i < packets.length; i++) {
                packets[i] = TwoGateways.packet(i, SIZE);
            }
            // Warm-up, then the measured run.
            pair.pump(COUNT / 5, WINDOW, 10_000, seq -> packets[(int) (seq & 255)], (n, got) -> null);
            long alloc0 = loopAllocatedBytes();
            long nanos = pair.pump(COUNT, WINDOW, 10_000, seq -> packets[(int) (seq & 255)],
                    (n, got) -> got.remaining() == SIZE ? null : "size " + got.remaining());
            long alloc = loopAllocatedBytes() - alloc0;
            double pps = COUNT / (nanos / 1e9);
            System.out.printf("%-5s event loops allocated %.1f bytes per packet (both gateways, Netty included)%n",
                    mode, alloc / (double) COUNT);
            System.out.printf("%-5s %d B x %d, %d loop(s): %,.0f packets/s, %.3f Gbit/s (inner); A %s; B %s%n",
                    mode, SIZE, COUNT, LOOPS, pps, pps * SIZE * 8 / 1e9, pair.a.counters(), pair.b.counters());
            assertThat(pair.blocked).isEmpty();
            return pps;
        }
    }
}
