package dev.keel.gateway.ha;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.esp.wire.SystemTests;
import dev.keel.gateway.interop.CharonOptions;
import dev.keel.gateway.interop.ConnectionSpec;
import dev.keel.gateway.interop.PeerAuth;
import dev.keel.gateway.interop.StrongSwanPeer;
import dev.keel.gateway.interop.SwanctlSas;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.ChildSaState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The pair active-active in steady state (issue 20 item 8; docs/ha.md, "Active-active"): two
 * strongSwan peers, each behind a router in front that prefers a node of its own (the first peer's
 * node A, the second peer's node B), so each node negotiates and owns one peer's SAs, and the LAN
 * router, following the MED the nodes announce ({@code routes: owner_preferred}), sends each
 * peer's subnet to its owner. Pings run at 100/s both ways for both peers; then node A is killed
 * with {@code kill -9}. Asserted: before the kill both nodes forward at once; after it only A's SAs
 * move (the first peer's traffic resumes through B, within 2 s here, with the same SPIs), and the
 * second peer's traffic, on B all along, loses at most 5 requests (none in most runs: 0, 0, 0 and
 * 3 so far); no IKE SA is negotiated again.
 *
 * <p>B starts first, so it is the cluster's master (its oldest member) and A the node killed. A
 * dead master costs the survivor up to 250 ms more before the dead node's partitions are promoted
 * (Hazelcast's migration thread sleeps while the new master takes over), and a replay checkpoint
 * of the survivor's own SAs waiting that long can hold their inbound packets back (docs/ha.md,
 * "Active-active": what killing the master costs).
 *
 * <p>Needs root, ip netns, BIRD 2, charon and ping (skipped with the reason without them, failed
 * under {@code KEEL_REQUIRE_SYSTEM_TESTS=1}); bounded; leaves nothing behind.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class ActiveActiveTest {

    private static final Duration WAIT = AnycastFailover.WAIT;
    /**
     * How soon the moved peer's pings are answered again. The 1 s failover budget is asserted and
     * measured by AnycastFailoverTest and gateway/ha-failover-bench.sh; here peer 1 (100 pings/s
     * each way, its replay margin sized for that) came back after 692-1,047 ms in the runs so far,
     * so this test, which is about peer 2, bounds it at 2 s.
     */
    private static final Duration MOVED_PEER_BUDGET = Duration.ofMillis(Long.getLong("keel.ha.budgetMillis", 2_000));
    /** Requests the other peer's ping may lose around the kill (100/s: 100 ms); see the assertion. */
    private static final int OTHER_PEER_LOSS = 10;

    @Test
    void eachNodeCarriesAPeerAndAKillMovesOnlyTheKilledNodesSas() throws Exception {
        StrongSwanPeer.assumeAvailable();
        SystemTests.assumeTool("ping");
        SystemTests.assumeTool("chrt");
        AnycastPairNetns.assumeAvailable();
        Path work = Files.createTempDirectory("keel-aa");
        List<AutoCloseable> open = new ArrayList<>();
        HaGateway a = null;
        HaGateway b = null;
        try {
            AnycastPairNetns net = AnycastPairNetns.create(work.resolve("net"), true);
            open.add(net);
            Path kek = work.resolve("kek.hex");
            byte[] key = new byte[32];
            new SecureRandom().nextBytes(key);
            Files.writeString(kek, HexFormat.of().formatHex(key) + "\n");
            Files.setPosixFilePermissions(kek, PosixFilePermissions.fromString("rw-------"));
            HaSettings settings = HaSettings.childFailover();
            a = HaGateway.prepare(net, net.a(), work, kek, settings);
            b = HaGateway.prepare(net, net.b(), work, kek, settings);
            open.add(a);
            open.add(b);
            try {
                b.start(); // the master
                await("router2 sends the anycast address to B", () -> net.router2Choice().equals(Optional.of(net.b())),
                        net);
                int migrations = AnycastFailover.count(b.log(), AnycastFailover.MIGRATIONS_DONE);
                a.start();
                AnycastFailover.awaitCount(b, AnycastFailover.MIGRATIONS_DONE, migrations + 1);
                await("the first router sends the anycast address to A", () -> net.routerChoice()
                        .equals(Optional.of(net.a())), net);

                StrongSwanPeer peer1 = StrongSwanPeer.start(net.peer(), work.resolve("charon1"), spec("net",
                        AnycastPairNetns.PEER_ADDRESS, HaGateway.PEER_ID, AnycastPairNetns.PEER_SUBNET, settings),
                        CharonOptions.defaults());
                open.add(peer1);
                StrongSwanPeer peer2 = StrongSwanPeer.start(net.peer2(), work.resolve("charon2"), spec("net2",
                        AnycastPairNetns.PEER2_ADDRESS, HaGateway.PEER2_ID, AnycastPairNetns.PEER2_SUBNET, settings),
                        CharonOptions.defaults());
                open.add(peer2);
                peer1.initiate("net", WAIT).requireOk();
                peer2.initiate("net2", WAIT).requireOk();
                List<SwanctlSas.IkeSa> start1 = peer1.awaitSas(l -> up(l, "net"), WAIT);
                List<SwanctlSas.IkeSa> start2 = peer2.awaitSas(l -> up(l, "net2"), WAIT);
                assertThat(up(start1, "net")).as("peer 1's tunnel").isTrue();
                assertThat(up(start2, "net2")).as("peer 2's tunnel").isTrue();
                await("the LAN router sends each peer's subnet to its owner",
                        () -> net.lanRouterChoice(AnycastPairNetns.PEER_SUBNET).equals(Optional.of(net.a()))
                                && net.lanRouterChoice(AnycastPairNetns.PEER2_SUBNET).equals(Optional.of(net.b())), net);
                assertThat(owners(a.childSas())).as("the SAD's live CHILD SAs: owner by connection")
                        .isEqualTo(Map.of("peer", List.of("gw-a", "gw-a"), "peer2", List.of("gw-b", "gw-b")));
                Map<String, Long> peer2Epochs = epochs(b.childSas(), "peer2");

                Path pings = Files.createDirectories(work.resolve("pings"));
                Path p1Out = ping(net, net.peerHost(), AnycastPairNetns.LAN_HOST, pings.resolve("peer1-to-lan.log"), open);
                Path p1Back = ping(net, net.lanHost(), AnycastPairNetns.PEER_HOST, pings.resolve("lan-to-peer1.log"), open);
                Path p2Out = ping(net, net.peer2Host(), AnycastPairNetns.LAN_HOST, pings.resolve("peer2-to-lan.log"), open);
                Path p2Back = ping(net, net.lanHost(), AnycastPairNetns.PEER2_HOST, pings.resolve("lan-to-peer2.log"), open);
                List<Path> all = List.of(p1Out, p1Back, p2Out, p2Back);
                await("every ping answered", () -> all.stream().allMatch(p -> replies(p) > 0), net);
                Thread.sleep(2_000);
                long steadyFrom = AnycastFailover.nanos(Instant.now()) - TimeUnit.MILLISECONDS.toNanos(1_500);

                Instant at = a.kill();
                long atNanos = AnycastFailover.nanos(at);
                long goneNanos = AnycastFailover.nanos(Instant.now());
                net.awaitRoutesVia(net.b(), WAIT);
                long end = atNanos + TimeUnit.SECONDS.toNanos(5);
                Thread.sleep(Math.max(0, TimeUnit.NANOSECONDS.toMillis(end - AnycastFailover.nanos(Instant.now())))
                        + 1_500);
                for (AutoCloseable c : open.subList(open.size() - 4, open.size())) {
                    c.close(); // the pings: their logs are complete
                }

                // For the record (the other peer's losses are not explained yet): what B's data plane
                // dropped and which SAs it installed or removed from the kill on.
                b.log().lines().filter(l -> l.contains("data plane drops") || l.contains("SaTables"))
                        .forEach(l -> System.out.println("node b: " + l));
                for (Path p : all) {
                    PingLog log = PingLog.read(p);
                    System.out.printf("%s: lost %d of the requests sent from 1.5 s before the kill to 5 s after it;"
                            + " answered again %.0f ms after the kill%n", p.getFileName(), log.lostBetween(steadyFrom,
                            end), log.around(atNanos, goneNanos).resumeNanos() / 1e6);
                }
                for (Path p : all) {
                    PingLog log = PingLog.read(p);
                    assertThat(log.repliesBetween(steadyFrom, atNanos)).as("%s: replies in the 1.5 s before the kill"
                            + " (both nodes forward at once)", p.getFileName()).isGreaterThan(100);
                    assertThat(log.duplicates()).as("%s: replies marked DUP!", p.getFileName()).isZero();
                }
                for (Path p : List.of(p2Out, p2Back)) {
                    PingLog log = PingLog.read(p);
                    // Zero in most runs; CI lost 3 and 4 of ~650 in two runs (30-40 ms, both directions at
                    // once): not explained yet (docs/ha.md, "Active-active"). A moved SA costs its peer 40-70
                    // requests: the other peer may lose at most a fifth of that.
                    assertThat(log.lostBetween(steadyFrom, end)).as("%s: requests lost around the kill of the other"
                            + " node", p.getFileName()).isLessThanOrEqualTo(OTHER_PEER_LOSS);
                    // ping -i 0.01 sends 80-100 a second here (timer slack under load: exactly 400 in a CI run
                    // with none lost), so 400-500 in these 5 s; fewer than half means the flow stopped
                    assertThat(log.repliesBetween(atNanos, end)).as("%s: replies after the kill", p.getFileName())
                            .isGreaterThan(250);
                }
                for (Path p : List.of(p1Out, p1Back)) {
                    PingLog.Window w = PingLog.read(p).around(atNanos, goneNanos);
                    assertThat(w.resumeNanos()).as("%s: answered again after the kill (ns)", p.getFileName())
                            .isPositive().isLessThan(MOVED_PEER_BUDGET.toNanos());
                }
                assertThat(FailoverFigures.spis(peer1.listSas())).as("peer 1's SAs").isEqualTo(FailoverFigures.spis(start1));
                assertThat(FailoverFigures.spis(peer2.listSas())).as("peer 2's SAs").isEqualTo(FailoverFigures.spis(start2));
                for (StrongSwanPeer p : List.of(peer1, peer2)) {
                    assertThat(AnycastFailover.count(p.log(), "initiating IKE_SA")).as("IKE SAs the peer initiated")
                            .isEqualTo(1);
                }
                List<ChildSaRecord> after = b.childSas();
                assertThat(owners(after)).as("the SAD's live CHILD SAs after the kill: all B's")
                        .isEqualTo(Map.of("peer", List.of("gw-b", "gw-b"), "peer2", List.of("gw-b", "gw-b")));
                assertThat(epochs(after, "peer2")).as("peer 2's CHILD SAs never changed owner").isEqualTo(peer2Epochs);
                // B's takeover pass, or, when peer 1's ESP reached B before B saw A leave, B's claim (ownership
                // follows the packets) moved them; either way A's SAs only (peer 2's epochs above)
                assertThat(b.log()).as("B took over A's SAs only").containsPattern("took over 2 CHILD SAs"
                        + "|claimed IKE SA \\S+ and 1 of its 1 CHILD SAs from node 'gw-a'");
                assertThat(net.router2Choice()).isEqualTo(Optional.of(net.b()));
            } catch (AssertionError | Exception e) {
                StringBuilder d = new StringBuilder("diagnostics:\n").append(a.logs(6000)).append(b.logs(6000));
                d.append(net.birdLogs());
                e.addSuppressed(new AssertionError(d.toString()));
                throw e;
            }
        } finally {
            for (AutoCloseable c : open.reversed()) {
                try {
                    c.close();
                } catch (Exception e) {
                    System.err.println("closing " + c + ": " + e);
                }
            }
            if (System.getProperty("keel.ha.keep") == null) {
                AnycastPairNetns.deleteTree(work);
            }
        }
    }

    private static ConnectionSpec spec(String child, String address, String id, String subnet, HaSettings settings) {
        return new ConnectionSpec("gw", child, address, AnycastPairNetns.ANYCAST, id, HaGateway.GATEWAY_ID,
                new PeerAuth.Psk(settings.psk()), HaSettings.IKE_PROPOSAL, HaSettings.ESP_PROPOSAL, List.of(subnet),
                List.of(AnycastPairNetns.LAN_SUBNET), "none", "tunnel", true);
    }

    private static boolean up(List<SwanctlSas.IkeSa> sas, String child) {
        return sas.size() == 1 && AnycastFailover.installed(sas.getFirst(), child);
    }

    /** Connection -> owners of its live CHILD SA records, sorted. */
    private static Map<String, List<String>> owners(List<ChildSaRecord> records) {
        return records.stream().filter(r -> r.getState() == ChildSaState.CHILD_SA_STATE_ACTIVE)
                .collect(Collectors.groupingBy(ChildSaRecord::getConnection, Collectors.mapping(
                        ChildSaRecord::getOwnerNodeId, Collectors.collectingAndThen(Collectors.toList(),
                                l -> l.stream().sorted().toList()))));
    }

    /** Record id -> owner epoch of {@code connection}'s live CHILD SAs. */
    private static Map<String, Long> epochs(List<ChildSaRecord> records, String connection) {
        return records.stream().filter(r -> r.getState() == ChildSaState.CHILD_SA_STATE_ACTIVE
                && r.getConnection().equals(connection)).collect(Collectors.toMap(ChildSaRecord::getId,
                        ChildSaRecord::getOwnerEpoch));
    }

    /** ping at 100/s from {@code namespace} to {@code to}, run SCHED_FIFO (see {@link Traffic}), until closed. */
    private static Path ping(AnycastPairNetns net, String namespace, String to, Path log, List<AutoCloseable> open)
            throws Exception {
        Process p = net.start(namespace, log, Traffic.realtime("ping", "-D", "-n", "-i", "0.01", "-W", "1", to));
        open.add(() -> {
            p.destroy();
            if (!p.waitFor(5, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        });
        return log;
    }

    private static int replies(Path log) {
        try {
            return PingLog.read(log).replies();
        } catch (java.io.IOException e) {
            return 0;
        }
    }

    private interface Check {
        boolean holds() throws Exception;
    }

    private static void await(String what, Check check, AnycastPairNetns net) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!check.holds()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(what + ": not within " + WAIT + "\n" + net.birdLogs());
            }
            Thread.sleep(50);
        }
    }
}
