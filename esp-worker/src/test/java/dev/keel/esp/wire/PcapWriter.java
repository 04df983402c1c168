package dev.keel.esp.wire;

import dev.keel.core.packet.Checksums;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes classic libpcap files (magic {@code a1b2c3d4}, version 2.4, microsecond stamps) with
 * link type {@link #LINKTYPE_RAW}, so each record is one bare IPv4 or IPv6 packet. Also builds
 * such packets: an outer IPv4 or IPv6 header and a UDP header with valid checksums around a
 * payload, by default ESP-in-UDP from port 4500 to port 4500 (RFC 3948).
 */
public final class PcapWriter implements AutoCloseable {

    /** LINKTYPE_RAW: the packet begins with an IPv4 or IPv6 header. */
    public static final int LINKTYPE_RAW = 101;

    /** The NAT-T port of RFC 3948. */
    public static final int NAT_T_PORT = 4500;

    private static final int SNAPLEN = 262_144;
    private static final int PROTO_UDP = 17;

    private final OutputStream out;
    private long nextMicros = 1_700_000_000_000_000L;

    private PcapWriter(OutputStream out) throws IOException {
        this.out = out;
        ByteBuffer h = le(24);
        h.putInt(0xa1b2c3d4).putShort((short) 2).putShort((short) 4).putInt(0).putInt(0)
                .putInt(SNAPLEN).putInt(LINKTYPE_RAW);
        out.write(h.array());
    }

    /** Creates (or truncates) {@code file} and writes the file header. */
    public static PcapWriter create(Path file) throws IOException {
        return new PcapWriter(new BufferedOutputStream(Files.newOutputStream(file)));
    }

    /** Writes the file header to {@code out}; closing the writer closes {@code out}. */
    public static PcapWriter to(OutputStream out) throws IOException {
        return new PcapWriter(out);
    }

    /** Writes one packet, stamped one millisecond after the previous one. */
    public PcapWriter write(byte[] packet) throws IOException {
        long micros = nextMicros;
        nextMicros += 1000;
        return write(micros, packet);
    }

    /** Writes one packet with the given capture time in microseconds since the epoch. */
    public PcapWriter write(long epochMicros, byte[] packet) throws IOException {
        ByteBuffer h = le(16);
        h.putInt((int) (epochMicros / 1_000_000)).putInt((int) (epochMicros % 1_000_000))
                .putInt(packet.length).putInt(packet.length);
        out.write(h.array());
        out.write(packet);
        return this;
    }

    @Override
    public void close() throws IOException {
        out.close();
    }

    /** Writes {@code packets} to a new pcap file at {@code file}. */
    public static Path writeAll(Path file, byte[]... packets) {
        try (PcapWriter w = create(file)) {
            for (byte[] p : packets) {
                w.write(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return file;
    }

    // ---- packet builders ----

    /** {@code esp} carried in UDP from 4500 to 4500 between {@code src} and {@code dst}. */
    public static byte[] espInUdp(InetAddress src, InetAddress dst, byte[] esp) {
        return udpPacket(src, dst, NAT_T_PORT, NAT_T_PORT, esp);
    }

    /** An IPv4 or IPv6 packet (by the address family) carrying one UDP datagram. */
    public static byte[] udpPacket(InetAddress src, InetAddress dst, int srcPort, int dstPort, byte[] payload) {
        byte[] udp = udp(src, dst, srcPort, dstPort, payload);
        if (src instanceof Inet4Address s && dst instanceof Inet4Address d) {
            return ipv4(s, d, PROTO_UDP, udp);
        }
        if (src instanceof Inet6Address s && dst instanceof Inet6Address d) {
            return ipv6(s, d, PROTO_UDP, udp);
        }
        throw new IllegalArgumentException("source and destination differ in address family");
    }

    /** A UDP header and payload with the checksum over the IPv4 or IPv6 pseudo-header. */
    public static byte[] udp(InetAddress src, InetAddress dst, int srcPort, int dstPort, byte[] payload) {
        int len = 8 + payload.length;
        if (len > 0xffff) {
            throw new IllegalArgumentException("UDP datagram too long: " + len);
        }
        ByteBuffer b = ByteBuffer.allocate(len);
        b.putShort((short) srcPort).putShort((short) dstPort).putShort((short) len).putShort((short) 0)
                .put(payload);
        byte[] udp = b.array();
        byte[] s = src.getAddress();
        byte[] d = dst.getAddress();
        int csum = Checksums.transport(s, 0, d, 0, s.length, PROTO_UDP, udp, 0, len);
        // RFC 768: a computed zero is sent as all ones; zero means "no checksum" (IPv4 only).
        if (csum == 0) {
            csum = 0xffff;
        }
        udp[6] = (byte) (csum >>> 8);
        udp[7] = (byte) csum;
        return udp;
    }

    /** A 20-byte IPv4 header (no options, TTL 64, DF clear, ID 1) with a valid checksum, then the payload. */
    public static byte[] ipv4(Inet4Address src, Inet4Address dst, int protocol, byte[] payload) {
        int total = 20 + payload.length;
        if (total > 0xffff) {
            throw new IllegalArgumentException("IPv4 packet too long: " + total);
        }
        ByteBuffer b = ByteBuffer.allocate(total);
        b.put((byte) 0x45).put((byte) 0).putShort((short) total).putShort((short) 1).putShort((short) 0)
                .put((byte) 64).put((byte) protocol).putShort((short) 0)
                .put(src.getAddress()).put(dst.getAddress()).put(payload);
        byte[] p = b.array();
        int csum = Checksums.ipv4Header(p, 0, 20);
        p[10] = (byte) (csum >>> 8);
        p[11] = (byte) csum;
        return p;
    }

    /** A 40-byte IPv6 header (hop limit 64, no extension headers), then the payload. */
    public static byte[] ipv6(Inet6Address src, Inet6Address dst, int nextHeader, byte[] payload) {
        if (payload.length > 0xffff) {
            throw new IllegalArgumentException("IPv6 payload too long: " + payload.length);
        }
        ByteBuffer b = ByteBuffer.allocate(40 + payload.length);
        b.putInt(0x6000_0000).putShort((short) payload.length).put((byte) nextHeader).put((byte) 64)
                .put(src.getAddress()).put(dst.getAddress()).put(payload);
        return b.array();
    }

    /** The Internet checksum (RFC 1071) of {@code data[off, off+len)}: the complemented folded sum. */
    public static int internetChecksum(byte[] data, int off, int len) {
        return Checksums.finish(Checksums.sum(data, off, len, 0));
    }

    private static ByteBuffer le(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    }
}
