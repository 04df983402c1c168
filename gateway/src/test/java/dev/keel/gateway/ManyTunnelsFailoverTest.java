package dev.keel.gateway;

import static dev.keel.gateway.LoopbackPair.B;
import static dev.keel.gateway.LoopbackPair.PAIR_ADDRS;
import static dev.keel.gateway.LoopbackPair.pairConnection;
import static dev.keel.gateway.LoopbackPair.peerConnection;
import static dev.keel.gateway.LoopbackTesting.await;
import static dev.keel.gateway.ManyTunnels.connection;
import static dev.keel.gateway.ManyTunnels.peerId;
import static dev.keel.gateway.ManyTunnels.peerTs;
import static org.assertj.core.api.Assertions.assertThat;

import com.hazelcast.core.EntryEvent;
import com.hazelcast.map.listener.EntryUpdatedListener;
import dev.keel.esp.feed.ReplayCheckpoints;
import dev.keel.gateway.ManyTunnels.Arrivals;
import dev.keel.ike.service.ChildSaRecords;
import dev.keel.ike.service.IkeSaRecords;
import dev.keel.ike.session.IkeSa;
import dev.keel.ike.session.IkeSaState;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.IkeSaRecord;
import dev.keel.sad.store.Records;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * The issue 20 scale target on loopback, as a benchmark (docs/ha.md, "Measured: 1,000 tunnels";
 * {@code gateway/ha-scale-bench.sh}): N tunnels (default 1,000) established on the pair, all
 * re-owned and forwarding after {@code kill -9} of the node carrying them. Set up as
 * {@link IkeSaFailoverTest}, on a {@link LoopbackPair}: gateway A in a process of its own, gateway
 * B and the peer P (a Keel gateway with a cluster of its own) in this JVM, an {@link UdpRelay}
 * standing for the anycast route. P has N connections, each with an identity and a /32 of its own, so the pair sees N
 * peers: N IKE SAs, each with one CHILD SA (2N CHILD SA records), all established with A. P's host
 * sends one packet per tunnel per round, paced, from before the kill to the end; A is killed, the
 * relay moves to B at once, and B's side is watched: the cluster seeing A gone, its SAD's records
 * becoming B's (an entry listener on B's member), its data plane holding all 2N SAs, its IKE
 * engine running all N IKE SAs, and B's host receiving a packet from every tunnel. A benchmark,
 * not a CI test: it runs only with {@code -Dkeel.ha.tunnels=N} and prints its figures (also to
 * {@code -Dkeel.ha.figures=FILE}); it fails only when something does not happen at all within
 * its bounds.
 */
@EnabledIfSystemProperty(named = "keel.ha.tunnels", matches = "[1-9][0-9]*",
        disabledReason = "a benchmark: run with -Dkeel.ha.tunnels=N (gateway/ha-scale-bench.sh)")
@Timeout(value = 840, unit = TimeUnit.SECONDS)
class ManyTunnelsFailoverTest {

    /** IKE SAs P has under way at once: below A's cookie threshold per address (32), so no cookies. */
    private static final int SETUP_CONCURRENCY = Integer.getInteger("keel.ha.setupConcurrency", 16);
    /** Every tunnel sends one packet per round. */
    private static final int ROUND_MILLIS = Integer.getInteger("keel.ha.roundMillis", 200);
    /** How long the traffic runs through A, all tunnels carrying, before the kill. */
    private static final int STEADY_MILLIS = Integer.getInteger("keel.ha.steadyMillis", 3_000);
    /** The longest the bench watches B after the kill. */
    private static final int WATCH_MILLIS = 30_000;
    /** How often a wait asks again: its conditions go over every tunnel, some through the cluster. */
    private static final long POLL_MILLIS = 20;

    @AutoClose
    private final LoopbackPair pair = new LoopbackPair("keel-many-tunnels");

    @Test
    void everyTunnelIsReownedAndForwardsAfterKillMinus9() throws Exception {
        int n = Integer.getInteger("keel.ha.tunnels");
        UdpRelay relay = pair.relay;
        String pairSide = ManyTunnels.connections(n, i -> pairConnection(connection(i), PAIR_ADDRS, peerId(i), peerTs(i)));
        String peerSide = ManyTunnels.connections(n, i -> peerConnection(connection(i), peerId(i), peerTs(i), "0s", "none"));

        long t0 = System.nanoTime();
        GatewayNode b = pair.startB(pairSide);
        pair.startAInProcess(pairSide, "1g");
        LoopbackPair.awaitOneCluster(b);
        GatewayNode p = pair.startPeer(peerSide);
        long started = System.nanoTime();

        // P establishes N IKE SAs with A, SETUP_CONCURRENCY at a time
        IkeSa[] tunnels = ManyTunnels.establish(p, n, SETUP_CONCURRENCY, POLL_MILLIS);
        long established = System.nanoTime();
        int initsAtSetup = relay.initRequests();

        // the records A made: N IKE SAs and 2N CHILD SAs, as B's member sees them
        Set<String> ikeIds = new HashSet<>();
        Set<String> childIds = new HashSet<>();
        for (IkeSa sa : tunnels) {
            ikeIds.add(IkeSaRecords.id(sa.spiI(), sa.spiR()));
            ChildSaRecords.Ids ids = ChildSaRecords.Ids.of("gwa", sa.children().getFirst().outboundSpi());
            childIds.add(ids.inbound());
            childIds.add(ids.outbound());
        }
        await(() -> ownedBy(b, "gwa", ikeIds, childIds), 30_000, "A's records in the SAD", POLL_MILLIS);

        // every tunnel carries traffic through A
        Arrivals atA = pair.closeAtEnd(new Arrivals(pair.lanA.host(), n, true, true));
        Arrivals atB = pair.closeAtEnd(new Arrivals(pair.lanB.host(), n, true, true));
        HostLoop rounds = pair.closeAtEnd(ManyTunnels.rounds(pair.lanPeer, n, ROUND_MILLIS, null));
        long trafficFrom = System.nanoTime();
        await(() -> atA.tunnelsSince(trafficFrom) == n, 30_000 + 10L * n, "every tunnel forwarding through A",
                POLL_MILLIS);
        long throughA = System.nanoTime();
        Thread.sleep(STEADY_MILLIS);
        assertThat(atB.tunnelsSince(trafficFrom)).as("tunnels through B before the kill").isZero();
        Map<String, Long> bBefore = DataPlaneCounts.of(b);
        ReplayCheckpoints checkpoints = b.dataPlaneSas().checkpoints();
        long[] checkpointsBefore = {checkpoints.sent(), checkpoints.recorded(), checkpoints.failed(),
            checkpoints.batches()};
        long[] roundTripsBefore = checkpoints.roundTrips();

        // B's view of its SAD: when each record became B's
        OwnerTimes owners = new OwnerTimes("gwb", ikeIds, childIds);
        UUID childListener = b.sad().cluster().childSas().addEntryListener(owners.child(), true);
        UUID ikeListener = b.sad().cluster().ikeSas().addEntryListener(owners.ike(), true);

        long killedWallClock = System.currentTimeMillis();
        long killed = System.nanoTime();
        pair.killA(); // SIGKILL: no delete, no goodbye
        relay.routeTo(B);
        long gone = 0;
        long dataPlane = 0;
        long ikeRunning = 0;
        long forwarded = 0;
        long deadline = killed + TimeUnit.MILLISECONDS.toNanos(WATCH_MILLIS);
        while ((gone == 0 || dataPlane == 0 || ikeRunning == 0 || forwarded == 0 || !owners.complete())
                && System.nanoTime() < deadline) {
            long now = System.nanoTime();
            if (gone == 0 && b.sad().cluster().memberCount() == 1) {
                gone = now;
            }
            if (dataPlane == 0 && installed(b, childIds) == childIds.size()) {
                dataPlane = now;
            }
            if (ikeRunning == 0 && b.engine().ikeSaCount() == n
                    && b.engine().ikeSas().stream().allMatch(sa -> sa.state() == IkeSaState.ESTABLISHED)) {
                ikeRunning = now;
            }
            if (forwarded == 0 && atB.tunnelsSince(killed) == n) {
                forwarded = now;
            }
            Thread.sleep(2);
        }
        long watchEnd = System.nanoTime();
        b.sad().cluster().childSas().removeEntryListener(childListener);
        b.sad().cluster().ikeSas().removeEntryListener(ikeListener);
        rounds.close();
        Map<String, Long> bGrew = DataPlaneCounts.grownSince(b, bBefore);

        long[] perTunnel = atB.firstTimesSince(killed);
        Figures f = new Figures(n, killed);
        List<String> out = new ArrayList<>();
        out.add(String.format("- %,d tunnels (%,d IKE SAs, %,d CHILD SA records), kill -9 of A, the relay moved to B at once;"
                + " P sends one packet per tunnel every %d ms (%,d packets/s) from %.1f s before the kill",
                n, n, 2 * n, ROUND_MILLIS, 1000L * n / ROUND_MILLIS, (killed - trafficFrom) / 1e9));
        out.add(String.format("- setup: gateways up in %.1f s; %,d IKE SAs established in %.1f s (%d at a time, %.1f ms each"
                + " on average); every tunnel forwarding through A %.1f s later", (started - t0) / 1e9, n,
                (established - started) / 1e9, SETUP_CONCURRENCY, (established - started) / 1e6 / n,
                (throughA - established) / 1e9));
        out.add("");
        out.add("| after the kill | ms |");
        out.add("|---|---|");
        out.add(f.row("B's cluster without A", gone));
        out.add(f.row("first CHILD SA record B's", owners.firstChild()));
        out.add(f.row("all " + String.format("%,d", 2 * n) + " CHILD SA records B's", owners.lastChild()));
        out.add(f.row("first IKE SA record B's", owners.firstIke()));
        out.add(f.row("all " + String.format("%,d", n) + " IKE SA records B's", owners.lastIke()));
        out.add(f.row("all " + String.format("%,d", 2 * n) + " CHILD SAs in B's data plane", dataPlane));
        out.add(f.row("all " + String.format("%,d", n) + " IKE SAs run by B", ikeRunning));
        out.add(f.row("first tunnel forwarding through B", percentile(perTunnel, 0)));
        out.add(f.row("half the tunnels forwarding through B", percentile(perTunnel, 50)));
        out.add(f.row("90 % of the tunnels forwarding through B", percentile(perTunnel, 90)));
        out.add(f.row("**every tunnel forwarding through B**", forwarded));
        out.add("");
        out.add(String.format("- SAD: records B's by reason: %s; B's takeover fast path %d ms (%d run), full pass %d ms;"
                + " B's claims: made %d, refused %d, not found %d, limited %d", owners.reasons(),
                b.sad().keeper().lastTakeoverMillis(), b.sad().keeper().takeoversDone(),
                b.sad().keeper().lastPassMillis(), b.claims().claimsMade(), b.claims().claimsRefused(),
                b.claims().claimsNotFound(), b.claims().claimsLimited()));
        out.add(String.format("- B's IKE SAs: adopted %d, refused %d; IKE_SA_INIT requests: %,d at setup, %d after it;"
                + " P: %,d IKE SAs established, %d failed", b.takeovers().adopted(), b.takeovers().refused(),
                initsAtSetup, relay.initRequests() - initsAtSetup, p.engine().counters().establishedCount(),
                p.engine().counters().failedCount()));
        out.add("- B's data plane from the kill on: " + bGrew + "; P's sender ran late (rounds stretched, not"
                + " made up) " + rounds.slipped());
        out.add("- inbound CHILD SA records by the replay margin they became B's with (the takeover margin, 4 times A's"
                + " last, which was the floor's height above A's last checkpoint): " + owners.margins());
        out.add(checkpointFigures(checkpoints, checkpointsBefore, roundTripsBefore));
        out.add(String.format("- killed at %s (log times); watched %.1f s; load average %s",
                java.time.Instant.ofEpochMilli(killedWallClock), (watchEnd - killed) / 1e9,
                Files.readString(Path.of("/proc/loadavg")).strip()));
        String figures = String.join("\n", out) + "\n";
        System.out.print("\n" + figures);
        String file = System.getProperty("keel.ha.figures", "");
        if (!file.isEmpty()) {
            Files.writeString(Path.of(file), figures);
        }

        assertThat(gone).as("B saw A gone within %d s", WATCH_MILLIS / 1000).isPositive();
        assertThat(owners.complete()).as("every record B's within %d s", WATCH_MILLIS / 1000).isTrue();
        assertThat(dataPlane).as("every CHILD SA in B's data plane").isPositive();
        assertThat(ikeRunning).as("every IKE SA run by B").isPositive();
        assertThat(forwarded).as("every tunnel forwarding through B").isPositive();
        assertThat(relay.initRequests()).as("IKE_SA_INIT requests after the setup").isEqualTo(initsAtSetup);
    }

    /** Times after the kill, formatted. */
    private record Figures(int n, long killed) {
        String row(String what, long at) {
            return "| " + what + " | " + (at == 0 ? "not within the bound" : String.valueOf((at - killed) / 1_000_000)) + " |";
        }
    }

    /** B's replay checkpoints since the kill: how many, and how long sad-service took to answer them. */
    private static String checkpointFigures(ReplayCheckpoints c, long[] before, long[] roundTripsBefore) {
        long[] now = c.roundTrips();
        long answered = 0;
        for (int i = 0; i < now.length; i++) {
            now[i] -= roundTripsBefore[i];
            answered += now[i];
        }
        StringBuilder s = new StringBuilder(String.format("- B's replay checkpoints from the kill on: %,d asked for"
                + " in %,d calls, %,d answered, %,d failed; answered within (ms, asked → answer):", c.sent() - before[0],
                c.batches() - before[3], c.recorded() - before[1], c.failed() - before[2]));
        for (int pct : new int[] {50, 90, 99, 100}) {
            long want = (answered * pct + 99) / 100;
            int i = 0;
            for (long seen = now[0]; seen < want && i < now.length - 1; ) {
                seen += now[++i];
            }
            s.append(String.format(" %d %% %s", pct, i == 0 ? "< 1" : i == now.length - 1 ? ">= 4096" : "< " + (1L << i)));
            s.append(pct == 100 ? "" : ",");
        }
        return s.toString();
    }

    private static long percentile(long[] times, int pct) {
        long[] known = Arrays.stream(times).filter(t -> t != 0).sorted().toArray();
        int at = times.length * pct / 100;
        return at < known.length ? known[at] : 0;
    }

    /** Whether every record of {@code ikeIds} and {@code childIds} is owned by {@code node}. */
    private static boolean ownedBy(GatewayNode b, String node, Set<String> ikeIds, Set<String> childIds) {
        for (String id : childIds) {
            byte[] v = b.sad().cluster().childSas().get(id);
            if (v == null || !Records.parseChild(v).getOwnerNodeId().equals(node)) {
                return false;
            }
        }
        for (String id : ikeIds) {
            byte[] v = b.sad().cluster().ikeSas().get(id);
            if (v == null || !Records.parseIke(v).getOwnerNodeId().equals(node)) {
                return false;
            }
        }
        return true;
    }

    /** How many of {@code ids} B's data plane holds. */
    private static int installed(GatewayNode b, Set<String> ids) {
        int count = 0;
        for (var in : b.dataPlaneSas().installed()) {
            if (ids.contains(in.record().getId())) {
                count++;
            }
        }
        return count;
    }

    /** When each record of interest was first seen owned by {@code node}, from entry events. */
    private static final class OwnerTimes {
        private final String node;
        private final Set<String> ikeIds;
        private final Set<String> childIds;
        private final Map<String, Long> ike = new ConcurrentHashMap<>();
        private final Map<String, Long> child = new ConcurrentHashMap<>();
        private final Map<String, AtomicInteger> reasons = new ConcurrentHashMap<>();
        /** Each inbound CHILD SA record's replay margin when it became the node's: its floor's height above the checkpoint. */
        private final Map<Long, AtomicInteger> margins = new ConcurrentHashMap<>();

        OwnerTimes(String node, Set<String> ikeIds, Set<String> childIds) {
            this.node = node;
            this.ikeIds = ikeIds;
            this.childIds = childIds;
        }

        EntryUpdatedListener<String, byte[]> child() {
            return (EntryEvent<String, byte[]> e) -> {
                if (childIds.contains(e.getKey()) && !child.containsKey(e.getKey()) && e.getValue() != null) {
                    ChildSaRecord r = Records.parseChild(e.getValue());
                    if (r.getOwnerNodeId().equals(node) && child.putIfAbsent(e.getKey(), System.nanoTime()) == null) {
                        reasons.computeIfAbsent("CHILD " + r.getOwnerReason().name().replace("OWNERSHIP_REASON_", ""),
                                x -> new AtomicInteger()).incrementAndGet();
                        if (r.getDirection() == dev.keel.proto.v1.Direction.DIRECTION_INBOUND) {
                            margins.computeIfAbsent(r.getReplayMargin(), x -> new AtomicInteger()).incrementAndGet();
                        }
                    }
                }
            };
        }

        EntryUpdatedListener<String, byte[]> ike() {
            return (EntryEvent<String, byte[]> e) -> {
                if (ikeIds.contains(e.getKey()) && !ike.containsKey(e.getKey()) && e.getValue() != null) {
                    IkeSaRecord r = Records.parseIke(e.getValue());
                    if (r.getOwnerNodeId().equals(node) && ike.putIfAbsent(e.getKey(), System.nanoTime()) == null) {
                        reasons.computeIfAbsent("IKE " + r.getOwnerReason().name().replace("OWNERSHIP_REASON_", ""),
                                x -> new AtomicInteger()).incrementAndGet();
                    }
                }
            };
        }

        boolean complete() {
            return ike.size() == ikeIds.size() && child.size() == childIds.size();
        }

        long firstChild() {
            return child.values().stream().mapToLong(Long::longValue).min().orElse(0);
        }

        long lastChild() {
            return child.size() == childIds.size() ? child.values().stream().mapToLong(Long::longValue).max().orElse(0) : 0;
        }

        long firstIke() {
            return ike.values().stream().mapToLong(Long::longValue).min().orElse(0);
        }

        long lastIke() {
            return ike.size() == ikeIds.size() ? ike.values().stream().mapToLong(Long::longValue).max().orElse(0) : 0;
        }

        /** Inbound records by their replay margin when they became the node's. */
        Map<Long, Integer> margins() {
            Map<Long, Integer> m = new TreeMap<>();
            margins.forEach((k, v) -> m.put(k, v.get()));
            return m;
        }

        Map<String, Integer> reasons() {
            Map<String, Integer> m = new TreeMap<>();
            reasons.forEach((k, v) -> m.put(k, v.get()));
            return m;
        }
    }
}
