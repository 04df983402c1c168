package dev.keel.esp.packet;

import dev.keel.core.packet.BigEndian;
import dev.keel.core.packet.Checksums;
import dev.keel.core.packet.IpPacketInfo;
import dev.keel.core.packet.PacketBuffer;
import dev.keel.core.proposal.Protocol;
import dev.keel.core.sa.IpsecMode;
import dev.keel.esp.sa.AhSuite;
import dev.keel.esp.sa.OutboundSa;
import java.util.Arrays;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Turns a plaintext IP packet into an AH packet in place (RFC 4302 §3.3), outer IP header
 * included: AH's ICV covers that header (§3.3.3), so unlike ESP the codec, not the socket, writes
 * it, and the raw AH socket sends it as it is ({@code IP_HDRINCL} / {@code IPV6_HDRINCL}).
 *
 * <p>Tunnel mode: {@code outer IP | AH | inner packet}, next header 4 or 41. Transport mode: the
 * inner packet's header is replaced by one from the SA's endpoints (as ESP's transport mode
 * does, RFC 4303 §3.1.1), {@code IP | AH | upper-layer payload}. The outer header carries no
 * options or extension headers. Mutable fields are zero while the ICV is computed (RFC 4302
 * Appendix A) and set afterwards: TTL / hop limit {@value #TTL}, and the IPv4 checksum. The ICV
 * field is padded to 32 bits (IPv4) or 64 bits (IPv6) with zeros (§2.6). One instance per
 * packet-owning thread; allocation-free.
 */
public final class AhEncapsulator {

    /** TTL / hop limit of the outer header. */
    static final int TTL = 64;

    private final EspCounters counters;
    private final IpPacketInfo info = new IpPacketInfo();
    /** IPv4 identification of the next outer header; covered by the ICV, so chosen here, never 0. */
    private int nextId = ThreadLocalRandom.current().nextInt(1, 0x10000);

    public AhEncapsulator(EspCounters counters) {
        this.counters = counters;
    }

    /** Protects the IP packet in {@code pkt} with the AH SA {@code sa}, from {@code local} to {@code peer} (4 or 16 bytes each). */
    public EncapOutcome encapsulate(OutboundSa sa, PacketBuffer pkt, byte[] local, byte[] peer) {
        if (!info.parse(pkt.data(), pkt.offset(), pkt.length())) {
            return count(EncapOutcome.INVALID_INNER_PACKET);
        }
        return encapsulate(sa, pkt, info, local, peer);
    }

    /** As above for a packet the caller already parsed into {@code parsed}. */
    public EncapOutcome encapsulate(OutboundSa sa, PacketBuffer pkt, IpPacketInfo parsed, byte[] local, byte[] peer) {
        return count(protect(sa, pkt, parsed, local, peer));
    }

    private EncapOutcome protect(OutboundSa sa, PacketBuffer pkt, IpPacketInfo in, byte[] local, byte[] peer) {
        if (sa.isClosed()) {
            return EncapOutcome.SA_DELETED;
        }
        if (sa.spec().protocol() != Protocol.AH || local.length != peer.length) {
            throw new IllegalArgumentException("not an AH SA, or endpoints of two families: " + sa);
        }
        int payload;
        int payloadLength;
        int nextHeader;
        if (sa.spec().mode() == IpsecMode.TUNNEL) {
            payload = pkt.offset();
            payloadLength = in.totalLength();
            nextHeader = in.isIpv6() ? IpPacketInfo.PROTO_IPV6 : IpPacketInfo.PROTO_IPV4;
        } else {
            payload = pkt.offset() + in.headerLength();
            payloadLength = in.totalLength() - in.headerLength();
            nextHeader = in.protocol();
        }
        boolean v6 = peer.length == 16;
        AhSuite suite = (AhSuite) sa.suite();
        int icvLength = suite.icvLength();
        int ahLength = AhMutableFields.ahLength(icvLength, v6);
        int hdr = v6 ? 40 : 20;
        int ip = payload - ahLength - hdr;
        int total = hdr + ahLength + payloadLength;
        if (ip < 0 || total > 0xffff + (v6 ? 40 : 0) || payload + payloadLength > pkt.data().length) {
            return EncapOutcome.BUFFER_TOO_SMALL;
        }
        long seq = EncapOutcome.sequenceFor(sa);
        if (seq == 0) {
            return EncapOutcome.refusedBy(sa);
        }
        byte[] buf = pkt.data();
        // Mutable fields stay zero until the ICV is computed (RFC 4302 §3.3.3.1).
        Arrays.fill(buf, ip, payload, (byte) 0);
        if (v6) {
            buf[ip] = 0x60;
            BigEndian.putU16(buf, ip + 4, ahLength + payloadLength);
            buf[ip + 6] = (byte) IpPacketInfo.PROTO_AH;
            System.arraycopy(local, 0, buf, ip + 8, 16);
            System.arraycopy(peer, 0, buf, ip + 24, 16);
        } else {
            buf[ip] = 0x45;
            BigEndian.putU16(buf, ip + 2, total);
            BigEndian.putU16(buf, ip + 4, nextId);
            nextId = nextId == 0xffff ? 1 : nextId + 1;
            buf[ip + 9] = (byte) IpPacketInfo.PROTO_AH;
            System.arraycopy(local, 0, buf, ip + 12, 4);
            System.arraycopy(peer, 0, buf, ip + 16, 4);
        }
        int ah = ip + hdr;
        buf[ah] = (byte) nextHeader;
        buf[ah + 1] = (byte) (ahLength / 4 - 2); // RFC 4302 §2.2: in 32-bit words, minus 2
        BigEndian.putInt(buf, ah + 4, sa.spi());
        BigEndian.putInt(buf, ah + 8, (int) seq);
        try {
            suite.sign(buf, ip, total, seq, sa.spec().esn(), ah + AhMutableFields.FIXED_HEADER);
        } catch (IllegalStateException e) {
            if (sa.isClosed()) {
                return EncapOutcome.SA_DELETED; // deleted (and its keys wiped) while this packet was in flight
            }
            throw e;
        }
        if (v6) {
            buf[ip + 7] = (byte) TTL;
        } else {
            buf[ip + 8] = (byte) TTL;
            BigEndian.putU16(buf, ip + 10, Checksums.ipv4Header(buf, ip, 20));
        }
        pkt.bounds(ip, total);
        sa.count(payloadLength);
        return EncapOutcome.PROTECTED;
    }

    private EncapOutcome count(EncapOutcome outcome) {
        counters.count(outcome);
        return outcome;
    }
}
