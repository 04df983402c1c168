package dev.keel.esp.tun;

import dev.keel.core.packet.Checksums;
import dev.keel.core.packet.IpPacketInfo;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * Plays the far end of a TUN device: one platform thread per queue reads packets and answers
 * every ICMP / ICMPv6 echo request addressed to {@code peer} with an echo reply written to the
 * same queue. Threads end when the device is closed ({@code read} returns -1).
 */
final class EchoResponder implements AutoCloseable {

    static final int ICMP_ECHO_REPLY = 0;
    static final int ICMP_ECHO_REQUEST = 8;
    static final int ICMPV6_ECHO_REQUEST = 128;
    static final int ICMPV6_ECHO_REPLY = 129;

    private final TunDevice device;
    private final byte[] peer;
    private final List<Thread> threads = new ArrayList<>();
    private final AtomicIntegerArray requests;
    private final AtomicIntegerArray otherPackets;
    private final List<Throwable> failures = new CopyOnWriteArrayList<>();

    EchoResponder(TunDevice device, byte[] peer) {
        this.device = device;
        this.peer = peer.clone();
        this.requests = new AtomicIntegerArray(device.queueCount());
        this.otherPackets = new AtomicIntegerArray(device.queueCount());
        for (TunQueue q : device.queues()) {
            Thread t = Thread.ofPlatform().daemon().name("tun-echo-" + device.name() + "-" + q.index())
                    .unstarted(() -> serve(q));
            threads.add(t);
        }
        threads.forEach(Thread::start);
    }

    private void serve(TunQueue q) {
        byte[] buf = new byte[TunDevice.MAX_PACKET];
        IpPacketInfo info = new IpPacketInfo();
        try {
            int n;
            while ((n = q.read(buf, 0, buf.length)) >= 0) {
                if (n > 0 && info.parse(buf, 0, n) && toEchoReply(buf, info, peer)) {
                    requests.incrementAndGet(q.index());
                    q.write(buf, 0, info.totalLength());
                } else {
                    otherPackets.incrementAndGet(q.index());
                }
            }
        } catch (Throwable t) {
            failures.add(t);
        }
    }

    /**
     * Turns the echo request in {@code buf} (parsed in {@code info}) addressed to
     * {@code peer} into the echo reply, in place: addresses swapped, TTL / hop limit 64, type
     * 0 / 129, checksums recomputed. False (buffer untouched) for any other packet.
     */
    static boolean toEchoReply(byte[] buf, IpPacketInfo info, byte[] peer) {
        int dst = info.destinationOffset();
        int alen = info.addressLength();
        if (alen != peer.length || !Arrays.equals(buf, dst, dst + alen, peer, 0, alen)) {
            return false;
        }
        int ip = info.sourceOffset() - (info.isIpv6() ? 8 : 12);
        int l4 = ip + info.headerLength();
        int l4Len = info.totalLength() - info.headerLength();
        if (info.isIpv6()) {
            if (info.protocol() != IpPacketInfo.PROTO_ICMPV6 || l4Len < 8 || (buf[l4] & 0xff) != ICMPV6_ECHO_REQUEST) {
                return false;
            }
            swap(buf, info.sourceOffset(), dst, 16);
            buf[ip + 7] = 64;
            buf[l4] = (byte) ICMPV6_ECHO_REPLY;
            buf[l4 + 2] = 0;
            buf[l4 + 3] = 0;
            int c = Checksums.transport(buf, info.sourceOffset(), buf, dst, 16, IpPacketInfo.PROTO_ICMPV6,
                    buf, l4, l4Len);
            buf[l4 + 2] = (byte) (c >>> 8);
            buf[l4 + 3] = (byte) c;
        } else {
            if (info.protocol() != IpPacketInfo.PROTO_ICMP || l4Len < 8 || (buf[l4] & 0xff) != ICMP_ECHO_REQUEST) {
                return false;
            }
            swap(buf, info.sourceOffset(), dst, 4);
            buf[ip + 8] = 64;
            buf[ip + 10] = 0;
            buf[ip + 11] = 0;
            int hc = Checksums.ipv4Header(buf, ip, info.headerLength());
            buf[ip + 10] = (byte) (hc >>> 8);
            buf[ip + 11] = (byte) hc;
            buf[l4] = (byte) ICMP_ECHO_REPLY;
            buf[l4 + 2] = 0;
            buf[l4 + 3] = 0;
            int c = Checksums.finish(Checksums.sum(buf, l4, l4Len, 0));
            buf[l4 + 2] = (byte) (c >>> 8);
            buf[l4 + 3] = (byte) c;
        }
        return true;
    }

    private static void swap(byte[] b, int x, int y, int len) {
        for (int i = 0; i < len; i++) {
            byte t = b[x + i];
            b[x + i] = b[y + i];
            b[y + i] = t;
        }
    }

    /** Echo requests answered, per queue. */
    int[] requestsPerQueue() {
        int[] r = new int[requests.length()];
        for (int i = 0; i < r.length; i++) {
            r[i] = requests.get(i);
        }
        return r;
    }

    /** Packets read that were not echo requests for the peer (router solicitations, MLD, ...). */
    int otherPackets() {
        int s = 0;
        for (int i = 0; i < otherPackets.length(); i++) {
            s += otherPackets.get(i);
        }
        return s;
    }

    List<Throwable> failures() {
        return failures;
    }

    /** Waits (at most {@code millis} per thread) for the threads, which end once the device is closed. */
    boolean awaitEnd(long millis) throws InterruptedException {
        boolean all = true;
        for (Thread t : threads) {
            t.join(millis);
            all &= !t.isAlive();
        }
        return all;
    }

    /**
     * Closes the device, which ends the readers; interrupts any still running after 2 s (a
     * reader stuck that long is a failure the test sees in {@link #awaitEnd}).
     */
    @Override
    public void close() {
        device.close();
        try {
            if (!awaitEnd(2_000)) {
                threads.forEach(Thread::interrupt);
            }
        } catch (InterruptedException e) {
            threads.forEach(Thread::interrupt);
            Thread.currentThread().interrupt();
        }
    }
}
