package dev.keel.esp.feed;

import dev.keel.proto.ChildKeyUnwrapper;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.esp.acquire.ExpiryListener;
import dev.keel.esp.sa.OutboundSa;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.ChildSaState;
import dev.keel.proto.v1.Direction;
import dev.keel.proto.v1.Expiry;
import dev.keel.proto.v1.LifetimeLimit;
import dev.keel.sad.keys.KeyEncryptionKey;
import dev.keel.sad.keys.KeyWrap;
import io.grpc.inprocess.InProcessChannelBuilder;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Which records become SAs: only this node's, with keys it can unwrap; removal, reconcile, expiry. */
class SaTablesTest {

    private final byte[] kek = new byte[32];
    private final List<String> events = Collections.synchronizedList(new ArrayList<>());
    private final List<OutboundSa> leaseRequests = new ArrayList<>();
    private final SaTables tables;
    private final KeyWrap wrap;

    SaTablesTest() {
        new SecureRandom().nextBytes(kek);
        wrap = new KeyWrap(KeyEncryptionKey.of(kek));
        // Never started and wired to no server: attaching only bounds the windows by their records.
        tables = new SaTables("w1", new ChildKeyUnwrapper(kek), leaseRequests::add, new ReplayCheckpoints(
                InProcessChannelBuilder.forName("nowhere").build(), "w1", CheckpointRule.defaults()),
                new ExpiryListener() {
            @Override
            public void onSoftExpiry(String saId, String connection, String child, boolean outbound) {
                events.add("soft " + saId);
            }

            @Override
            public void onHardExpiry(String saId, String connection, String child, boolean outbound) {
                events.add("hard " + saId);
            }
        }, Runnable::run);
    }

    private ChildSaRecord record(String id, int spi, Direction dir, String owner, KeyWrap w, String child) {
        return record(id, spi, dir, owner, w).toBuilder().setChild(child).build();
    }

    private ChildSaRecord record(String id, int spi, Direction dir, String owner, KeyWrap w) {
        return FedRecords.record(id, spi, dir, owner, w);
    }

    @Test
    void installsOnlyOwnedSasWithKeysItCanUnwrap() {
        tables.upsert(record("in-1", 0x1001, Direction.DIRECTION_INBOUND, "w1", wrap));
        tables.upsert(record("out-1", 0x2001, Direction.DIRECTION_OUTBOUND, "w1", wrap));
        tables.upsert(record("other", 0x1002, Direction.DIRECTION_INBOUND, "w2", wrap));
        byte[] otherKek = new byte[32];
        otherKek[0] = 7;
        tables.upsert(record("foreign-kek", 0x1003, Direction.DIRECTION_INBOUND, "w1",
                new KeyWrap(KeyEncryptionKey.of(otherKek))));
        tables.upsert(record("no-keys", 0x1004, Direction.DIRECTION_INBOUND, "w1", wrap).toBuilder().clearKeys().build());
        assertThat(tables.inbound().lookup(0x1001)).isNotNull();
        assertThat(tables.inbound().lookup(0x1002)).isNull();
        assertThat(tables.inbound().lookup(0x1003)).isNull();
        assertThat(tables.outbound().lookup("site-b/net").spi()).isEqualTo(0x2001);
        assertThat(leaseRequests).hasSize(1); // the outbound SA asked for its first block at once
        assertThat(tables.refused()).isEqualTo(2);

        // Ownership moves away: removed and zeroized.
        var in = tables.inbound().lookup(0x1001);
        tables.upsert(record("in-1", 0x1001, Direction.DIRECTION_INBOUND, "w2", wrap));
        assertThat(tables.inbound().lookup(0x1001)).isNull();
        assertThat(in.isClosed()).isTrue();

        // A snapshot without out-1 removes it.
        tables.retainOnly(Set.of());
        assertThat(tables.outbound().lookup("site-b/net")).isNull();
        assertThat(tables.installed()).isEmpty();
    }

    @Test
    void anInboundWindowStartsAtTheFloorAndAcceptsUpToTheRecordedCheckpointPlusMargin() {
        // Taken over: the previous owner accepted at most 5,000 + 300; the floor and checkpoint are there.
        tables.upsert(record("in-9", 0x1009, Direction.DIRECTION_INBOUND, "w1", wrap).toBuilder()
                .setReplayFloor(5_300).setReplayCheckpoint(5_300).setReplayMargin(300).setOwnerEpoch(2).build());
        var w = tables.inbound().lookup(0x1009).replayWindow();
        assertThat(w.top()).isEqualTo(5_300);
        assertThat(w.acceptLimit()).as("floor + the inherited margin").isEqualTo(5_600);
        assertThat(w.accept(5_600)).isTrue();
        assertThat(w.accept(5_601)).isFalse();
        assertThat(w.aboveLimit(5_601)).isTrue();

        // It moved away and back without this worker seeing it leave (a resumed watch): the window
        // restarts above the new floor, whatever it had accepted.
        tables.upsert(record("in-9", 0x1009, Direction.DIRECTION_INBOUND, "w1", wrap).toBuilder()
                .setReplayFloor(9_000).setReplayCheckpoint(9_000).setReplayMargin(50).setOwnerEpoch(4).build());
        assertThat(tables.inbound().lookup(0x1009).replayWindow()).isSameAs(w);
        assertThat(w.check(8_999)).isFalse();
        assertThat(w.acceptLimit()).isEqualTo(9_050);
        assertThat(w.accept(9_001)).isTrue();

        // A new SA of the same child takes the margin of the one it replaces (a rekey carries its flow).
        tables.upsert(record("in-10", 0x100a, Direction.DIRECTION_INBOUND, "w1", wrap).toBuilder()
                .setReplayMargin(262_144).build());
        assertThat(tables.get("in-10").record().getReplayMargin()).isEqualTo(262_144);
        assertThat(tables.inbound().lookup(0x100a).replayWindow().acceptLimit())
                .as("until its first checkpoint: sad-service's initial margin").isEqualTo(262_144);
    }

    @Test
    void expiriesNotifyOnceAndHardStopsTheSa() {
        ChildSaRecord r = record("out-2", 0x2002, Direction.DIRECTION_OUTBOUND, "w1", wrap);
        tables.upsert(r);
        Expiry e = Expiry.newBuilder().setAtMs(5).setLimit(LifetimeLimit.LIFETIME_LIMIT_PACKETS).build();
        tables.upsert(r.toBuilder().setSoftExpiry(e).setGeneration(2).build());
        tables.upsert(r.toBuilder().setSoftExpiry(e).setGeneration(3).build());
        assertThat(events).containsExactly("soft out-2");
        OutboundSa sa = tables.outbound().lookup("site-b/net");
        assertThat(sa.isHardExpired()).isFalse();
        tables.updateCounters(r.toBuilder().setSoftExpiry(e).setHardExpiry(e)
                .setState(ChildSaState.CHILD_SA_STATE_EXPIRED).build());
        assertThat(sa.isHardExpired()).isTrue();
        assertThat(events).containsExactly("soft out-2", "hard out-2");
        // A rekeyed successor is chosen over the expired SA.
        tables.upsert(record("out-3", 0x2003, Direction.DIRECTION_OUTBOUND, "w1", wrap).toBuilder().setCreatedAtMs(0)
                .build());
        assertThat(tables.outbound().lookup("site-b/net").spi()).isEqualTo(0x2003);
    }

    /** The margin a new inbound SA starts with, once its tracker has evaluated (it is never started here). */
    private long firstMargin(String id) {
        var replay = tables.get(id).replay();
        replay.evaluate(System.nanoTime(), false, new java.util.ArrayList<>());
        return replay.margin();
    }

    @Test
    void aNewInboundSaTakesTheMarginOfItsOwnChildsSaAcrossInstallsAndRemovals() {
        // Taken over with a margin of 300: the SA a rekey of child "net" replaces.
        tables.upsert(record("in-1", 0x1001, Direction.DIRECTION_INBOUND, "w1", wrap).toBuilder()
                .setReplayFloor(5_300).setReplayCheckpoint(5_300).setReplayMargin(300).setOwnerEpoch(2).build());
        tables.upsert(record("out-1", 0x2001, Direction.DIRECTION_OUTBOUND, "w1", wrap));
        tables.upsert(record("in-other", 0x1002, Direction.DIRECTION_INBOUND, "w1", wrap, "other").toBuilder()
                .setReplayFloor(900).setReplayCheckpoint(900).setReplayMargin(5_000).setOwnerEpoch(2).build());
        // The rekey's new inbound SA: net's margin, not other's.
        tables.upsert(record("in-2", 0x1003, Direction.DIRECTION_INBOUND, "w1", wrap).toBuilder()
                .setReplayMargin(262_144).build());
        assertThat(firstMargin("in-2")).isEqualTo(300);
        // A child with no SA here yet: the new-SA margin.
        tables.upsert(record("in-3", 0x1004, Direction.DIRECTION_INBOUND, "w1", wrap, "third").toBuilder()
                .setReplayMargin(262_144).build());
        assertThat(firstMargin("in-3")).isEqualTo(CheckpointRule.NEW_SA_MARGIN);
        // net's SAs removed (deleted, moved away, replaced by SPI): a later new SA of net has no predecessor.
        tables.remove("in-1");
        tables.upsert(record("in-2", 0x1003, Direction.DIRECTION_INBOUND, "w2", wrap));
        tables.upsert(record("in-4", 0x1005, Direction.DIRECTION_INBOUND, "w1", wrap).toBuilder()
                .setReplayMargin(262_144).build());
        tables.upsert(record("in-5", 0x1005, Direction.DIRECTION_INBOUND, "w1", wrap, "third").toBuilder()
                .setReplayMargin(262_144).build()); // same SPI: replaces in-4
        assertThat(tables.get("in-4")).isNull();
        tables.upsert(record("in-6", 0x1006, Direction.DIRECTION_INBOUND, "w1", wrap).toBuilder()
                .setReplayMargin(262_144).build());
        assertThat(firstMargin("in-6")).isEqualTo(CheckpointRule.NEW_SA_MARGIN);
        assertThat(tables.outbound().lookup("site-b/net").spi()).isEqualTo(0x2001);
    }

    @Test
    void aRekeysNewOutboundSaTakesOverOnlyOnceItHoldsSequenceNumbers() {
        tables.upsert(record("out-1", 0x2001, Direction.DIRECTION_OUTBOUND, "w1", wrap));
        OutboundSa old = (OutboundSa) tables.get("out-1").sa();
        assertThat(old.offerLease(1, 1_000)).isTrue();
        tables.upsert(record("out-2", 0x2002, Direction.DIRECTION_OUTBOUND, "w1", wrap).toBuilder()
                .setCreatedAtMs(2).build()); // the rekey's: newer, but no lease yet
        assertThat(tables.outbound().lookup("site-b/net")).as("the old SA keeps sending").isSameAs(old);

        OutboundSa fresh = (OutboundSa) tables.get("out-2").sa();
        assertThat(fresh.offerLease(1, 1_000)).isTrue();
        tables.leaseArrived("out-2");
        assertThat(tables.outbound().lookup("site-b/net")).isSameAs(fresh);
    }

    @Test
    void aRekeyRespondersNewOutboundSaWaitsOnStandbyUntilTheOldOneIsDeleted() {
        tables.upsert(record("out-1", 0x2001, Direction.DIRECTION_OUTBOUND, "w1", wrap));
        tables.upsert(record("out-2", 0x2002, Direction.DIRECTION_OUTBOUND, "w1", wrap).toBuilder()
                .setCreatedAtMs(2).setOutboundStandby(true).build()); // the peer's rekey
        assertThat(tables.outbound().lookup("site-b/net").spi()).isEqualTo(0x2001);
        tables.upsert(record("out-3", 0x2003, Direction.DIRECTION_OUTBOUND, "w1", wrap).toBuilder()
                .setCreatedAtMs(3).setOutboundStandby(true).build()); // and the next, before out-1 went
        assertThat(tables.outbound().lookup("site-b/net").spi()).isEqualTo(0x2001);
        tables.remove("out-1"); // the peer's Delete of the old pair
        assertThat(tables.outbound().lookup("site-b/net").spi()).as("the oldest on standby").isEqualTo(0x2002);
        tables.upsert(record("out-4", 0x2004, Direction.DIRECTION_OUTBOUND, "w1", wrap).toBuilder()
                .setCreatedAtMs(4).build()); // a rekey we started: ours, used at once
        assertThat(tables.outbound().lookup("site-b/net").spi()).isEqualTo(0x2004);
    }

    @Test
    void aBatchPublishesItsChangesTogetherAndClosesWhatItRemovedAfterwards() {
        tables.upsert(record("out-1", 0x2001, Direction.DIRECTION_OUTBOUND, "w1", wrap));
        tables.upsert(record("in-1", 0x1001, Direction.DIRECTION_INBOUND, "w1", wrap));
        var oldIn = tables.inbound().lookup(0x1001);
        var oldOut = tables.outbound().lookup("site-b/net");
        tables.batch(() -> {
            tables.upsert(record("in-2", 0x1002, Direction.DIRECTION_INBOUND, "w1", wrap));
            tables.upsert(record("out-2", 0x2002, Direction.DIRECTION_OUTBOUND, "w1", wrap).toBuilder()
                    .setCreatedAtMs(2).build()); // the rekey's: newer, chosen
            tables.upsert(record("out-9", 0x2009, Direction.DIRECTION_OUTBOUND, "w1", wrap, "other"));
            tables.remove("in-1");
            tables.remove("out-1");
            // The data plane sees none of it yet, and nothing it can still find is closed.
            assertThat(tables.inbound().lookup(0x1002)).isNull();
            assertThat(tables.inbound().lookup(0x1001)).isSameAs(oldIn);
            assertThat(tables.outbound().lookup("site-b/net")).isSameAs(oldOut);
            assertThat(tables.outbound().lookup("site-b/other")).isNull();
            assertThat(oldIn.isClosed()).isFalse();
            assertThat(oldOut.isClosed()).isFalse();
            assertThat(tables.get("in-1")).isNull();
        });
        assertThat(tables.inbound().lookup(0x1002)).isNotNull();
        assertThat(tables.inbound().lookup(0x1001)).isNull();
        assertThat(tables.outbound().lookup("site-b/net").spi()).isEqualTo(0x2002);
        assertThat(tables.outbound().lookup("site-b/other").spi()).isEqualTo(0x2009);
        assertThat(oldIn.isClosed()).isTrue();
        assertThat(oldOut.isClosed()).isTrue();

        // Removing the chosen SA falls back to its child's other one; removing both empties the entry.
        tables.remove("out-2");
        assertThat(tables.outbound().lookup("site-b/net")).isNull();
        tables.upsert(record("out-3", 0x2003, Direction.DIRECTION_OUTBOUND, "w1", wrap));
        tables.upsert(record("out-4", 0x2004, Direction.DIRECTION_OUTBOUND, "w1", wrap).toBuilder()
                .setCreatedAtMs(5).build());
        assertThat(tables.outbound().lookup("site-b/net").spi()).isEqualTo(0x2004);
        tables.upsert(record("out-4", 0x2004, Direction.DIRECTION_OUTBOUND, "w2", wrap)); // moved away
        assertThat(tables.outbound().lookup("site-b/net").spi()).isEqualTo(0x2003);
        assertThat(tables.outbound().lookup("site-b/other").spi()).isEqualTo(0x2009);
    }

    @Test
    void aUsageAnswerWithNothingToApplyDoesNotWaitForTheFeed() throws Exception {
        ChildSaRecord r = record("out-1", 0x2001, Direction.DIRECTION_OUTBOUND, "w1", wrap);
        tables.upsert(r);
        CountDownLatch held = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Thread feed = Thread.ofPlatform().start(() -> tables.batch(() -> { // a long batch holds the tables
            held.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }));
        held.await();
        try {
            // Thousands of these arrive a second (one per SA with traffic), on gRPC's threads.
            CompletableFuture.runAsync(() -> tables.updateCounters(r.toBuilder().setGeneration(7).build()))
                    .get(5, TimeUnit.SECONDS);
        } finally {
            release.countDown();
            feed.join();
        }
        assertThat(tables.get("out-1").record().getGeneration()).isZero();
    }
}
