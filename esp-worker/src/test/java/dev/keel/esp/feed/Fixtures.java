package dev.keel.esp.feed;

import dev.keel.core.packet.Checksums;
import dev.keel.esp.packet.InnerPackets;
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
import java.util.Queue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import java.net.SocketAddress;
import java.util.function.LongSupplier;

/** Shared bits of the fed-worker component tests: Vert.x with a strict blocked-thread check, sockets, packets, waits. */
public final class Fixtures {

    private Fixtures() {
    }

    /** Vert.x whose blocked-thread reports (a loop busy over 500 ms) land in {@code blocked}: a test failure. */
    static Vertx vertx(int loops, Queue<BlockedThreadEvent> blocked) {
        Vertx v = Vertx.vertx(new VertxOptions()
                .setPreferNativeTransport(true)
                .setEventLoopPoolSize(loops)
                .setBlockedThreadCheckInterval(50).setBlockedThreadCheckIntervalUnit(TimeUnit.MILLISECONDS)
                .setMaxEventLoopExecuteTime(500).setMaxEventLoopExecuteTimeUnit(TimeUnit.MILLISECONDS));
        ((VertxInternal) v).blockedThreadChecker().setThreadBlockedHandler(blocked::add);
        return v;
    }

    static DatagramChannel socket(String host) throws IOException {
        DatagramChannel ch = DatagramChannel.open(StandardProtocolFamily.INET);
        ch.setOption(StandardSocketOptions.SO_RCVBUF, 8 << 20);
        ch.setOption(StandardSocketOptions.SO_SNDBUF, 8 << 20);
        ch.bind(new InetSocketAddress(InetAddress.getByName(host), 0));
        return ch;
    }

    static InetSocketAddress freeUdp(String host) throws IOException {
        try (DatagramChannel ch = DatagramChannel.open(StandardProtocolFamily.INET)) {
            ch.bind(new InetSocketAddress(host, 0));
            return (InetSocketAddress) ch.getLocalAddress();
        }
    }

    static InetSocketAddress local(DatagramChannel ch) throws IOException {
        return (InetSocketAddress) ch.getLocalAddress();
    }

    /** An IPv4/UDP packet src → dst with destination port {@code dport}, IP id = {@code id}. */
    static byte[] udp(byte[] src, byte[] dst, int dport, int payload, int id) {
        byte[] p = InnerPackets.ipv4(src, dst, 17, payload, id);
        p[4] = (byte) (id >>> 8);
        p[5] = (byte) id;
        p[10] = 0;
        p[11] = 0;
        int sum = Checksums.ipv4Header(p, 0, 20);
        p[10] = (byte) (sum >>> 8);
        p[11] = (byte) sum;
        p[22] = (byte) (dport >>> 8);
        p[23] = (byte) dport;
        p[26] = 0; // IPv4 UDP checksum 0: none (RFC 768), so the port change needs no fix-up
        p[27] = 0;
        return p;
    }

    static byte[] v4(int a, int b, int c, int d) {
        return new byte[] {(byte) a, (byte) b, (byte) c, (byte) d};
    }

    static void send(DatagramChannel from, byte[] packet, InetSocketAddress to) throws IOException {
        from.send(ByteBuffer.wrap(packet), to);
    }

    /** Receives one datagram or null after {@code millis}. */
    /**
     * Sends {@code packet} from {@code from} to {@code to} until it arrives at {@code at}, and
     * returns it (null when lost). A fresh or idle inbound SA's replay margin is small and a flow
     * that starts at once grows it one checkpoint round trip at a time (docs/ha.md, "Sizing the
     * margin"), so a packet the data plane held back for a late checkpoint ({@code behind}, its
     * CHECKPOINT_BEHIND count, rose) is sent again, as a peer's TCP would, at most 10 times;
     * anything else lost is lost.
     */
    public static byte[] deliver(DatagramChannel from, byte[] packet, SocketAddress to, DatagramChannel at,
            LongSupplier behind) throws IOException, InterruptedException {
        for (int tries = 0; tries < 10; tries++) {
            long before = behind.getAsLong();
            from.send(ByteBuffer.wrap(packet), to);
            byte[] got = receive(at, 1000);
            if (got != null) {
                return got;
            }
            if (behind.getAsLong() == before) {
                return receive(at, 4000); // not held back: late, or lost for good
            }
        }
        return null;
    }

    public static byte[] receive(DatagramChannel ch, long millis) throws IOException, InterruptedException {
        ch.configureBlocking(false);
        ByteBuffer bb = ByteBuffer.allocate(65536);
        long deadline = System.nanoTime() + millis * 1_000_000L;
        while (System.nanoTime() < deadline) {
            bb.clear();
            if (ch.receive(bb) != null) {
                bb.flip();
                byte[] out = new byte[bb.remaining()];
                bb.get(out);
                return out;
            }
            Thread.sleep(1);
        }
        return null;
    }

    /** Waits until {@code cond} holds, failing with {@code what()} after {@code millis}. */
    static void await(BooleanSupplier cond, long millis, Supplier<String> what) throws InterruptedException {
        long deadline = System.nanoTime() + millis * 1_000_000L;
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + millis + " ms: " + what.get());
            }
            Thread.sleep(5);
        }
    }
}
