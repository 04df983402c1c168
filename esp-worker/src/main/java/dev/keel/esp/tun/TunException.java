package dev.keel.esp.tun;

import dev.keel.esp.sys.LibC;
import java.io.IOException;

/**
 * A failed system call on a TUN device: names the call, the device and the error as
 * {@code strerror(3)} would, plus what usually causes it. For example
 * {@code "ioctl(TUNSETIFF) on TUN device 'keel0' failed: EPERM (Operation not permitted):
 * needs CAP_NET_ADMIN (run as root or grant the capability)"}.
 */
public final class TunException extends IOException {

    private static final long serialVersionUID = 1L;

    private final String call;
    private final String device;
    private final int errno;

    TunException(String call, String device, int errno) {
        super(message(call, device, errno));
        this.call = call;
        this.device = device;
        this.errno = errno;
    }

    /** The call that failed, e.g. {@code "ioctl(TUNSETIFF)"} or {@code "write"}. */
    public String call() {
        return call;
    }

    /** The device name the call was about ({@code "(kernel-chosen)"} before the kernel named it). */
    public String device() {
        return device;
    }

    /** The {@code errno} value (Linux, asm-generic numbering). */
    public int errno() {
        return errno;
    }

    /** The symbolic name of the errno, e.g. {@code "EPERM"}. */
    public String errnoName() {
        return name(errno);
    }

    /** The message {@link TunException} uses for {@code errno} from {@code call} on {@code device}. */
    static String message(String call, String device, int errno) {
        StringBuilder sb = new StringBuilder(128)
                .append(call).append(" on TUN device '").append(device).append("' failed: ")
                .append(name(errno)).append(" (").append(text(errno)).append(')');
        String hint = hint(call, errno);
        if (hint != null) {
            sb.append(": ").append(hint);
        }
        return sb.toString();
    }

    /** The symbolic name of a Linux errno, or {@code "errno N"}. */
    static String name(int errno) {
        return switch (errno) {
            case LibC.EPERM -> "EPERM";
            case LibC.ENOENT -> "ENOENT";
            case LibC.EINTR -> "EINTR";
            case LibC.EIO -> "EIO";
            case LibC.ENXIO -> "ENXIO";
            case LibC.E2BIG -> "E2BIG";
            case LibC.EBADF -> "EBADF";
            case LibC.EAGAIN -> "EAGAIN";
            case LibC.ENOMEM -> "ENOMEM";
            case LibC.EACCES -> "EACCES";
            case LibC.EFAULT -> "EFAULT";
            case LibC.EBUSY -> "EBUSY";
            case LibC.EEXIST -> "EEXIST";
            case LibC.ENODEV -> "ENODEV";
            case LibC.EINVAL -> "EINVAL";
            case LibC.ENFILE -> "ENFILE";
            case LibC.EMFILE -> "EMFILE";
            case LibC.ENOTTY -> "ENOTTY";
            case LibC.ERANGE -> "ERANGE";
            case LibC.EBADFD -> "EBADFD";
            case LibC.EMSGSIZE -> "EMSGSIZE";
            case LibC.EOPNOTSUPP -> "EOPNOTSUPP";
            case LibC.ENOBUFS -> "ENOBUFS";
            default -> "errno " + errno;
        };
    }

    /** The glibc {@code strerror(3)} text of a Linux errno. */
    static String text(int errno) {
        return switch (errno) {
            case LibC.EPERM -> "Operation not permitted";
            case LibC.ENOENT -> "No such file or directory";
            case LibC.EINTR -> "Interrupted system call";
            case LibC.EIO -> "Input/output error";
            case LibC.ENXIO -> "No such device or address";
            case LibC.E2BIG -> "Argument list too long";
            case LibC.EBADF -> "Bad file descriptor";
            case LibC.EAGAIN -> "Resource temporarily unavailable";
            case LibC.ENOMEM -> "Cannot allocate memory";
            case LibC.EACCES -> "Permission denied";
            case LibC.EFAULT -> "Bad address";
            case LibC.EBUSY -> "Device or resource busy";
            case LibC.EEXIST -> "File exists";
            case LibC.ENODEV -> "No such device";
            case LibC.EINVAL -> "Invalid argument";
            case LibC.ENFILE -> "Too many open files in system";
            case LibC.EMFILE -> "Too many open files";
            case LibC.ENOTTY -> "Inappropriate ioctl for device";
            case LibC.ERANGE -> "Numerical result out of range";
            case LibC.EBADFD -> "File descriptor in bad state";
            case LibC.EMSGSIZE -> "Message too long";
            case LibC.EOPNOTSUPP -> "Operation not supported";
            case LibC.ENOBUFS -> "No buffer space available";
            default -> "Unknown error " + errno;
        };
    }

    /** What usually causes {@code errno} from {@code call}, or null. */
    static String hint(String call, int errno) {
        boolean openTun = call.startsWith("open");
        boolean setIff = call.contains("TUNSETIFF");
        boolean sockIoctl = call.contains("SIOC");
        return switch (errno) {
            case LibC.EPERM -> openTun
                    ? "needs read/write permission on /dev/net/tun"
                    : "needs CAP_NET_ADMIN (run as root or grant the capability)";
            case LibC.EACCES -> openTun ? "needs read/write permission on /dev/net/tun" : null;
            case LibC.ENOENT -> openTun
                    ? "no /dev/net/tun: load the module (modprobe tun) or create the node (mknod /dev/net/tun c 10 200)"
                    : null;
            case LibC.ENODEV, LibC.ENXIO -> openTun
                    ? "the kernel has no TUN driver (CONFIG_TUN)"
                    : sockIoctl
                            ? "no such interface in this network namespace (set MTU and link state before "
                                    + "moving the device with 'ip link set ... netns', or use 'ip' inside the namespace)"
                            : null;
            case LibC.EBUSY -> setIff
                    ? "the device exists and will not take this queue (created with IFF_TUN_EXCL, or another "
                            + "process holds a non-multi-queue device of that name)"
                    : null;
            case LibC.EINVAL -> {
                if (setIff) {
                    yield "the name is invalid or belongs to a non-TUN interface, or a TUN/TAP device of that name "
                            + "exists with other flags (TAP, or without IFF_MULTI_QUEUE)";
                }
                if (call.contains("SIOCSIFMTU")) {
                    yield "MTU out of the device's range (TUN: 68..65535; IPv6 needs at least 1280)";
                }
                if (call.startsWith("write")) {
                    yield "not an IPv4 or IPv6 packet (without packet information the kernel takes the IP version "
                            + "from the first nibble) or too short";
                }
                yield null;
            }
            case LibC.E2BIG -> setIff ? "too many queues (the kernel allows 256 per device)" : null;
            case LibC.EMFILE, LibC.ENFILE -> "out of file descriptors (one per queue, plus one eventfd per device)";
            case LibC.EBADFD -> "the queue was detached from its device (TUNSETQUEUE) or the device was deleted";
            case LibC.EIO -> "the device is gone or its link is down";
            default -> null;
        };
    }
}
