package dev.keel.core.spd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.core.net.IpAddress;
import dev.keel.core.packet.IpPacketInfo;
import dev.keel.core.ts.TrafficSelector;
import java.lang.management.ManagementFactory;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class SpdTest {

    private static TrafficSelector ts(String text) {
        return TrafficSelector.parse(text);
    }

    private static final SpdEntry SSH_BYPASS = SpdEntry.of("ssh", ts("10.1.0.0/16[tcp/22]"), ts("10.2.0.9"),
            SpdAction.BYPASS);
    private static final SpdEntry NET = SpdEntry.protect("site-b", "net", ts("10.1.0.0/16"), ts("10.2.0.0/16"));
    private static final SpdEntry DROP_REST = SpdEntry.of("drop", ts("0.0.0.0/0"), ts("0.0.0.0/0"),
            SpdAction.DISCARD);
    private static final SpdEntry V6 = SpdEntry.protect("site-b", "v6", ts("2001:db8:1::/48"),
            ts("2001:db8:2::/48[udp/500-600]"));

    private static final Spd SPD = Spd.of(List.of(SSH_BYPASS, NET, V6, DROP_REST));

    private static SpdEntry outbound(int protocol, String src, int srcPort, String dst, int dstPort) {
        IpAddress s = IpAddress.parse(src);
        IpAddress d = IpAddress.parse(dst);
        return SPD.lookup(protocol, s.isIpv6(), s.bytes(), 0, srcPort, d.bytes(), 0, dstPort);
    }

    @Test
    void firstMatchWinsInOrder() {
        assertThat(outbound(6, "10.1.2.3", 22, "10.2.0.9", 40000)).isSameAs(SSH_BYPASS);
        assertThat(outbound(6, "10.1.2.3", 23, "10.2.0.9", 40000)).isSameAs(NET);
        assertThat(outbound(17, "10.1.2.3", 22, "10.2.0.9", 53)).isSameAs(NET);
        assertThat(outbound(6, "10.3.0.1", 22, "10.2.0.9", 1)).isSameAs(DROP_REST);
    }

    @Test
    void ipv6UsesItsOwnIndexAndPorts() {
        assertThat(outbound(17, "2001:db8:1::1", 4000, "2001:db8:2::7", 500)).isSameAs(V6);
        assertThat(outbound(17, "2001:db8:1::1", 4000, "2001:db8:2::7", 601)).isNull();
        assertThat(outbound(6, "2001:db8:1::1", 4000, "2001:db8:2::7", 500)).isNull();
    }

    @Test
    void emptySpdMatchesNothing() {
        byte[] a = IpAddress.parse("10.0.0.1").bytes();
        assertThat(Spd.empty().lookup(6, false, a, 0, 1, a, 0, 2)).isNull();
        assertThat(Spd.of(List.of())).isSameAs(Spd.empty());
    }

    @Test
    void outboundAndInboundSwapSides() {
        // 10.1.0.5:22 -> 10.2.0.9:40000, TCP, as an IPv4 packet.
        byte[] p = new byte[40];
        p[0] = 0x45;
        p[3] = 40;
        p[9] = 6;
        System.arraycopy(IpAddress.parse("10.1.0.5").bytes(), 0, p, 12, 4);
        System.arraycopy(IpAddress.parse("10.2.0.9").bytes(), 0, p, 16, 4);
        p[20] = 0;
        p[21] = 22;
        p[22] = (byte) (40000 >> 8);
        p[23] = (byte) 40000;
        IpPacketInfo info = new IpPacketInfo();
        assertThat(info.parse(p, 0, p.length)).isTrue();
        assertThat(SPD.lookupOutbound(info, p)).isSameAs(SSH_BYPASS);
        // Seen as inbound, 10.2.0.9 is our side: no entry's local side holds it but the catch-all.
        assertThat(SPD.lookupInbound(info, p)).isSameAs(DROP_REST);
    }

    @Test
    void entryInvariants() {
        assertThatThrownBy(() -> SpdEntry.of("x", ts("10.0.0.0/8[tcp]"), ts("10.0.0.0/8[udp]"), SpdAction.BYPASS))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("select nothing");
        assertThatThrownBy(() -> SpdEntry.of("x", ts("10.0.0.0/8"), ts("::/0"), SpdAction.BYPASS))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new SpdEntry("x", ts("10.0.0.0/8"), ts("10.0.0.0/8"), SpdAction.PROTECT, null, null))
                .hasMessageContaining("names its connection");
        assertThatThrownBy(() -> new SpdEntry("x", ts("10.0.0.0/8"), ts("10.0.0.0/8"), SpdAction.BYPASS, "c", "d"))
                .hasMessageContaining("names no connection");
    }

    @Test
    void containsOverlapsAndOutcome() {
        assertThat(DROP_REST.contains(NET)).isTrue();
        assertThat(NET.contains(SSH_BYPASS)).isTrue();
        assertThat(SSH_BYPASS.contains(NET)).isFalse();
        assertThat(NET.overlaps(SSH_BYPASS)).isTrue();
        assertThat(NET.overlaps(V6)).isFalse();
        SpdEntry tcp = SpdEntry.of("t", ts("10.0.0.0/8[tcp]"), ts("10.0.0.0/8"), SpdAction.BYPASS);
        SpdEntry udp = SpdEntry.of("u", ts("10.0.0.0/8"), ts("10.0.0.0/8[udp]"), SpdAction.DISCARD);
        assertThat(tcp.overlaps(udp)).isFalse();
        assertThat(NET.sameOutcome(SpdEntry.protect("site-b", "net", ts("1.0.0.0/8"), ts("2.0.0.0/8")))).isTrue();
        assertThat(NET.sameOutcome(SpdEntry.protect("site-b", "other", ts("1.0.0.0/8"), ts("2.0.0.0/8")))).isFalse();
    }

    @Test
    void lookupAllocatesNothing() {
        Assumptions.assumeTrue(ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean);
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        Assumptions.assumeTrue(threads.isThreadAllocatedMemorySupported());
        threads.setThreadAllocatedMemoryEnabled(true);
        byte[] src = IpAddress.parse("10.1.2.3").bytes();
        byte[] dst = IpAddress.parse("10.2.0.9").bytes();
        int hits = 0;
        for (int i = 0; i < 20_000; i++) { // warm up so the JIT's escape analysis has run
            hits += SPD.lookup(6, false, src, 0, i & 0xFF, dst, 0, 80) != null ? 1 : 0;
        }
        long before = threads.getCurrentThreadAllocatedBytes();
        for (int i = 0; i < 10_000; i++) {
            hits += SPD.lookup(6, false, src, 0, i & 0xFF, dst, 0, 80) != null ? 1 : 0;
        }
        long perCall = (threads.getCurrentThreadAllocatedBytes() - before) / 10_000;
        assertThat(hits).isEqualTo(30_000);
        assertThat(perCall).isZero();
    }
}
