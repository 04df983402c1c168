package dev.keel.esp.tun;

import dev.keel.core.packet.BigEndian;
import dev.keel.core.packet.PacketBuffer;

/**
 * Software segmentation and coalescing for a TUN device opened with offloads
 * ({@link TunDevice#open(String, int, boolean)}): every packet crosses the descriptor after a
 * 10-byte {@code struct virtio_net_hdr} ({@code <linux/virtio_net.h>}: flags, gso_type, then
 * hdr_len, gso_size, csum_start, csum_offset as little-endian 16-bit fields on x86_64 and
 * aarch64, the legacy native-endian layout).
 *
 * <ul>
 *   <li>{@link Segmenter} (software GSO, the read side): a TCP super-packet from the kernel is cut
 *       at {@code gso_size} into MTU-sized segments with their own IPv4 id and total length
 *       (IPv6 payload length), TCP sequence number, flags (FIN and PSH only on the last, CWR only
 *       on the first, as Linux's {@code tcp_gso_segment}) and full checksums; a packet with a
 *       partial checksum ({@code VIRTIO_NET_HDR_F_NEEDS_CSUM}) gets it completed. Each segment is
 *       then encrypted like any packet.
 *   <li>{@link Coalescer} (software GRO, the write side): decrypted TCP segments of one flow that
 *       follow each other in one batch (same addresses and ports, next sequence number, same
 *       ACK number, window, flags and options, equal sizes but a shorter last one) are written
 *       as one super-packet with a GSO header and a partial checksum, the rules of Linux's
 *       {@code tcp_gro_receive}; everything else is written as it is.
 * </ul>
 *
 * One instance of each per queue, used by the queue's event loop only; nothing allocates per packet.
 */
public final class TunOffload {

    private TunOffload() {
    }

    static final int HDR = TunDevice.VNET_HDR_LEN;
    /** {@code VIRTIO_NET_HDR_F_NEEDS_CSUM}: the checksum at csum_start + csum_offset is partial. */
    static final int F_NEEDS_CSUM = 1;
    static final int GSO_NONE = 0;
    static final int GSO_TCPV4 = 1;
    static final int GSO_TCPV6 = 4;
    static final int GSO_ECN = 0x80;

    private static final int TCP = 6;
    private static final int TCP_FIN = 0x01;
    private static final int TCP_SYN = 0x02;
    private static final int TCP_RST = 0x04;
    private static final int TCP_PSH = 0x08;
    private static final int TCP_ACK = 0x10;
    private static final int TCP_URG = 0x20;
    private static final int TCP_CWR = 0x80;
    /** The most bytes one IP packet may hold (IPv4 total length; kept for IPv6 too). */
    private static final int MAX_IP = 65535;

    // ---- checksums -----------------------------------------------------------------------------

    /** The one's-complement sum of {@code b[off, off+len)} (RFC 1071), 8 bytes at a time, unfolded. */
    static long sum(byte[] b, int off, int len, long acc) {
        int i = off;
        int end = off + len;
        for (; i + 8 <= end; i += 8) {
            long w = BigEndian.getLong(b, i);
            acc += (w >>> 32) + (w & 0xffffffffL);
        }
        for (; i + 1 < end; i += 2) {
            acc += ((b[i] & 0xff) << 8) | (b[i + 1] & 0xff);
        }
        if (i < end) {
            acc += (b[i] & 0xff) << 8;
        }
        return acc;
    }

    /** Folds a sum to 16 bits (not complemented). */
    static int fold(long s) {
        while ((s >>> 16) != 0) {
            s = (s & 0xffff) + (s >>> 16);
        }
        return (int) s;
    }

    /** The TCP pseudo-header sum (RFC 9293 §3.1, RFC 8200 §8.1) of the IP packet at {@code p}. */
    private static long pseudo(byte[] b, int p, boolean v6, int tcpLen) {
        long s = v6 ? sum(b, p + 8, 32, 0) : sum(b, p + 12, 8, 0);
        return s + TCP + tcpLen;
    }

    private static int le16(byte[] b, int i) {
        return (b[i] & 0xff) | ((b[i + 1] & 0xff) << 8);
    }

    private static void putLe16(byte[] b, int i, int v) {
        b[i] = (byte) v;
        b[i + 1] = (byte) (v >>> 8);
    }

    // ---- read side: software GSO ---------------------------------------------------------------

    /** Takes the packets a {@link Segmenter} cuts out of one read. */
    public interface Sink {
        /** One IP packet in {@code packet}; the buffer is reused for the next. */
        void onPacket(PacketBuffer packet);
    }

    /** What the segmenter did, for counters. */
    public static final class SegmentCounters {
        /** Reads that held a TCP super-packet. */
        public long superPackets;
        /** Segments cut out of them. */
        public long segments;
        /** Packets whose partial checksum was completed. */
        public long checksumsCompleted;
        /** Reads dropped: a header the segmenter does not understand (bad lengths, unknown GSO type). */
        public long malformed;
    }

    /** Cuts what one read of an offload queue returned into IP packets. */
    public static final class Segmenter {
        private final PacketBuffer out;
        private final SegmentCounters counters;

        public Segmenter(int maxPacket, SegmentCounters counters) {
            this.out = new PacketBuffer(maxPacket);
            this.counters = counters;
        }

        /**
         * Hands the packet or the segments in {@code b[off, off+len)} (a virtio_net_hdr and a
         * packet) to {@code sink}.
         *
         * @return the number of packets handed on; 0 when the read was malformed (counted)
         */
        public int split(byte[] b, int off, int len, Sink sink) {
            if (len <= HDR) {
                counters.malformed++;
                return 0;
            }
            int flags = b[off] & 0xff;
            int gsoType = b[off + 1] & 0xff & ~GSO_ECN;
            int gsoSize = le16(b, off + 4);
            int csumStart = le16(b, off + 6);
            int csumOffset = le16(b, off + 8);
            int p = off + HDR;
            int plen = len - HDR;
            if (gsoType == GSO_NONE) {
                if ((flags & F_NEEDS_CSUM) != 0) {
                    if (csumStart + csumOffset + 2 > plen) {
                        counters.malformed++;
                        return 0;
                    }
                    // The field holds the pseudo-header sum: summing from csum_start completes it.
                    int at = p + csumStart + csumOffset;
                    int c = ~fold(sum(b, p + csumStart, plen - csumStart, 0)) & 0xffff;
                    BigEndian.putU16(b, at, c);
                    counters.checksumsCompleted++;
                }
                out.set(b, p, plen);
                sink.onPacket(out);
                return 1;
            }
            if (gsoType != GSO_TCPV4 && gsoType != GSO_TCPV6) {
                counters.malformed++;
                return 0;
            }
            boolean v6 = gsoType == GSO_TCPV6;
            int ipHdr;
            if (v6) {
                if (plen < 60 || (b[p] & 0xf0) != 0x60 || (b[p + 6] & 0xff) != TCP) {
                    counters.malformed++;
                    return 0;
                }
                ipHdr = 40;
            } else {
                ipHdr = (b[p] & 0x0f) * 4;
                if (plen < 40 || (b[p] & 0xf0) != 0x40 || ipHdr < 20 || (b[p + 9] & 0xff) != TCP) {
                    counters.malformed++;
                    return 0;
                }
            }
            int tcpHdr = ((b[p + ipHdr + 12] & 0xff) >>> 4) * 4;
            int hdrs = ipHdr + tcpHdr;
            if (tcpHdr < 20 || hdrs > plen || gsoSize == 0) {
                counters.malformed++;
                return 0;
            }
            counters.superPackets++;
            int tcp = ipHdr;
            int seq0 = BigEndian.getInt(b, p + tcp + 4);
            int flags0 = b[p + tcp + 13] & 0xff;
            int id0 = v6 ? 0 : BigEndian.getU16(b, p + 4);
            int n = 0;
            for (int pos = hdrs; pos < plen || n == 0; pos += gsoSize, n++) {
                int seg = Math.min(gsoSize, plen - pos);
                boolean last = pos + seg >= plen;
                out.reset();
                byte[] d = out.data();
                int o = out.offset();
                int total = hdrs + seg;
                System.arraycopy(b, p, d, o, hdrs);
                System.arraycopy(b, p + pos, d, o + hdrs, seg);
                if (v6) {
                    BigEndian.putU16(d, o + 4, total - 40);
                } else {
                    BigEndian.putU16(d, o + 2, total);
                    BigEndian.putU16(d, o + 4, id0 + n);
                    BigEndian.putU16(d, o + 10, 0);
                    BigEndian.putU16(d, o + 10, ~fold(sum(d, o, ipHdr, 0)) & 0xffff);
                }
                BigEndian.putInt(d, o + tcp + 4, seq0 + (pos - hdrs));
                int f = flags0;
                if (!last) {
                    f &= ~(TCP_FIN | TCP_PSH);
                }
                if (n > 0) {
                    f &= ~TCP_CWR;
                }
                d[o + tcp + 13] = (byte) f;
                BigEndian.putU16(d, o + tcp + 16, 0);
                long s = pseudo(d, o, v6, total - ipHdr);
                BigEndian.putU16(d, o + tcp + 16, ~fold(sum(d, o + tcp, total - ipHdr, s)) & 0xffff);
                out.bounds(o, total);
                sink.onPacket(out);
                if (last) {
                    n++;
                    break;
                }
            }
            counters.segments += n;
            return n;
        }
    }

    // ---- write side: software GRO --------------------------------------------------------------

    /** Where a {@link Coalescer} writes. */
    public interface Writer {
        /** Writes a plain IP packet (the device adds a zero virtio_net_hdr). */
        boolean writePlain(byte[] b, int off, int len);

        /** Writes {@code b[off, off+len)}: a virtio_net_hdr and a packet. */
        boolean writeRaw(byte[] b, int off, int len);
    }

    /** What the coalescer did, for counters. */
    public static final class CoalesceCounters {
        /** Super-packets written (each at least two segments). */
        public long superPackets;
        /** Segments that went into them. */
        public long segments;
        /** Packets written as they were. */
        public long plain;
    }

    /**
     * Collects the decrypted packets of one batch and writes consecutive TCP segments of a flow
     * as one GSO super-packet at {@link #flush}. Up to {@link #SLOTS} flows are open at a time.
     */
    public static final class Coalescer {
        /** Flows collected at once; the oldest is written when a ninth arrives. */
        static final int SLOTS = 8;

        private final Writer writer;
        private final CoalesceCounters counters;
        private final byte[][] bufs = new byte[SLOTS][];
        /** Bytes of the packet in the slot after the header; 0 = empty. */
        private final int[] lens = new int[SLOTS];
        private final int[] hdrsOf = new int[SLOTS];
        private final int[] ipHdrOf = new int[SLOTS];
        private final int[] mssOf = new int[SLOTS];
        private final int[] nextSeq = new int[SLOTS];
        private final int[] segs = new int[SLOTS];
        private final boolean[] closed = new boolean[SLOTS];
        private int victim;

        public Coalescer(Writer writer, CoalesceCounters counters) {
            this.writer = writer;
            this.counters = counters;
            for (int i = 0; i < SLOTS; i++) {
                bufs[i] = new byte[HDR + MAX_IP];
            }
        }

        /** Takes one decrypted IP packet; it may be written now or at {@link #flush}. */
        public boolean add(byte[] b, int off, int len) {
            int ipHdr = tcpCandidate(b, off, len);
            if (ipHdr < 0) {
                return plain(b, off, len);
            }
            boolean v6 = ipHdr == 40;
            int tcp = off + ipHdr;
            int hdrs = ipHdr + ((b[tcp + 12] & 0xff) >>> 4) * 4;
            int payload = len - hdrs;
            int flags = b[tcp + 13] & 0xff;
            int slot = find(b, off, v6);
            boolean mergeable = payload > 0 && (flags & (TCP_SYN | TCP_FIN | TCP_RST | TCP_URG | TCP_CWR)) == 0
                    && (flags & TCP_ACK) != 0 && checksumOk(b, off, len, ipHdr, v6);
            if (!mergeable) {
                if (slot >= 0) {
                    write(slot); // keep the flow's order
                }
                return plain(b, off, len);
            }
            if (slot >= 0) {
                if (canAppend(slot, b, off, len, ipHdr, hdrs, payload)) {
                    byte[] d = bufs[slot];
                    System.arraycopy(b, off + hdrs, d, HDR + lens[slot], payload);
                    lens[slot] += payload;
                    nextSeq[slot] += payload;
                    segs[slot]++;
                    if ((flags & TCP_PSH) != 0) {
                        d[HDR + ipHdr + 13] |= TCP_PSH;
                        closed[slot] = true;
                    }
                    if (payload < mssOf[slot]) {
                        closed[slot] = true;
                    }
                    return true;
                }
                write(slot);
            } else {
                slot = freeSlot();
            }
            byte[] d = bufs[slot];
            System.arraycopy(b, off, d, HDR, len);
            lens[slot] = len;
            hdrsOf[slot] = hdrs;
            ipHdrOf[slot] = ipHdr;
            mssOf[slot] = payload;
            nextSeq[slot] = BigEndian.getInt(b, tcp + 4) + payload;
            segs[slot] = 1;
            closed[slot] = (flags & TCP_PSH) != 0;
            return true;
        }

        /** Writes everything collected. */
        public void flush() {
            for (int i = 0; i < SLOTS; i++) {
                if (lens[i] != 0) {
                    write(i);
                }
            }
        }

        private boolean plain(byte[] b, int off, int len) {
            counters.plain++;
            return writer.writePlain(b, off, len);
        }

        /** The IP header length of a TCP packet GRO may take (no IPv4 options or fragments, no IPv6 extension headers), else -1. */
        private static int tcpCandidate(byte[] b, int off, int len) {
            if (len < 40) {
                return -1;
            }
            int ver = (b[off] & 0xf0) >>> 4;
            int ipHdr;
            if (ver == 4) {
                if ((b[off] & 0x0f) != 5 || (b[off + 9] & 0xff) != TCP || BigEndian.getU16(b, off + 2) != len
                        || (BigEndian.getU16(b, off + 6) & 0x3fff) != 0) { // MF or a fragment offset
                    return -1;
                }
                ipHdr = 20;
            } else if (ver == 6) {
                if (len < 60 || (b[off + 6] & 0xff) != TCP || BigEndian.getU16(b, off + 4) != len - 40) {
                    return -1;
                }
                ipHdr = 40;
            } else {
                return -1;
            }
            int tcpHdr = ((b[off + ipHdr + 12] & 0xff) >>> 4) * 4;
            return tcpHdr >= 20 && ipHdr + tcpHdr <= len ? ipHdr : -1;
        }

        /**
         * Whether the TCP checksum verifies: a segment is only merged when it does (Linux's GRO
         * validates too), so a super-packet written with a partial checksum never launders a bad one.
         */
        private static boolean checksumOk(byte[] b, int off, int len, int ipHdr, boolean v6) {
            long s = pseudo(b, off, v6, len - ipHdr);
            return fold(sum(b, off + ipHdr, len - ipHdr, s)) == 0xffff;
        }

        /** The slot holding this packet's flow (addresses and ports), or -1. */
        private int find(byte[] b, int off, boolean v6) {
            int addrOff = v6 ? 8 : 12;
            int addrLen = v6 ? 32 : 8;
            int ipHdr = v6 ? 40 : 20;
            for (int i = 0; i < SLOTS; i++) {
                if (lens[i] == 0 || ipHdrOf[i] != ipHdr) {
                    continue;
                }
                byte[] d = bufs[i];
                if (java.util.Arrays.equals(d, HDR + addrOff, HDR + addrOff + addrLen, b, off + addrOff, off + addrOff + addrLen)
                        && java.util.Arrays.equals(d, HDR + ipHdr, HDR + ipHdr + 4, b, off + ipHdr, off + ipHdr + 4)) {
                    return i;
                }
            }
            return -1;
        }

        /** Linux {@code tcp_gro_receive}'s conditions for appending a segment to a flow's super-packet. */
        private boolean canAppend(int slot, byte[] b, int off, int len, int ipHdr, int hdrs, int payload) {
            if (closed[slot] || hdrsOf[slot] != hdrs || payload > mssOf[slot] || lens[slot] + payload > MAX_IP
                    || BigEndian.getInt(b, off + ipHdr + 4) != nextSeq[slot]) {
                return false;
            }
            byte[] d = bufs[slot];
            int h = HDR;
            if (ipHdr == 20) {
                // Same TOS, DF bit and TTL (the id may step).
                if (d[h + 1] != b[off + 1] || (d[h + 6] & 0x40) != (b[off + 6] & 0x40) || d[h + 8] != b[off + 8]) {
                    return false;
                }
            } else if (BigEndian.getInt(d, h) != BigEndian.getInt(b, off) || d[h + 7] != b[off + 7]) {
                return false; // traffic class, flow label, hop limit
            }
            int t = h + ipHdr;
            int bt = off + ipHdr;
            // ACK number; data offset, flags but PSH, window; options byte for byte.
            if (BigEndian.getInt(d, t + 8) != BigEndian.getInt(b, bt + 8) || d[t + 12] != b[bt + 12]
                    || ((d[t + 13] ^ b[bt + 13]) & ~TCP_PSH) != 0
                    || BigEndian.getU16(d, t + 14) != BigEndian.getU16(b, bt + 14)) {
                return false;
            }
            return java.util.Arrays.equals(d, t + 20, h + hdrs, b, bt + 20, off + hdrs);
        }

        private int freeSlot() {
            for (int i = 0; i < SLOTS; i++) {
                if (lens[i] == 0) {
                    return i;
                }
            }
            int v = victim;
            victim = (victim + 1) % SLOTS;
            write(v);
            return v;
        }

        /** Writes slot {@code i} (plain when it holds one segment) and empties it. */
        private void write(int i) {
            byte[] d = bufs[i];
            int len = lens[i];
            lens[i] = 0;
            if (segs[i] == 1) {
                counters.plain++;
                writer.writePlain(d, HDR, len);
                return;
            }
            int ipHdr = ipHdrOf[i];
            boolean v6 = ipHdr == 40;
            int p = HDR;
            if (v6) {
                BigEndian.putU16(d, p + 4, len - 40);
            } else {
                BigEndian.putU16(d, p + 2, len);
                BigEndian.putU16(d, p + 10, 0);
                BigEndian.putU16(d, p + 10, ~fold(sum(d, p, 20, 0)) & 0xffff);
            }
            // CHECKSUM_PARTIAL: the TCP field holds the folded pseudo-header sum, not complemented.
            BigEndian.putU16(d, p + ipHdr + 16, fold(pseudo(d, p, v6, len - ipHdr)));
            d[0] = (byte) F_NEEDS_CSUM;
            d[1] = (byte) (v6 ? GSO_TCPV6 : GSO_TCPV4);
            putLe16(d, 2, hdrsOf[i]);
            putLe16(d, 4, mssOf[i]);
            putLe16(d, 6, ipHdr);
            putLe16(d, 8, 16);
            counters.superPackets++;
            counters.segments += segs[i];
            writer.writeRaw(d, 0, HDR + len);
        }
    }
}
