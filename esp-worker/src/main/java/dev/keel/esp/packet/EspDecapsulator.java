package dev.keel.esp.packet;

import dev.keel.core.packet.BigEndian;
import dev.keel.core.packet.Checksums;
import dev.keel.core.packet.IpPacketInfo;
import dev.keel.core.packet.PacketBuffer;
import dev.keel.core.proposal.Protocol;
import dev.keel.core.sa.IpsecMode;
import dev.keel.esp.sa.EspCipherSuite;
import dev.keel.esp.sa.InboundSa;
import dev.keel.esp.sa.InboundSaTable;
import dev.keel.esp.sa.ReplayWindow;
import java.util.Arrays;

/**
 * Turns an inbound ESP packet back into the plaintext IP packet in place (RFC 4303 §3.4):
 * SPI lookup, replay check, ICV verification before any decryption, replay-window update
 * only after the ICV verified, trailer checks, then the inner packet against the SA's
 * selectors. Never throws on hostile input: every packet ends in a {@link DecapOutcome},
 * which is counted. One instance per packet-owning thread; allocation-free.
 */
public final class EspDecapsulator {

    /** Hop limit / TTL of a rebuilt transport-mode header; the original was not transmitted. */
    private static final int REBUILT_TTL = 64;

    private final InboundSaTable table;
    private final EspCounters counters;
    private final IpPacketInfo info = new IpPacketInfo();
    private InboundSa heldSa;
    private long heldSequence;
    private int outlet;

    public EspDecapsulator(InboundSaTable table, EspCounters counters) {
        this.table = table;
        this.counters = counters;
    }

    /**
     * Decapsulates the ESP packet ({@code SPI .. ICV}) held in {@code pkt}. On
     * {@link DecapOutcome#DELIVERED} the buffer holds the inner IP packet; on {@link
     * DecapOutcome#HELD} too, but its window has not accepted it ({@link #heldSa}, {@link
     * #heldSequence}): it may be forwarded only once the window accepts it. On any other outcome
     * its content is unspecified and must not be forwarded. A held packet's bytes count towards
     * the SA's lifetime already (it verified).
     */
    public DecapOutcome decapsulate(PacketBuffer pkt) {
        DecapOutcome outcome;
        try {
            outcome = open(pkt);
        } catch (RuntimeException e) {
            // A bug, not an input: still drop the packet and keep serving. Never seen in tests.
            outcome = DecapOutcome.MALFORMED;
        }
        counters.count(outcome);
        return outcome;
    }

    private DecapOutcome open(PacketBuffer pkt) {
        byte[] buf = pkt.data();
        int esp = pkt.offset();
        int len = pkt.length();
        if (len < 8) {
            return DecapOutcome.TRUNCATED;
        }
        InboundSa sa = table.lookup(BigEndian.getInt(buf, esp));
        if (sa == null || sa.isClosed() || sa.spec().protocol() != Protocol.ESP) {
            return DecapOutcome.UNKNOWN_SPI; // RFC 4301 §4.1: an SA is found by SPI and protocol
        }
        if (sa.isHardExpired()) {
            sa.countDrop();
            return DecapOutcome.SA_EXPIRED;
        }
        EspCipherSuite suite = sa.suite();
        int ivLen = suite.ivLength();
        int ctLen = len - 8 - ivLen - suite.icvLength();
        if (ctLen < 2) {
            return DecapOutcome.TRUNCATED;
        }
        if (ctLen % suite.alignment() != 0) {
            return DecapOutcome.MALFORMED;
        }
        boolean esn = sa.spec().esn();
        int seqLow = BigEndian.getInt(buf, esp + 4);
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
        int ptLen = suite.open(buf, esp, len, seq, esn);
        if (ptLen < 0) {
            return DecapOutcome.ICV_FAILURE;
        }
        boolean held = false;
        if (window != null && !window.accept(seq)) {
            if (!window.aboveLimit(seq)) {
                return DecapOutcome.REPLAYED;
            }
            held = true; // opened like any packet: the caller may keep it for the next checkpoint
        }
        int pt = esp + 8 + ivLen;
        int nextHeader = buf[pt + ptLen - 1] & 0xff;
        int padLength = buf[pt + ptLen - 2] & 0xff;
        int payloadLength = ptLen - 2 - padLength;
        if (payloadLength < 0) {
            return DecapOutcome.BAD_PADDING;
        }
        for (int i = 0; i < padLength; i++) {
            if (buf[pt + payloadLength + i] != (byte) (i + 1)) {
                return DecapOutcome.BAD_PADDING;
            }
        }
        sa.count(payloadLength);
        if (nextHeader == IpPacketInfo.PROTO_NO_NEXT_HEADER) {
            return DecapOutcome.DUMMY;
        }
        DecapOutcome outcome = sa.spec().mode() == IpsecMode.TUNNEL
                ? tunnel(pkt, pt, payloadLength, nextHeader)
                : transport(sa, pkt, pt, payloadLength, nextHeader);
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

    /** The outlet ({@link InboundSa#outlet}) of the SA of the last {@link DecapOutcome#DELIVERED} or HELD packet. */
    public int outlet() {
        return outlet;
    }

    /** The SA of the last {@link DecapOutcome#HELD} packet; its window has not accepted it. */
    public InboundSa heldSa() {
        return heldSa;
    }

    /** The sequence number (ESN inferred) of the last {@link DecapOutcome#HELD} packet. */
    public long heldSequence() {
        return heldSequence;
    }

    private DecapOutcome tunnel(PacketBuffer pkt, int pt, int payloadLength, int nextHeader) {
        if (nextHeader != IpPacketInfo.PROTO_IPV4 && nextHeader != IpPacketInfo.PROTO_IPV6) {
            return DecapOutcome.BAD_NEXT_HEADER;
        }
        if (!info.parse(pkt.data(), pt, payloadLength)
                || info.isIpv6() != (nextHeader == IpPacketInfo.PROTO_IPV6)) {
            return DecapOutcome.BAD_NEXT_HEADER;
        }
        // Anything after the inner packet's declared length is TFC padding (RFC 4303 §2.7).
        pkt.bounds(pt, info.totalLength());
        return DecapOutcome.DELIVERED;
    }

    /** RFC 4303 §3.1.1: rebuild the IP header from the outer addresses and the next header. */
    private DecapOutcome transport(InboundSa sa, PacketBuffer pkt, int pt, int payloadLength, int nextHeader) {
        if (nextHeader == IpPacketInfo.PROTO_IPV4 || nextHeader == IpPacketInfo.PROTO_IPV6) {
            return DecapOutcome.BAD_NEXT_HEADER;
        }
        byte[] buf = pkt.data();
        boolean v6 = pkt.ipv6();
        int hdr = v6 ? 40 : 20;
        int ip = pt - hdr;
        if (ip < 0 || (!v6 && hdr + payloadLength > 0xffff) || (v6 && payloadLength > 0xffff)) {
            return DecapOutcome.BUFFER_TOO_SMALL;
        }
        int addrLen = v6 ? 16 : 4;
        if (v6) {
            Arrays.fill(buf, ip, ip + 8, (byte) 0);
            buf[ip] = 0x60;
            BigEndian.putU16(buf, ip + 4, payloadLength);
            buf[ip + 6] = (byte) nextHeader;
            buf[ip + 7] = (byte) REBUILT_TTL;
            System.arraycopy(pkt.sourceAddress(), 0, buf, ip + 8, 16);
            System.arraycopy(pkt.destinationAddress(), 0, buf, ip + 24, 16);
        } else {
            int total = hdr + payloadLength;
            Arrays.fill(buf, ip, ip + 20, (byte) 0);
            buf[ip] = 0x45;
            BigEndian.putU16(buf, ip + 2, total);
            buf[ip + 8] = (byte) REBUILT_TTL;
            buf[ip + 9] = (byte) nextHeader;
            System.arraycopy(pkt.sourceAddress(), 0, buf, ip + 12, 4);
            System.arraycopy(pkt.destinationAddress(), 0, buf, ip + 16, 4);
            BigEndian.putU16(buf, ip + 10, Checksums.ipv4Header(buf, ip, 20));
        }
        if (sa.spec().natTraversal()) {
            fixTransportChecksum(buf, ip, addrLen, pt, payloadLength, nextHeader, v6);
        }
        pkt.bounds(ip, hdr + payloadLength);
        if (!info.parse(buf, ip, hdr + payloadLength)) {
            return DecapOutcome.BAD_NEXT_HEADER;
        }
        return DecapOutcome.DELIVERED;
    }

    /**
     * RFC 3948 §3.1.2: a NAT changed the addresses the sender's TCP/UDP checksum covered, so
     * recompute it over the rebuilt pseudo-header (the ICV already vouched for the payload).
     */
    private static void fixTransportChecksum(byte[] buf, int ip, int addrLen, int l4, int l4Len, int protocol,
            boolean v6) {
        int field;
        if (protocol == IpPacketInfo.PROTO_TCP && l4Len >= 20) {
            field = l4 + 16;
        } else if (protocol == IpPacketInfo.PROTO_UDP && l4Len >= 8) {
            field = l4 + 6;
            if (!v6 && buf[field] == 0 && buf[field + 1] == 0) {
                return; // IPv4 UDP without a checksum stays without one.
            }
        } else {
            return;
        }
        int srcOff = v6 ? ip + 8 : ip + 12;
        int dstOff = srcOff + addrLen;
        BigEndian.putU16(buf, field, 0);
        int sum = Checksums.transport(buf, srcOff, buf, dstOff, addrLen, protocol, buf, l4, l4Len);
        if (protocol == IpPacketInfo.PROTO_UDP && sum == 0) {
            sum = 0xffff; // RFC 768: a computed zero is sent as all ones.
        }
        BigEndian.putU16(buf, field, sum);
    }
}
