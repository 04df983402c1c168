package dev.keel.esp.sys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import dev.keel.core.ffi.Downcalls;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemoryLayout.PathElement;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.util.Locale;

/**
 * The libc calls and kernel ABI esp-worker needs (the TUN device, raw ESP sockets), bound once
 * through the foreign-function API. Linux on x86_64 or aarch64 only: the constants below are the asm-generic values both
 * architectures share (other architectures, e.g. MIPS, PowerPC, SPARC, differ in the ioctl
 * encoding and several {@code O_*} flags).
 *
 * <p>Every call that can fail is bound with {@code captureCallState("errno")}: its first
 * argument is a segment of {@link #CAPTURE_STATE} size into which the JDK stores {@code errno}
 * right after the call, before anything else on the thread can overwrite it. Calls that may
 * block or take a while (all of them here) are ordinary, non-{@code critical} downcalls, so
 * the garbage collector is never held up by a thread inside the kernel.
 */
public final class LibC {

    private LibC() {
    }

    // ---- <fcntl.h> / asm-generic/fcntl.h -------------------------------------------------------

    /** {@code O_RDWR}. */
    public static final int O_RDWR = 0x2;
    /** {@code O_NONBLOCK} (octal 04000). */
    public static final int O_NONBLOCK = 0x800;
    /** {@code O_CLOEXEC} (octal 02000000). */
    public static final int O_CLOEXEC = 0x80000;

    // ---- <sys/eventfd.h> -----------------------------------------------------------------------

    /** {@code EFD_CLOEXEC} = {@code O_CLOEXEC}. */
    public static final int EFD_CLOEXEC = O_CLOEXEC;
    /** {@code EFD_NONBLOCK} = {@code O_NONBLOCK}. */
    public static final int EFD_NONBLOCK = O_NONBLOCK;

    // ---- <poll.h> ------------------------------------------------------------------------------

    public static final short POLLIN = 0x001;
    public static final short POLLERR = 0x008;
    public static final short POLLHUP = 0x010;
    public static final short POLLNVAL = 0x020;

    // ---- <sys/socket.h> ------------------------------------------------------------------------

    public static final int AF_INET = 2;
    public static final int SOCK_DGRAM = 2;
    /** {@code SOCK_CLOEXEC} = {@code O_CLOEXEC}. */
    public static final int SOCK_CLOEXEC = O_CLOEXEC;
    public static final int AF_INET6 = 10;
    public static final int SOCK_RAW = 3;
    /** {@code SOCK_NONBLOCK} = {@code O_NONBLOCK}. */
    public static final int SOCK_NONBLOCK = O_NONBLOCK;
    /** IP protocol 50 (RFC 4303). */
    public static final int IPPROTO_ESP = 50;
    /** IP protocol 51 (RFC 4302). */
    public static final int IPPROTO_AH = 51;
    /** {@code SOL_IP} = {@code IPPROTO_IP}. */
    public static final int IPPROTO_IP = 0;
    /** {@code SOL_IPV6} = {@code IPPROTO_IPV6}. */
    public static final int IPPROTO_IPV6 = 41;
    /** {@code IP_HDRINCL}: what is sent starts with the IPv4 header, written by the caller. */
    public static final int IP_HDRINCL = 3;
    /** {@code IPV6_HDRINCL} (Linux 4.5+): what is sent starts with the IPv6 header, written by the caller. */
    public static final int IPV6_HDRINCL = 36;
    public static final int MSG_DONTWAIT = 0x40;
    /** {@code SOL_SOCKET}: socket-level options. */
    public static final int SOL_SOCKET = 1;
    /** {@code SO_MARK} (CAP_NET_ADMIN): the mark the socket's packets carry, seen by {@code ip rule fwmark}. */
    public static final int SO_MARK = 36;

    // ---- <linux/if_tun.h> ----------------------------------------------------------------------

    /** {@code TUNSETIFF = _IOW('T', 202, int)}: attach the fd to a (new or existing) device. */
    public static final long TUNSETIFF = 0x400454caL;
    /** {@code IFF_TUN}: layer-3 device, IP packets without an Ethernet header. */
    public static final short IFF_TUN = 0x0001;
    /** {@code IFF_MULTI_QUEUE}: each open fd is one queue of the device. */
    public static final short IFF_MULTI_QUEUE = 0x0100;
    /** {@code IFF_NO_PI}: no 4-byte packet-information prefix; the IP version comes from the packet. */
    public static final short IFF_NO_PI = 0x1000;
    /**
     * {@code IFF_VNET_HDR}: every read and write starts with a {@code struct virtio_net_hdr}
     * (checksum and segmentation offload metadata, docs/tun.md).
     */
    public static final short IFF_VNET_HDR = 0x4000;
    /** {@code TUNSETOFFLOAD = _IOW('T', 208, unsigned int)}: the offloads this reader handles. */
    public static final long TUNSETOFFLOAD = 0x400454d0L;
    /**
     * {@code TUNSETCARRIER = _IOW('T', 226, int)} (Linux 5.0): the link's carrier on (1) or off
     * (0), taken by pointer.
     */
    public static final long TUNSETCARRIER = 0x400454e2L;
    /** {@code TUN_F_CSUM}: the reader completes partial checksums. */
    public static final int TUN_F_CSUM = 0x01;
    /** {@code TUN_F_TSO4}: the reader segments IPv4 TCP super-packets. */
    public static final int TUN_F_TSO4 = 0x02;
    /** {@code TUN_F_TSO6}: the reader segments IPv6 TCP super-packets. */
    public static final int TUN_F_TSO6 = 0x04;

    // ---- <linux/sockios.h> (ioctls on any socket, here an AF_INET datagram socket) --------------

    /** {@code SIOCGIFFLAGS}: get the interface flags. */
    public static final long SIOCGIFFLAGS = 0x8913L;
    /** {@code SIOCSIFFLAGS}: set the interface flags. */
    public static final long SIOCSIFFLAGS = 0x8914L;
    /** {@code SIOCGIFMTU}: get the MTU. */
    public static final long SIOCGIFMTU = 0x8921L;
    /** {@code SIOCSIFMTU}: set the MTU. */
    public static final long SIOCSIFMTU = 0x8922L;

    // ---- <linux/if.h> --------------------------------------------------------------------------

    /** {@code IFF_UP} in {@code ifr_flags}. */
    public static final short IFF_UP = 0x1;
    /** {@code IFNAMSIZ}: interface names are at most 15 bytes plus the terminating NUL. */
    public static final int IFNAMSIZ = 16;

    // ---- <asm-generic/errno-base.h>, <asm-generic/errno.h> ---------------------------------------

    public static final int EPERM = 1;
    public static final int ENOENT = 2;
    public static final int EINTR = 4;
    public static final int EIO = 5;
    public static final int ENXIO = 6;
    public static final int E2BIG = 7;
    public static final int EBADF = 9;
    public static final int EAGAIN = 11;
    public static final int ENOMEM = 12;
    public static final int EACCES = 13;
    public static final int EFAULT = 14;
    public static final int EBUSY = 16;
    public static final int EEXIST = 17;
    public static final int ENODEV = 19;
    public static final int EINVAL = 22;
    public static final int ENFILE = 23;
    public static final int EMFILE = 24;
    public static final int ENOTTY = 25;
    public static final int ERANGE = 34;
    public static final int EBADFD = 77;
    public static final int EMSGSIZE = 90;
    public static final int EOPNOTSUPP = 95;
    public static final int ENOBUFS = 105;

    // ---- layouts -------------------------------------------------------------------------------

    /**
     * {@code struct ifreq} from {@code <linux/if.h>}: a 16-byte name and a 24-byte union (the
     * largest member is {@code struct ifmap}: two {@code unsigned long}, one {@code unsigned
     * short}, three {@code unsigned char}, padded to 8). 40 bytes, 8-aligned on x86_64 and
     * aarch64.
     */
    public static final StructLayout IFREQ = MemoryLayout.structLayout(
            MemoryLayout.sequenceLayout(IFNAMSIZ, JAVA_BYTE).withName("ifr_name"),
            MemoryLayout.unionLayout(
                    JAVA_SHORT.withName("ifr_flags"),
                    JAVA_INT.withName("ifr_mtu"),
                    JAVA_INT.withName("ifr_ifindex"),
                    MemoryLayout.structLayout(
                            JAVA_LONG.withName("mem_start"),
                            JAVA_LONG.withName("mem_end"),
                            JAVA_SHORT.withName("base_addr"),
                            JAVA_BYTE.withName("irq"),
                            JAVA_BYTE.withName("dma"),
                            JAVA_BYTE.withName("port"),
                            MemoryLayout.paddingLayout(3)).withName("ifr_map"))
                    .withName("ifr_ifru"))
            .withName("ifreq");

    public static final long IFR_NAME = IFREQ.byteOffset(PathElement.groupElement("ifr_name"));
    public static final VarHandle IFR_FLAGS = IFREQ.varHandle(
            PathElement.groupElement("ifr_ifru"), PathElement.groupElement("ifr_flags"));
    public static final VarHandle IFR_MTU = IFREQ.varHandle(
            PathElement.groupElement("ifr_ifru"), PathElement.groupElement("ifr_mtu"));

    /** {@code struct pollfd}: {@code int fd; short events; short revents;}. */
    public static final StructLayout POLLFD = MemoryLayout.structLayout(
            JAVA_INT.withName("fd"),
            JAVA_SHORT.withName("events"),
            JAVA_SHORT.withName("revents"))
            .withName("pollfd");

    public static final VarHandle POLLFD_FD = POLLFD.arrayElementVarHandle(PathElement.groupElement("fd"));
    public static final VarHandle POLLFD_EVENTS = POLLFD.arrayElementVarHandle(PathElement.groupElement("events"));
    public static final VarHandle POLLFD_REVENTS = POLLFD.arrayElementVarHandle(PathElement.groupElement("revents"));

    /** The JDK's captured-state struct; only {@code errno} is captured. */
    public static final StructLayout CAPTURE_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE_STATE.varHandle(PathElement.groupElement("errno"));

    static {
        if (IFREQ.byteSize() != 40 || IFREQ.byteAlignment() != 8
                || IFR_NAME != 0 || POLLFD.byteSize() != 8) {
            throw new ExceptionInInitializerError("unexpected struct layout: " + IFREQ + ", " + POLLFD);
        }
    }

    /** The {@code errno} the last call bound with capture stored in {@code state}. */
    public static int errno(MemorySegment state) {
        return (int) ERRNO.get(state, 0L);
    }

    // ---- method handles ------------------------------------------------------------------------

    /**
     * The bound functions, created on first use. Kept apart from the constants so that the
     * constants (and {@code TunException}'s messages) work on platforms where binding fails.
     */
    public static final class Calls {

        private Calls() {
        }

        private static final Linker LINKER = Linker.nativeLinker();
        private static final SymbolLookup LIBC = LINKER.defaultLookup();
        private static final Linker.Option ERRNO_CAPTURE = Linker.Option.captureCallState("errno");

        /** {@code int open(const char *path, int flags, ... mode_t mode)}: variadic after flags. */
        static final MethodHandle OPEN = bind("open",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT),
                ERRNO_CAPTURE, Linker.Option.firstVariadicArg(2));

        /**
         * {@code int ioctl(int fd, unsigned long request, ...)}: variadic after the request, the
         * third argument here is always a pointer ({@code struct ifreq *}).
         */
        static final MethodHandle IOCTL = bind("ioctl",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS),
                ERRNO_CAPTURE, Linker.Option.firstVariadicArg(2));

        /**
         * {@code ioctl} with an integer third argument (TUNSETOFFLOAD takes the flags by value);
         * a variadic {@code unsigned long} on x86_64 and aarch64.
         */
        static final MethodHandle IOCTL_LONG = bind("ioctl",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG),
                ERRNO_CAPTURE, Linker.Option.firstVariadicArg(2));

        /** {@code ssize_t read(int fd, void *buf, size_t count)}. */
        static final MethodHandle READ = bind("read",
                FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG), ERRNO_CAPTURE);

        /** {@code ssize_t write(int fd, const void *buf, size_t count)}. */
        static final MethodHandle WRITE = bind("write",
                FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG), ERRNO_CAPTURE);

        /** {@code int close(int fd)}. */
        static final MethodHandle CLOSE = bind("close",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT), ERRNO_CAPTURE);

        /** {@code int poll(struct pollfd *fds, nfds_t nfds, int timeout)}. */
        static final MethodHandle POLL = bind("poll",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT), ERRNO_CAPTURE);

        /** {@code int eventfd(unsigned int initval, int flags)}. */
        static final MethodHandle EVENTFD = bind("eventfd",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), ERRNO_CAPTURE);

        /** {@code int socket(int domain, int type, int protocol)}. */
        static final MethodHandle SOCKET = bind("socket",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), ERRNO_CAPTURE);

        /** {@code int setsockopt(int fd, int level, int name, const void *value, socklen_t len)}. */
        static final MethodHandle SETSOCKOPT = bind("setsockopt",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT), ERRNO_CAPTURE);

        /** {@code int bind(int fd, const struct sockaddr *addr, socklen_t len)}. */
        static final MethodHandle BIND = bind("bind",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT), ERRNO_CAPTURE);

        /** {@code ssize_t sendto(int, const void *, size_t, int, const struct sockaddr *, socklen_t)}. */
        static final MethodHandle SENDTO = bind("sendto",
                FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT),
                ERRNO_CAPTURE);

        /** {@code int recvmmsg(int, struct mmsghdr *, unsigned int, int, struct timespec *)}. */
        static final MethodHandle RECVMMSG = bind("recvmmsg",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS), ERRNO_CAPTURE);

        @SuppressWarnings("restricted") // native access is the point; surefire and the launcher enable it
        private static MethodHandle bind(String name, FunctionDescriptor fd, Linker.Option... options) {
            MemorySegment symbol = LIBC.find(name)
                    .orElseThrow(() -> new UnsatisfiedLinkError("libc has no symbol " + name));
            return LINKER.downcallHandle(symbol, fd, options);
        }
    }

    // ---- typed wrappers: invokeExact through static final handles, inlined by the JIT ----------

    public static int open(MemorySegment state, MemorySegment path, int flags) {
        try {
            return (int) Calls.OPEN.invokeExact(state, path, flags, 0);
        } catch (Throwable t) {
            throw Downcalls.unexpected(t);
        }
    }

    public static int ioctl(MemorySegment state, int fd, long request, MemorySegment arg) {
        try {
            return (int) Calls.IOCTL.invokeExact(state, fd, request, arg);
        } catch (Throwable t) {
            throw Downcalls.unexpected(t);
        }
    }

    public static int ioctl(MemorySegment state, int fd, long request, long arg) {
        try {
            return (int) Calls.IOCTL_LONG.invokeExact(state, fd, request, arg);
        } catch (Throwable t) {
            throw Downcalls.unexpected(t);
        }
    }

    public static long read(MemorySegment state, int fd, MemorySegment buf, long count) {
        try {
            return (long) Calls.READ.invokeExact(state, fd, buf, count);
        } catch (Throwable t) {
            throw Downcalls.unexpected(t);
        }
    }

    public static long write(MemorySegment state, int fd, MemorySegment buf, long count) {
        try {
            return (long) Calls.WRITE.invokeExact(state, fd, buf, count);
        } catch (Throwable t) {
            throw Downcalls.unexpected(t);
        }
    }

    public static int close(MemorySegment state, int fd) {
        try {
            return (int) Calls.CLOSE.invokeExact(state, fd);
        } catch (Throwable t) {
            throw Downcalls.unexpected(t);
        }
    }

    public static int poll(MemorySegment state, MemorySegment fds, long nfds, int timeoutMillis) {
        try {
            return (int) Calls.POLL.invokeExact(state, fds, nfds, timeoutMillis);
        } catch (Throwable t) {
            throw Downcalls.unexpected(t);
        }
    }

    public static int eventfd(MemorySegment state, int initval, int flags) {
        try {
            return (int) Calls.EVENTFD.invokeExact(state, initval, flags);
        } catch (Throwable t) {
            throw Downcalls.unexpected(t);
        }
    }

    public static int socket(MemorySegment state, int domain, int type, int protocol) {
        try {
            return (int) Calls.SOCKET.invokeExact(state, domain, type, protocol);
        } catch (Throwable t) {
            throw Downcalls.unexpected(t);
        }
    }

    public static int setsockopt(MemorySegment state, int fd, int level, int name, MemorySegment value, int len) {
        try {
            return (int) Calls.SETSOCKOPT.invokeExact(state, fd, level, name, value, len);
        } catch (Throwable t) {
            throw Downcalls.unexpected(t);
        }
    }

    public static int bind(MemorySegment state, int fd, MemorySegment addr, int len) {
        try {
            return (int) Calls.BIND.invokeExact(state, fd, addr, len);
        } catch (Throwable t) {
            throw Downcalls.unexpected(t);
        }
    }

    public static long sendto(MemorySegment state, int fd, MemorySegment buf, long len, int flags,
            MemorySegment to, int toLen) {
        try {
            return (long) Calls.SENDTO.invokeExact(state, fd, buf, len, flags, to, toLen);
        } catch (Throwable t) {
            throw Downcalls.unexpected(t);
        }
    }

    /** {@code recvmmsg} without a timeout (non-blocking reads pass {@link #MSG_DONTWAIT}). */
    public static int recvmmsg(MemorySegment state, int fd, MemorySegment vec, int vlen, int flags) {
        try {
            return (int) Calls.RECVMMSG.invokeExact(state, fd, vec, vlen, flags, MemorySegment.NULL);
        } catch (Throwable t) {
            throw Downcalls.unexpected(t);
        }
    }

    /**
     * Throws unless this is Linux on x86_64 or aarch64, the platforms whose constants and
     * {@code struct ifreq} layout this class encodes.
     */
    public static void checkPlatform() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        if (!os.startsWith("linux")) {
            throw new UnsupportedOperationException("TUN devices need Linux; this is " + os);
        }
        if (!arch.equals("amd64") && !arch.equals("x86_64") && !arch.equals("aarch64")) {
            throw new UnsupportedOperationException(
                    "the TUN binding knows the ioctl numbers and struct ifreq of x86_64 and aarch64 only; this is "
                            + arch);
        }
    }
}
