package dev.keel.esp.raw;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout.PathElement;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.util.Locale;

/**
 * The socket calls raw ESP needs, bound once through the foreign-function API, the way
 * {@code dev.keel.esp.tun.LibC} binds the TUN calls: every call captures {@code errno}
 * ({@code captureCallState}); its first argument is a {@link #CAPTURE_STATE} segment. Linux
 * x86_64/aarch64 values (both use the asm-generic socket constants).
 */
final class RawLibC {

    private RawLibC() {
    }

    static final int AF_INET = 2;
    static final int AF_INET6 = 10;
    static final int SOCK_RAW = 3;
    /** {@code SOCK_NONBLOCK} = {@code O_NONBLOCK} (octal 04000). */
    static final int SOCK_NONBLOCK = 0x800;
    /** {@code SOCK_CLOEXEC} = {@code O_CLOEXEC} (octal 02000000). */
    static final int SOCK_CLOEXEC = 0x80000;
    /** IANA protocol number of ESP (RFC 4303 §2). */
    static final int IPPROTO_ESP = 50;
    /** {@code MSG_DONTWAIT}: never block, even if the socket lost {@code O_NONBLOCK}. */
    static final int MSG_DONTWAIT = 0x40;

    /** {@code sizeof(struct sockaddr_in)}. */
    static final int SOCKADDR_IN_LEN = 16;
    /** {@code sizeof(struct sockaddr_in6)}. */
    static final int SOCKADDR_IN6_LEN = 28;
    /** Offset of {@code sin_addr} in {@code sockaddr_in}. */
    static final int SIN_ADDR = 4;
    /** Offset of {@code sin6_addr} in {@code sockaddr_in6} (after family, port, flowinfo). */
    static final int SIN6_ADDR = 8;

    /** {@code sizeof(struct iovec)}: base pointer and length. */
    static final int IOVEC_LEN = 16;
    /**
     * {@code sizeof(struct mmsghdr)} on LP64: a 56-byte {@code struct msghdr} ({@code msg_name} 0,
     * {@code msg_namelen} 8, {@code msg_iov} 16, {@code msg_iovlen} 24, {@code msg_control} 32,
     * {@code msg_controllen} 40, {@code msg_flags} 48), then {@code unsigned int msg_len} at 56,
     * padded to 64.
     */
    static final int MMSGHDR_LEN = 64;
    static final int MSG_NAME = 0;
    static final int MSG_NAMELEN = 8;
    static final int MSG_IOV = 16;
    static final int MSG_IOVLEN = 24;
    static final int MSG_LEN = 56;

    static final int EINTR = 4;
    static final int EAGAIN = 11;
    static final int ENOBUFS = 105;

    static final StructLayout CAPTURE_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE_STATE.varHandle(PathElement.groupElement("errno"));

    static int errno(MemorySegment state) {
        return (int) ERRNO.get(state, 0L);
    }

    /** A short name for the errno values these calls report, for messages. */
    static String errnoName(int errno) {
        return switch (errno) {
            case 1 -> "EPERM (operation not permitted: raw sockets need CAP_NET_RAW)";
            case 13 -> "EACCES (permission denied: raw sockets need CAP_NET_RAW)";
            case 22 -> "EINVAL (invalid argument)";
            case 93 -> "EPROTONOSUPPORT (protocol not supported)";
            case 97 -> "EAFNOSUPPORT (address family not supported: is IPv6 disabled?)";
            case 98 -> "EADDRINUSE (address in use)";
            case 99 -> "EADDRNOTAVAIL (the address is not one of this host's)";
            case 24 -> "EMFILE (too many open files)";
            default -> "errno " + errno;
        };
    }

    static final class Calls {
        private Calls() {
        }

        private static final Linker LINKER = Linker.nativeLinker();
        private static final SymbolLookup LIBC = LINKER.defaultLookup();
        private static final Linker.Option ERRNO_CAPTURE = Linker.Option.captureCallState("errno");

        static final MethodHandle SOCKET = bind("socket", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        static final MethodHandle BIND = bind("bind", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
        /** {@code ssize_t sendto(int, const void *, size_t, int, const struct sockaddr *, socklen_t)}. */
        static final MethodHandle SENDTO = bind("sendto",
                FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
        /** {@code int recvmmsg(int, struct mmsghdr *, unsigned int, int, struct timespec *)}. */
        static final MethodHandle RECVMMSG = bind("recvmmsg",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS));
        static final MethodHandle CLOSE = bind("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));

        @SuppressWarnings("restricted") // native access is the point; surefire and the launcher enable it
        private static MethodHandle bind(String name, FunctionDescriptor fd) {
            MemorySegment symbol = LIBC.find(name)
                    .orElseThrow(() -> new UnsatisfiedLinkError("libc has no symbol " + name));
            return LINKER.downcallHandle(symbol, fd, ERRNO_CAPTURE);
        }
    }

    static int socket(MemorySegment state, int domain, int type, int protocol) {
        try {
            return (int) Calls.SOCKET.invokeExact(state, domain, type, protocol);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static int bind(MemorySegment state, int fd, MemorySegment addr, int len) {
        try {
            return (int) Calls.BIND.invokeExact(state, fd, addr, len);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static long sendto(MemorySegment state, int fd, MemorySegment buf, long len, int flags, MemorySegment to,
            int toLen) {
        try {
            return (long) Calls.SENDTO.invokeExact(state, fd, buf, len, flags, to, toLen);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static int recvmmsg(MemorySegment state, int fd, MemorySegment vec, int vlen, int flags) {
        try {
            return (int) Calls.RECVMMSG.invokeExact(state, fd, vec, vlen, flags, MemorySegment.NULL);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static int close(MemorySegment state, int fd) {
        try {
            return (int) Calls.CLOSE.invokeExact(state, fd);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    private static RuntimeException unexpected(Throwable t) {
        if (t instanceof RuntimeException e) {
            throw e;
        }
        if (t instanceof Error e) {
            throw e;
        }
        throw new IllegalStateException("downcall threw " + t, t);
    }

    /** Throws unless this is Linux on x86_64 or aarch64, whose constants this class encodes. */
    static void checkPlatform() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        if (!os.startsWith("linux") || !(arch.equals("amd64") || arch.equals("x86_64") || arch.equals("aarch64"))) {
            throw new UnsupportedOperationException("raw ESP sockets need Linux on x86_64 or aarch64; this is "
                    + os + "/" + arch);
        }
    }
}
