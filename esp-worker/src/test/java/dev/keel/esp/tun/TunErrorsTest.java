package dev.keel.esp.tun;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.esp.sys.LibC;
import java.lang.foreign.MemoryLayout.PathElement;
import org.junit.jupiter.api.Test;

/** Error messages, name checks and the encoded kernel ABI; no privileges needed. */
class TunErrorsTest {

    @Test
    void epermFromTunsetiffSaysCapNetAdmin() {
        TunException e = new TunException("ioctl(TUNSETIFF)", "keel0", LibC.EPERM);

        assertThat(e).hasMessage("ioctl(TUNSETIFF) on TUN device 'keel0' failed: EPERM (Operation not permitted): "
                + "needs CAP_NET_ADMIN (run as root or grant the capability)");
        assertThat(e.call()).isEqualTo("ioctl(TUNSETIFF)");
        assertThat(e.device()).isEqualTo("keel0");
        assertThat(e.errno()).isEqualTo(1);
        assertThat(e.errnoName()).isEqualTo("EPERM");
    }

    @Test
    void eachCallGetsItsOwnHint() {
        assertThat(new TunException("open(/dev/net/tun)", "k", LibC.ENOENT))
                .hasMessageContaining("ENOENT (No such file or directory)").hasMessageContaining("modprobe tun");
        assertThat(new TunException("open(/dev/net/tun)", "k", LibC.EACCES))
                .hasMessageContaining("EACCES (Permission denied): needs read/write permission on /dev/net/tun");
        assertThat(new TunException("ioctl(TUNSETIFF)", "k", LibC.EBUSY))
                .hasMessageContaining("EBUSY (Device or resource busy): the device exists");
        assertThat(new TunException("ioctl(TUNSETIFF)", "k", LibC.EINVAL))
                .hasMessageContaining("EINVAL (Invalid argument)").hasMessageContaining("IFF_MULTI_QUEUE");
        assertThat(new TunException("ioctl(TUNSETIFF)", "k", LibC.E2BIG)).hasMessageContaining("256");
        assertThat(new TunException("ioctl(SIOCSIFMTU, 9)", "k", LibC.EINVAL)).hasMessageContaining("68..65535");
        assertThat(new TunException("ioctl(SIOCSIFFLAGS, IFF_UP)", "k", LibC.EPERM))
                .hasMessageContaining("CAP_NET_ADMIN");
        assertThat(new TunException("ioctl(SIOCGIFMTU)", "k", LibC.ENODEV))
                .hasMessageContaining("ENODEV (No such device)").hasMessageContaining("network namespace");
        assertThat(new TunException("write(queue 0, 64 bytes)", "k", LibC.EINVAL))
                .hasMessageContaining("not an IPv4 or IPv6 packet");
        assertThat(new TunException("read(queue 1)", "k", LibC.EBADFD))
                .hasMessageContaining("EBADFD (File descriptor in bad state)");
        assertThat(new TunException("eventfd", "k", LibC.EMFILE)).hasMessageContaining("out of file descriptors");
    }

    @Test
    void anUnknownErrnoIsStillNamedByNumber() {
        assertThat(new TunException("read(queue 0)", "k", 4095))
                .hasMessage("read(queue 0) on TUN device 'k' failed: errno 4095 (Unknown error 4095)");
        assertThat(new TunException("read(queue 0)", "k", LibC.EIO)).hasMessageContaining("EIO (Input/output error)");
    }

    @Test
    void malformedNamesAreRefusedBeforeAnySystemCall() {
        assertThatThrownBy(() -> TunDevice.open("a-name-of-16-chr", 1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("16 characters").hasMessageContaining("at most 15");
        assertThatThrownBy(() -> TunDevice.open("bad/name", 1)).hasMessageContaining("'/'");
        assertThatThrownBy(() -> TunDevice.open("bad name", 1)).hasMessageContaining("whitespace");
        assertThatThrownBy(() -> TunDevice.open("eth0:1", 1)).hasMessageContaining("':'");
        assertThatThrownBy(() -> TunDevice.open("k\u00e9el", 1)).hasMessageContaining("U+00E9");
        assertThatThrownBy(() -> TunDevice.open("..", 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> TunDevice.open("keel0", 0)).hasMessageContaining("1..256");
        assertThatThrownBy(() -> TunDevice.open("keel0", 257)).hasMessageContaining("1..256");

        assertThat(TunDevice.checkName("a-name-of-15-ch")).isEqualTo("a-name-of-15-ch");
        assertThat(TunDevice.checkName("keel%d")).isEqualTo("keel%d");
        assertThat(TunDevice.checkName(null)).isEmpty();
        assertThat(TunDevice.checkName("")).isEmpty();
    }

    @Test
    void ioctlNumbersFollowTheIocEncoding() {
        // <asm-generic/ioctl.h>: dir << 30 | size << 16 | type << 8 | nr; _IOC_WRITE = 1.
        assertThat(LibC.TUNSETIFF).isEqualTo(ioc(1, 'T', 202, Integer.BYTES)).isEqualTo(0x400454caL);
        assertThat(LibC.IFF_TUN | LibC.IFF_NO_PI | LibC.IFF_MULTI_QUEUE).isEqualTo(0x1101);
    }

    @Test
    void structLayoutsMatchLinuxOn64BitTargets() {
        assertThat(LibC.IFREQ.byteSize()).isEqualTo(40);
        assertThat(LibC.IFREQ.byteOffset(PathElement.groupElement("ifr_ifru"),
                PathElement.groupElement("ifr_flags"))).isEqualTo(16);
        assertThat(LibC.IFREQ.byteOffset(PathElement.groupElement("ifr_ifru"),
                PathElement.groupElement("ifr_mtu"))).isEqualTo(16);
        assertThat(LibC.POLLFD.byteSize()).isEqualTo(8);
        assertThat(LibC.POLLFD.byteOffset(PathElement.groupElement("revents"))).isEqualTo(6);
    }

    private static long ioc(int dir, char type, int nr, int size) {
        return ((long) dir << 30) | ((long) size << 16) | ((long) type << 8) | nr;
    }
}
