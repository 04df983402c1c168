package dev.keel.esp.tun;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

import dev.keel.esp.sys.LibC;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.channels.ClosedChannelException;
import java.util.Objects;

/**
 * One queue of a {@link TunDevice}: a non-blocking file descriptor that reads the IP packets
 * the kernel routes out of the interface and writes IP packets into it, one packet per call,
 * from and to a caller's {@code byte[]} without allocating.
 *
 * <p><b>Buffers.</b> Each direction owns a 64 KiB off-heap staging segment; a packet is copied
 * between it and the caller's array (50 to 80 ns for 1400 bytes where this was measured,
 * against 1 to 15 microseconds for the system call). Passing the heap array itself to a
 * {@code critical} downcall avoids the copy but allocated 112 bytes per call (the heap segment
 * slices were not scalar-replaced) and was no faster, and a critical call holds off the garbage
 * collector for its duration.
 *
 * <p><b>Blocking and close.</b> The descriptor is {@code O_NONBLOCK}. {@link #read(byte[], int,
 * int)} tries {@code read(2)} and on {@code EAGAIN} waits in {@code poll(2)} on the queue and
 * on the device's {@code eventfd}; {@link TunDevice#close()} writes that eventfd, so a blocked
 * reader wakes at once and returns -1. The wait is cut into half-second slices so that
 * {@link Thread#interrupt()} also stops a blocked reader (with {@link InterruptedIOException}).
 * An event loop that must never block calls {@link #tryRead} or watches {@link #fd()} for
 * readability itself.
 *
 * <p><b>Threads.</b> At most one thread reads and at most one thread writes a queue at a time
 * (they may be different threads); a second concurrent reader, or writer, gets an
 * {@link IllegalStateException}. Prefer platform threads for blocking reads: a virtual thread
 * in {@code poll(2)} pins its carrier.
 */
public final class TunQueue {

    /** Longest single {@code poll(2)} of a blocking read, so that interrupts are noticed. */
    private static final int POLL_SLICE_MILLIS = 500;

    /** Oversize packets a non-blocking read drops before it gives up and returns 0. */
    private static final int MAX_DROPS_PER_TRY = 64;

    private static final VarHandle READERS;
    private static final VarHandle WRITERS;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            READERS = l.findVarHandle(TunQueue.class, "readers", int.class);
            WRITERS = l.findVarHandle(TunQueue.class, "writers", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final TunDevice device;
    private final int index;
    private final int fd;
    /** {@link TunDevice#VNET_HDR_LEN} on an offload device, else 0. */
    private final int hdrLen;

    private final Arena rxArena;
    private final MemorySegment rxBuf;
    private final MemorySegment rxState;
    private final MemorySegment pollFds;

    private final Arena txArena;
    private final MemorySegment txBuf;
    private final MemorySegment txState;

    /** Threads inside read / write: guards the staging buffers and tells close() when to close the fd. */
    @SuppressWarnings("unused")
    private volatile int readers;
    @SuppressWarnings("unused")
    private volatile int writers;

    private volatile long oversizeDrops;
    private volatile long writeDrops;

    TunQueue(TunDevice device, int index, int fd, int wakeFd) {
        this.device = device;
        this.index = index;
        this.fd = fd;
        this.hdrLen = device.offload() ? TunDevice.VNET_HDR_LEN : 0;
        // One shared arena per direction: the reading and the writing thread each pin (acquire)
        // only their own arena's session on every call, so they do not contend on one counter.
        this.rxArena = Arena.ofShared();
        this.txArena = Arena.ofShared();
        this.rxBuf = rxArena.allocate(TunDevice.MAX_PACKET + hdrLen, 64);
        this.rxState = rxArena.allocate(LibC.CAPTURE_STATE);
        this.pollFds = rxArena.allocate(LibC.POLLFD, 2);
        LibC.POLLFD_FD.set(pollFds, 0L, 0L, fd);
        LibC.POLLFD_EVENTS.set(pollFds, 0L, 0L, LibC.POLLIN);
        LibC.POLLFD_FD.set(pollFds, 0L, 1L, wakeFd);
        LibC.POLLFD_EVENTS.set(pollFds, 0L, 1L, LibC.POLLIN);
        this.txBuf = txArena.allocate(TunDevice.MAX_PACKET + hdrLen, 64);
        this.txState = txArena.allocate(LibC.CAPTURE_STATE);
    }

    /** This queue's index in its device. */
    public int index() {
        return index;
    }

    /** The device this queue belongs to. */
    public TunDevice device() {
        return device;
    }

    /**
     * The queue's file descriptor ({@code O_NONBLOCK}), for callers that watch readiness with
     * their own epoll. Owned by the device: do not close it; invalid after {@link TunDevice#close()}.
     */
    public int fd() {
        return fd;
    }

    /**
     * Reads one packet into {@code dst[off, off+len)}, waiting for one as long as it takes. On
     * an offload device ({@link TunDevice#offload()}) the bytes start with the packet's
     * {@value TunDevice#VNET_HDR_LEN}-byte {@code virtio_net_hdr} (see {@link TunOffload}), and the
     * packet may be a TCP super-packet of up to 64 KiB with a partial checksum.
     *
     * @return the packet's length (at least 1), or -1 once the device is closed
     * @throws InterruptedIOException when the thread is interrupted while waiting (the
     *     interrupt status stays set)
     * @throws TunException when {@code read(2)} or {@code poll(2)} fails
     */
    public int read(byte[] dst, int off, int len) throws IOException {
        return read(dst, off, len, -1);
    }

    /**
     * Reads one packet into {@code dst[off, off+len)}, waiting at most {@code timeoutMillis}
     * (0: do not wait; negative: wait without limit). A packet longer than {@code len} is
     * dropped and counted in {@link #oversizeDrops()}, and the read goes on with the next one.
     *
     * @return the packet's length (at least 1), 0 when none came in time, -1 once the device is closed
     * @throws InterruptedIOException when the thread is interrupted while waiting
     */
    public int read(byte[] dst, int off, int len, long timeoutMillis) throws IOException {
        Objects.checkFromIndexSize(off, len, dst.length);
        if ((int) READERS.getAndAdd(this, 1) != 0) {
            READERS.getAndAdd(this, -1);
            throw new IllegalStateException("queue " + index + " of TUN device " + device.name()
                    + " is already being read by another thread");
        }
        try {
            return readLocked(dst, off, len, timeoutMillis);
        } finally {
            READERS.getAndAdd(this, -1);
        }
    }

    /** {@link #read(byte[], int, int, long)} with no wait: 0 when no packet is queued. */
    public int tryRead(byte[] dst, int off, int len) throws IOException {
        return read(dst, off, len, 0);
    }

    private int readLocked(byte[] dst, int off, int len, long timeoutMillis) throws IOException {
        long deadline = timeoutMillis > 0 ? System.nanoTime() + timeoutMillis * 1_000_000L : 0L;
        int dropped = 0;
        while (true) {
            if (device.closed()) {
                return -1;
            }
            long n = LibC.read(rxState, fd, rxBuf, TunDevice.MAX_PACKET + hdrLen);
            if (n > 0) {
                if (n <= len) {
                    MemorySegment.copy(rxBuf, JAVA_BYTE, 0L, dst, off, (int) n);
                    return (int) n;
                }
                oversizeDrops++; // single reader: no lost updates
                // A stream of oversize packets must not hold a non-blocking or timed read forever.
                if (timeoutMillis == 0 ? ++dropped >= MAX_DROPS_PER_TRY
                        : timeoutMillis > 0 && System.nanoTime() - deadline >= 0) {
                    return 0;
                }
                continue;
            }
            if (n < 0) {
                int errno = LibC.errno(rxState);
                if (errno == LibC.EINTR) {
                    continue;
                }
                if (errno != LibC.EAGAIN) {
                    throw new TunException("read(queue " + index + ")", device.name(), errno);
                }
            }
            // Nothing queued (EAGAIN, or a zero-length read): wait for readability or close.
            if (timeoutMillis == 0) {
                return 0;
            }
            if (Thread.currentThread().isInterrupted()) {
                throw new InterruptedIOException("interrupted while reading queue " + index
                        + " of TUN device " + device.name());
            }
            int wait = POLL_SLICE_MILLIS;
            if (timeoutMillis > 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return 0;
                }
                wait = (int) Math.min(POLL_SLICE_MILLIS, Math.max(1L, (left + 999_999L) / 1_000_000L));
            }
            if (!awaitReadable(wait)) {
                return -1;
            }
        }
    }

    /** Polls the queue and the wake-up eventfd; false when the device is being closed. */
    private boolean awaitReadable(int timeoutMillis) throws IOException {
        int r = LibC.poll(rxState, pollFds, 2L, timeoutMillis);
        if (r < 0) {
            int errno = LibC.errno(rxState);
            if (errno == LibC.EINTR) {
                return true;
            }
            throw new TunException("poll(queue " + index + ")", device.name(), errno);
        }
        if (r == 0) {
            return true;
        }
        if (((short) LibC.POLLFD_REVENTS.get(pollFds, 0L, 1L) & LibC.POLLIN) != 0) {
            return false;
        }
        short revents = (short) LibC.POLLFD_REVENTS.get(pollFds, 0L, 0L);
        if ((revents & LibC.POLLIN) == 0
                && (revents & (LibC.POLLERR | LibC.POLLHUP | LibC.POLLNVAL)) != 0) {
            // The kernel reports POLLERR on a TUN fd whose device was unregistered.
            throw new IOException("poll(queue " + index + ") on TUN device '" + device.name()
                    + "' reported " + pollFlags(revents) + ": the device was deleted or the queue detached");
        }
        return true;
    }

    private static String pollFlags(short revents) {
        StringBuilder sb = new StringBuilder();
        if ((revents & LibC.POLLERR) != 0) {
            sb.append("POLLERR ");
        }
        if ((revents & LibC.POLLHUP) != 0) {
            sb.append("POLLHUP ");
        }
        if ((revents & LibC.POLLNVAL) != 0) {
            sb.append("POLLNVAL ");
        }
        return sb.toString().trim();
    }

    /**
     * Writes the IPv4 or IPv6 packet {@code src[off, off+len)} into the interface, as if it had
     * been received on it. Never blocks.
     *
     * @return true when the kernel took the packet; false when it could not queue it now
     *     ({@code EAGAIN} / {@code ENOBUFS} / {@code ENOMEM}): the packet is dropped and counted
     *     in {@link #writeDrops()}
     * @throws IllegalArgumentException when {@code len} is 0 or above {@link TunDevice#MAX_PACKET}
     * @throws ClosedChannelException once the device is closed
     * @throws TunException when {@code write(2)} fails otherwise, e.g. {@code EINVAL} for
     *     bytes that are not an IP packet
     */
    public boolean write(byte[] src, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, src.length);
        if (len == 0 || len > TunDevice.MAX_PACKET) {
            throw new IllegalArgumentException("cannot write a packet of " + len + " bytes to TUN device "
                    + device.name() + ": an IP packet over TUN has 1.." + TunDevice.MAX_PACKET + " bytes");
        }
        return writeLocked(src, off, len, true);
    }

    /**
     * Writes {@code src[off, off+len)} as it is: on an offload device a {@code virtio_net_hdr}
     * followed by the packet (a TCP super-packet with a GSO header, say), otherwise a plain
     * packet. Same outcomes as {@link #write}.
     */
    public boolean writeRaw(byte[] src, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, src.length);
        if (len <= hdrLen || len > TunDevice.MAX_PACKET + hdrLen) {
            throw new IllegalArgumentException("cannot write " + len + " bytes to TUN device "
                    + device.name() + ": expected " + (hdrLen + 1) + ".." + (TunDevice.MAX_PACKET + hdrLen));
        }
        return writeLocked(src, off, len, false);
    }

    private boolean writeLocked(byte[] src, int off, int len, boolean addHeader) throws IOException {
        if ((int) WRITERS.getAndAdd(this, 1) != 0) {
            WRITERS.getAndAdd(this, -1);
            throw new IllegalStateException("queue " + index + " of TUN device " + device.name()
                    + " is already being written by another thread");
        }
        try {
            if (device.closed()) {
                throw new ClosedChannelException();
            }
            if (addHeader && hdrLen > 0) {
                // A plain packet on an offload device: an all-zero header (no GSO, checksum complete).
                txBuf.set(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 0L, 0L);
                txBuf.set(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, 8L, (short) 0);
                MemorySegment.copy(src, off, txBuf, JAVA_BYTE, hdrLen, len);
                len += hdrLen;
            } else {
                MemorySegment.copy(src, off, txBuf, JAVA_BYTE, 0L, len);
            }
            while (true) {
                long n = LibC.write(txState, fd, txBuf, len);
                if (n == len) {
                    return true;
                }
                if (n >= 0) {
                    throw new IOException("write(queue " + index + ") on TUN device '" + device.name()
                            + "' took " + n + " of " + len + " bytes");
                }
                int errno = LibC.errno(txState);
                if (errno == LibC.EINTR) {
                    continue;
                }
                if (errno == LibC.EAGAIN || errno == LibC.ENOBUFS || errno == LibC.ENOMEM) {
                    writeDrops++; // single writer: no lost updates
                    return false;
                }
                throw new TunException("write(queue " + index + ", " + len + " bytes)", device.name(), errno);
            }
        } finally {
            WRITERS.getAndAdd(this, -1);
        }
    }

    /** Packets read from the kernel and dropped because they were longer than the caller's buffer. */
    public long oversizeDrops() {
        return oversizeDrops;
    }

    /** Packets {@link #write} dropped because the kernel could not queue them. */
    public long writeDrops() {
        return writeDrops;
    }

    /** Waits until no thread is in read or write; false when {@code deadlineNanos} passed first. */
    boolean awaitIdle(long deadlineNanos) {
        while ((int) READERS.getVolatile(this) != 0 || (int) WRITERS.getVolatile(this) != 0) {
            if (System.nanoTime() - deadlineNanos > 0) {
                return false;
            }
            TunDevice.pause();
        }
        return true;
    }

    /** Frees the staging buffers; only once no thread can be in read or write. */
    void freeBuffers() {
        rxArena.close();
        txArena.close();
    }

    @Override
    public String toString() {
        return "TunQueue[" + device.name() + "#" + index + ", fd " + fd + "]";
    }
}
