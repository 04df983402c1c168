package dev.keel.policy.config;

import dev.keel.core.config.Problems;

import dev.keel.core.net.IpAddress;
import dev.keel.core.spd.SpdAction;
import dev.keel.core.spd.SpdEntry;
import dev.keel.core.ts.TrafficSelector;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.yaml.snakeyaml.error.Mark;

/**
 * Compiles children and explicit policies into an ordered SPD and finds conflicts.
 *
 * <p><b>Entries.</b> A child or policy with local selectors L1..Ln and remote selectors
 * R1..Rm gives one entry per pair (Li, Rj), in that order, as strongSwan installs one policy
 * per pair. A pair of different families, or of two different specific protocols, selects
 * nothing and gives no entry (RFC 4301 §4.4.1.1: one next-layer protocol per entry); a child or
 * policy left with no entry at all is a problem.
 *
 * <p><b>Order</b> (RFC 4301 §4.4.1: ordered, first match wins; no decorrelation):
 * <ol>
 *   <li>lower {@code priority} first;</li>
 *   <li>then more specific first: IPv4 before IPv6 (they never overlap), then the smaller remote
 *       address range, the smaller local range, a specific protocol before any, the smaller
 *       remote then local port range (OPAQUE counts as smallest);</li>
 *   <li>then file order.</li>
 * </ol>
 * If entry B lies strictly inside entry A (both selectors contained, not equal) then B is
 * smaller or equal in every key above and smaller in one, so B comes first: an exception
 * carved out of a wider rule works whatever order it is written in.
 *
 * <p><b>Conflicts.</b> Two entries conflict, and the load is rejected, when all hold: they have
 * the same priority; they do different things (different action, or PROTECT through different
 * children); some packet matches both; and neither strictly contains the other (identical
 * selectors included). For such a pair any order would be arbitrary. Entries that do the same
 * thing may overlap freely. The remedy is to make them disjoint, nest one inside the other, or
 * give them different priorities. Entries of different interfaces' SPDs (route-based connections,
 * {@link SpdEntry#iface}) never conflict: only packets routed into an interface meet its SPD. Within those rules the outcome for every packet is that of
 * the most specific matching entry of the lowest priority, independent of file order.
 */
final class SpdCompiler {

    /** Conflicts reported before the rest are summarised, to keep a bad file's report readable. */
    static final int MAX_CONFLICTS_REPORTED = 100;

    /**
     * A child or explicit policy to compile; {@code iface}: the interface whose own SPD a
     * route-based connection's child is in (null: the shared SPD).
     */
    record Source(String path, Mark mark, int priority, SpdAction action, String connection, String child,
            String policyName, List<TrafficSelector> local, List<TrafficSelector> remote, String iface) {

        Source(String path, Mark mark, int priority, SpdAction action, String connection, String child,
                String policyName, List<TrafficSelector> local, List<TrafficSelector> remote) {
            this(path, mark, priority, action, connection, child, policyName, local, remote, null);
        }

        String outcome() {
            return action == SpdAction.PROTECT ? "PROTECT via " + connection + "/" + child : action.toString();
        }
    }

    private record Candidate(SpdEntry entry, Source source, int localIndex, int remoteIndex, int sequence) {
        String where() {
            return source.path + " (local_ts[" + localIndex + "] " + entry.local() + " === remote_ts["
                    + remoteIndex + "] " + entry.remote() + ")";
        }
    }

    private SpdCompiler() {
    }

    static List<CompiledPolicy> compile(List<Source> sources, Problems problems) {
        List<Candidate> candidates = new ArrayList<>();
        for (Source s : sources) {
            int before = candidates.size();
            for (int i = 0; i < s.local.size(); i++) {
                for (int j = 0; j < s.remote.size(); j++) {
                    TrafficSelector l = s.local.get(i);
                    TrafficSelector r = s.remote.get(j);
                    if (!SpdEntry.compatible(l, r)) {
                        continue;
                    }
                    SpdEntry e = s.action == SpdAction.PROTECT
                            ? SpdEntry.protect(s.connection, s.child, l, r).onInterface(s.iface)
                            : SpdEntry.of(s.policyName, l, r, s.action);
                    candidates.add(new Candidate(e, s, i, j, candidates.size()));
                }
            }
            if (candidates.size() == before && !s.local.isEmpty() && !s.remote.isEmpty()) {
                problems.add(s.path, s.mark, "no pair of local_ts and remote_ts shares an address family and"
                        + " protocol, so it would select no packet");
            }
        }
        candidates.sort(ORDER);
        findConflicts(candidates, problems);
        List<CompiledPolicy> out = new ArrayList<>(candidates.size());
        for (Candidate c : candidates) {
            out.add(new CompiledPolicy(c.entry, c.source.priority, c.where()));
        }
        return out;
    }

    private static final Comparator<Candidate> ORDER = Comparator
            .comparingInt((Candidate c) -> c.source.priority)
            .thenComparing(c -> c.entry.isIpv6())
            .thenComparing((a, b) -> compareSize(a.entry.remote(), b.entry.remote()))
            .thenComparing((a, b) -> compareSize(a.entry.local(), b.entry.local()))
            .thenComparingInt(c -> protocol(c.entry) == 0 ? 1 : 0)
            .thenComparingInt(c -> portSpan(c.entry.remote()))
            .thenComparingInt(c -> portSpan(c.entry.local()))
            .thenComparingInt(Candidate::sequence);

    private static int protocol(SpdEntry e) {
        return e.local().protocol() != 0 ? e.local().protocol() : e.remote().protocol();
    }

    /** Ports covered: 65536 for any, 0 for OPAQUE (contained in any, holds no port). */
    private static int portSpan(TrafficSelector ts) {
        return ts.isOpaquePort() ? 0 : ts.endPort() - ts.startPort() + 1;
    }

    /** Compares end - start of two same-family ranges as unsigned 128-bit numbers. */
    private static int compareSize(TrafficSelector a, TrafficSelector b) {
        long[] sa = size(a.startAddress(), a.endAddress());
        long[] sb = size(b.startAddress(), b.endAddress());
        int c = Long.compareUnsigned(sa[0], sb[0]);
        return c != 0 ? c : Long.compareUnsigned(sa[1], sb[1]);
    }

    private static long[] size(IpAddress start, IpAddress end) {
        long lo = end.lowBits() - start.lowBits();
        long borrow = Long.compareUnsigned(end.lowBits(), start.lowBits()) < 0 ? 1 : 0;
        return new long[] {end.highBits() - start.highBits() - borrow, lo};
    }

    /**
     * Pairwise check of entries whose remote ranges overlap, found by a sweep over remote start
     * addresses: near-linear for real SPDs, quadratic only when most entries overlap.
     */
    private static void findConflicts(List<Candidate> ordered, Problems problems) {
        List<Candidate> byStart = new ArrayList<>(ordered);
        byStart.sort(Comparator.comparing((Candidate c) -> c.entry.isIpv6())
                .thenComparing(c -> c.entry.remote().startAddress()));
        List<Candidate> active = new ArrayList<>();
        Set<List<Source>> reported = new HashSet<>();
        int conflicts = 0;
        for (Candidate b : byStart) {
            IpAddress start = b.entry.remote().startAddress();
            active.removeIf(a -> a.entry.isIpv6() != b.entry.isIpv6()
                    || a.entry.remote().endAddress().compareTo(start) < 0);
            for (Candidate a : active) {
                // entries of different interfaces' SPDs never meet the same packet (RFC 4301 §4.4.1)
                if (a.source.priority != b.source.priority || a.entry.sameOutcome(b.entry)
                        || !java.util.Objects.equals(a.entry.iface(), b.entry.iface()) || !a.entry.overlaps(b.entry)) {
                    continue;
                }
                boolean aInB = b.entry.contains(a.entry);
                boolean bInA = a.entry.contains(b.entry);
                if (aInB != bInA) {
                    continue; // strictly nested: the inner one is ordered first
                }
                Candidate first = a.sequence < b.sequence ? a : b;
                Candidate second = first == a ? b : a;
                if (first.source == second.source || !reported.add(List.of(first.source, second.source))) {
                    continue;
                }
                conflicts++;
                if (conflicts <= MAX_CONFLICTS_REPORTED) {
                    problems.add(second.source.path, second.source.mark, conflictMessage(first, second, aInB));
                }
            }
            active.add(b);
        }
        if (conflicts > MAX_CONFLICTS_REPORTED) {
            problems.add("", (Mark) null, (conflicts - MAX_CONFLICTS_REPORTED) + " more conflicts not listed");
        }
    }

    private static String conflictMessage(Candidate first, Candidate second, boolean identical) {
        TrafficSelector l = first.entry.local().intersect(second.entry.local()).orElseThrow();
        TrafficSelector r = first.entry.remote().intersect(second.entry.remote()).orElseThrow();
        return "local_ts[" + second.localIndex + "] " + second.entry.local() + " === remote_ts[" + second.remoteIndex
                + "] " + second.entry.remote() + " conflicts with " + first.where() + ": "
                + (identical ? "they select the same packets"
                        : "they overlap (both select " + l + " === " + r + ") and neither contains the other")
                + "; both have priority " + first.source.priority + ", but this is " + second.source.outcome()
                + " and that is " + first.source.outcome()
                + "; make them disjoint, nest one inside the other, or give them different priorities";
    }
}
