package dev.keel.core.packet;

/**
 * The fields of an IPv4 or IPv6 packet that selectors and the data plane look at, parsed in
 * place from a byte array. Mutable and reusable so parsing allocates nothing; one per thread.
 */
public final class IpPacketInfo {

    /** IANA protocol numbers the data plane treats specially. */
    public static final int PROTO_ICMP = 1;
    public static final int PROTO_IPV4 = 4;
    public static final int PROTO_TCP = 6;
    public static final int PROTO_UDP = 17;
    public static final int PROTO_IPV6 = 41;
    public static final int PROTO_ESP = 50;
    public static final int PROTO_AH = 51;
    public static final int PROTO_ICMPV6 = 58;
    public static final int PROTO_NO_NEXT_HEADER = 59;
    public static final int PROTO_SCTP = 132;

    /** Port value meaning "not known": a non-initial fragment or a protocol without ports (RFC 4301 §4.4.1 OPAQUE). */
    public static final int NO_PORT = -1;

    private static final int MAX_IPV6_EXTENSION_HEADERS = 8;

    private int version;
    private int headerLength;
    private int totalLength;
    private int protocol;
    private int sourceOffset;
    private int destinationOffset;
    private int sourcePort;
    private int destinationPort;

    /**
     * Parses the packet at {@code buf[off, off+len)}. Offsets recorded are absolute indexes
     * into {@code buf}.
     *
     * @return false when it is not a well-formed IPv4 or IPv6 packet (nothing else is valid then)
     */
    public boolean parse(byte[] buf, int off, int len) {
        if (len < 1 || off < 0 || off + len > buf.length) {
            return false;
        }
        int v = (buf[off] & 0xff) >>> 4;
        if (v == 4) {
            return parseIpv4(buf, off, len);
        }
        if (v == 6) {
            return parseIpv6(buf, off, len);
        }
        return false;
    }

    private boolean parseIpv4(byte[] buf, int off, int len) {
        if (len < 20) {
            return false;
        }
        int ihl = (buf[off] & 0x0f) * 4;
        int total = BigEndian.getU16(buf, off + 2);
        if (ihl < 20 || total < ihl || total > len) {
            return false;
        }
        version = 4;
        headerLength = ihl;
        totalLength = total;
        protocol = buf[off + 9] & 0xff;
        sourceOffset = off + 12;
        destinationOffset = off + 16;
        boolean laterFragment = (BigEndian.getU16(buf, off + 6) & 0x1fff) != 0;
        readPorts(buf, off + ihl, off + total, laterFragment);
        return true;
    }

    private boolean parseIpv6(byte[] buf, int off, int len) {
        if (len < 40) {
            return false;
        }
        int total = 40 + BigEndian.getU16(buf, off + 4);
        if (total > len) {
            return false;
        }
        version = 6;
        totalLength = total;
        sourceOffset = off + 8;
        destinationOffset = off + 24;
        int next = buf[off + 6] & 0xff;
        int pos = off + 40;
        int end = off + total;
        boolean laterFragment = false;
        // RFC 8200 §4.1: skip extension headers to find the upper-layer protocol.
        for (int i = 0; i < MAX_IPV6_EXTENSION_HEADERS && isExtensionHeader(next); i++) {
            if (pos + 8 > end) {
                return false;
            }
            int hdrNext = buf[pos] & 0xff;
            int hdrLen;
            if (next == 44) {
                laterFragment = (BigEndian.getU16(buf, pos + 2) & 0xfff8) != 0;
                hdrLen = 8;
            } else {
                hdrLen = ((buf[pos + 1] & 0xff) + 1) * 8;
            }
            pos += hdrLen;
            next = hdrNext;
        }
        if (isExtensionHeader(next) || pos > end) {
            return false;
        }
        headerLength = pos - off;
        protocol = next;
        readPorts(buf, pos, end, laterFragment);
        return true;
    }

    private static boolean isExtensionHeader(int nh) {
        return nh == 0 || nh == 43 || nh == 44 || nh == 60;
    }

    private void readPorts(byte[] buf, int l4, int end, boolean laterFragment) {
        sourcePort = NO_PORT;
        destinationPort = NO_PORT;
        if (laterFragment) {
            return;
        }
        switch (protocol) {
            case PROTO_TCP, PROTO_UDP, PROTO_SCTP, 136 -> {
                if (l4 + 4 <= end) {
                    sourcePort = BigEndian.getU16(buf, l4);
                    destinationPort = BigEndian.getU16(buf, l4 + 2);
                }
            }
            case PROTO_ICMP, PROTO_ICMPV6 -> {
                // RFC 4301 §4.4.1.3: ICMP type and code stand in for the ports, type in the high byte.
                if (l4 + 2 <= end) {
                    sourcePort = BigEndian.getU16(buf, l4);
                    destinationPort = sourcePort;
                }
            }
            default -> { }
        }
    }

    /** 4 or 6. */
    public int version() {
        return version;
    }

    public boolean isIpv6() {
        return version == 6;
    }

    /** Bytes of IP header, including IPv4 options or IPv6 extension headers skipped. */
    public int headerLength() {
        return headerLength;
    }

    /** The length the IP header declares for the whole packet (may be less than the buffer holds). */
    public int totalLength() {
        return totalLength;
    }

    /** The upper-layer protocol number. */
    public int protocol() {
        return protocol;
    }

    /** Index of the source address in the parsed array. */
    public int sourceOffset() {
        return sourceOffset;
    }

    /** Index of the destination address in the parsed array. */
    public int destinationOffset() {
        return destinationOffset;
    }

    /** 4 or 16. */
    public int addressLength() {
        return version == 6 ? 16 : 4;
    }

    /** The source port, ICMP type/code, or {@link #NO_PORT}. */
    public int sourcePort() {
        return sourcePort;
    }

    /** The destination port, ICMP type/code, or {@link #NO_PORT}. */
    public int destinationPort() {
        return destinationPort;
    }
}
