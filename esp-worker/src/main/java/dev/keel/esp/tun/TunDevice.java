package dev.keel.esp.tun;

import dev.keel.esp.sys.LibC;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Linux TUN device with one or more queues ({@code IFF_TUN | IFF_NO_PI | IFF_MULTI_QUEUE}),
 * opened through {@code /dev/net/tun} with the JDK's foreign-function API; no JNI, nothing but
 * libc. Each {@link TunQueue} is its own file descriptor; the kernel spreads packets leaving
 * the interface over the queues by flow hash, so one queue per event loop keeps a flow on one
 * loop.
 *
 * <pre>{@code
 * try (TunDevice tun = TunDevice.open("keel0", 2)) {   // or null: the kernel picks tunN
 *     tun.setMtu(1400);                                // before moving it to another netns
 *     tun.setUp(true);
 *     // addresses and routes: the operator's job ('ip addr add ... dev keel0')
 *     TunQueue q = tun.queue(0);
 *     byte[] buf = new byte[TunDevice.MAX_PACKET];
 *     int n;
 *     while ((n = q.read(buf, 0, buf.length)) >= 0) { ... q.write(buf, 0, n); }
 * }
 * }</pre>
 *
 * <p>The device is not persistent: it disappears when {@link #close()} closes the last queue.
 * {@link #setMtu(int)}, {@link #mtu()}, {@link #setUp(boolean)} and {@link #isUp()} work on
 * an {@code AF_INET} socket of the caller's network namespace, so they fail with
 * {@code ENODEV} once the device has been moved to another namespace ({@code ip link set
 * DEV netns NS}); the queues keep working there. Renaming the device under Keel is not
 * tracked: {@link #name()} stays the name it was opened with.
 *
 * <p>Thread safety: the control methods are synchronized; see {@link TunQueue} for the
 * packet path. {@link #close()} may be called from any thread, any number of times.
 */
public final class TunDevice implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(TunDevice.class);

    /**
     * The largest packet a queue reads or writes: 65535 bytes, the largest TUN MTU and the most
     * an IPv4 total length can say. {@link TunQueue#write} refuses longer packets up front: the
     * kernel itself takes any length from a TUN writer (and only drops a malformed packet
     * later, silently), and it takes packets above the interface MTU too, as a receiving
     * interface should.
     */
    public static final int MAX_PACKET = 65535;

    /** The most queues the kernel attaches to one TUN device ({@code MAX_TAP_QUEUES}). */
    public static final int MAX_QUEUES = 256;

    /** How long {@link #close()} waits for calls in progress on the queues to return. */
    private static final long CLOSE_DRAIN_NANOS = TimeUnit.SECONDS.toNanos(5);

    private static final String TUN_PATH = "/dev/net/tun";

    /** Bytes of {@code struct virtio_net_hdr} before every packet on an offload device. */
    public static final int VNET_HDR_LEN = 10;

    private final String name;
    private final boolean offload;
    private final List<TunQueue> queues;
    private final int wakeFd;
    private final Arena arena;
    private final MemorySegment closeState;
    private final MemorySegment wakeValue;

    private volatile boolean closed;

    private TunDevice(String name, boolean offload, List<TunQueue> queues, int wakeFd, Arena arena,
            MemorySegment closeState, MemorySegment wakeValue) {
        this.name = name;
        this.offload = offload;
        this.queues = queues;
        this.wakeFd = wakeFd;
        this.arena = arena;
        this.closeState = closeState;
        this.wakeValue = wakeValue;
    }

    /**
     * Creates (or attaches to) the TUN device {@code name} with {@code queueCount} queues.
     *
     * @param name the interface name, at most 15 ASCII bytes; a template with {@code %d} such
     *     as {@code "keel%d"}; or null / empty for a kernel-chosen {@code tunN}
     * @param queueCount 1 to {@value #MAX_QUEUES}
     * @throws TunException when a call fails (no CAP_NET_ADMIN, no /dev/net/tun, the name
     *     belongs to another kind of device, ...); nothing stays open then
     * @throws IllegalArgumentException for a malformed name or queue count, before any call
     * @throws UnsupportedOperationException off Linux x86_64/aarch64
     */
    public static TunDevice open(String name, int queueCount) throws IOException {
        return open(name, queueCount, false);
    }

    /**
     * {@link #open(String, int)}, with checksum and TCP segmentation offload when {@code offload}
     * is true: {@code IFF_VNET_HDR} and {@code TUNSETOFFLOAD(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6)}
     * on every queue. The kernel then hands the reader TCP super-packets of up to 64 KiB and
     * packets with partial checksums, each after a {@value #VNET_HDR_LEN}-byte {@code
     * virtio_net_hdr}, and takes the same from writers ({@link TunOffload}, docs/tun.md).
     */
    public static TunDevice open(String name, int queueCount, boolean offload) throws IOException {
        String requested = checkName(name);
        if (queueCount < 1 || queueCount > MAX_QUEUES) {
            throw new IllegalArgumentException("queue count " + queueCount + " is not within 1.." + MAX_QUEUES);
        }
        LibC.checkPlatform();
        Arena arena = Arena.ofShared();
        int[] fds = new int[queueCount];
        int attached = 0;
        int wakeFd = -1;
        List<TunQueue> opened = new ArrayList<>(queueCount);
        boolean ok = false;
        try {
            MemorySegment state = arena.allocate(LibC.CAPTURE_STATE);
            String label = requested.isEmpty() ? "(kernel-chosen)" : requested;
            wakeFd = LibC.eventfd(state, 0, LibC.EFD_CLOEXEC | LibC.EFD_NONBLOCK);
            if (wakeFd < 0) {
                throw new TunException("eventfd", label, LibC.errno(state));
            }
            // Queue 0 creates the device (and learns a kernel-chosen name); the others attach to it.
            String actual = requested;
            String[] named = new String[1];
            for (; attached < queueCount; attached++) {
                fds[attached] = attachQueue(actual, label, named, offload);
                actual = named[0];
                label = actual;
            }
            MemorySegment wakeValue = arena.allocate(ValueLayout.JAVA_LONG);
            wakeValue.set(ValueLayout.JAVA_LONG, 0, 1L);
            TunDevice device = new TunDevice(actual, offload, opened, wakeFd, arena, state, wakeValue);
            for (int i = 0; i < queueCount; i++) {
                opened.add(new TunQueue(device, i, fds[i], wakeFd));
            }
            ok = true;
            LOG.debug("opened TUN device {} with {} queue(s)", actual, queueCount);
            return device;
        } finally {
            if (!ok) {
                try (Arena a = Arena.ofConfined()) {
                    MemorySegment state = a.allocate(LibC.CAPTURE_STATE);
                    for (int i = 0; i < attached; i++) {
                        LibC.close(state, fds[i]);
                    }
                    if (wakeFd >= 0) {
                        LibC.close(state, wakeFd);
                    }
                }
                opened.forEach(TunQueue::freeBuffers);
                arena.close();
            }
        }
    }

    /**
     * Opens /dev/net/tun and attaches it to {@code name} with TUNSETIFF; returns the fd and
     * puts the device's name (as the kernel chose or confirmed it) in {@code named[0]}. Closes
     * the fd again when TUNSETIFF fails.
     */
    private static int attachQueue(String name, String label, String[] named, boolean offload) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment state = a.allocate(LibC.CAPTURE_STATE);
            MemorySegment path = a.allocateFrom(TUN_PATH);
            int fd = LibC.open(state, path, LibC.O_RDWR | LibC.O_CLOEXEC | LibC.O_NONBLOCK);
            if (fd < 0) {
                throw new TunException("open(" + TUN_PATH + ")", label, LibC.errno(state));
            }
            MemorySegment ifr = a.allocate(LibC.IFREQ);
            ifr.setString(LibC.IFR_NAME, name, StandardCharsets.US_ASCII);
            short flags = (short) (LibC.IFF_TUN | LibC.IFF_NO_PI | LibC.IFF_MULTI_QUEUE
                    | (offload ? LibC.IFF_VNET_HDR : 0));
            LibC.IFR_FLAGS.set(ifr, 0L, flags);
            if (LibC.ioctl(state, fd, LibC.TUNSETIFF, ifr) < 0) {
                int errno = LibC.errno(state);
                LibC.close(state, fd);
                throw new TunException("ioctl(TUNSETIFF)", label, errno);
            }
            // The default virtio_net_hdr length is 10 bytes (no num_buffers field): kept.
            if (offload && LibC.ioctl(state, fd, LibC.TUNSETOFFLOAD,
                    (long) (LibC.TUN_F_CSUM | LibC.TUN_F_TSO4 | LibC.TUN_F_TSO6)) < 0) {
                int errno = LibC.errno(state);
                LibC.close(state, fd);
                throw new TunException("ioctl(TUNSETOFFLOAD, CSUM|TSO4|TSO6)", label, errno);
            }
            named[0] = ifr.asSlice(LibC.IFR_NAME, LibC.IFNAMSIZ).getString(0, StandardCharsets.US_ASCII);
            return fd;
        }
    }

    /**
     * Checks an interface name the way the kernel's {@code dev_valid_name} does, and its
     * length against {@code IFNAMSIZ}; returns "" for null or empty (the kernel chooses).
     */
    static String checkName(String name) {
        if (name == null || name.isEmpty()) {
            return "";
        }
        if (name.length() >= LibC.IFNAMSIZ) {
            throw new IllegalArgumentException("interface name '" + name + "' has " + name.length()
                    + " characters; Linux allows at most " + (LibC.IFNAMSIZ - 1) + " (IFNAMSIZ " + LibC.IFNAMSIZ
                    + " with the NUL)");
        }
        if (name.equals(".") || name.equals("..")) {
            throw new IllegalArgumentException("interface name '" + name + "' is not allowed");
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c <= ' ' || c >= 0x7f || c == '/' || c == ':') {
                throw new IllegalArgumentException("interface name '" + name + "' contains '" + c
                        + "' (U+" + String.format("%04X", (int) c)
                        + "); use printable ASCII without '/', ':' or whitespace");
            }
        }
        return name;
    }

    /** The interface name, as the kernel confirmed or chose it when the device was opened. */
    public String name() {
        return name;
    }

    /** Whether the device was opened with offloads: every read and write carries a virtio_net_hdr. */
    public boolean offload() {
        return offload;
    }

    /** The number of queues. */
    public int queueCount() {
        return queues.size();
    }

    /** Queue {@code index} (0-based): one file descriptor, meant for one event loop. */
    public TunQueue queue(int index) {
        return queues.get(index);
    }

    /** All queues, in index order (an unmodifiable view). */
    public List<TunQueue> queues() {
        return java.util.Collections.unmodifiableList(queues);
    }

    /** False once {@link #close()} has started. */
    public boolean isOpen() {
        return !closed;
    }

    /**
     * Sets the interface MTU with {@code ioctl(SIOCSIFMTU)} on an {@code AF_INET} datagram socket
     * of the caller's network namespace. The kernel takes 68..65535 for TUN; below 1280 it
     * drops IPv6 from the interface.
     */
    public synchronized void setMtu(int mtu) throws IOException {
        ensureOpen();
        String call = "ioctl(SIOCSIFMTU, " + mtu + ")";
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ifr = ifreq(a);
            LibC.IFR_MTU.set(ifr, 0L, mtu);
            socketIoctl(a, call, LibC.SIOCSIFMTU, ifr);
        }
    }

    /** The interface MTU ({@code ioctl(SIOCGIFMTU)}). */
    public synchronized int mtu() throws IOException {
        ensureOpen();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ifr = ifreq(a);
            socketIoctl(a, "ioctl(SIOCGIFMTU)", LibC.SIOCGIFMTU, ifr);
            return (int) LibC.IFR_MTU.get(ifr, 0L);
        }
    }

    /**
     * Brings the link up or down: {@code SIOCGIFFLAGS}, then {@code SIOCSIFFLAGS} with
     * {@code IFF_UP} set or cleared (the other flags are kept).
     */
    public synchronized void setUp(boolean up) throws IOException {
        ensureOpen();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ifr = ifreq(a);
            socketIoctl(a, "ioctl(SIOCGIFFLAGS)", LibC.SIOCGIFFLAGS, ifr);
            short flags = (short) LibC.IFR_FLAGS.get(ifr, 0L);
            short wanted = (short) (up ? flags | LibC.IFF_UP : flags & ~LibC.IFF_UP);
            if (wanted != flags) {
                LibC.IFR_FLAGS.set(ifr, 0L, wanted);
                socketIoctl(a, "ioctl(SIOCSIFFLAGS, " + (up ? "IFF_UP" : "~IFF_UP") + ")", LibC.SIOCSIFFLAGS, ifr);
            }
        }
    }

    /**
     * Turns the link's carrier on or off ({@code TUNSETCARRIER} on the first queue): without
     * carrier the interface is up but its operational state is down ({@code NO-CARRIER}), the
     * kernel queues nothing into it, and its addresses and routes stay (routes marked
     * {@code linkdown}).
     */
    public synchronized void setCarrier(boolean on) throws IOException {
        ensureOpen();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment state = a.allocate(LibC.CAPTURE_STATE);
            MemorySegment value = a.allocateFrom(ValueLayout.JAVA_INT, on ? 1 : 0);
            if (LibC.ioctl(state, queues.getFirst().fd(), LibC.TUNSETCARRIER, value) < 0) {
                throw new TunException("ioctl(TUNSETCARRIER, " + (on ? 1 : 0) + ")", name, LibC.errno(state));
            }
        }
    }

    /** Whether the link is administratively up ({@code IFF_UP} from {@code SIOCGIFFLAGS}). */
    public synchronized boolean isUp() throws IOException {
        ensureOpen();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ifr = ifreq(a);
            socketIoctl(a, "ioctl(SIOCGIFFLAGS)", LibC.SIOCGIFFLAGS, ifr);
            return ((short) LibC.IFR_FLAGS.get(ifr, 0L) & LibC.IFF_UP) != 0;
        }
    }

    private MemorySegment ifreq(Arena a) {
        MemorySegment ifr = a.allocate(LibC.IFREQ);
        ifr.setString(LibC.IFR_NAME, name, StandardCharsets.US_ASCII);
        return ifr;
    }

    private void socketIoctl(Arena a, String call, long request, MemorySegment ifr) throws TunException {
        MemorySegment state = a.allocate(LibC.CAPTURE_STATE);
        int s = LibC.socket(state, LibC.AF_INET, LibC.SOCK_DGRAM | LibC.SOCK_CLOEXEC, 0);
        if (s < 0) {
            throw new TunException("socket(AF_INET, SOCK_DGRAM) for " + call, name, LibC.errno(state));
        }
        try {
            if (LibC.ioctl(state, s, request, ifr) < 0) {
                throw new TunException(call, name, LibC.errno(state));
            }
        } finally {
            LibC.close(state, s);
        }
    }

    private void ensureOpen() throws IOException {
        if (closed) {
            throw new java.nio.channels.ClosedChannelException();
        }
    }

    boolean closed() {
        return closed;
    }

    /**
     * Closes every queue; the device disappears with its last queue. Wakes readers blocked in
     * {@link TunQueue#read} (they return -1), waits for calls in progress to return (they are
     * short: the queues are non-blocking and blocked readers sit in {@code poll(2)}, which the
     * wake-up ends), then closes the descriptors and frees the staging buffers. Idempotent.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        // eventfd: an 8-byte write makes it readable for every poller until someone reads it;
        // nobody does, so every reader present or future wakes.
        long w = LibC.write(closeState, wakeFd, wakeValue, 8);
        if (w != 8) {
            LOG.warn("TUN device {}: waking readers failed: {}", name,
                    TunException.message("write(eventfd)", name, LibC.errno(closeState)));
        }
        long deadline = System.nanoTime() + CLOSE_DRAIN_NANOS;
        boolean allIdle = true;
        for (TunQueue q : queues) {
            if (q.awaitIdle(deadline)) {
                if (LibC.close(closeState, q.fd()) < 0) {
                    LOG.warn("TUN device {}: {}", name,
                            TunException.message("close(queue " + q.index() + ")", name, LibC.errno(closeState)));
                }
                q.freeBuffers();
            } else {
                // A descriptor closed under a thread still in read/write could be reused by an
                // unrelated open() and receive this queue's packets: leak it instead.
                allIdle = false;
                LOG.warn("TUN device {}: queue {} still busy {} s after close(); leaving fd {} open",
                        name, q.index(), TimeUnit.NANOSECONDS.toSeconds(CLOSE_DRAIN_NANOS), q.fd());
            }
        }
        if (allIdle) {
            LibC.close(closeState, wakeFd);
            arena.close();
        }
        LOG.debug("closed TUN device {}", name);
    }

    /** Parks briefly; used while close() drains the queues. */
    static void pause() {
        LockSupport.parkNanos(50_000);
    }

    @Override
    public String toString() {
        return "TunDevice[" + name + ", " + queues.size() + " queue(s)" + (closed ? ", closed" : "") + "]";
    }
}
