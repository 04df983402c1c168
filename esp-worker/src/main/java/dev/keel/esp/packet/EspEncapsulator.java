package dev.keel.esp.packet;

import dev.keel.core.packet.BigEndian;
import dev.keel.core.packet.IpPacketInfo;
import dev.keel.core.packet.PacketBuffer;
import dev.keel.core.proposal.Protocol;
import dev.keel.core.sa.IpsecMode;
import dev.keel.esp.sa.EspCipherSuite;
import dev.keel.esp.sa.OutboundSa;
import java.util.Arrays;

/**
 * Turns a plaintext IP packet into an ESP packet in place (RFC 4303 §3.3): the ESP header and
 * IV go into the headroom, padding, trailer and ICV into the tailroom. One instance per
 * packet-owning thread; allocation-free.
 *
 * <p>The result is the ESP packet alone ({@code SPI .. ICV}): the outer IP header, and the UDP
 * header for NAT traversal, belong to the socket or framing layer. In transport mode the
 * original IP header is removed; its addresses are the SA's endpoints, which the outer header
 * carries (RFC 4303 §3.1.1).
 */
public final class EspEncapsulator {

    private final EspCounters counters;
    private final IpPacketInfo info = new IpPacketInfo();

    public EspEncapsulator(EspCounters counters) {
        this.counters = counters;
    }

    /** Protects the IP packet held in {@code pkt} with {@code sa}. */
    public EncapOutcome encapsulate(OutboundSa sa, PacketBuffer pkt) {
        if (!info.parse(pkt.data(), pkt.offset(), pkt.length())) {
            return count(EncapOutcome.INVALID_INNER_PACKET);
        }
        return count(protect(sa, pkt, info));
    }

    /**
     * As {@link #encapsulate(OutboundSa, PacketBuffer)} for a packet the caller already parsed
     * (to route it) into {@code parsed}, so the header is not read twice on the packet path.
     */
    public EncapOutcome encapsulate(OutboundSa sa, PacketBuffer pkt, IpPacketInfo parsed) {
        return count(protect(sa, pkt, parsed));
    }

    /**
     * Replaces the buffer's content with a dummy packet (next header 59, RFC 4303 §2.6) whose
     * encrypted payload is {@code payloadLength} bytes, for traffic flow confidentiality.
     */
    public EncapOutcome encapsulateDummy(OutboundSa sa, PacketBuffer pkt, int payloadLength) {
        pkt.reset();
        byte[] buf = pkt.data();
        if (payloadLength < 0 || pkt.tailroom() < payloadLength) {
            return count(EncapOutcome.BUFFER_TOO_SMALL);
        }
        Arrays.fill(buf, pkt.offset(), pkt.offset() + payloadLength, (byte) 0);
        return count(seal(sa, pkt, pkt.offset(), payloadLength, payloadLength, IpPacketInfo.PROTO_NO_NEXT_HEADER));
    }

    private EncapOutcome protect(OutboundSa sa, PacketBuffer pkt, IpPacketInfo info) {
        byte[] buf = pkt.data();
        if (sa.spec().mode() == IpsecMode.TUNNEL) {
            int nextHeader = info.isIpv6() ? IpPacketInfo.PROTO_IPV6 : IpPacketInfo.PROTO_IPV4;
            int len = info.totalLength();
            // RFC 4303 §2.7: TFC padding after the inner packet; its IP header says where it ends.
            int padded = Math.max(len, Math.min(sa.spec().tfcPadTo(), 0xffff));
            if (padded > len) {
                if (pkt.end() - len + padded > buf.length) {
                    return EncapOutcome.BUFFER_TOO_SMALL;
                }
                Arrays.fill(buf, pkt.offset() + len, pkt.offset() + padded, (byte) 0);
            }
            return seal(sa, pkt, pkt.offset(), len, padded, nextHeader);
        }
        int payload = pkt.offset() + info.headerLength();
        int payloadLength = info.totalLength() - info.headerLength();
        return seal(sa, pkt, payload, payloadLength, payloadLength, info.protocol());
    }

    /**
     * Seals {@code buf[payload, payload+payloadLength)}, of which the first {@code dataLength}
     * bytes are the packet (the rest TFC padding), with {@code nextHeader} in the trailer.
     */
    private EncapOutcome seal(OutboundSa sa, PacketBuffer pkt, int payload, int dataLength, int payloadLength,
            int nextHeader) {
        if (sa.isClosed()) {
            return EncapOutcome.SA_DELETED;
        }
        if (sa.spec().protocol() != Protocol.ESP) {
            throw new IllegalArgumentException("not an ESP SA: " + sa); // the forwarder sends AH SAs to AhEncapsulator
        }
        EspCipherSuite suite = sa.suite();
        byte[] buf = pkt.data();
        int align = suite.alignment();
        int padLength = (align - (payloadLength + 2) % align) % align;
        int ptLen = payloadLength + padLength + 2;
        int esp = payload - 8 - suite.ivLength();
        int total = 8 + suite.ivLength() + ptLen + suite.icvLength();
        if (esp < 0 || esp + total > buf.length) {
            return EncapOutcome.BUFFER_TOO_SMALL;
        }
        long seq = EncapOutcome.sequenceFor(sa);
        if (seq == 0) {
            return EncapOutcome.refusedBy(sa);
        }
        int trailer = payload + payloadLength;
        // RFC 4303 §2.4: the padding bytes are 1, 2, 3, ...
        for (int i = 0; i < padLength; i++) {
            buf[trailer + i] = (byte) (i + 1);
        }
        buf[trailer + padLength] = (byte) padLength;
        buf[trailer + padLength + 1] = (byte) nextHeader;
        BigEndian.putInt(buf, esp, sa.spi());
        BigEndian.putInt(buf, esp + 4, (int) seq);
        try {
            suite.seal(buf, esp, ptLen, seq, sa.spec().esn());
        } catch (IllegalStateException e) {
            if (sa.isClosed()) {
                return EncapOutcome.SA_DELETED; // deleted (and its keys wiped) while this packet was in flight
            }
            throw e;
        }
        pkt.bounds(esp, total);
        sa.count(dataLength);
        return EncapOutcome.PROTECTED;
    }

    private EncapOutcome count(EncapOutcome outcome) {
        counters.count(outcome);
        return outcome;
    }
}
