package dev.keel.core.packet;

/** The Internet checksum (RFC 1071) over headers and the TCP/UDP pseudo-header. */
public final class Checksums {

    private Checksums() {
    }

    /** The one's-complement sum of {@code buf[off, off+len)} added to {@code sum}, not folded. */
    public static long sum(byte[] buf, int off, int len, long sum) {
        int i = off;
        int end = off + len;
        for (; i + 1 < end; i += 2) {
            sum += ((buf[i] & 0xff) << 8) | (buf[i + 1] & 0xff);
        }
        if (i < end) {
            sum += (buf[i] & 0xff) << 8;
        }
        return sum;
    }

    /** Folds a running sum to 16 bits and complements it. */
    public static int finish(long sum) {
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xffff) + (sum >>> 16);
        }
        return (int) (~sum & 0xffff);
    }

    /** The IPv4 header checksum of a header whose checksum field is already zero. */
    public static int ipv4Header(byte[] buf, int off, int headerLength) {
        return finish(sum(buf, off, headerLength, 0));
    }

    /**
     * The TCP/UDP/ICMPv6 checksum over the pseudo-header (RFC 793 / RFC 768 for IPv4, RFC 8200
     * §8.1 for IPv6) and {@code buf[l4Off, l4Off+l4Len)}, whose checksum field must be zero.
     */
    public static int transport(byte[] src, int srcOff, byte[] dst, int dstOff, int addrLen,
            int protocol, byte[] buf, int l4Off, int l4Len) {
        long s = sum(src, srcOff, addrLen, 0);
        s = sum(dst, dstOff, addrLen, s);
        s += protocol;
        s += l4Len;
        s = sum(buf, l4Off, l4Len, s);
        return finish(s);
    }
}
