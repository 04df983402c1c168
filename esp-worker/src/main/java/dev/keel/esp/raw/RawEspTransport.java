package dev.keel.esp.raw;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import dev.keel.esp.net.DatagramReceiver;
import dev.keel.esp.sys.LibC;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
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
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Raw ESP (IP protocol 50, RFC 4303 without the RFC 3948 UDP header) for one worker: one
 * {@code SOCK_RAW}/{@code IPPROTO_ESP} socket per address family, opened through the
 * foreign-function API ({@link RawLibC}).
 *
 * <p><b>One receiving socket per worker, read on one event loop.</b> The kernel hands a copy of
 * every ESP packet to every raw socket bound to protocol 50 (no {@code SO_REUSEPORT} spreading as
 * for UDP), so a socket per loop would decrypt each packet once per loop and all but one copy
 * would fail the replay check. Dispatching by SPI to the loop of the SA would need a cross-thread
 * hand-off per packet for static SAs that have no loop of their own; so the raw transport simply
 * reads (with {@code recvmmsg}, {@link #READ_BATCH} packets a call, one flush of the plaintext
 * side per wake-up) and decapsulates on the first loop. Its ceiling is one core for inbound ESP, which suits
 * an optional transport for peers that do not speak ESP-in-UDP. Sending is from every loop: each
 * loop's {@link Sender} has its own native staging buffer and calls {@code sendto} on the shared
 * descriptor (one datagram per call; the kernel builds the outer IP header, protocol 50).
 *
 * <p>There are no NAT keepalives and no IKE on this transport (IKE stays on UDP 500/4500). An
 * IPv4 raw socket delivers the IP header in front of the ESP packet, stripped here by its IHL;
 * an IPv6 raw socket delivers the payload alone. A packet too short for an ESP header, or with
 * SPI 0 (reserved, RFC 4303 §2.1), is dropped and counted before decapsulation.
 */
public final class RawEspTransport implements AutoCloseable {

    /** Largest packet read or sent: what an IPv4 total length can say. */
    public static final int MAX_PACKET = 65535;
    /** Packets one {@code recvmmsg} reads (each slot holds {@link #MAX_PACKET} bytes). */
    static final int READ_BATCH = 16;
    /** {@code recvmmsg} calls per wake-up before the loop's other work gets a turn. */
    static final int CALLS_PER_WAKEUP = 4;
    /** SPI (4) and sequence number (4): the least an ESP packet holds (RFC 4303 §2). */
    static final int MIN_ESP = 8;
    /**
     * The mark ({@code SO_MARK}) on every packet the raw ESP and AH sockets send, so that one
     * {@code ip rule fwmark} can route them by the main table (the gateway's {@code PeerRoutes}).
     * A rule on the protocol cannot: an IPv4 socket with {@code IP_HDRINCL} (AH) is routed as
     * protocol 255, not 51.
     */
    public static final int OWN_PACKET_MARK = 7296;

    private static final Logger LOG = LoggerFactory.getLogger(RawEspTransport.class);

    private final Socket v4;
    private final Socket v6;
    /** AH (protocol 51): the caller's packets start with the outer IP header, and IPv4 reads keep theirs. */
    private final boolean ah;
    private final LongAdder received = new LongAdder();
    private final LongAdder malformed = new LongAdder();
    private final LongAdder readErrors = new LongAdder();
    private final LongAdder sent = new LongAdder();
    private final LongAdder sendDrops = new LongAdder();
    private final List<Handle> handles = new ArrayList<>();
    private volatile boolean closed;

    private RawEspTransport(Socket v4, Socket v6, boolean ah) {
        this.v4 = v4;
        this.v6 = v6;
        this.ah = ah;
    }

    /**
     * Opens raw ESP sockets for IPv4 and/or IPv6, each bound to {@code local} when that is a
     * specific address of its family (then only ESP to that address is read, and it is the
     * source of what is sent).
     *
     * @throws IOException naming the call and errno when a socket cannot be opened (no
     *     CAP_NET_RAW, IPv6 disabled, an address not of this host); nothing stays open then
     */
    public static RawEspTransport open(boolean ipv4, boolean ipv6, InetAddress local) throws IOException {
        return open(ipv4, ipv6, local, false);
    }

    /**
     * As {@link #open(boolean, boolean, InetAddress)} for AH (IP protocol 51, RFC 4302), whose ICV
     * covers the outer IP header: the sockets send what {@code AhEncapsulator} built, outer
     * header included ({@code IP_HDRINCL}, {@code IPV6_HDRINCL}); IPv4 reads hand on the packet
     * with its IP header; IPv6 reads, which the kernel gives without one, hand on the AH header
     * (the receiver rebuilds the base header from the addresses).
     */
    public static RawEspTransport openAh(boolean ipv4, boolean ipv6, InetAddress local) throws IOException {
        return open(ipv4, ipv6, local, true);
    }

    private static RawEspTransport open(boolean ipv4, boolean ipv6, InetAddress local, boolean ah) throws IOException {
        if (!ipv4 && !ipv6) {
            throw new IllegalArgumentException("raw " + (ah ? "AH" : "ESP") + " needs IPv4 or IPv6 (or both)");
        }
        RawLibC.checkPlatform();
        Socket s4 = null;
        try {
            s4 = ipv4 ? Socket.open(false, local instanceof Inet4Address a && !a.isAnyLocalAddress() ? a : null, ah)
                    : null;
            Socket s6 = ipv6 ? Socket.open(true, local instanceof Inet6Address a && !a.isAnyLocalAddress() ? a : null, ah)
                    : null;
            return new RawEspTransport(s4, s6, ah);
        } catch (IOException | RuntimeException e) {
            if (s4 != null) {
                s4.close();
            }
            throw e;
        }
    }

    /**
     * Registers the sockets with {@code loop}'s epoll (Netty 4.2 {@link EpollIoHandle}) and
     * hands every ESP packet read to {@code receiver} on that loop, as the UDP transport does;
     * {@code sender} port is 0.
     */
    public Future<Void> startReceiving(EventLoop loop, DatagramReceiver receiver) {
        if (!(loop instanceof IoEventLoop io) || !io.isCompatible(Handle.class)) {
            return Future.failedFuture(new IllegalStateException("event loop " + loop
                    + " is not a Netty epoll IoEventLoop; raw ESP needs Vert.x's native epoll transport"));
        }
        List<Future<Void>> all = new ArrayList<>();
        for (Socket s : new Socket[] {v4, v6}) {
            if (s == null) {
                continue;
            }
            Handle h = new Handle(s, receiver, loop);
            synchronized (handles) {
                handles.add(h);
            }
            Promise<Void> p = Promise.promise();
            io.register(h).addListener(f -> {
                if (!f.isSuccess()) {
                    p.fail(f.cause());
                    return;
                }
                IoRegistration reg = (IoRegistration) f.getNow();
                h.registration = reg;
                reg.submit(EpollIoOps.EPOLLIN);
                p.complete();
            });
            all.add(p.future());
        }
        return Future.all(all).mapEmpty();
    }

    /** A sender for one event loop (its own staging buffer); use it on that loop only. */
    public Sender sender() {
        return new Sender();
    }

    /** ESP packets read and handed on. */
    public long received() {
        return received.sum();
    }

    /** Packets read that were not ESP (too short, SPI 0, a bad IPv4 header). */
    public long malformed() {
        return malformed.sum();
    }

    /** ESP packets the kernel took. */
    public long sent() {
        return sent.sum();
    }

    /** ESP packets not sent: socket buffer full, no socket of the peer's family, or an error. */
    public long sendDrops() {
        return sendDrops.sum();
    }

    /** Reads that failed with an error other than "nothing queued". */
    public long readErrors() {
        return readErrors.sum();
    }

    @Override
    public String toString() {
        return (ah ? "raw ah" : "raw esp") + ": received " + received() + ", sent " + sent() + ", malformed " + malformed()
                + ", send drops " + sendDrops() + ", read errors " + readErrors();
    }

    /**
     * Ends the registrations and closes the sockets. Call after the loops stopped sending (the
     * gateway closes its loops first): a descriptor closed under a sending loop could be reused.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        synchronized (handles) {
            for (Handle h : handles) {
                IoRegistration r = h.registration;
                if (r != null) {
                    r.cancel();
                }
            }
        }
        if (v4 != null) {
            v4.close();
        }
        if (v6 != null) {
            v6.close();
        }
    }

    /**
     * Where the ESP packet starts in what a raw socket read: after the IPv4 header (by its IHL)
     * or at 0 for IPv6; -1 when the bytes are no IPv4 header or leave less than an ESP header
     * ({@link #MIN_ESP} bytes) or carry SPI 0.
     */
    static int espStart(MemorySegment buf, int len, boolean ipv6) {
        return espStart(buf, len, ipv6, false);
    }

    /** As above; with {@code keepIpv4Header} (AH) an IPv4 packet starts at 0, its header checked all the same. */
    static int espStart(MemorySegment buf, int len, boolean ipv6, boolean keepIpv4Header) {
        int start = 0;
        if (!ipv6) {
            if (len < 20) {
                return -1;
            }
            int b0 = buf.get(JAVA_BYTE, 0) & 0xff;
            int ihl = (b0 & 0x0f) * 4;
            if (b0 >> 4 != 4 || ihl < 20 || ihl > len) {
                return -1;
            }
            start = ihl;
        }
        if (keepIpv4Header) {
            // AH: next header, length, reserved, SPI (not 0, RFC 4302 §2.4), sequence number; from the IP header on.
            return len - start < 12 || buf.get(JAVA_INT_BE, start + 4) == 0 ? -1 : 0;
        }
        if (len - start < MIN_ESP || buf.get(JAVA_INT_BE, start) == 0) {
            return -1;
        }
        return start;
    }

    private static final ValueLayout.OfInt JAVA_INT_BE = JAVA_INT.withOrder(ByteOrder.BIG_ENDIAN).withByteAlignment(1);

    /** One raw socket of one address family. */
    private static final class Socket {
        final int fd;
        final boolean ipv6;

        private Socket(int fd, boolean ipv6) {
            this.fd = fd;
            this.ipv6 = ipv6;
        }

        static Socket open(boolean ipv6, InetAddress bindTo, boolean ah) throws IOException {
            String family = ipv6 ? "AF_INET6" : "AF_INET";
            String proto = ah ? "IPPROTO_AH" : "IPPROTO_ESP";
            try (Arena a = Arena.ofConfined()) {
                MemorySegment state = a.allocate(LibC.CAPTURE_STATE);
                int fd = LibC.socket(state, ipv6 ? LibC.AF_INET6 : LibC.AF_INET,
                        LibC.SOCK_RAW | LibC.SOCK_NONBLOCK | LibC.SOCK_CLOEXEC, ah ? LibC.IPPROTO_AH : LibC.IPPROTO_ESP);
                if (fd < 0) {
                    throw new IOException("socket(" + family + ", SOCK_RAW, " + proto + ") failed: "
                            + RawLibC.errnoName(LibC.errno(state)));
                }
                if (ah) {
                    MemorySegment one = a.allocate(JAVA_INT);
                    one.set(JAVA_INT, 0, 1);
                    int level = ipv6 ? LibC.IPPROTO_IPV6 : LibC.IPPROTO_IP;
                    int name = ipv6 ? LibC.IPV6_HDRINCL : LibC.IP_HDRINCL;
                    if (LibC.setsockopt(state, fd, level, name, one, 4) < 0) {
                        int errno = LibC.errno(state);
                        LibC.close(state, fd);
                        throw new IOException("setsockopt(" + family + " raw AH, " + (ipv6 ? "IPV6_HDRINCL" : "IP_HDRINCL")
                                + ") failed: " + RawLibC.errnoName(errno));
                    }
                }
                MemorySegment mark = a.allocate(JAVA_INT);
                mark.set(JAVA_INT, 0, OWN_PACKET_MARK);
                if (LibC.setsockopt(state, fd, LibC.SOL_SOCKET, LibC.SO_MARK, mark, 4) < 0) {
                    int errno = LibC.errno(state);
                    if (errno != LibC.EPERM) {
                        LibC.close(state, fd);
                        throw new IOException("setsockopt(" + family + " raw " + (ah ? "AH" : "ESP") + ", SO_MARK "
                                + OWN_PACKET_MARK + ") failed: " + RawLibC.errnoName(errno));
                    }
                    // CAP_NET_RAW alone (static keying): no policy routing to bypass either, ip rule needs CAP_NET_ADMIN
                    LOG.warn("raw {} {} socket unmarked (no CAP_NET_ADMIN for SO_MARK): a route to the peer through"
                            + " the TUN device would take its packets there", ah ? "AH" : "ESP", family);
                }
                if (bindTo != null) {
                    MemorySegment sa = a.allocate(RawLibC.SOCKADDR_IN6_LEN);
                    int saLen = writeSockaddr(sa, bindTo);
                    if (LibC.bind(state, fd, sa, saLen) < 0) {
                        int errno = LibC.errno(state);
                        LibC.close(state, fd);
                        throw new IOException("bind(raw " + (ah ? "AH " : "ESP ") + family + ", " + bindTo.getHostAddress() + ") failed: "
                                + RawLibC.errnoName(errno));
                    }
                }
                return new Socket(fd, ipv6);
            }
        }

        void close() {
            try (Arena a = Arena.ofConfined()) {
                LibC.close(a.allocate(LibC.CAPTURE_STATE), fd);
            }
        }
    }

    /** Writes a {@code sockaddr_in}/{@code sockaddr_in6} for {@code addr} (port 0); returns its length. */
    static int writeSockaddr(MemorySegment sa, InetAddress addr) {
        byte[] b = addr.getAddress();
        if (b.length == 4) {
            sa.asSlice(0, RawLibC.SOCKADDR_IN_LEN).fill((byte) 0);
            sa.set(ValueLayout.JAVA_SHORT, 0, (short) LibC.AF_INET); // sa_family_t, host order
            MemorySegment.copy(b, 0, sa, JAVA_BYTE, RawLibC.SIN_ADDR, 4);
            return RawLibC.SOCKADDR_IN_LEN;
        }
        sa.asSlice(0, RawLibC.SOCKADDR_IN6_LEN).fill((byte) 0);
        sa.set(ValueLayout.JAVA_SHORT, 0, (short) LibC.AF_INET6);
        MemorySegment.copy(b, 0, sa, JAVA_BYTE, RawLibC.SIN6_ADDR, 16);
        if (addr instanceof Inet6Address a6 && a6.getScopeId() != 0) {
            sa.set(JAVA_INT, 24, a6.getScopeId());
        }
        return RawLibC.SOCKADDR_IN6_LEN;
    }

    /** One socket's reader on the receiving loop: {@code recvmmsg} into {@link #READ_BATCH} slots. */
    private final class Handle implements EpollIoHandle {
        private final Socket socket;
        private final DatagramReceiver receiver;
        private final EventLoop loop;
        private final FileDescriptor fd;
        private final MemorySegment buf = Arena.ofAuto().allocate((long) MAX_PACKET * READ_BATCH, 8);
        /** A direct ByteBuf over {@link #buf}: the receiver reads each packet in place. */
        private final ByteBuf view = Unpooled.wrappedBuffer(buf.asByteBuffer());
        private final MemorySegment from = Arena.ofAuto().allocate((long) RawLibC.SOCKADDR_IN6_LEN * READ_BATCH, 8);
        private final MemorySegment iov = Arena.ofAuto().allocate((long) RawLibC.IOVEC_LEN * READ_BATCH, 8);
        private final MemorySegment msgs = Arena.ofAuto().allocate((long) RawLibC.MMSGHDR_LEN * READ_BATCH, 8);
        private final MemorySegment state = Arena.ofAuto().allocate(LibC.CAPTURE_STATE);
        private final byte[] lastFrom;
        private InetSocketAddress lastSender;
        private final Runnable more;
        private volatile IoRegistration registration;

        Handle(Socket socket, DatagramReceiver receiver, EventLoop loop) {
            this.socket = socket;
            this.receiver = receiver;
            this.loop = loop;
            // A view of the descriptor for epoll; the transport closes it.
            this.fd = new FileDescriptor(socket.fd);
            this.lastFrom = new byte[socket.ipv6 ? 16 : 4];
            this.more = () -> {
                IoRegistration r = registration;
                if (r != null && r.isValid()) {
                    handle(r, null);
                }
            };
            msgs.fill((byte) 0);
            for (int i = 0; i < READ_BATCH; i++) {
                long v = (long) i * RawLibC.IOVEC_LEN;
                iov.set(ValueLayout.ADDRESS, v, buf.asSlice((long) i * MAX_PACKET, MAX_PACKET));
                iov.set(ValueLayout.JAVA_LONG, v + 8, MAX_PACKET);
                long m = (long) i * RawLibC.MMSGHDR_LEN;
                msgs.set(ValueLayout.ADDRESS, m + RawLibC.MSG_NAME,
                        from.asSlice((long) i * RawLibC.SOCKADDR_IN6_LEN, RawLibC.SOCKADDR_IN6_LEN));
                msgs.set(ValueLayout.ADDRESS, m + RawLibC.MSG_IOV, iov.asSlice(v, RawLibC.IOVEC_LEN));
                msgs.set(ValueLayout.JAVA_LONG, m + RawLibC.MSG_IOVLEN, 1L);
            }
        }

        @Override
        public FileDescriptor fd() {
            return fd;
        }

        @Override
        public void handle(IoRegistration reg, IoEvent event) {
            int delivered = 0;
            boolean full = false;
            for (int call = 0; call < CALLS_PER_WAKEUP && !closed; call++) {
                for (int i = 0; i < READ_BATCH; i++) {
                    msgs.set(JAVA_INT, (long) i * RawLibC.MMSGHDR_LEN + RawLibC.MSG_NAMELEN, RawLibC.SOCKADDR_IN6_LEN);
                }
                int n = LibC.recvmmsg(state, socket.fd, msgs, READ_BATCH, LibC.MSG_DONTWAIT);
                if (n < 0) {
                    int errno = LibC.errno(state);
                    if (errno == LibC.EINTR) {
                        continue;
                    }
                    if (errno != LibC.EAGAIN) {
                        readErrors.increment();
                    }
                    full = false;
                    break;
                }
                for (int i = 0; i < n; i++) {
                    int len = msgs.get(JAVA_INT, (long) i * RawLibC.MMSGHDR_LEN + RawLibC.MSG_LEN);
                    long slot = (long) i * MAX_PACKET;
                    int start = espStart(buf.asSlice(slot, len), len, socket.ipv6, ah);
                    if (start < 0) {
                        malformed.increment();
                        continue;
                    }
                    received.increment();
                    view.setIndex((int) slot + start, (int) slot + len);
                    receiver.onDatagram(view, sender(i));
                    delivered++;
                }
                full = n == READ_BATCH;
                if (!full) {
                    break;
                }
            }
            if (delivered > 0) {
                receiver.onBatchEnd();
            }
            if (full) {
                // More may be queued: read it after the loop's other work.
                loop.execute(more);
            }
        }

        /** The sender of slot {@code i}; a new object only when it changes. */
        private InetSocketAddress sender(int i) {
            long off = (long) i * RawLibC.SOCKADDR_IN6_LEN + (socket.ipv6 ? RawLibC.SIN6_ADDR : RawLibC.SIN_ADDR);
            boolean same = lastSender != null;
            for (int k = 0; k < lastFrom.length; k++) {
                byte b = from.get(JAVA_BYTE, off + k);
                if (b != lastFrom[k]) {
                    same = false;
                    lastFrom[k] = b;
                }
            }
            if (!same) {
                try {
                    lastSender = new InetSocketAddress(InetAddress.getByAddress(lastFrom.clone()), 0);
                } catch (UnknownHostException e) {
                    throw new IllegalStateException(e); // 4 or 16 bytes: cannot happen
                }
            }
            return lastSender;
        }

        @Override
        public void close() {
            // The registration ends; the transport owns and closes the descriptor.
        }
    }

    /** Sends ESP packets for one event loop. */
    public final class Sender {
        private final MemorySegment staging = Arena.ofAuto().allocate(MAX_PACKET, 8);
        private final MemorySegment to = Arena.ofAuto().allocate(RawLibC.SOCKADDR_IN6_LEN, 8);
        private final MemorySegment state = Arena.ofAuto().allocate(LibC.CAPTURE_STATE);
        private InetAddress lastTo;
        private int toLen;

        private Sender() {
        }

        /**
         * Sends the ESP packet {@code buf[off, off+len)} to {@code peer}'s address (the port is
         * not used). Never blocks; a full socket buffer drops and counts the packet.
         *
         * @return false if dropped
         */
        public boolean send(byte[] buf, int off, int len, InetSocketAddress peer) {
            InetAddress addr = peer.getAddress();
            Socket s = addr instanceof Inet4Address ? v4 : v6;
            if (s == null || closed || len > MAX_PACKET) {
                sendDrops.increment();
                return false;
            }
            if (!addr.equals(lastTo)) {
                toLen = writeSockaddr(to, addr);
                lastTo = addr;
            }
            MemorySegment.copy(buf, off, staging, JAVA_BYTE, 0, len);
            long n = LibC.sendto(state, s.fd, staging, len, LibC.MSG_DONTWAIT, to, toLen);
            if (n < 0) {
                sendDrops.increment();
                return false;
            }
            sent.increment();
            return true;
        }
    }
}
