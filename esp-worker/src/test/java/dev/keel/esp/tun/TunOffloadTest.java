package dev.keel.esp.tun;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.packet.BigEndian;
import dev.keel.core.packet.Checksums;
import dev.keel.core.packet.PacketBuffer;
import dev.keel.esp.wire.PcapWriter;
import dev.keel.esp.wire.Tshark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Software GSO/GRO of {@link TunOffload}: super-packets shaped the way Linux's TUN driver hands
 * them out (virtio_net_hdr with GSO_TCPV4/V6, NEEDS_CSUM, the pseudo-header sum in the TCP
 * checksum field) are cut into segments whose headers and checksums tshark verifies, and
 * segments coalesce back into the same super-packet.
 */
class TunOffloadTest {

    private static final byte[] SRC4 = {(byte) 192, (byte) 168, 71, 1};
    private static final byte[] DST4 = {(byte) 192, (byte) 168, 72, 1};
    private static final byte[] SRC6 = new byte[16];
    private static final byte[] DST6 = new byte[16];

    static {
        SRC6[0] = (byte) 0xfd;
        SRC6[1] = 0x71;
        SRC6[15] = 1;
        DST6[0] = (byte) 0xfd;
        DST6[1] = 0x72;
        DST6[15] = 1;
    }

    /** An IPv4 or IPv6 TCP packet (ACK|flags, 12 bytes of timestamp option) with a complete checksum. */
    static byte[] tcp(boolean v6, int seq, int flags, byte[] payload, int id) {
        int ipHdr = v6 ? 40 : 20;
        int tcpHdr = 32;
        byte[] p = new byte[ipHdr + tcpHdr + payload.length];
        if (v6) {
            p[0] = 0x60;
            BigEndian.putU16(p, 4, tcpHdr + payload.length);
            p[6] = 6;
            p[7] = 64;
            System.arraycopy(SRC6, 0, p, 8, 16);
            System.arraycopy(DST6, 0, p, 24, 16);
        } else {
            p[0] = 0x45;
            BigEndian.putU16(p, 2, p.length);
            BigEndian.putU16(p, 4, id);
            p[6] = 0x40; // DF
            p[8] = 64;
            p[9] = 6;
            System.arraycopy(SRC4, 0, p, 12, 4);
            System.arraycopy(DST4, 0, p, 16, 4);
            BigEndian.putU16(p, 10, Checksums.ipv4Header(p, 0, 20));
        }
        int t = ipHdr;
        BigEndian.putU16(p, t, 40000);
        BigEndian.putU16(p, t + 2, 5201);
        BigEndian.putInt(p, t + 4, seq);
        BigEndian.putInt(p, t + 8, 0x01020304);
        p[t + 12] = (byte) (tcpHdr / 4 << 4);
        p[t + 13] = (byte) (0x10 | flags);
        BigEndian.putU16(p, t + 14, 502);
        p[t + 20] = 1;
        p[t + 21] = 1;
        p[t + 22] = 8; // timestamps
        p[t + 23] = 10;
        BigEndian.putInt(p, t + 24, 777);
        BigEndian.putInt(p, t + 28, 555);
        System.arraycopy(payload, 0, p, ipHdr + tcpHdr, payload.length);
        byte[] src = v6 ? SRC6 : SRC4;
        byte[] dst = v6 ? DST6 : DST4;
        BigEndian.putU16(p, t + 16, Checksums.transport(src, 0, dst, 0, src.length, 6, p, t, p.length - t));
        return p;
    }

    /** What the TUN driver hands a reader for {@code packet} sent with TSO at {@code mss}. */
    static byte[] asKernelGso(byte[] packet, boolean v6, int mss) {
        int ipHdr = v6 ? 40 : 20;
        byte[] out = new byte[10 + packet.length];
        System.arraycopy(packet, 0, out, 10, packet.length);
        out[0] = 1; // NEEDS_CSUM
        out[1] = (byte) (v6 ? 4 : 1);
        le16(out, 2, ipHdr + 32);
        le16(out, 4, mss);
        le16(out, 6, ipHdr);
        le16(out, 8, 16);
        // CHECKSUM_PARTIAL: the folded pseudo-header sum, not complemented.
        byte[] src = v6 ? SRC6 : SRC4;
        byte[] dst = v6 ? DST6 : DST4;
        long s = Checksums.sum(src, 0, src.length, 0) + Checksums.sum(dst, 0, dst.length, 0) + 6 + packet.length - ipHdr;
        BigEndian.putU16(out, 10 + ipHdr + 16, ~Checksums.finish(s) & 0xffff);
        return out;
    }

    private static List<byte[]> split(byte[] raw) {
        List<byte[]> out = new ArrayList<>();
        TunOffload.SegmentCounters c = new TunOffload.SegmentCounters();
        new TunOffload.Segmenter(TunDevice.MAX_PACKET, c).split(raw, 0, raw.length,
                p -> out.add(Arrays.copyOfRange(p.data(), p.offset(), p.end())));
        return out;
    }

    @Test
    void superPacketsAreCutIntoSegmentsTsharkAccepts(@TempDir Path dir) throws Exception {
        SplittableRandom rnd = new SplittableRandom(4);
        List<byte[]> all = new ArrayList<>();
        for (boolean v6 : new boolean[] {false, true}) {
            byte[] payload = new byte[5 * 1000 + 321];
            rnd.nextBytes(payload);
            byte[] sup = tcp(v6, 0x7ffffc00, 0x08 | 0x80, payload, 4242); // PSH and CWR on the super-packet
            List<byte[]> segs = split(asKernelGso(sup, v6, 1000));
            assertThat(segs).hasSize(6);
            int ipHdr = v6 ? 40 : 20;
            for (int i = 0; i < segs.size(); i++) {
                byte[] s = segs.get(i);
                int len = i < 5 ? 1000 : 321;
                assertThat(s).hasSize(ipHdr + 32 + len);
                assertThat(Arrays.copyOfRange(s, ipHdr + 32, s.length))
                        .isEqualTo(Arrays.copyOfRange(payload, i * 1000, i * 1000 + len));
            }
            all.addAll(segs);
        }
        Tshark tshark = Tshark.assumeInstalled();
        Path pcap = PcapWriter.writeAll(dir.resolve("segments.pcap"), all.toArray(byte[][]::new));
        String out = tshark.run(List.of("-r", pcap.toString(), "-o", "tcp.check_checksum:TRUE",
                "-o", "ip.check_checksum:TRUE", "-o", "tcp.relative_sequence_numbers:FALSE", "-T", "fields",
                "-e", "ip.id", "-e", "ip.checksum.status", "-e", "tcp.checksum.status", "-e", "tcp.seq",
                "-e", "tcp.len", "-e", "tcp.flags.push", "-e", "tcp.flags.cwr", "-e", "ip.len", "-e", "ipv6.plen"),
                Tshark.DEFAULT_TIMEOUT).requireSuccess().stdout();
        List<String> lines = out.lines().toList();
        assertThat(lines).hasSize(12);
        for (int i = 0; i < 12; i++) {
            String[] f = lines.get(i).split("\t", -1);
            int k = i % 6;
            boolean v6 = i >= 6;
            if (!v6) {
                assertThat(Integer.decode(f[0])).as("IPv4 id steps").isEqualTo(4242 + k);
                assertThat(f[1]).as("IPv4 header checksum good (1)").isEqualTo("1");
                assertThat(f[7]).isEqualTo(String.valueOf(20 + 32 + (k < 5 ? 1000 : 321)));
            } else {
                assertThat(f[8]).isEqualTo(String.valueOf(32 + (k < 5 ? 1000 : 321)));
            }
            assertThat(f[2]).as("TCP checksum good (1): " + lines.get(i)).isEqualTo("1");
            assertThat(Long.parseLong(f[3])).isEqualTo((0x7ffffc00L + k * 1000L) & 0xffffffffL);
            assertThat(f[5]).as("PSH only on the last").isEqualTo(k == 5 ? "1" : "0");
            assertThat(f[6]).as("CWR only on the first").isEqualTo(k == 0 ? "1" : "0");
        }
    }

    @Test
    void partialChecksumOfAPlainPacketIsCompleted() {
        byte[] p = tcp(false, 1, 0, new byte[] {1, 2, 3, 4, 5}, 1);
        byte[] raw = asKernelGso(p, false, 0);
        raw[1] = 0; // GSO_NONE, NEEDS_CSUM
        List<byte[]> out = split(raw);
        assertThat(out).containsExactly(p);
    }

    /** Collects what a coalescer writes. */
    static final class Capture implements TunOffload.Writer {
        final List<byte[]> raw = new ArrayList<>();
        final List<byte[]> plain = new ArrayList<>();
        final List<String> order = new ArrayList<>();

        @Override
        public boolean writePlain(byte[] b, int off, int len) {
            plain.add(Arrays.copyOfRange(b, off, off + len));
            order.add("plain");
            return true;
        }

        @Override
        public boolean writeRaw(byte[] b, int off, int len) {
            raw.add(Arrays.copyOfRange(b, off, off + len));
            order.add("raw");
            return true;
        }
    }

    @Test
    void consecutiveSegmentsCoalesceIntoOneSuperPacketThatSplitsBack() {
        SplittableRandom rnd = new SplittableRandom(7);
        for (boolean v6 : new boolean[] {false, true}) {
            byte[] payload = new byte[7 * 1200 + 17];
            rnd.nextBytes(payload);
            List<byte[]> segs = split(asKernelGso(tcp(v6, -5000, 0x08, payload, 9), v6, 1200));
            assertThat(segs).hasSize(8);
            Capture cap = new Capture();
            TunOffload.CoalesceCounters c = new TunOffload.CoalesceCounters();
            TunOffload.Coalescer gro = new TunOffload.Coalescer(cap, c);
            for (byte[] s : segs) {
                gro.add(s, 0, s.length);
            }
            gro.flush();
            assertThat(cap.plain).isEmpty();
            assertThat(cap.raw).hasSize(1);
            byte[] r = cap.raw.get(0);
            assertThat(r[0]).as("NEEDS_CSUM").isEqualTo((byte) 1);
            assertThat(r[1]).as("gso type").isEqualTo((byte) (v6 ? 4 : 1));
            assertThat((r[4] & 0xff) | (r[5] & 0xff) << 8).as("gso_size").isEqualTo(1200);
            assertThat(c.superPackets).isEqualTo(1);
            assertThat(c.segments).isEqualTo(8);
            // The kernel would segment it the way the segmenter does: the same eight segments back
            // (IPv4 ids step from the first one's, as Linux's GSO does).
            assertThat(split(r)).containsExactlyElementsOf(segs);
        }
    }

    @Test
    void onlyWhatLinuxGroWouldMergeIsMerged() {
        byte[] a = tcp(false, 1000, 0, new byte[100], 1);
        byte[] gap = tcp(false, 1200, 0, new byte[100], 2); // 100 bytes missing
        byte[] next = tcp(false, 1300, 0, new byte[100], 3);
        byte[] bad = tcp(false, 1400, 0, new byte[100], 4);
        bad[bad.length - 1] ^= 1; // checksum no longer verifies
        byte[] syn = tcp(false, 1400, 0x02, new byte[0], 5);
        byte[] udp = tcp(false, 0, 0, new byte[30], 6);
        udp[9] = 17; // not TCP
        Capture cap = new Capture();
        TunOffload.Coalescer gro = new TunOffload.Coalescer(cap, new TunOffload.CoalesceCounters());
        for (byte[] p : List.of(a, gap, next, bad, syn, udp)) {
            gro.add(p, 0, p.length);
        }
        gro.flush();
        // a alone (the gap ends it), then gap+next merged and written before the bad one goes out plain.
        assertThat(cap.plain).containsExactly(a, bad, syn, udp);
        assertThat(cap.raw).hasSize(1);
        assertThat(cap.order).containsExactly("plain", "raw", "plain", "plain", "plain");
        assertThat(split(cap.raw.get(0))).containsExactly(gap, next);
    }

    private static void le16(byte[] b, int i, int v) {
        b[i] = (byte) v;
        b[i + 1] = (byte) (v >>> 8);
    }
}
