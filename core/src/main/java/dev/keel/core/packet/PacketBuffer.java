package dev.keel.core.packet;

/**
 * A reusable heap buffer holding one packet at {@code data[offset, offset+length)}, with room
 * before it (headroom) and after it (tailroom) so headers and trailers are written in place.
 *
 * <p>Heap arrays, not direct buffers: the JDK's AES-GCM intrinsics run fastest on byte[]. The
 * buffer also carries the outer addresses and ports the packet arrived with or leaves to, so
 * transport-mode decapsulation can rebuild the IP header. One owner thread at a time.
 */
public final class PacketBuffer {

    /** Room kept in front of a received or read packet: outer IPv6 + UDP + ESP + a CBC IV, rounded. */
    public static final int DEFAULT_HEADROOM = 128;

    /** Room kept behind: 255 bytes of padding, pad length, next header and a 32-byte ICV, rounded. */
    public static final int DEFAULT_TAILROOM = 320;

    private final byte[] data;
    private int offset;
    private int length;

    private final byte[] sourceAddress = new byte[16];
    private final byte[] destinationAddress = new byte[16];
    private boolean ipv6;
    private int sourcePort;
    private int destinationPort;

    /** A buffer for packets of up to {@code maxPacket} bytes with the default head- and tailroom. */
    public PacketBuffer(int maxPacket) {
        this(new byte[DEFAULT_HEADROOM + maxPacket + DEFAULT_TAILROOM]);
        reset();
    }

    /** Wraps an existing array; the packet starts empty at index 0. */
    public PacketBuffer(byte[] data) {
        this.data = data;
    }

    /** Empties the buffer, leaving the default headroom in front. */
    public PacketBuffer reset() {
        offset = Math.min(DEFAULT_HEADROOM, data.length);
        length = 0;
        return this;
    }

    /** Copies {@code src[off, off+len)} in as the packet, after the default headroom. */
    public PacketBuffer set(byte[] src, int off, int len) {
        if (DEFAULT_HEADROOM + len > data.length) {
            throw new IllegalArgumentException("packet of " + len + " bytes exceeds buffer of " + data.length);
        }
        reset();
        System.arraycopy(src, off, data, offset, len);
        length = len;
        return this;
    }

    public byte[] data() {
        return data;
    }

    public int offset() {
        return offset;
    }

    public int length() {
        return length;
    }

    /** One past the last packet byte. */
    public int end() {
        return offset + length;
    }

    public int headroom() {
        return offset;
    }

    public int tailroom() {
        return data.length - offset - length;
    }

    /** Sets the packet's bounds within {@link #data()}. */
    public void bounds(int newOffset, int newLength) {
        if (newOffset < 0 || newLength < 0 || newOffset + newLength > data.length) {
            throw new IndexOutOfBoundsException("bounds " + newOffset + "+" + newLength + " outside " + data.length);
        }
        offset = newOffset;
        length = newLength;
    }

    /** A copy of the packet bytes (for tests and diagnostics, not the packet path). */
    public byte[] toByteArray() {
        return java.util.Arrays.copyOfRange(data, offset, offset + length);
    }

    /** Sets the outer endpoints: addresses of 4 or 16 bytes, and UDP ports (0 for raw ESP). */
    public void endpoints(byte[] src, byte[] dst, int srcPort, int dstPort) {
        if (src.length != dst.length || (src.length != 4 && src.length != 16)) {
            throw new IllegalArgumentException("addresses must both be 4 or 16 bytes");
        }
        ipv6 = src.length == 16;
        System.arraycopy(src, 0, sourceAddress, 0, src.length);
        System.arraycopy(dst, 0, destinationAddress, 0, dst.length);
        sourcePort = srcPort;
        destinationPort = dstPort;
    }

    /** Outer source address, in the first 4 (IPv4) or 16 (IPv6) bytes. */
    public byte[] sourceAddress() {
        return sourceAddress;
    }

    /** Outer destination address, in the first 4 (IPv4) or 16 (IPv6) bytes. */
    public byte[] destinationAddress() {
        return destinationAddress;
    }

    public boolean ipv6() {
        return ipv6;
    }

    public int sourcePort() {
        return sourcePort;
    }

    public int destinationPort() {
        return destinationPort;
    }
}
