package dev.keel.esp.packet;

import dev.keel.core.packet.BigEndian;
import dev.keel.core.packet.Checksums;
import dev.keel.core.packet.IpPacketInfo;
import dev.keel.core.packet.PacketBuffer;
import dev.keel.core.proposal.Protocol;
import dev.keel.core.sa.IpsecMode;
import dev.keel.esp.sa.AhSuite;
import dev.keel.esp.sa.InboundSa;
import dev.keel.esp.sa.InboundSaTable;
import dev.keel.esp.sa.ReplayWindow;
import java.util.Arrays;

/**
 * Checks an inbound AH packet and leaves the inner packet in the buffer (RFC 4302 §3.4): outer
 * header and AH parsed, SPI lookup (an ESP SA's SPI is unknown here), replay check, ICV over the
 * packet with mutable fields zeroed ({@link AhMutableFields}) and the ESN high bits, the window
 * updated only after the ICV verified, then the inner packet against the SA's selectors. The
 * inbound SA table, the replay window and the drop counters are ESP's: one SA table by SPI, one
 * {@link DecapOutcome} per packet. Never throws on hostile input. One instance per
 * packet-owning thread; allocation-free.
 *
 * <p>The packet starts with the outer IP header. The IPv6 raw socket delivers no IP header, so
 * the caller rebuilds the base header from the addresses and length first; extension headers the
 * peer put in front of AH are then missing and the ICV fails (Keel sends none).
 */
public final class AhDecapsulator {

    private final InboundSaTable table;
    private final EspCounters counters;
    private final IpPacketInfo info = new IpPacketInfo();
    private final byte[] receivedIcv = new byte[64];
    private InboundSa heldSa;
    private long heldSequence;
    private int outlet;
    private int lastSpi;

    public AhDecapsulator(InboundSaTable table, EspCounters counters) {
        this.table = table;
        this.counters = counters;
    }

    /** As {@link EspDecapsulator#decapsulate}: DELIVERED or HELD leave the inner packet in {@code pkt}. */
    public DecapOutcome decapsulate(PacketBuffer pkt) {
        DecapOutcome outcome;
        try {
            outcome = open(pkt);
        } catch (RuntimeException e) {
            outcome = DecapOutcome.MALFORMED; // a bug, not an input: drop and keep serving
        }
        counters.count(outcome);
        return outcome;
    }

    /** The outlet of the SA of the last DELIVERED or HELD packet. */
    public int outlet() {
        return outlet;
    }

    /** The SA of the last HELD packet. */
    public InboundSa heldSa() {
        return heldSa;
    }

    /** The sequence number (ESN inferred) of the last HELD packet. */
    public long heldSequence() {
        return heldSequence;
    }

    /** The SPI of the last packet that got as far as its AH header. */
    public int lastSpi() {
        return lastSpi;
    }

    private DecapOutcome open(PacketBuffer pkt) {
        byte[] buf = pkt.data();
        int ip = pkt.offset();
        int len = pkt.length();
        if (len < 20) {
            return DecapOutcome.TRUNCATED;
        }
        int version = (buf[ip] & 0xff) >> 4;
        int total;
        int hdr;
        if (version == 4) {
            hdr = (buf[ip] & 0x0f) * 4;
            total = BigEndian.getU16(buf, ip + 2);
            if (hdr < 20 || total < hdr || total > len) {
                return total > len ? DecapOutcome.TRUNCATED : DecapOutcome.MALFORMED;
            }
            if (buf[ip + 9] != IpPacketInfo.PROTO_AH || (BigEndian.getU16(buf, ip + 6) & 0x3fff) != 0) {
                return DecapOutcome.MALFORMED; // not AH, or a fragment (reassembly comes first, RFC 4302 §3.4.1)
            }
        } else if (version == 6) {
            if (len < 40) {
                return DecapOutcome.TRUNCATED;
            }
            total = 40 + BigEndian.getU16(buf, ip + 4);
            if (total > len) {
                return DecapOutcome.TRUNCATED;
            }
            hdr = -1; // found while zeroing the mutable fields
        } else {
            return DecapOutcome.MALFORMED;
        }
        int end = ip + total;
        // Keep what transport mode rebuilds from before the mutable fields are zeroed.
        int ttl = version == 4 ? buf[ip + 8] & 0xff : buf[ip + 7] & 0xff;
        int ah;
        if (version == 4) {
            ah = ip + hdr;
            if (!AhMutableFields.zeroIpv4(buf, ip, hdr)) {
                return DecapOutcome.MALFORMED;
            }
        } else {
            ah = AhMutableFields.zeroIpv6(buf, ip, end);
            if (ah < 0) {
                return DecapOutcome.MALFORMED;
            }
            hdr = ah - ip;
        }
        if (ah + AhMutableFields.FIXED_HEADER > end) {
            return DecapOutcome.TRUNCATED;
        }
        int ahLength = ((buf[ah + 1] & 0xff) + 2) * 4;
        int nextHeader = buf[ah] & 0xff;
        lastSpi = BigEndian.getInt(buf, ah + 4);
        InboundSa sa = table.lookup(lastSpi);
        if (sa == null || sa.isClosed() || sa.spec().protocol() != Protocol.AH) {
            return DecapOutcome.UNKNOWN_SPI; // RFC 4301 §4.1: an SA is found by SPI and protocol
        }
        if (sa.isHardExpired()) {
            sa.countDrop();
            return DecapOutcome.SA_EXPIRED;
        }
        AhSuite suite = (AhSuite) sa.suite();
        int icvLength = suite.icvLength();
        // RFC 4302 §2.6: the ICV field is padded to 32 bits (IPv4) or 64 bits (IPv6); take either, as Linux does.
        if (ahLength != AhMutableFields.ahLength(icvLength, false) && ahLength != AhMutableFields.ahLength(icvLength, true)) {
            return DecapOutcome.MALFORMED;
        }
        if (ah + ahLength > end) {
            return DecapOutcome.TRUNCATED;
        }
        boolean esn = sa.spec().esn();
        int seqLow = BigEndian.getInt(buf, ah + 8);
        ReplayWindow window = sa.replayWindow();
        long seq;
        if (window == null) {
            seq = seqLow & 0xffffffffL;
        } else {
            seq = esn ? window.inferEsn(seqLow) : seqLow & 0xffffffffL;
            if (!window.check(seq)) {
                return DecapOutcome.REPLAYED;
            }
        }
        int icv = ah + AhMutableFields.FIXED_HEADER;
        System.arraycopy(buf, icv, receivedIcv, 0, icvLength);
        Arrays.fill(buf, icv, ah + ahLength, (byte) 0);
        if (!suite.verify(buf, ip, total, seq, esn, receivedIcv, 0)) {
            return DecapOutcome.ICV_FAILURE;
        }
        boolean held = false;
        if (window != null && !window.accept(seq)) {
            if (!window.aboveLimit(seq)) {
                return DecapOutcome.REPLAYED;
            }
            held = true;
        }
        int payload = ah + ahLength;
        int payloadLength = end - payload;
        sa.count(payloadLength);
        DecapOutcome outcome = sa.spec().mode() == IpsecMode.TUNNEL
                ? tunnel(pkt, payload, payloadLength, nextHeader)
                : transport(pkt, ip, version == 6, ttl, payload, payloadLength, nextHeader);
        if (outcome != DecapOutcome.DELIVERED) {
            return outcome;
        }
        if (!sa.policy().permits(buf, info)) {
            return DecapOutcome.POLICY_MISMATCH;
        }
        outlet = sa.outlet();
        if (held) {
            heldSa = sa;
            heldSequence = seq;
            return DecapOutcome.HELD;
        }
        return DecapOutcome.DELIVERED;
    }

    private DecapOutcome tunnel(PacketBuffer pkt, int payload, int payloadLength, int nextHeader) {
        if (nextHeader != IpPacketInfo.PROTO_IPV4 && nextHeader != IpPacketInfo.PROTO_IPV6) {
            return DecapOutcome.BAD_NEXT_HEADER;
        }
        if (!info.parse(pkt.data(), payload, payloadLength)
                || info.isIpv6() != (nextHeader == IpPacketInfo.PROTO_IPV6)
                || info.totalLength() != payloadLength) {
            return DecapOutcome.BAD_NEXT_HEADER;
        }
        pkt.bounds(payload, payloadLength);
        return DecapOutcome.DELIVERED;
    }

    /**
     * Transport mode: the outer header's addresses and TTL over the payload, AH removed. The
     * options or extension headers in front of AH are not kept (the outer header of
     * {@link AhEncapsulator} has none).
     */
    private DecapOutcome transport(PacketBuffer pkt, int ip, boolean v6, int ttl, int payload, int payloadLength,
            int nextHeader) {
        if (nextHeader == IpPacketInfo.PROTO_IPV4 || nextHeader == IpPacketInfo.PROTO_IPV6) {
            return DecapOutcome.BAD_NEXT_HEADER;
        }
        byte[] buf = pkt.data();
        int hdr = v6 ? 40 : 20;
        int out = payload - hdr;
        // The addresses move from the outer header to the rebuilt one; they may overlap, so copy first.
        int addrLen = v6 ? 16 : 4;
        byte[] addresses = receivedIcv; // free again: the ICV verified
        System.arraycopy(buf, ip + (v6 ? 8 : 12), addresses, 0, 2 * addrLen);
        if (v6) {
            Arrays.fill(buf, out, out + 8, (byte) 0);
            buf[out] = 0x60;
            BigEndian.putU16(buf, out + 4, payloadLength);
            buf[out + 6] = (byte) nextHeader;
            buf[out + 7] = (byte) ttl;
            System.arraycopy(addresses, 0, buf, out + 8, 32);
        } else {
            if (hdr + payloadLength > 0xffff) {
                return DecapOutcome.BUFFER_TOO_SMALL;
            }
            Arrays.fill(buf, out, out + 20, (byte) 0);
            buf[out] = 0x45;
            BigEndian.putU16(buf, out + 2, hdr + payloadLength);
            buf[out + 8] = (byte) ttl;
            buf[out + 9] = (byte) nextHeader;
            System.arraycopy(addresses, 0, buf, out + 12, 8);
            BigEndian.putU16(buf, out + 10, Checksums.ipv4Header(buf, out, 20));
        }
        pkt.bounds(out, hdr + payloadLength);
        if (!info.parse(buf, out, hdr + payloadLength)) {
            return DecapOutcome.BAD_NEXT_HEADER;
        }
        return DecapOutcome.DELIVERED;
    }
}
