package dev.keel.esp.packet;

import dev.keel.core.packet.BigEndian;
import dev.keel.core.packet.Checksums;
import java.util.Random;

/** Builds well-formed plaintext IPv4 / IPv6 packets (ICMP echo, UDP, TCP) for tests. */
public final class InnerPackets {

    public static final byte[] V4_A = {10, 1, 0, 5};
    public static final byte[] V4_B = {10, 2, 0, 7};
    public static final byte[] V6_A = hex("20010db8000100000000000000000005");
    public static final byte[] V6_B = hex("20010db8000200000000000000000007");

    private InnerPackets() {
    }

    /** An IPv4 packet with the given protocol (1 ICMP echo, 6 TCP, 17 UDP) and payload length. */
    public static byte[] ipv4(int protocol, int payloadLength, long seed) {
        return ipv4(V4_A, V4_B, protocol, payloadLength, seed);
    }

    public static byte[] ipv4(byte[] src, byte[] dst, int protocol, int payloadLength, long seed) {
        byte[] l4 = transport(protocol, payloadLength, seed);
        byte[] p = new byte[20 + l4.length];
        p[0] = 0x45;
        p[2] = (byte) (p.length >>> 8);
        p[3] = (byte) p.length;
        p[4] = 0x12;
        p[5] = 0x34;
        p[6] = 0x40; // DF
        p[8] = 64;
        p[9] = (byte) protocol;
        System.arraycopy(src, 0, p, 12, 4);
        System.arraycopy(dst, 0, p, 16, 4);
        int sum = Checksums.ipv4Header(p, 0, 20);
        p[10] = (byte) (sum >>> 8);
        p[11] = (byte) sum;
        System.arraycopy(l4, 0, p, 20, l4.length);
        fillChecksum(p, 12, 16, 4, protocol, 20, l4.length);
        return p;
    }

    /** An IPv6 packet with the given protocol (58 ICMPv6 echo, 6 TCP, 17 UDP) and payload length. */
    public static byte[] ipv6(int protocol, int payloadLength, long seed) {
        return ipv6(V6_A, V6_B, protocol, payloadLength, seed);
    }

    public static byte[] ipv6(byte[] src, byte[] dst, int protocol, int payloadLength, long seed) {
        byte[] l4 = transport(protocol, payloadLength, seed);
        byte[] p = new byte[40 + l4.length];
        p[0] = 0x60;
        p[4] = (byte) (l4.length >>> 8);
        p[5] = (byte) l4.length;
        p[6] = (byte) protocol;
        p[7] = 64;
        System.arraycopy(src, 0, p, 8, 16);
        System.arraycopy(dst, 0, p, 24, 16);
        System.arraycopy(l4, 0, p, 40, l4.length);
        fillChecksum(p, 8, 24, 16, protocol, 40, l4.length);
        return p;
    }

    private static byte[] transport(int protocol, int payloadLength, long seed) {
        int hdr = switch (protocol) {
            case 6 -> 20;
            case 17, 1, 58 -> 8;
            default -> 0;
        };
        byte[] l4 = new byte[hdr + payloadLength];
        Random r = new Random(seed);
        for (int i = hdr; i < l4.length; i++) {
            l4[i] = (byte) r.nextInt();
        }
        switch (protocol) {
            case 6 -> {
                BigEndian.putU16(l4, 0, 40000);
                BigEndian.putU16(l4, 2, 5201);
                l4[12] = 0x50; // data offset 5
                l4[13] = 0x18; // PSH ACK
                BigEndian.putU16(l4, 14, 64240);
            }
            case 17 -> {
                BigEndian.putU16(l4, 0, 40000);
                BigEndian.putU16(l4, 2, 5201);
                BigEndian.putU16(l4, 4, l4.length);
            }
            case 1 -> l4[0] = 8; // echo request
            case 58 -> l4[0] = (byte) 128; // echo request
            default -> { }
        }
        return l4;
    }

    private static void fillChecksum(byte[] p, int src, int dst, int addrLen, int protocol, int l4, int l4Len) {
        int field = switch (protocol) {
            case 6 -> l4 + 16;
            case 17 -> l4 + 6;
            case 1, 58 -> l4 + 2;
            default -> -1;
        };
        if (field < 0) {
            return;
        }
        int sum = protocol == 1
                ? Checksums.finish(Checksums.sum(p, l4, l4Len, 0))
                : Checksums.transport(p, src, p, dst, addrLen, protocol, p, l4, l4Len);
        if (protocol == 17 && sum == 0) {
            sum = 0xffff;
        }
        BigEndian.putU16(p, field, sum);
    }

    public static byte[] hex(String s) {
        byte[] b = new byte[s.length() / 2];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
        }
        return b;
    }
}
