package dev.keel.esp.plain;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.packet.PacketBuffer;
import dev.keel.esp.packet.InnerPackets;
import dev.keel.esp.wire.PcapWriter;
import dev.keel.esp.wire.Tshark;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Inner packets too big for the tunnel: ICMP "fragmentation needed" (RFC 1191), ICMPv6 Packet
 * Too Big (RFC 4443 §3.2), IPv4 fragmentation (RFC 791) — checked field by field here and by
 * tshark's dissector and IP reassembly (checksums, MTU fields, the reassembled datagram); the
 * netns test (tun/NetnsTunnelTest) has the Linux kernel take both.
 */
class PathMtuGuardTest {

    private static final int MTU = 1438;

    @TempDir
    Path dir;

    private final List<byte[]> forwarded = new ArrayList<>();
    private final List<byte[]> replies = new ArrayList<>();
    private final PathMtuGuard.Counters counters = new PathMtuGuard.Counters();

    private PathMtuGuard guard(int perSecond) {
        return new PathMtuGuard(counters, new PathMtuGuard.Output() {
            @Override
            public void forward(PacketBuffer fragment) {
                forwarded.add(fragment.toByteArray());
            }

            @Override
            public void reply(byte[] packet, int off, int len) {
                replies.add(Arrays.copyOfRange(packet, off, off + len));
            }
        }, null, null, perSecond, 65535);
    }

    private static PacketBuffer buffer(byte[] p) {
        PacketBuffer b = new PacketBuffer(65535);
        b.set(p, 0, p.length);
        return b;
    }

    private static byte[] v4(int total, boolean df) {
        byte[] p = InnerPackets.ipv4(17, total - 28, 7);
        if (df) {
            p[6] |= 0x40;
        } else {
            p[6] &= (byte) ~0x40;
        }
        fixIpChecksum(p);
        return p;
    }

    private static void fixIpChecksum(byte[] p) {
        p[10] = 0;
        p[11] = 0;
        int s = PcapWriter.internetChecksum(p, 0, 20);
        p[10] = (byte) (s >>> 8);
        p[11] = (byte) s;
    }

    @Test
    void ipv4WithDfGetsFragmentationNeededWithTheTunnelMtu() {
        byte[] p = v4(1488, true);
        guard(100).tooBig(buffer(p), MTU);
        assertThat(forwarded).isEmpty();
        assertThat(replies).hasSize(1);
        byte[] icmp = replies.getFirst();
        assertThat(icmp[9]).isEqualTo((byte) 1);
        assertThat(Arrays.copyOfRange(icmp, 12, 16)).isEqualTo(Arrays.copyOfRange(p, 16, 20)); // from the destination
        assertThat(Arrays.copyOfRange(icmp, 16, 20)).isEqualTo(Arrays.copyOfRange(p, 12, 16)); // to the sender
        assertThat(icmp[20]).isEqualTo((byte) 3);
        assertThat(icmp[21]).isEqualTo((byte) 4);
        assertThat(((icmp[26] & 0xff) << 8) | (icmp[27] & 0xff)).isEqualTo(MTU);
        assertThat(icmp.length).isEqualTo(576); // RFC 1812 §4.3.2.3: as much as fits in 576
        assertThat(Arrays.copyOfRange(icmp, 28, 48)).isEqualTo(Arrays.copyOfRange(p, 0, 20));
        assertThat(counters.icmpSent.sum()).isEqualTo(1);
    }

    @Test
    void ipv6GetsPacketTooBig() {
        byte[] p = InnerPackets.ipv6(17, 1500 - 48, 3);
        guard(100).tooBig(buffer(p), MTU);
        assertThat(replies).hasSize(1);
        byte[] icmp = replies.getFirst();
        assertThat(icmp[6]).isEqualTo((byte) 58);
        assertThat(icmp[40]).isEqualTo((byte) 2);
        assertThat(icmp[41]).isEqualTo((byte) 0);
        assertThat(((icmp[44] & 0xff) << 24) | ((icmp[45] & 0xff) << 16) | ((icmp[46] & 0xff) << 8) | (icmp[47] & 0xff))
                .isEqualTo(MTU);
        assertThat(icmp.length).isEqualTo(1280); // RFC 4443 §2.4 (c)
    }

    @Test
    void ipv4WithoutDfIsFragmentedAndReassemblesToTheOriginal() {
        byte[] p = v4(3000, false);
        guard(100).tooBig(buffer(p), MTU);
        assertThat(replies).isEmpty();
        assertThat(forwarded).hasSize(3);
        byte[] payload = new byte[3000 - 20];
        int covered = 0;
        for (int i = 0; i < forwarded.size(); i++) {
            byte[] f = forwarded.get(i);
            assertThat(f.length).isLessThanOrEqualTo(MTU);
            int flags = (f[6] & 0xff) >> 5;
            int offset = (((f[6] & 0x1f) << 8) | (f[7] & 0xff)) * 8;
            assertThat(flags & 1).as("MF of fragment " + i).isEqualTo(i < 2 ? 1 : 0);
            assertThat(offset).isEqualTo(covered);
            System.arraycopy(f, 20, payload, offset, f.length - 20);
            covered += f.length - 20;
            assertThat(PcapWriter.internetChecksum(f, 0, 20)).isZero(); // header checksum verifies
        }
        assertThat(covered).isEqualTo(payload.length);
        assertThat(payload).isEqualTo(Arrays.copyOfRange(p, 20, p.length));
        assertThat(counters.fragmented.sum()).isEqualTo(1);
        assertThat(counters.fragments.sum()).isEqualTo(3);
    }

    @Test
    void tsharkAcceptsTheIcmpErrorsAndReassemblesTheFragments() throws Exception {
        Tshark tshark = Tshark.assumeInstalled();
        PathMtuGuard g = guard(100);
        g.tooBig(buffer(v4(1488, true)), MTU);
        g.tooBig(buffer(InnerPackets.ipv6(17, 1452, 3)), MTU);
        g.tooBig(buffer(v4(3000, false)), MTU);
        List<byte[]> all = new ArrayList<>(replies);
        all.addAll(forwarded);
        Path pcap = PcapWriter.writeAll(dir.resolve("toobig.pcap"), all.toArray(byte[][]::new));
        Tshark.Result r = tshark.run(List.of("-n", "-r", pcap.toString(), "-o", "ip.check_checksum:TRUE",
                "-o", "ip.defragment:TRUE", "-T", "fields", "-E", "separator=/t",
                "-e", "ip.checksum.status", "-e", "icmp.type", "-e", "icmp.code", "-e", "icmp.mtu",
                "-e", "icmp.checksum.status", "-e", "icmpv6.type", "-e", "icmpv6.mtu", "-e", "icmpv6.checksum.status",
                "-e", "ip.reassembled.length"), Duration.ofSeconds(60)).requireSuccess();
        List<String> lines = r.stdout().lines().toList();
        assertThat(lines).hasSize(5);
        // ip.checksum.status: 1 = good; icmp(v6).checksum.status: 1 = good.
        // (The quoted header inside the ICMP error has its own checksum status: "1,1".)
        assertThat(lines.get(0)).startsWith("1,1\t3\t4\t" + MTU + "\t1\t");
        assertThat(lines.get(1)).contains("\t2\t" + MTU + "\t1");
        assertThat(lines.get(4)).startsWith("1\t").endsWith("\t2980"); // 3000 B datagram: 2980 B payload reassembled
    }

    @Test
    void icmpErrorsAreRateLimitedAndNeverSentAboutIcmpErrorsOrLaterFragments() {
        PathMtuGuard g = guard(100);
        byte[] p = v4(1488, true);
        long t0 = System.nanoTime();
        for (int i = 0; i < 1000; i++) {
            g.tooBig(buffer(p), MTU);
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        // A burst of 10, then 100/s.
        assertThat(counters.icmpSent.sum()).isBetween(10L, 11L + (long) (100 * seconds));
        assertThat(seconds).as("the loop must be short for the bound to mean something").isLessThan(5);
        assertThat(counters.icmpSent.sum() + counters.icmpRateLimited.sum()).isEqualTo(1000);

        replies.clear();
        byte[] laterFragment = v4(1488, true);
        laterFragment[7] = 10; // fragment offset 80
        fixIpChecksum(laterFragment);
        byte[] icmpError = v4(1488, true);
        icmpError[9] = 1;
        icmpError[20] = 3; // an ICMP destination unreachable itself
        fixIpChecksum(icmpError);
        long silent = counters.droppedSilently.sum();
        guard(100).tooBig(buffer(laterFragment), MTU);
        guard(100).tooBig(buffer(icmpError), MTU);
        assertThat(replies).isEmpty();
        assertThat(counters.droppedSilently.sum()).isEqualTo(silent + 2);
    }

    @Test
    void allocatesNothingPerPacket() {
        PathMtuGuard.Output sink = new PathMtuGuard.Output() {
            long n;

            @Override
            public void forward(PacketBuffer fragment) {
                n += fragment.length();
            }

            @Override
            public void reply(byte[] packet, int off, int len) {
                n += len;
            }
        };
        PathMtuGuard g = new PathMtuGuard(counters, sink, null, null, 1_000_000_000, 65535);
        PacketBuffer df = buffer(v4(1488, true));
        PacketBuffer frag = buffer(v4(3000, false));
        PacketBuffer v6 = buffer(InnerPackets.ipv6(17, 1452, 3));
        for (int i = 0; i < 20_000; i++) {
            g.tooBig(df, MTU);
            g.tooBig(frag, MTU);
            g.tooBig(v6, MTU);
        }
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long before = mx.getCurrentThreadAllocatedBytes();
        for (int i = 0; i < 10_000; i++) {
            g.tooBig(df, MTU);
            g.tooBig(frag, MTU);
            g.tooBig(v6, MTU);
        }
        long bytes = mx.getCurrentThreadAllocatedBytes() - before;
        assertThat(bytes / 30_000).as("bytes per too-big packet").isZero();
        assertThat(counters.icmpSent.sum()).isPositive();
    }
}
