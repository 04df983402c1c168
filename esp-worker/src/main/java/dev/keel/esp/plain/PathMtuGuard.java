package dev.keel.esp.plain;

import dev.keel.core.packet.BigEndian;
import dev.keel.core.packet.Checksums;
import dev.keel.core.packet.PacketBuffer;
import java.util.concurrent.atomic.LongAdder;

/**
 * What the plaintext side does with an inner packet longer than the tunnel carries
 * (docs/tun.md, "MTU and packets too big"): IPv6, or IPv4 with DF set, is dropped and answered
 * with ICMPv6 Packet Too Big / ICMP fragmentation needed carrying the inner MTU (RFC 4301 §8.2,
 * RFC 1191, RFC 8201), rate-limited; IPv4 with DF clear is fragmented before encryption (RFC 791
 * §3.2, RFC 4459 §3). One guard per event loop (it is not thread-safe); counters are shared.
 * Allocates nothing per packet.
 */
public final class PathMtuGuard {

    /** Counters shared by the guards of one port. */
    public static final class Counters {
        /** ICMP / ICMPv6 too-big messages written back to the sender. */
        public final LongAdder icmpSent = new LongAdder();
        /** Too-big packets dropped without an ICMP because of the rate limit. */
        public final LongAdder icmpRateLimited = new LongAdder();
        /** Too-big packets dropped without an ICMP because none may be sent (an ICMP error, a non-first fragment, a multicast source...). */
        public final LongAdder droppedSilently = new LongAdder();
        /** IPv4 packets with DF clear split into fragments. */
        public final LongAdder fragmented = new LongAdder();
        /** Fragments produced. */
        public final LongAdder fragments = new LongAdder();
    }

    /** Where the guard's output goes: fragments to the tunnel, ICMP errors back to the sender. */
    public interface Output {
        /** A fragment to forward into the tunnel (the buffer is reused afterwards). */
        void forward(PacketBuffer fragment);

        /** An ICMP error for the sender of the inner packet, to write out of the plaintext side. */
        void reply(byte[] packet, int off, int len);
    }

    /** Largest ICMPv4 error datagram (RFC 1812 §4.3.2.3). */
    static final int ICMP4_MAX = 576;
    /** Largest ICMPv6 error packet: the IPv6 minimum MTU (RFC 4443 §2.4 (c)). */
    static final int ICMP6_MAX = 1280;

    private final Counters counters;
    private final Output output;
    private final byte[] sourceV4;
    private final byte[] sourceV6;
    private final long nanosPerToken;
    private final long burstNanos;
    private long bucketTime;

    private final PacketBuffer fragment;
    private final byte[] icmp = new byte[ICMP6_MAX];

    /**
     * @param sourceV4 the address ICMPv4 errors come from (the gateway's inner address), or null
     *     to answer from the packet's destination
     * @param sourceV6 likewise for ICMPv6
     * @param perSecond ICMP errors per second this guard sends at most (RFC 4443 §2.4 (f)), burst of 10
     */
    public PathMtuGuard(Counters counters, Output output, byte[] sourceV4, byte[] sourceV6, int perSecond, int maxPacket) {
        this.counters = counters;
        this.output = output;
        this.sourceV4 = sourceV4 == null ? null : sourceV4.clone();
        this.sourceV6 = sourceV6 == null ? null : sourceV6.clone();
        this.nanosPerToken = 1_000_000_000L / Math.max(1, perSecond);
        this.burstNanos = nanosPerToken * 10;
        this.bucketTime = System.nanoTime() - burstNanos;
        this.fragment = new PacketBuffer(maxPacket);
    }

    /**
     * Handles the IP packet in {@code pkt}, longer than {@code mtu}: fragments to
     * {@link Output#forward}, or an ICMP error to {@link Output#reply}, or nothing.
     */
    public void tooBig(PacketBuffer pkt, int mtu) {
        byte[] b = pkt.data();
        int off = pkt.offset();
        int len = pkt.length();
        int version = len > 0 ? (b[off] & 0xff) >>> 4 : 0;
        if (version == 4 && len >= 20) {
            int hl = (b[off] & 0x0f) * 4;
            boolean df = (b[off + 6] & 0x40) != 0;
            if (hl < 20 || hl > len) {
                counters.droppedSilently.increment();
            } else if (df) {
                icmp4(b, off, len, hl, mtu);
            } else {
                fragment4(b, off, len, hl, mtu);
            }
        } else if (version == 6 && len >= 40) {
            icmp6(b, off, len, mtu);
        } else {
            counters.droppedSilently.increment();
        }
    }

    private boolean takeToken() {
        long now = System.nanoTime();
        if (now - bucketTime > burstNanos) {
            bucketTime = now - burstNanos;
        }
        if (now - bucketTime < nanosPerToken) {
            counters.icmpRateLimited.increment();
            return false;
        }
        bucketTime += nanosPerToken;
        return true;
    }

    /** ICMP type 3 code 4 with the next-hop MTU (RFC 1191 §4), quoting as much as fits in 576 bytes. */
    private void icmp4(byte[] b, int off, int len, int hl, int mtu) {
        int protocol = b[off + 9] & 0xff;
        int fragOffset = BigEndian.getU16(b, off + 6) & 0x1fff;
        int src0 = b[off + 12] & 0xff;
        // RFC 1122 §3.2.2: never about an ICMP error, a non-first fragment, or a multicast/broadcast/zero source.
        if (fragOffset != 0 || src0 >= 224 || src0 == 0
                || protocol == 1 && len > hl && isIcmp4Error(b[off + hl] & 0xff)) {
            counters.droppedSilently.increment();
            return;
        }
        if (!takeToken()) {
            return;
        }
        int quoted = Math.min(len, ICMP4_MAX - 28);
        byte[] o = icmp;
        java.util.Arrays.fill(o, 0, 28, (byte) 0);
        o[0] = 0x45;
        BigEndian.putU16(o, 2, 28 + quoted);
        o[8] = 64; // TTL
        o[9] = 1;
        if (sourceV4 != null) {
            System.arraycopy(sourceV4, 0, o, 12, 4);
        } else {
            System.arraycopy(b, off + 16, o, 12, 4);
        }
        System.arraycopy(b, off + 12, o, 16, 4);
        BigEndian.putU16(o, 10, Checksums.ipv4Header(o, 0, 20));
        o[20] = 3;
        o[21] = 4;
        BigEndian.putU16(o, 26, mtu);
        System.arraycopy(b, off, o, 28, quoted);
        BigEndian.putU16(o, 22, Checksums.finish(Checksums.sum(o, 20, 8 + quoted, 0)));
        counters.icmpSent.increment();
        output.reply(o, 0, 28 + quoted);
    }

    private static boolean isIcmp4Error(int type) {
        return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
    }

    /** ICMPv6 Packet Too Big (RFC 4443 §3.2), quoting as much as fits in 1280 bytes. */
    private void icmp6(byte[] b, int off, int len, int mtu) {
        int next = b[off + 6] & 0xff;
        boolean multicastSource = (b[off + 8] & 0xff) == 0xff;
        boolean unspecified = true;
        for (int i = 0; i < 16; i++) {
            if (b[off + 8 + i] != 0) {
                unspecified = false;
                break;
            }
        }
        // RFC 4443 §2.4 (e): no error about an ICMPv6 error (types 0-127) or from an unspecified / multicast source.
        // (Packet Too Big is the one error a multicast destination still gets, §2.4 (e.3).)
        if (multicastSource || unspecified || next == 58 && len > 40 && (b[off + 40] & 0x80) == 0) {
            counters.droppedSilently.increment();
            return;
        }
        if (!takeToken()) {
            return;
        }
        int quoted = Math.min(len, ICMP6_MAX - 48);
        byte[] o = icmp;
        java.util.Arrays.fill(o, 0, 48, (byte) 0);
        o[0] = 0x60;
        BigEndian.putU16(o, 4, 8 + quoted);
        o[6] = 58;
        o[7] = 64; // hop limit
        if (sourceV6 != null) {
            System.arraycopy(sourceV6, 0, o, 8, 16);
        } else {
            System.arraycopy(b, off + 24, o, 8, 16);
        }
        System.arraycopy(b, off + 8, o, 24, 16);
        o[40] = 2;
        o[41] = 0;
        BigEndian.putInt(o, 44, mtu);
        System.arraycopy(b, off, o, 48, quoted);
        BigEndian.putU16(o, 42, Checksums.transport(o, 8, o, 24, 16, 58, o, 40, 8 + quoted));
        counters.icmpSent.increment();
        output.reply(o, 0, 48 + quoted);
    }

    /**
     * Splits an IPv4 packet with DF clear into fragments of at most {@code mtu} bytes (RFC 791
     * §3.2): the payload cut at multiples of 8; options with the copy flag repeated in every
     * fragment, the others only in the first.
     */
    private void fragment4(byte[] b, int off, int len, int hl, int mtu) {
        int total = BigEndian.getU16(b, off + 2);
        if (total < hl || total > len) {
            counters.droppedSilently.increment();
            return;
        }
        int flagsOffset = BigEndian.getU16(b, off + 6);
        boolean moreAfter = (flagsOffset & 0x2000) != 0;
        int baseOffset = flagsOffset & 0x1fff;
        // Header of the later fragments: the fixed 20 bytes plus the copied options, padded to 4.
        int laterHl = 20 + copiedOptionsLength(b, off, hl);
        int firstChunk = (mtu - hl) & ~7;
        int laterChunk = (mtu - laterHl) & ~7;
        if (firstChunk <= 0 || laterChunk <= 0) {
            counters.droppedSilently.increment();
            return;
        }
        counters.fragmented.increment();
        int payload = total - hl;
        int done = 0;
        boolean first = true;
        while (done < payload) {
            int fhl = first ? hl : laterHl;
            int chunk = Math.min(first ? firstChunk : laterChunk, payload - done);
            boolean last = done + chunk == payload;
            PacketBuffer f = fragment;
            f.reset();
            byte[] d = f.data();
            int o = f.offset();
            if (first) {
                System.arraycopy(b, off, d, o, hl);
            } else {
                System.arraycopy(b, off, d, o, 20);
                writeCopiedOptions(b, off, hl, d, o + 20, laterHl - 20);
                d[o] = (byte) (0x40 | (fhl / 4));
            }
            BigEndian.putU16(d, o + 2, fhl + chunk);
            int fo = baseOffset + done / 8;
            BigEndian.putU16(d, o + 6, (last && !moreAfter ? 0 : 0x2000) | fo);
            d[o + 10] = 0;
            d[o + 11] = 0;
            BigEndian.putU16(d, o + 10, Checksums.ipv4Header(d, o, fhl));
            System.arraycopy(b, off + hl + done, d, o + fhl, chunk);
            f.bounds(o, fhl + chunk);
            counters.fragments.increment();
            output.forward(f);
            done += chunk;
            first = false;
        }
    }

    /** Bytes of the options with the copied flag (RFC 791 §3.1), rounded up to 4. */
    private static int copiedOptionsLength(byte[] b, int off, int hl) {
        int n = 0;
        int i = off + 20;
        int end = off + hl;
        while (i < end) {
            int type = b[i] & 0xff;
            if (type == 0) {
                break;
            }
            if (type == 1) {
                i++;
                continue;
            }
            int olen = i + 1 < end ? b[i + 1] & 0xff : 0;
            if (olen < 2 || i + olen > end) {
                break;
            }
            if ((type & 0x80) != 0) {
                n += olen;
            }
            i += olen;
        }
        return (n + 3) & ~3;
    }

    private static void writeCopiedOptions(byte[] b, int off, int hl, byte[] d, int at, int room) {
        int w = at;
        int i = off + 20;
        int end = off + hl;
        while (i < end) {
            int type = b[i] & 0xff;
            if (type == 0) {
                break;
            }
            if (type == 1) {
                i++;
                continue;
            }
            int olen = i + 1 < end ? b[i + 1] & 0xff : 0;
            if (olen < 2 || i + olen > end) {
                break;
            }
            if ((type & 0x80) != 0) {
                System.arraycopy(b, i, d, w, olen);
                w += olen;
            }
            i += olen;
        }
        while (w < at + room) {
            d[w++] = 0; // end of option list
        }
    }
}
