package dev.keel.esp.packet;

import dev.keel.core.packet.BigEndian;

/**
 * The UDP encapsulation of ESP and IKE on port 4500 (RFC 3948 §2): how to tell a datagram's
 * payload apart, and how to write what goes out. The sockets live elsewhere.
 */
public final class EspInUdp {

    /** The IKE and NAT-T port (RFC 3948 §2.1, RFC 7296 §2.23). */
    public static final int PORT = 4500;

    /** Bytes of the non-ESP marker in front of an IKE message on port 4500 (RFC 3948 §2.2). */
    public static final int NON_ESP_MARKER_LENGTH = 4;

    /** What a datagram received on port 4500 carries. */
    public enum Kind {
        /** An ESP packet starting at the datagram's first byte. */
        ESP,
        /** An IKE message after the four-byte non-ESP marker. */
        IKE,
        /** A NAT-keepalive: the single byte 0xFF (RFC 3948 §2.3); dropped after noting liveness. */
        NAT_KEEPALIVE,
        /** Too short to be ESP or IKE, e.g. an empty datagram or a 1–7 byte fragment. */
        MALFORMED
    }

    private EspInUdp() {
    }

    /** Classifies the UDP payload {@code buf[off, off+len)}. */
    public static Kind classify(byte[] buf, int off, int len) {
        if (len == 1 && buf[off] == (byte) 0xff) {
            return Kind.NAT_KEEPALIVE;
        }
        if (len >= NON_ESP_MARKER_LENGTH && buf[off] == 0 && buf[off + 1] == 0 && buf[off + 2] == 0 && buf[off + 3] == 0) {
            // RFC 3948 §2.2: a zero SPI cannot be ESP, so it marks IKE; the IKE header is 28 bytes.
            return len >= NON_ESP_MARKER_LENGTH + 28 ? Kind.IKE : Kind.MALFORMED;
        }
        // RFC 3948 §2.2: an ESP header (SPI + sequence number) is at least 8 bytes.
        return len >= 8 ? Kind.ESP : Kind.MALFORMED;
    }

    /** Writes the non-ESP marker at {@code buf[off, off+4)}, in front of an IKE message sent on 4500. */
    public static void writeNonEspMarker(byte[] buf, int off) {
        buf[off] = 0;
        buf[off + 1] = 0;
        buf[off + 2] = 0;
        buf[off + 3] = 0;
    }

    /** Writes a NAT-keepalive payload at {@code buf[off]} and returns its length, 1. */
    public static int writeNatKeepalive(byte[] buf, int off) {
        buf[off] = (byte) 0xff;
        return 1;
    }

    /**
     * Writes an 8-byte UDP header for {@code payloadLength} bytes at {@code buf[off, off+8)},
     * for transports that build their own IP packets. The checksum is zero, which RFC 3948
     * §2.1 permits for IPv4; IPv6 needs a real one (RFC 8200 §8.1), written by the caller.
     */
    public static void writeUdpHeader(byte[] buf, int off, int srcPort, int dstPort, int payloadLength) {
        int len = 8 + payloadLength;
        BigEndian.putU16(buf, off, srcPort);
        BigEndian.putU16(buf, off + 2, dstPort);
        BigEndian.putU16(buf, off + 4, len);
        BigEndian.putU16(buf, off + 6, 0);
    }
}
