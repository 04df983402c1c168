package dev.keel.bench;

import dev.keel.core.packet.Checksums;
import java.util.Random;

/** Well-formed plaintext packets for the benchmarks (after esp-worker's test {@code InnerPackets}). */
final class EspBenchPackets {

    private static final byte[] SRC = {10, 1, 0, 5};
    private static final byte[] DST = {10, 2, 0, 7};

    private EspBenchPackets() {
    }

    /**
     * An IPv4/UDP packet of exactly {@code totalLength} bytes (IP header included), random payload,
     * valid IP and UDP checksums: what a TUN read hands the encapsulator.
     */
    static byte[] ipv4Udp(int totalLength, long seed) {
        if (totalLength < 28 || totalLength > 0xffff) {
            throw new IllegalArgumentException("IPv4/UDP packet of " + totalLength + " bytes");
        }
        byte[] p = new byte[totalLength];
        p[0] = 0x45;
        put16(p, 2, totalLength);
        p[4] = 0x12;
        p[5] = 0x34;
        p[6] = 0x40; // DF
        p[8] = 64;
        p[9] = 17;
        System.arraycopy(SRC, 0, p, 12, 4);
        System.arraycopy(DST, 0, p, 16, 4);
        put16(p, 10, Checksums.ipv4Header(p, 0, 20));
        int udpLength = totalLength - 20;
        put16(p, 20, 40000);
        put16(p, 22, 5201);
        put16(p, 24, udpLength);
        Random r = new Random(seed);
        for (int i = 28; i < totalLength; i++) {
            p[i] = (byte) r.nextInt();
        }
        int sum = Checksums.transport(p, 12, p, 16, 4, 17, p, 20, udpLength);
        put16(p, 26, sum == 0 ? 0xffff : sum);
        return p;
    }

    private static void put16(byte[] b, int i, int v) {
        b[i] = (byte) (v >>> 8);
        b[i + 1] = (byte) v;
    }
}
