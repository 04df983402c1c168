package dev.keel.sad.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.ChildSaState;
import dev.keel.proto.v1.Direction;
import dev.keel.proto.v1.IkeSaRecord;
import dev.keel.proto.v1.OwnershipReason;
import dev.keel.sad.SadException.Kind;
import java.util.AbstractMap.SimpleEntry;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The record processors as pure functions on a map entry (no cluster). */
class ProcessorsTest {

    private static Map.Entry<String, byte[]> entry(ChildSaRecord r) {
        return TestTags.entry(r);
    }

    private static ChildSaRecord.Builder out(boolean esn, long hwm) {
        return ChildSaRecord.newBuilder().setId("sa").setDirection(Direction.DIRECTION_OUTBOUND).setEsn(esn)
                .setOwnerNodeId("n1").setOwnerMember("u1").setOwnerEpoch(1).setGeneration(1)
                .setState(ChildSaState.CHILD_SA_STATE_ACTIVE).setLeaseHighWater(hwm);
    }

    @Test
    void leaseGrantsFromHighWaterAndRaisesItAndBacksUpExactBytes() {
        Map.Entry<String, byte[]> e = entry(out(true, 1).build());
        LeaseProcessor p = new LeaseProcessor("n1", 100);
        OpResult r = p.process(e);
        assertThat(r.refusal()).isNull();
        assertThat(r.a()).isEqualTo(1);
        assertThat(r.b()).isEqualTo(101);
        assertThat(r.c()).as("owner epoch").isEqualTo(1);
        assertThat(Records.parseChild(e.getValue()).getLeaseHighWater()).isEqualTo(101);
        assertThat(Records.parseChild(e.getValue()).getGeneration()).as("counters do not move the generation").isEqualTo(1);

        Map.Entry<String, byte[]> backup = entry(out(true, 1).build());
        p.getBackupProcessor().process(backup);
        assertThat(backup.getValue()).isEqualTo(e.getValue());
    }

    @Test
    void refusedLeaseHasNoBackup() {
        LeaseProcessor p = new LeaseProcessor("n2", 1);
        OpResult r = p.process(entry(out(true, 1).build()));
        assertThat(r.refusal()).isEqualTo(Kind.FAILED_PRECONDITION);
        assertThat(r.message()).contains("owned by node 'n1', not 'n2'");
        assertThat(p.getBackupProcessor()).isNull();
    }

    @Test
    void thirtyTwoBitSpaceEndsAt2To32AndEsnAtWrap() {
        Map.Entry<String, byte[]> e = entry(out(false, (1L << 32) - 10).build());
        assertThat(new LeaseProcessor("n1", 11).process(e).refusal()).isEqualTo(Kind.RESOURCE_EXHAUSTED);
        OpResult last = new LeaseProcessor("n1", 10).process(e);
        assertThat(last.b()).isEqualTo(1L << 32);
        Map.Entry<String, byte[]> esn = entry(out(true, -10L).build()); // 2^64 - 10
        assertThat(new LeaseProcessor("n1", 10).process(esn).refusal()).isEqualTo(Kind.RESOURCE_EXHAUSTED);
        assertThat(new LeaseProcessor("n1", 9).process(esn).refusal()).isNull();
    }

    @Test
    void leaseRefusedOnInboundDeletedExpiredAndMissing() {
        assertThat(new LeaseProcessor("n1", 1).process(entry(out(true, 1).setDirection(Direction.DIRECTION_INBOUND).build()))
                .message()).contains("is inbound");
        assertThat(new LeaseProcessor("n1", 1).process(entry(out(true, 1).setState(ChildSaState.CHILD_SA_STATE_DELETED)
                .build())).refusal()).isEqualTo(Kind.FAILED_PRECONDITION);
        assertThat(new LeaseProcessor("n1", 1).process(entry(out(true, 1).setState(ChildSaState.CHILD_SA_STATE_EXPIRED)
                .build())).message()).contains("hard lifetime");
        assertThat(new LeaseProcessor("n1", 1).process(new SimpleEntry<>("x", null)).refusal()).isEqualTo(Kind.NOT_FOUND);
    }

    @Test
    void takeoverMovesOrphansToALiveMemberAndRaisesReplayFloor() {
        ChildSaRecord in = out(true, 1).setDirection(Direction.DIRECTION_INBOUND).setReplayCheckpoint(5_000)
                .setReplayMargin(1_000).build();
        MaintenanceProcessor pass = new MaintenanceProcessor(10_000, Map.of("u2", "n2", "u3", "n3"), 600_000);
        Map.Entry<String, byte[]> e = entry(in);
        assertThat(pass.due().apply(e)).isTrue();
        pass.process(e);
        ChildSaRecord t = Records.parseChild(e.getValue());
        assertThat(t.getOwnerNodeId()).isIn("n2", "n3");
        assertThat(t.getOwnerMember()).isEqualTo(t.getOwnerNodeId().equals("n2") ? "u2" : "u3");
        assertThat(t.getOwnerEpoch()).isEqualTo(2);
        assertThat(t.getOwnerReason()).isEqualTo(OwnershipReason.OWNERSHIP_REASON_TAKEOVER);
        assertThat(t.getReplayFloor()).as("the old owner's checkpoint + its margin").isEqualTo(6_000);
        assertThat(t.getReplayCheckpoint()).as("the new owner's checkpoint starts at the floor").isEqualTo(6_000);
        assertThat(t.getReplayMargin()).as("room for the numbers the peer used during the outage").isEqualTo(4_000);
        assertThat(pass.due().apply(e)).as("nothing left to do").isFalse();

        MaintenanceProcessor withOwner = new MaintenanceProcessor(10_000, Map.of("u1", "n1"), 600_000);
        assertThat(withOwner.due().apply(entry(in))).isFalse();
    }

    /**
     * The takeover margin multiplies only a margin the owner's checkpoints sized: claims back and
     * forth with no checkpoint between them raise the floor by the same margin each time, and a
     * new SA's initial margin is not multiplied.
     */
    @Test
    void claimsInARowRaiseTheFloorLinearlyNotByAGrowingMargin() {
        ChildSaRecord in = out(true, 1).setDirection(Direction.DIRECTION_INBOUND).setReplayCheckpoint(5_000)
                .setReplayMargin(1_000).build();
        ChildSaRecord a = ClaimProcessor.reassign(in, "n2", "u2", OwnershipReason.OWNERSHIP_REASON_CLAIM, 1);
        ChildSaRecord b = ClaimProcessor.reassign(a, "n1", "u1", OwnershipReason.OWNERSHIP_REASON_CLAIM, 2);
        ChildSaRecord c = ClaimProcessor.reassign(b, "n2", "u2", OwnershipReason.OWNERSHIP_REASON_CLAIM, 3);
        assertThat(List.of(a.getReplayFloor(), b.getReplayFloor(), c.getReplayFloor()))
                .containsExactly(6_000L, 10_000L, 14_000L);
        assertThat(c.getReplayMargin()).isEqualTo(4_000);

        ChildSaRecord fresh = out(true, 1).setDirection(Direction.DIRECTION_INBOUND).setReplayMargin(64).build();
        ChildSaRecord f = ClaimProcessor.reassign(fresh, "n2", "u2", OwnershipReason.OWNERSHIP_REASON_CLAIM, 1);
        assertThat(List.of(f.getReplayFloor(), f.getReplayMargin())).as("a new SA's initial margin stands")
                .containsExactly(64L, 64L);
    }

    @Test
    void anOwnerNodeBackUnderANewIncarnationKeepsItsSas() {
        // A healed split brain: node n1 rejoins as member u9; its SAs stay on n1 (new epoch), not hashed away.
        ChildSaRecord in = out(true, 1).setDirection(Direction.DIRECTION_INBOUND).setReplayCheckpoint(5_000)
                .setReplayMargin(1_000).build();
        assertThat(in.getOwnerNodeId()).isEqualTo("n1");
        MaintenanceProcessor pass = new MaintenanceProcessor(10_000, Map.of("u9", "n1", "u2", "n2", "u3", "n3"),
                600_000);
        Map.Entry<String, byte[]> e = entry(in);
        pass.process(e);
        ChildSaRecord t = Records.parseChild(e.getValue());
        assertThat(t.getOwnerNodeId()).isEqualTo("n1");
        assertThat(t.getOwnerMember()).isEqualTo("u9");
        assertThat(t.getOwnerEpoch()).isEqualTo(2);
        assertThat(t.getReplayFloor()).as("a new incarnation restarts its windows like any takeover").isEqualTo(6_000);
    }

    @Test
    void tombstonesArePurgedAfterRetention() {
        ChildSaRecord t = out(true, 1).setState(ChildSaState.CHILD_SA_STATE_DELETED).setDeletedAtMs(1_000).build();
        Map.Entry<String, byte[]> e = entry(t);
        assertThat(new MaintenanceProcessor(1_500, Map.of("u1", "n1"), 1_000).due().apply(e)).isFalse();
        new MaintenanceProcessor(2_000, Map.of("u1", "n1"), 1_000).process(e);
        assertThat(e.getValue()).isNull();
    }

    @Test
    void ownedByMemberReadsTheOneField() {
        ChildSaRecord r = out(true, 99).setOwnerMember("3f0c-uuid").setConnection("c").build();
        assertThat(OwnedByMember.ownerMember(r.toByteArray())).isEqualTo("3f0c-uuid");
        assertThat(OwnedByMember.ownerMember(ChildSaRecord.getDefaultInstance().toByteArray())).isEmpty();
        assertThat(new OwnedByMember("3f0c-uuid").apply(entry(r))).isTrue();
        assertThat(new OwnedByMember("other").apply(entry(r))).isFalse();
    }

    @Test
    void checkpointAndUsageOnlyMoveUp() {
        Map.Entry<String, byte[]> e = entry(out(true, 1).setDirection(Direction.DIRECTION_INBOUND).build());
        assertThat(new CheckpointProcessor("n1", 70, 8).process(e).a()).isEqualTo(70);
        assertThat(new CheckpointProcessor("n1", 60, 4).process(e).a()).isEqualTo(70);
        new UsageProcessor("n1", 500, 5, 0).process(e);
        new UsageProcessor("n1", 400, 9, 0).process(e);
        ChildSaRecord r = Records.parseChild(e.getValue());
        assertThat(r.getBytes()).isEqualTo(500);
        assertThat(r.getPackets()).isEqualTo(9);
        assertThat(r.getReplayMargin()).isEqualTo(8);
    }

    /**
     * The pairs one data plane sends are in order (edge up; at the same edge, margin down). Applied
     * in any order, any subset of them, the stored pair is the last of those applied in send order:
     * a late or retried call never replaces a newer pair (docs/ha.md, "Inbound replay floor after a
     * takeover"). Without that, a data plane that raised its bound on a confirmation could later
     * find a lower bound stored under it.
     */
    @Test
    void theStoredCheckpointIsTheNewestPairAppliedWhateverTheOrder() {
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(4303);
        for (int round = 0; round < 2_000; round++) {
            // A send order, ESN-sized numbers included.
            java.util.List<long[]> sent = new java.util.ArrayList<>();
            long edge = rnd.nextInt(4) == 0 ? -1L - rnd.nextInt(1_000_000) : rnd.nextInt(1_000);
            long margin = 1 + rnd.nextInt(1 << 20);
            for (int i = rnd.nextInt(1, 12); i > 0; i--) {
                sent.add(new long[] {edge, margin});
                if (rnd.nextBoolean() && Long.compareUnsigned(edge, -1L - 100) < 0) {
                    edge += 1 + rnd.nextInt(100);
                    margin = 1 + rnd.nextInt(1 << 20);
                } else if (margin > 1) {
                    margin = 1 + rnd.nextLong(margin - 1); // same edge, smaller margin
                }
            }
            java.util.List<Integer> order = new java.util.ArrayList<>();
            for (int i = 0; i < sent.size(); i++) {
                if (rnd.nextInt(4) != 0) { // some calls never arrive
                    order.add(i);
                }
            }
            java.util.Collections.shuffle(order, new java.util.Random(rnd.nextLong()));
            Map.Entry<String, byte[]> e = entry(out(true, 1).setDirection(Direction.DIRECTION_INBOUND)
                    .setReplayMargin(1L << 32).build());
            int newest = -1;
            for (int i : order) {
                OpResult r = new CheckpointProcessor("n1", sent.get(i)[0], sent.get(i)[1]).process(e);
                newest = Math.max(newest, i);
                assertThat(new long[] {r.a(), r.b()}).as("round %d", round).containsExactly(sent.get(newest));
            }
        }
    }

    @Test
    void takeoverFloorSaturatesAtTheTopOfTheEsnSpace() {
        ChildSaRecord in = out(true, 1).setDirection(Direction.DIRECTION_INBOUND).setReplayCheckpoint(-10L)
                .setReplayMargin(1_000).build();
        ChildSaRecord t = ClaimProcessor.reassign(in, "n2", "u2", OwnershipReason.OWNERSHIP_REASON_TAKEOVER, 1);
        assertThat(t.getReplayFloor()).as("2^64 - 1, not a wrap to 989").isEqualTo(-1L);
        assertThat(Records.replayLimit(5, 7)).isEqualTo(12);
        assertThat(Records.replayLimit(-2L, 1)).isEqualTo(-1L);
        assertThat(Records.replayLimit(-2L, 2)).isEqualTo(-1L);
    }

    private static IkeSaRecord.Builder ike(String member) {
        return IkeSaRecord.newBuilder().setId("ike").setConnection("c").setInitiatorSpi(1).setResponderSpi(2)
                .setOwnerNodeId("n1").setOwnerMember(member).setNextRequestMessageId(3).setNextExpectedMessageId(4);
    }

    @Test
    void ikeUpsertByAnotherOwnerIsRefusedAndChangesNothing() {
        Map.Entry<String, byte[]> e = new SimpleEntry<>("ike", null);
        assertThat(new IkeUpsertProcessor(ike("u1").build(), 1_000, TestTags.MAC.kekId()).process(e).refusal()).isNull();
        byte[] stored = e.getValue();
        // the member that lost the IKE SA (takeover, merge) writes its stale state: refused, no backup
        IkeUpsertProcessor stale = new IkeUpsertProcessor(ike("u2").setNextRequestMessageId(9).build(), 2_000,
                TestTags.MAC.kekId());
        OpResult r = stale.process(e);
        assertThat(r.refusal()).isEqualTo(Kind.FAILED_PRECONDITION);
        assertThat(r.message()).contains("owned by node 'n1'");
        assertThat(e.getValue()).isSameAs(stored);
        assertThat(stale.getBackupProcessor()).isNull();
        // the owner's own write goes through, keeping epoch and reason
        OpResult ok = new IkeUpsertProcessor(ike("u1").setNextRequestMessageId(5).setLastResponse(
                com.google.protobuf.ByteString.copyFromUtf8("resp")).build(), 3_000, TestTags.MAC.kekId()).process(e);
        IkeSaRecord after = Records.parseIke(ok.orThrow());
        assertThat(after.getNextRequestMessageId()).isEqualTo(5);
        assertThat(after.getGeneration()).isEqualTo(2);
        assertThat(after.getLastResponse().toStringUtf8()).isEqualTo("resp");
    }

    @Test
    void ikeTakeoverSaysTakeover() {
        Map.Entry<String, byte[]> e = new SimpleEntry<>("ike", TestTags.sealed(ike("u1").setOwnerEpoch(1).build()));
        new IkeMaintenanceProcessor(5_000, Map.of("u2", "n2")).process(e);
        IkeSaRecord r = Records.parseIke(e.getValue());
        assertThat(r.getOwnerNodeId()).isEqualTo("n2");
        assertThat(r.getOwnerEpoch()).isEqualTo(2);
        assertThat(r.getOwnerReason()).isEqualTo(OwnershipReason.OWNERSHIP_REASON_TAKEOVER);
    }
}
