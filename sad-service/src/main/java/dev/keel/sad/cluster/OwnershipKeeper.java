package dev.keel.sad.cluster;

import com.hazelcast.cluster.MembershipEvent;
import com.hazelcast.cluster.MembershipListener;
import com.hazelcast.core.HazelcastInstanceNotActiveException;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.ChildSaState;
import dev.keel.proto.v1.Direction;
import dev.keel.proto.v1.Lifetime;
import dev.keel.sad.keys.RecordMac;
import dev.keel.sad.store.Records;
import dev.keel.sad.store.IkeMaintenanceProcessor;
import dev.keel.sad.store.MaintenanceProcessor;
import dev.keel.sad.store.OwnedByMember;
import java.lang.System.Logger.Level;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Keeps every SA owned by a live member and applies time lifetimes.
 *
 * <p>Exactly one member acts: the oldest (Hazelcast's master, first in the member list). When a
 * member leaves, every survivor gets {@code memberRemoved}, and the one that is now oldest finds
 * the departed member's SAs (a query reading only the owner field) and applies
 * {@link MaintenanceProcessor} to them at once, which gives each a new owner chosen by
 * rendezvous hashing over the survivors; a full pass follows. The full pass also runs every
 * maintenance interval, which repairs anything a pass missed (for instance when the oldest
 * member itself died during a takeover). Passes run on one thread, never on Hazelcast's
 * event threads.
 */
public final class OwnershipKeeper implements MembershipListener, AutoCloseable {

    private static final System.Logger LOG = System.getLogger(OwnershipKeeper.class.getName());

    private final SadCluster cluster;
    private final ScheduledExecutorService scheduler;
    private final UUID listenerId;
    private final AtomicLong passes = new AtomicLong();
    private final AtomicLong takeovers = new AtomicLong();
    private volatile long lastPassMillis;
    private volatile long lastTakeoverMillis;
    private final AtomicLong takeoversDone = new AtomicLong();
    /** Of the takeovers done: their durations summed, and the CHILD SAs they gave new owners. */
    private final AtomicLong takeoverNanos = new AtomicLong();
    private final AtomicLong childSasTakenOver = new AtomicLong();

    public OwnershipKeeper(SadCluster cluster) {
        this.cluster = cluster;
        this.scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "keel-sad-maintenance-" + cluster.nodeId());
            t.setDaemon(true);
            return t;
        });
        this.listenerId = cluster.hazelcast().getCluster().addMembershipListener(this);
        long period = cluster.config().maintenanceIntervalMillis();
        scheduler.execute(() -> warmUp(cluster.recordMac()));
        scheduler.scheduleWithFixedDelay(this::passIfOldest, period, period, TimeUnit.MILLISECONDS);
        scheduler.execute(this::passIfOldest);
    }

    /**
     * Runs the takeover's record code (read, owner choice, patch) on a made-up record until the
     * JIT has compiled it. A takeover is rare and latency-bound: compiling this code while 50,000
     * SAs wait for an owner cost several hundred ms of CPU in the benchmark (docs/benchmarks.md).
     * A few tens of ms of CPU at start, on the maintenance thread.
     */
    static void warmUp(RecordMac mac) {
        byte[] record = Records.sealed(mac, "keel-warm-up", ChildSaRecord.newBuilder().setId("keel-warm-up")
                .setDirection(Direction.DIRECTION_INBOUND)
                .setOwnerNodeId("a").setOwnerMember("member-a").setOwnerEpoch(1).setGeneration(1)
                .setState(ChildSaState.CHILD_SA_STATE_ACTIVE).setReplayCheckpoint(5).setReplayMargin(64)
                .setLifetime(Lifetime.newBuilder().setSoftSeconds(3000).setHardSeconds(3600)));
        Map<String, String> live = Map.of("member-b", "b", "member-c", "c");
        MaintenanceProcessor pass = new MaintenanceProcessor(System.currentTimeMillis(), live, 600_000);
        long sink = 0;
        for (int i = 0; i < 30_000 && !Thread.currentThread().isInterrupted(); i++) {
            var entry = new java.util.AbstractMap.SimpleEntry<>("keel-warm-up", record);
            sink += pass.process(entry) == null ? 0 : entry.getValue().length;
            sink += OwnedByMember.ownerMemberIs(entry.getValue(), MEMBER_A) ? 1 : 0;
        }
        if (sink == 42) {
            LOG.log(Level.TRACE, "warm-up"); // keeps the loop's results alive
        }
    }

    private static final byte[] MEMBER_A = "member-a".getBytes(java.nio.charset.StandardCharsets.UTF_8);

    @Override
    public void memberAdded(MembershipEvent event) {
        LOG.log(Level.INFO, "node {0}: member joined {1} (node {2})", cluster.nodeId(),
                event.getMember().getAddress(), event.getMember().getAttribute(SadCluster.NODE_ATTRIBUTE));
    }

    @Override
    public void memberRemoved(MembershipEvent event) {
        LOG.log(Level.WARNING, "node {0}: member left {1} (node {2}); taking over its SAs if oldest",
                cluster.nodeId(), event.getMember().getAddress(),
                event.getMember().getAttribute(SadCluster.NODE_ATTRIBUTE));
        String departed = event.getMember().getUuid().toString();
        scheduler.execute(() -> takeoverIfOldest(departed));
    }

    /**
     * The fast path after a member left: the departed member's SAs, found by a query that reads
     * only their owner field, get new owners at once; the full pass follows for anything else.
     */
    private void takeoverIfOldest(String departedMember) {
        if (!cluster.isRunning() || !cluster.isOldest()) {
            return;
        }
        if (!cluster.hasLeaseQuorum()) {
            LOG.log(Level.WARNING, "node {0}: member {1} left but this side has no lease quorum ({2} of {3}): "
                    + "not taking over its SAs", cluster.nodeId(), departedMember, cluster.memberCount(),
                    cluster.config().leaseQuorum());
            return;
        }
        long t0 = System.nanoTime();
        try {
            awaitLiveOwners();
            Map<String, String> live = cluster.liveMembers();
            MaintenanceProcessor pass = new MaintenanceProcessor(System.currentTimeMillis(), live,
                    cluster.config().tombstoneRetentionSeconds() * 1000L);
            // One partition-wide operation per partition: each partition owner selects the departed
            // member's SAs by their owner field and rewrites them in place; no key lists travel.
            Map<String, Object> results = cluster.childSas().executeOnEntries(pass, new OwnedByMember(departedMember));
            int refused = refusedIn(results);
            int taken = results.size() - refused;
            long nanos = System.nanoTime() - t0;
            lastTakeoverMillis = nanos / 1_000_000;
            takeoverNanos.addAndGet(nanos);
            childSasTakenOver.addAndGet(taken);
            takeoversDone.incrementAndGet();
            LOG.log(Level.WARNING, "node {0}: took over {1} CHILD SAs of departed member {2} in {3} ms{4}",
                    cluster.nodeId(), taken, departedMember, lastTakeoverMillis, refused == 0 ? ""
                            : "; left " + refused + " whose stored record failed its integrity check to their owner");
        } catch (HazelcastInstanceNotActiveException e) {
            return;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // closing
            return;
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "node " + cluster.nodeId() + ": takeover failed, the full pass follows: "
                    + e.getClass().getSimpleName() + ": " + e.getMessage());
        }
        passIfOldest();
    }

    /**
     * Waits (polling every 2 ms, at most {@link #PROMOTION_WAIT_MILLIS}) until every partition
     * is owned by a live member: after a member left, until the master has promoted its backups.
     * A partition operation sent before then goes to the dead member and comes back
     * TargetNotMember after Hazelcast's retry pause: measured on an HA pair (docs/ha.md), the
     * takeover after kill -9 took 0.2-0.9 s instead of tens of ms, most of the failover budget.
     * Returns at once when nothing is pending, early when this member is no longer the oldest or
     * shuts down; after the bound the caller goes ahead as before.
     */
    private void awaitLiveOwners() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(PROMOTION_WAIT_MILLIS);
        while (cluster.isRunning() && cluster.isOldest() && System.nanoTime() < deadline) {
            Set<UUID> live = new java.util.HashSet<>();
            for (var m : cluster.hazelcast().getCluster().getMembers()) {
                if (!m.isLiteMember()) {
                    live.add(m.getUuid());
                }
            }
            if (live.isEmpty()) {
                return; // no member holds partitions (a witness alone): nothing to wait for
            }
            boolean pending = false;
            for (var p : cluster.hazelcast().getPartitionService().getPartitions()) {
                var owner = p.getOwner();
                if (owner == null || !live.contains(owner.getUuid())) {
                    pending = true;
                    break;
                }
            }
            if (!pending) {
                return;
            }
            Thread.sleep(2);
        }
    }

    /** The longest {@link #awaitLiveOwners} waits (Hazelcast's own operations wait about as long). */
    static final long PROMOTION_WAIT_MILLIS = 5_000;

    /** Results of the maintenance processor that are {@link MaintenanceProcessor#REFUSED}. */
    private static int refusedIn(Map<String, Object> results) {
        int n = 0;
        for (Object r : results.values()) {
            if (MaintenanceProcessor.REFUSED.equals(r)) {
                n++;
            }
        }
        return n;
    }

    /** Takeovers after a member left that this member completed (the fast path, not the full pass). */
    public long takeoversDone() {
        return takeoversDone.get();
    }

    /** Durations of the takeovers done, summed, ns. */
    public long takeoverNanos() {
        return takeoverNanos.get();
    }

    /** CHILD SAs the takeovers done gave new owners. */
    public long childSasTakenOver() {
        return childSasTakenOver.get();
    }

    /** Duration of the last takeover after a member left, ms. */
    public long lastTakeoverMillis() {
        return lastTakeoverMillis;
    }

    /** Runs a pass now if this member is the oldest; for tests and operators. */
    public void runNow() {
        try {
            scheduler.submit(this::passIfOldest).get(120, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("maintenance pass failed", e);
        }
    }

    private void passIfOldest() {
        if (!cluster.isRunning() || !cluster.isOldest()) {
            return;
        }
        long t0 = System.nanoTime();
        try {
            awaitLiveOwners(); // its query and its changes are partition operations too
            // Without the lease quorum, no takeover (an empty member set disables it), only lifetimes
            // and tombstones: the other side of a split may hold the majority and the SAs.
            Map<String, String> live = cluster.hasLeaseQuorum() ? cluster.liveMembers() : Map.of();
            long now = System.currentTimeMillis();
            MaintenanceProcessor child = new MaintenanceProcessor(now, live,
                    cluster.config().tombstoneRetentionSeconds() * 1000L);
            Set<String> due = cluster.childSas().keySet(child.due());
            int refusedChild = 0;
            if (!due.isEmpty()) {
                refusedChild = refusedIn(cluster.childSas().executeOnKeys(due, child));
                takeovers.addAndGet(due.size() - refusedChild);
            }
            IkeMaintenanceProcessor ike = new IkeMaintenanceProcessor(now, live);
            Set<String> dueIke = cluster.ikeSas().keySet(ike.due());
            int refusedIke = 0;
            if (!dueIke.isEmpty()) {
                refusedIke = refusedIn(cluster.ikeSas().executeOnKeys(dueIke, ike));
            }
            passes.incrementAndGet();
            lastPassMillis = (System.nanoTime() - t0) / 1_000_000;
            if (!due.isEmpty() || !dueIke.isEmpty()) {
                int refused = refusedChild + refusedIke;
                LOG.log(Level.INFO, "node {0}: maintenance changed {1} CHILD SAs and {2} IKE SAs in {3} ms{4}",
                        cluster.nodeId(), due.size() - refusedChild, dueIke.size() - refusedIke, lastPassMillis,
                        refused == 0 ? "" : "; left " + refused + " whose stored record failed its integrity check alone");
            }
        } catch (HazelcastInstanceNotActiveException e) {
            // shutting down
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // closing
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "node " + cluster.nodeId() + ": maintenance pass failed, retrying next period: "
                    + e.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }

    /** Maintenance passes run (this member the oldest). */
    public long passes() {
        return passes.get();
    }

    public long lastPassMillis() {
        return lastPassMillis;
    }

    @Override
    public void close() {
        scheduler.shutdownNow();
        try {
            scheduler.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            cluster.hazelcast().getCluster().removeMembershipListener(listenerId);
        } catch (RuntimeException ignored) {
            // instance already gone
        }
    }
}
