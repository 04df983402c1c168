package dev.keel.core.spd;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.net.IpAddress;
import dev.keel.core.net.IpPrefix;
import dev.keel.core.net.IpRange;
import dev.keel.core.ts.TrafficSelector;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The indexed lookup against the naive first-match scan, over random SPDs whose selectors live
 * in small neighbourhoods so that overlaps, nesting and shared boundaries are common. Seeded and
 * bounded: a failure names its seed.
 */
class SpdPropertiesTest {

    private static final int SPDS = 300;
    private static final int PACKETS_PER_SPD = 400;
    private static final long V4_BASE = 0x0A00_0000L; // 10.0.0.0
    private static final long V6_HI = 0x2001_0db8_0000_0000L;
    private static final int[] PROTOCOLS = {0, 0, 6, 6, 17, 1, 47, 58, 132};
    /** Every protocol with ports (and ICMP's type/code), and some without. */
    private static final int[] PACKET_PROTOCOLS = {1, 6, 17, 33, 58, 132, 135, 136, 0, 4, 47, 50, 255};

    private static IpAddress address(Random r, boolean ipv6) {
        int roll = r.nextInt(20);
        if (ipv6) {
            return switch (roll) {
                case 0 -> IpAddress.ofIpv6(0, 0);
                case 1 -> IpAddress.ofIpv6(-1L, -1L);
                default -> IpAddress.ofIpv6(V6_HI, r.nextInt(64));
            };
        }
        return switch (roll) {
            case 0 -> IpAddress.ofIpv4(0);
            case 1 -> IpAddress.ofIpv4(-1);
            default -> IpAddress.ofIpv4((int) (V4_BASE + r.nextInt(64)));
        };
    }

    private static IpRange range(Random r, boolean ipv6) {
        if (r.nextInt(4) == 0) {
            // A prefix, as most configs have.
            return IpPrefix.containing(address(r, ipv6), ipv6 ? 120 + r.nextInt(9) : 24 + r.nextInt(9)).toRange();
        }
        IpAddress a = address(r, ipv6);
        IpAddress b = address(r, ipv6);
        return a.compareTo(b) <= 0 ? IpRange.of(a, b) : IpRange.of(b, a);
    }

    private static TrafficSelector selector(Random r, boolean ipv6, int protocol) {
        IpRange range = r.nextInt(10) == 0 ? IpRange.all(ipv6 ? dev.keel.core.net.IpFamily.IPV6
                : dev.keel.core.net.IpFamily.IPV4) : range(r, ipv6);
        if (protocol == 6 || protocol == 17 || protocol == 132 || protocol == 1 || protocol == 58) {
            int kind = r.nextInt(4);
            if (kind == 0) {
                int a = r.nextInt(8);
                int b = a + r.nextInt(4);
                return TrafficSelector.of(range, protocol, a, b);
            }
            if (kind == 1) {
                return TrafficSelector.of(range, protocol, 65535, 0);
            }
        }
        return TrafficSelector.of(range, protocol, 0, 65535);
    }

    private static List<SpdEntry> randomEntries(Random r) {
        int n = 1 + r.nextInt(40);
        List<SpdEntry> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            boolean ipv6 = r.nextInt(4) == 0;
            int protocol = PROTOCOLS[r.nextInt(PROTOCOLS.length)];
            TrafficSelector local = selector(r, ipv6, r.nextBoolean() ? protocol : 0);
            TrafficSelector remote = selector(r, ipv6, protocol);
            SpdAction action = SpdAction.values()[r.nextInt(3)];
            out.add(action == SpdAction.PROTECT ? SpdEntry.protect("c", "child" + i, local, remote)
                    : SpdEntry.of("p" + i, local, remote, action));
        }
        return out;
    }

    @Test
    void indexedLookupEqualsFirstMatchScan() {
        for (int seed = 0; seed < SPDS; seed++) {
            Random r = new Random(seed);
            Spd spd = Spd.of(randomEntries(r));
            for (int p = 0; p < PACKETS_PER_SPD; p++) {
                boolean ipv6 = r.nextInt(4) == 0;
                byte[] local = address(r, ipv6).bytes();
                byte[] remote = address(r, ipv6).bytes();
                int protocol = PACKET_PROTOCOLS[r.nextInt(PACKET_PROTOCOLS.length)];
                int lp = r.nextInt(6) == 0 ? TrafficSelector.NO_PORT : r.nextInt(12);
                int rp = r.nextInt(6) == 0 ? TrafficSelector.NO_PORT : r.nextInt(12);
                SpdEntry fast = spd.lookup(protocol, ipv6, local, 0, lp, remote, 0, rp);
                SpdEntry slow = spd.lookupLinear(protocol, ipv6, local, 0, lp, remote, 0, rp);
                assertThat(fast).as("seed %d packet %d", seed, p).isSameAs(slow);
            }
        }
    }

    @Test
    void everyEntryIsFoundForAPacketInsideIt() {
        // A packet at an entry's corners is matched by that entry or an earlier one, never a later one.
        for (int seed = 0; seed < SPDS; seed++) {
            Random r = new Random(seed);
            Spd spd = Spd.of(randomEntries(r));
            List<SpdEntry> entries = spd.entries();
            for (int i = 0; i < entries.size(); i++) {
                SpdEntry e = entries.get(i);
                int protocol = e.remote().protocol() != 0 ? e.remote().protocol()
                        : e.local().protocol() != 0 ? e.local().protocol() : 47;
                int lp = port(e.local(), protocol);
                int rp = port(e.remote(), protocol);
                for (IpAddress l : List.of(e.local().startAddress(), e.local().endAddress())) {
                    for (IpAddress rem : List.of(e.remote().startAddress(), e.remote().endAddress())) {
                        SpdEntry found = spd.lookup(protocol, e.isIpv6(), l.bytes(), 0, lp, rem.bytes(), 0, rp);
                        assertThat(found).as("seed %d entry %d", seed, i).isNotNull();
                        assertThat(entries.indexOf(found)).as("seed %d entry %d", seed, i).isLessThanOrEqualTo(i);
                    }
                }
            }
        }
    }

    private static int port(TrafficSelector ts, int protocol) {
        if (ts.isOpaquePort() || protocol == 47) {
            return TrafficSelector.NO_PORT;
        }
        return ts.isAnyPort() ? 7 : ts.endPort();
    }
}
