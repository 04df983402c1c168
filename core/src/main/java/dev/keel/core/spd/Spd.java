package dev.keel.core.spd;

import dev.keel.core.net.IpAddress;
import dev.keel.core.packet.BigEndian;
import dev.keel.core.packet.IpPacketInfo;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * An immutable, ordered SPD with an allocation-free first-match lookup for the packet path.
 *
 * <p><b>Semantics.</b> Entries are ordered and the first entry that matches a packet decides
 * (RFC 4301 §4.4.1). Entries are not decorrelated (§4.4.1.2 permits an ordered SPD instead);
 * whoever builds the list is responsible for an order that means what the operator wrote. A
 * packet no entry matches gets {@code null}: RFC 4301 §5.1 and §5.2 then require it be
 * discarded.
 *
 * <p><b>Index.</b> Per address family, the remote (peer-side) address space is cut into
 * elementary intervals at every remote selector's start and end + 1. Each interval holds the
 * indexes, in SPD order, of the entries whose remote range covers it, so a lookup is one binary
 * search on the remote address and a first-match scan of that interval's candidates (usually a
 * handful). Identical candidate lists of neighbouring intervals share one array. Build cost and
 * memory are linear in the sum, over entries, of the intervals each covers: near-linear for
 * real SPDs (host and subnet selectors plus a few wide ones), quadratic only for many deeply
 * nested remote ranges.
 */
public final class Spd {

    private static final Spd EMPTY = new Spd(List.of());

    private final List<SpdEntry> entries;
    private final SpdEntry[] array;
    private final FamilyIndex v4;
    private final FamilyIndex v6;
    /*
     * Per entry, a flat copy of everything a candidate is checked on, STRIDE longs apiece in one
     * array: the scan touches about one cache line per candidate instead of chasing entry ->
     * selector -> range -> address objects. The remote address needs no check: every candidate
     * of an interval covers the whole interval. SpdPropertiesTest holds this equal to
     * SpdEntry.matches / TrafficSelector.matches.
     */
    private static final int STRIDE = 6;
    private static final int PROTOCOL = 0;
    private static final int LOCAL_START_HI = 1;
    private static final int LOCAL_START_LO = 2;
    private static final int LOCAL_END_HI = 3;
    private static final int LOCAL_END_LO = 4;
    /** local start port << 48 | local end port << 32 | remote start port << 16 | remote end port. */
    private static final int PORTS = 5;
    private final long[] flat;

    /**
     * Protocols whose packets carry ports, or ICMP type/code or MH type in their place (RFC 4301
     * §4.4.1.1): the table of core.ts.Protocols, which TrafficSelector.matches applies.
     */
    private static final boolean[] HAS_PORTS = new boolean[256];

    static {
        for (int p : new int[] {1, 6, 17, 33, 58, 132, 135, 136}) {
            HAS_PORTS[p] = true;
        }
    }

    private Spd(List<SpdEntry> entries) {
        this.entries = List.copyOf(entries);
        this.array = this.entries.toArray(new SpdEntry[0]);
        this.v4 = FamilyIndex.build(array, false);
        this.v6 = FamilyIndex.build(array, true);
        flat = new long[array.length * STRIDE];
        for (int i = 0; i < array.length; i++) {
            SpdEntry e = array[i];
            int o = i * STRIDE;
            // compatible() guarantees the two protocols are equal or one of them is any.
            flat[o + PROTOCOL] = e.local().protocol() != 0 ? e.local().protocol() : e.remote().protocol();
            flat[o + LOCAL_START_HI] = e.local().startAddress().highBits();
            flat[o + LOCAL_START_LO] = e.local().startAddress().lowBits();
            flat[o + LOCAL_END_HI] = e.local().endAddress().highBits();
            flat[o + LOCAL_END_LO] = e.local().endAddress().lowBits();
            flat[o + PORTS] = (long) e.local().startPort() << 48 | (long) e.local().endPort() << 32
                    | (long) e.remote().startPort() << 16 | e.remote().endPort();
        }
    }

    /** An SPD of {@code ordered}, first match wins. */
    public static Spd of(List<SpdEntry> ordered) {
        Objects.requireNonNull(ordered, "ordered");
        return ordered.isEmpty() ? EMPTY : new Spd(ordered);
    }

    /** The SPD with no entries: every lookup returns null. */
    public static Spd empty() {
        return EMPTY;
    }

    /** The entries in order; the position of an entry is its order. */
    public List<SpdEntry> entries() {
        return entries;
    }

    /** Number of entries. */
    public int size() {
        return array.length;
    }

    /**
     * The entry for an outbound (plaintext, to be protected) packet parsed into {@code info}: our
     * side is its source, the peer's side its destination. Null when no entry matches.
     */
    public SpdEntry lookupOutbound(IpPacketInfo info, byte[] packet) {
        return lookup(info.protocol(), info.isIpv6(), packet, info.sourceOffset(), info.sourcePort(),
                packet, info.destinationOffset(), info.destinationPort());
    }

    /**
     * The entry for an inbound packet (a decapsulated inner packet, or clear text arriving from
     * the peer's side): our side is its destination, the peer's side its source.
     */
    public SpdEntry lookupInbound(IpPacketInfo info, byte[] packet) {
        return lookup(info.protocol(), info.isIpv6(), packet, info.destinationOffset(), info.destinationPort(),
                packet, info.sourceOffset(), info.sourcePort());
    }

    /**
     * The first entry matching a packet, or null; allocation-free.
     *
     * @param protocol   the upper-layer protocol
     * @param ipv6       whether addresses are 16 bytes (else 4)
     * @param localAddr  buffer holding our side's address; {@code localOff} its offset
     * @param localPort  our side's port, ICMP type/code ({@code type << 8 | code}), or
     *                   {@link dev.keel.core.ts.TrafficSelector#NO_PORT}
     * @param remoteAddr buffer holding the peer side's address; {@code remoteOff} its offset
     * @param remotePort the peer side's port, as {@code localPort}
     * @throws IndexOutOfBoundsException if an address does not fit its buffer
     */
    public SpdEntry lookup(int protocol, boolean ipv6, byte[] localAddr, int localOff, int localPort,
            byte[] remoteAddr, int remoteOff, int remotePort) {
        FamilyIndex index = ipv6 ? v6 : v4;
        if (index == null) {
            return null;
        }
        long hi;
        long lo;
        long localHi;
        long localLo;
        if (ipv6) {
            hi = BigEndian.getLong(remoteAddr, remoteOff);
            lo = BigEndian.getLong(remoteAddr, remoteOff + 8);
            localHi = BigEndian.getLong(localAddr, localOff);
            localLo = BigEndian.getLong(localAddr, localOff + 8);
        } else {
            hi = 0;
            lo = BigEndian.getInt(remoteAddr, remoteOff) & 0xFFFF_FFFFL;
            localHi = 0;
            localLo = BigEndian.getInt(localAddr, localOff) & 0xFFFF_FFFFL;
        }
        int[] candidates = index.candidates[index.interval(hi, lo)];
        boolean portless = protocol < 0 || protocol > 255 || !HAS_PORTS[protocol];
        boolean noLocalPort = portless || localPort < 0;
        boolean noRemotePort = portless || remotePort < 0;
        long[] f = flat;
        for (int c : candidates) {
            int o = c * STRIDE;
            long p = f[o + PROTOCOL];
            if (p != 0 && p != protocol
                    || below(localHi, localLo, f[o + LOCAL_START_HI], f[o + LOCAL_START_LO])
                    || below(f[o + LOCAL_END_HI], f[o + LOCAL_END_LO], localHi, localLo)) {
                continue;
            }
            long ports = f[o + PORTS];
            if (portMatches((int) (ports >>> 48), (int) (ports >>> 32) & 0xFFFF, noLocalPort, localPort)
                    && portMatches((int) (ports >>> 16) & 0xFFFF, (int) ports & 0xFFFF, noRemotePort, remotePort)) {
                return array[c];
            }
        }
        return null;
    }

    /** TrafficSelector's port rule: any matches all; OPAQUE (start > end) only "no port"; else the range. */
    private static boolean portMatches(int start, int end, boolean noPort, int port) {
        if (start == 0 && end == 0xFFFF) {
            return true;
        }
        if (start > end) {
            return noPort;
        }
        return !noPort && port >= start && port <= end;
    }

    /** Whether (aHi, aLo) is below (bHi, bLo), unsigned. */
    private static boolean below(long aHi, long aLo, long bHi, long bLo) {
        return aHi != bHi ? Long.compareUnsigned(aHi, bHi) < 0 : Long.compareUnsigned(aLo, bLo) < 0;
    }

    /**
     * The reference semantics of {@link #lookup}: a linear first-match scan of every entry. For
     * tests and benchmarks; O(n).
     */
    public SpdEntry lookupLinear(int protocol, boolean ipv6, byte[] localAddr, int localOff, int localPort,
            byte[] remoteAddr, int remoteOff, int remotePort) {
        for (SpdEntry e : array) {
            if (e.isIpv6() == ipv6
                    && e.matches(protocol, ipv6, localAddr, localOff, localPort, remoteAddr, remoteOff, remotePort)) {
                return e;
            }
        }
        return null;
    }

    /** Total candidate slots in the index (after sharing), to watch the index's memory. */
    public long indexSize() {
        return (v4 == null ? 0 : v4.slots) + (v6 == null ? 0 : v6.slots);
    }

    @Override
    public String toString() {
        return "Spd[" + array.length + " entries]";
    }

    /** Elementary intervals of one family's remote address space and their candidate entries. */
    private static final class FamilyIndex {
        /** Interval i is [start(i), start(i+1) - 1]; starts ascending, unsigned, first is 0. */
        private final long[] startHi;
        private final long[] startLo;
        private final int[][] candidates;
        private final long slots;

        private FamilyIndex(long[] startHi, long[] startLo, int[][] candidates, long slots) {
            this.startHi = startHi;
            this.startLo = startLo;
            this.candidates = candidates;
            this.slots = slots;
        }

        static FamilyIndex build(SpdEntry[] entries, boolean ipv6) {
            List<Integer> members = new ArrayList<>();
            for (int i = 0; i < entries.length; i++) {
                if (entries[i].isIpv6() == ipv6) {
                    members.add(i);
                }
            }
            if (members.isEmpty()) {
                return null;
            }
            // Cut points: 0, every remote start, and every remote end + 1 below the top of the space.
            long[][] points = new long[2 * members.size() + 1][];
            int n = 0;
            points[n++] = new long[] {0, 0};
            for (int i : members) {
                IpAddress s = entries[i].remote().startAddress();
                IpAddress e = entries[i].remote().endAddress();
                points[n++] = new long[] {s.highBits(), s.lowBits()};
                if (!e.equals(IpAddress.max(e.family()))) {
                    IpAddress next = e.next();
                    points[n++] = new long[] {next.highBits(), next.lowBits()};
                }
            }
            Arrays.sort(points, 0, n, FamilyIndex::compare);
            int k = 0;
            for (int i = 0; i < n; i++) {
                if (k == 0 || compare(points[k - 1], points[i]) != 0) {
                    points[k++] = points[i];
                }
            }
            long[] hi = new long[k];
            long[] lo = new long[k];
            for (int i = 0; i < k; i++) {
                hi[i] = points[i][0];
                lo[i] = points[i][1];
            }
            FamilyIndex shape = new FamilyIndex(hi, lo, null, 0);
            int[][] lists = new int[k][];
            int[] sizes = new int[k];
            // Entries in SPD order, so every interval's list comes out in SPD order.
            for (int i : members) {
                IpAddress s = entries[i].remote().startAddress();
                IpAddress e = entries[i].remote().endAddress();
                int from = shape.interval(s.highBits(), s.lowBits());
                int to = shape.interval(e.highBits(), e.lowBits());
                for (int j = from; j <= to; j++) {
                    if (lists[j] == null) {
                        lists[j] = new int[4];
                    } else if (sizes[j] == lists[j].length) {
                        lists[j] = Arrays.copyOf(lists[j], sizes[j] * 2);
                    }
                    lists[j][sizes[j]++] = i;
                }
            }
            int[][] candidates = new int[k][];
            int[] none = new int[0];
            long slots = 0;
            for (int j = 0; j < k; j++) {
                int[] list = lists[j] == null ? none : Arrays.copyOf(lists[j], sizes[j]);
                if (j > 0 && Arrays.equals(candidates[j - 1], list)) {
                    candidates[j] = candidates[j - 1];
                } else {
                    candidates[j] = list;
                    slots += list.length;
                }
                lists[j] = null;
            }
            return new FamilyIndex(hi, lo, candidates, slots);
        }

        private static int compare(long[] a, long[] b) {
            int c = Long.compareUnsigned(a[0], b[0]);
            return c != 0 ? c : Long.compareUnsigned(a[1], b[1]);
        }

        /** Index of the interval holding (hi, lo): the last start not above it. */
        int interval(long hi, long lo) {
            int low = 0;
            int high = startHi.length - 1;
            while (low < high) {
                int mid = (low + high + 1) >>> 1;
                int c = Long.compareUnsigned(startHi[mid], hi);
                if (c == 0) {
                    c = Long.compareUnsigned(startLo[mid], lo);
                }
                if (c <= 0) {
                    low = mid;
                } else {
                    high = mid - 1;
                }
            }
            return low;
        }
    }
}
