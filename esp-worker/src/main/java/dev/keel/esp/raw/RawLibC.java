package dev.keel.esp.raw;

import java.util.Locale;

/**
 * The socket structures raw ESP lays out by hand for {@code dev.keel.esp.sys.LibC}'s {@code bind},
 * {@code sendto} and {@code recvmmsg}: LP64 Linux (x86_64, aarch64) offsets and sizes.
 */
final class RawLibC {

    private RawLibC() {
    }

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
