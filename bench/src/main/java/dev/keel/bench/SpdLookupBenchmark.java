package dev.keel.bench;

import dev.keel.core.net.IpAddress;
import dev.keel.core.net.IpPrefix;
import dev.keel.core.packet.BigEndian;
import dev.keel.core.packet.IpPacketInfo;
import dev.keel.core.spd.Spd;
import dev.keel.core.spd.SpdAction;
import dev.keel.core.spd.SpdEntry;
import dev.keel.core.ts.TrafficSelector;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * SPD lookups per second on the outbound packet path, single thread, with 10 and 10,000
 * policies: the indexed {@link Spd#lookup} on pre-parsed fields, the same after parsing the IPv4
 * header ({@link Spd#lookupOutbound}), and the linear first-match scan it replaces.
 *
 * <p>The SPD looks like a hub gateway's: local subnets 10.x.y.0/24, remote selectors 70% /24
 * and 30% /32, one in five restricted to a TCP or UDP port, mostly PROTECT with some BYPASS and
 * DISCARD, ordered most specific first as policy-service orders them, and a final catch-all
 * DISCARD. 90% of the 4096 packets cycled through hit a policy; the rest fall to the catch-all.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(1)
public class SpdLookupBenchmark {

    private static final int PACKETS = 4096;
    private static final int PACKET_LENGTH = 28;

    @Param({"10", "10000"})
    int policies;

    private Spd spd;
    private final IpPacketInfo info = new IpPacketInfo();
    private final byte[][] packets = new byte[PACKETS][];
    private final int[] protocol = new int[PACKETS];
    private final int[] srcPort = new int[PACKETS];
    private final int[] dstPort = new int[PACKETS];
    private int next;

    @Setup(Level.Trial)
    public void setUp() {
        Random r = new Random(20261128);
        List<SpdEntry> entries = new ArrayList<>();
        List<Integer> ranks = new ArrayList<>();
        for (int i = 0; i < policies; i++) {
            IpPrefix local = IpPrefix.containing(IpAddress.ofIpv4(0x0A00_0000 | r.nextInt(1 << 16) << 8), 24);
            boolean host = r.nextInt(10) < 3;
            IpPrefix remote = IpPrefix.containing(IpAddress.ofIpv4(0xAC10_0000 | r.nextInt(1 << 20)), host ? 32 : 24);
            TrafficSelector l = TrafficSelector.of(local);
            TrafficSelector rem;
            if (r.nextInt(5) == 0) {
                int proto = r.nextBoolean() ? 6 : 17;
                int port = 1 + r.nextInt(1024);
                l = TrafficSelector.of(local.toRange(), proto, 0, 65535);
                rem = TrafficSelector.of(remote.toRange(), proto, port, port);
            } else {
                rem = TrafficSelector.of(remote);
            }
            int roll = r.nextInt(20);
            SpdEntry e = roll == 0 ? SpdEntry.of("bypass-" + i, l, rem, SpdAction.BYPASS)
                    : roll == 1 ? SpdEntry.of("drop-" + i, l, rem, SpdAction.DISCARD)
                    : SpdEntry.protect("peer-" + i, "net", l, rem);
            entries.add(e);
            // Most specific first: /32 before /24, port-specific before any port.
            ranks.add((host ? 0 : 2) + (rem.isAnyPort() ? 1 : 0));
        }
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < entries.size(); i++) {
            order.add(i);
        }
        order.sort(Comparator.comparingInt(ranks::get));
        List<SpdEntry> ordered = new ArrayList<>();
        for (int i : order) {
            ordered.add(entries.get(i));
        }
        ordered.add(SpdEntry.of("catch-all", TrafficSelector.parse("0.0.0.0/0"), TrafficSelector.parse("0.0.0.0/0"),
                SpdAction.DISCARD));
        spd = Spd.of(ordered);

        for (int p = 0; p < PACKETS; p++) {
            int src;
            int dst;
            int proto;
            int dport;
            if (r.nextInt(10) < 9) {
                SpdEntry e = entries.get(r.nextInt(entries.size()));
                src = (int) e.local().startAddress().lowBits() + r.nextInt(256);
                long rs = e.remote().startAddress().lowBits();
                long span = e.remote().endAddress().lowBits() - rs + 1;
                dst = (int) (rs + r.nextInt((int) span));
                proto = e.remote().protocol() != 0 ? e.remote().protocol() : r.nextBoolean() ? 6 : 17;
                dport = e.remote().isAnyPort() ? 1 + r.nextInt(65535) : e.remote().startPort();
            } else {
                src = 0xC0A8_0000 | r.nextInt(1 << 16); // 192.168/16: no policy but the catch-all
                dst = 0xC633_6400 | r.nextInt(256);
                proto = 17;
                dport = 53;
            }
            int sport = 1024 + r.nextInt(60000);
            packets[p] = ipv4(src, dst, proto, sport, dport);
            protocol[p] = proto;
            srcPort[p] = sport;
            dstPort[p] = dport;
        }
    }

    private static byte[] ipv4(int src, int dst, int proto, int sport, int dport) {
        byte[] b = new byte[PACKET_LENGTH];
        b[0] = 0x45;
        b[3] = PACKET_LENGTH;
        b[8] = 64;
        b[9] = (byte) proto;
        BigEndian.putInt(b, 12, src);
        BigEndian.putInt(b, 16, dst);
        BigEndian.putU16(b, 20, sport);
        BigEndian.putU16(b, 22, dport);
        return b;
    }

    private int nextIndex() {
        int i = next;
        next = (i + 1) & (PACKETS - 1);
        return i;
    }

    /** Indexed lookup on fields a caller already parsed. */
    @Benchmark
    public SpdEntry lookup() {
        int i = nextIndex();
        byte[] p = packets[i];
        return spd.lookup(protocol[i], false, p, 12, srcPort[i], p, 16, dstPort[i]);
    }

    /** Header parse plus indexed lookup: the whole outbound policy step. */
    @Benchmark
    public SpdEntry parseAndLookup() {
        byte[] p = packets[nextIndex()];
        info.parse(p, 0, PACKET_LENGTH);
        return spd.lookupOutbound(info, p);
    }

    /** The linear first-match scan, for comparison. */
    @Benchmark
    public SpdEntry linearScan() {
        int i = nextIndex();
        byte[] p = packets[i];
        return spd.lookupLinear(protocol[i], false, p, 12, srcPort[i], p, 16, dstPort[i]);
    }
}
