package dev.keel.esp.packet;

import dev.keel.core.packet.IpPacketInfo;
import java.util.Arrays;

/**
 * The IP header fields AH's ICV does not cover (RFC 4302 §3.3.3.1 and Appendix A): they may change
 * in transit, so both ends zero them before computing the ICV. Works in place on an IP packet that
 * carries AH; allocation-free and stateless.
 *
 * <ul>
 *   <li>IPv4 (A.1): DSCP/TOS and ECN, flags, fragment offset, TTL and header checksum are
 *       zeroed; version, IHL, total length, identification, protocol and the addresses are
 *       covered. Options are covered when immutable (End of Options List, No Operation,
 *       Security, Extended Security, Commercial Security, Router Alert, Sender Directed
 *       Multi-Destination Delivery) and zeroed in their entirety otherwise.
 *   <li>IPv6 (A.2): traffic class, flow label and hop limit are zeroed. In hop-by-hop and
 *       destination options headers in front of AH, the data of every option whose type has the
 *       "may change en route" bit (0x20, RFC 8200 §4.2) is zeroed; type and length are covered. A
 *       routing header is covered as it arrives: at the destination, where AH is checked, it is in
 *       the form the sender predicted (segments left 0). A fragment header cannot precede AH
 *       (reassembly comes first), so it is rejected.
 * </ul>
 */
public final class AhMutableFields {

    /** Next header, payload length, reserved, SPI and sequence number: AH before its ICV (RFC 4302 §2). */
    public static final int FIXED_HEADER = 12;
    /** Hop-by-hop options (RFC 8200 §4.3). */
    static final int HOP_BY_HOP = 0;
    /** Routing header (RFC 8200 §4.4). */
    static final int ROUTING = 43;
    /** Fragment header (RFC 8200 §4.5). */
    static final int FRAGMENT = 44;
    /** Destination options (RFC 8200 §4.6). */
    static final int DESTINATION_OPTIONS = 60;
    /** Extension headers walked in front of AH before the packet counts as malformed. */
    private static final int MAX_EXTENSION_HEADERS = 8;

    private AhMutableFields() {
    }

    /**
     * Zeroes the mutable fields of the IPv4 header {@code buf[ip, ip+ihl)}, options included.
     *
     * @return false when an option's length runs past the header (a malformed packet)
     */
    public static boolean zeroIpv4(byte[] buf, int ip, int ihl) {
        buf[ip + 1] = 0; // DSCP + ECN
        buf[ip + 6] = 0; // flags + fragment offset
        buf[ip + 7] = 0;
        buf[ip + 8] = 0; // TTL
        buf[ip + 10] = 0; // header checksum
        buf[ip + 11] = 0;
        int pos = ip + 20;
        int end = ip + ihl;
        while (pos < end) {
            int type = buf[pos] & 0xff;
            if (type == 0) {
                return true; // End of Options List: what follows is padding, covered as it is
            }
            if (type == 1) {
                pos++;
                continue;
            }
            if (pos + 2 > end) {
                return false;
            }
            int len = buf[pos + 1] & 0xff;
            if (len < 2 || pos + len > end) {
                return false;
            }
            if (!immutableIpv4Option(type)) {
                Arrays.fill(buf, pos, pos + len, (byte) 0);
            }
            pos += len;
        }
        return true;
    }

    /** RFC 4302 Appendix A.1: the options covered by the ICV; every other option is zeroed. */
    private static boolean immutableIpv4Option(int type) {
        return switch (type) {
            case 130, 133, 134, 148, 149 -> true; // Security, Ext. Security, Commercial Security, Router Alert, SDMDD
            default -> false;
        };
    }

    /**
     * Zeroes the mutable fields of the IPv6 header at {@code ip} and of the extension headers
     * between it and the AH header.
     *
     * @param end where the packet ends (exclusive)
     * @return the offset of the AH header, or -1 when no AH header follows the base header and
     *     hop-by-hop / routing / destination options headers, or one of them is malformed
     */
    public static int zeroIpv6(byte[] buf, int ip, int end) {
        buf[ip] = (byte) (buf[ip] & 0xf0); // traffic class (high half) ...
        buf[ip + 1] = 0; // ... traffic class (low half) and flow label
        buf[ip + 2] = 0;
        buf[ip + 3] = 0;
        buf[ip + 7] = 0; // hop limit
        int next = buf[ip + 6] & 0xff;
        int pos = ip + 40;
        for (int i = 0; i <= MAX_EXTENSION_HEADERS; i++) {
            if (next == IpPacketInfo.PROTO_AH) {
                return pos;
            }
            if (next != HOP_BY_HOP && next != ROUTING && next != DESTINATION_OPTIONS) {
                return -1; // a fragment header, the payload, or anything else: AH is not next
            }
            if (pos + 8 > end) {
                return -1;
            }
            int len = ((buf[pos + 1] & 0xff) + 1) * 8;
            if (pos + len > end) {
                return -1;
            }
            if (next != ROUTING && !zeroMutableOptions(buf, pos + 2, pos + len)) {
                return -1;
            }
            next = buf[pos] & 0xff;
            pos += len;
        }
        return -1;
    }

    /** Zeroes the data of options whose type says it may change en route (RFC 8200 §4.2, bit 0x20). */
    private static boolean zeroMutableOptions(byte[] buf, int pos, int end) {
        while (pos < end) {
            int type = buf[pos] & 0xff;
            if (type == 0) { // Pad1
                pos++;
                continue;
            }
            if (pos + 2 > end) {
                return false;
            }
            int len = buf[pos + 1] & 0xff;
            if (pos + 2 + len > end) {
                return false;
            }
            if ((type & 0x20) != 0) {
                Arrays.fill(buf, pos + 2, pos + 2 + len, (byte) 0);
            }
            pos += 2 + len;
        }
        return true;
    }

    /** The AH header length for {@code icvLength} bytes of ICV: padded to 32 bits on IPv4, 64 bits on IPv6 (RFC 4302 §2.6). */
    public static int ahLength(int icvLength, boolean ipv6) {
        int unpadded = FIXED_HEADER + icvLength;
        int align = ipv6 ? 8 : 4;
        return (unpadded + align - 1) / align * align;
    }
}
