package dev.keel.sad.store;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.ChildSaState;
import dev.keel.proto.v1.Direction;
import dev.keel.proto.v1.Expiry;
import dev.keel.proto.v1.IkeSaRecord;
import dev.keel.proto.v1.LifetimeLimit;
import dev.keel.proto.v1.OwnershipReason;
import dev.keel.proto.v1.WrappedChildKeys;
import org.junit.jupiter.api.Test;

/** The split-brain merge rule for CHILD and IKE SA records (docs/sad.md, "Split brain"). */
class MergeRuleTest {

    private static ChildSaRecord.Builder sa(String owner, long hwm) {
        return ChildSaRecord.newBuilder().setId("sa-1").setDirection(Direction.DIRECTION_OUTBOUND)
                .setState(ChildSaState.CHILD_SA_STATE_ACTIVE).setOwnerNodeId(owner).setOwnerMember("m-" + owner)
                .setOwnerEpoch(1).setGeneration(1).setLeaseHighWater(hwm)
                .setKeys(WrappedChildKeys.newBuilder().setEncryption(ByteString.copyFromUtf8("wrapped")));
    }

    @Test
    void highestLeaseHighWaterWinsAndNoCounterGoesDown() {
        ChildSaRecord a = sa("n1", 5_000).setReplayCheckpoint(900).setBytes(10).setPackets(7).build();
        ChildSaRecord b = sa("n2", 7_000).setReplayCheckpoint(100).setBytes(99).setPackets(3).setOwnerEpoch(2).build();
        for (ChildSaRecord m : new ChildSaRecord[] {SaMergePolicies.mergeChild(a, b), SaMergePolicies.mergeChild(b, a)}) {
            assertThat(m.getLeaseHighWater()).isEqualTo(7_000);
            assertThat(m.getOwnerNodeId()).isEqualTo("n2");
            assertThat(m.getReplayCheckpoint()).isEqualTo(900);
            assertThat(m.getBytes()).isEqualTo(99);
            assertThat(m.getPackets()).isEqualTo(7);
            assertThat(m.getOwnerEpoch()).as("owners differed: epoch above both").isEqualTo(3);
            assertThat(m.getOwnerReason()).isEqualTo(OwnershipReason.OWNERSHIP_REASON_MERGE);
            assertThat(m.getGeneration()).isGreaterThan(Math.max(a.getGeneration(), b.getGeneration()));
        }
    }

    @Test
    void inboundMergeKeepsTheHigherCheckpointPlusMarginAndRestartsAboveItWhenOwnersDiffer() {
        // Side A recorded (900, 10): its owner accepted at most 910; side B (100, 5,000): at most 5,100.
        ChildSaRecord a = sa("n1", 1).setDirection(Direction.DIRECTION_INBOUND).setReplayCheckpoint(900)
                .setReplayMargin(10).build();
        ChildSaRecord b = a.toBuilder().setOwnerNodeId("n2").setOwnerMember("m-n2").setReplayCheckpoint(100)
                .setReplayMargin(5_000).build();
        for (ChildSaRecord m : new ChildSaRecord[] {SaMergePolicies.mergeChild(a, b), SaMergePolicies.mergeChild(b, a)}) {
            assertThat(m.getReplayFloor()).as("above what either owner accepted").isEqualTo(5_100);
            assertThat(m.getReplayCheckpoint()).isEqualTo(5_100);
            assertThat(m.getReplayCheckpoint() + m.getReplayMargin()).isGreaterThanOrEqualTo(5_100);
        }
        // One owner on both sides: it keeps its window; the bound is the higher of both sides'.
        ChildSaRecord b1 = b.toBuilder().setOwnerNodeId("n1").setOwnerMember("m-n1").build();
        ChildSaRecord same = SaMergePolicies.mergeChild(a, b1);
        assertThat(same.getReplayCheckpoint()).isEqualTo(900);
        assertThat(same.getReplayCheckpoint() + same.getReplayMargin()).isEqualTo(5_100);
        assertThat(same.getReplayFloor()).isZero();
    }

    @Test
    void inboundSaStaysWithTheSideThePeersPacketsReachedAndItsWindowIsNotRestarted() {
        // A cluster link cut: n1 carried the SA throughout (checkpoints up to 12,000, margin 1,000);
        // n2 took it over at 4,000 with four times the margin and never got a packet.
        ChildSaRecord carrier = sa("n1", 0).setDirection(Direction.DIRECTION_INBOUND).setReplayFloor(0)
                .setReplayCheckpoint(12_000).setReplayMargin(1_000).build();
        ChildSaRecord idle = carrier.toBuilder().setOwnerNodeId("n2").setOwnerMember("m-n2").setOwnerEpoch(2)
                .setGeneration(5).setReplayFloor(4_000).setReplayCheckpoint(4_000).setReplayMargin(4_000).build();
        for (ChildSaRecord m : new ChildSaRecord[] {SaMergePolicies.mergeChild(carrier, idle),
                SaMergePolicies.mergeChild(idle, carrier)}) {
            assertThat(m.getOwnerNodeId()).as("the owner the packets reached").isEqualTo("n1");
            assertThat(m.getOwnerEpoch()).as("above both: n2's data plane sees it lost the SA").isEqualTo(3);
            assertThat(m.getReplayFloor()).as("what n2 may have accepted").isEqualTo(8_000);
            assertThat(m.getReplayCheckpoint()).as("n1's window goes on where it is").isEqualTo(12_000);
            assertThat(m.getReplayMargin()).isEqualTo(1_000);
        }
    }

    @Test
    void deletionWinsButKeepsTheHighestCounters() {
        ChildSaRecord live = sa("n1", 9_000).build();
        ChildSaRecord dead = sa("n1", 2_000).clearKeys().setState(ChildSaState.CHILD_SA_STATE_DELETED)
                .setDeletedAtMs(123).build();
        for (ChildSaRecord m : new ChildSaRecord[] {SaMergePolicies.mergeChild(live, dead),
                SaMergePolicies.mergeChild(dead, live)}) {
            assertThat(m.getState()).isEqualTo(ChildSaState.CHILD_SA_STATE_DELETED);
            assertThat(m.hasKeys()).isFalse();
            assertThat(m.getLeaseHighWater()).isEqualTo(9_000);
        }
    }

    @Test
    void expiryOnEitherSideSurvivesAndHardKeepsExpired() {
        ChildSaRecord a = sa("n1", 10).build();
        ChildSaRecord b = sa("n1", 5).setHardExpiry(Expiry.newBuilder().setAtMs(5).setLimit(LifetimeLimit.LIFETIME_LIMIT_BYTES))
                .setSoftExpiry(Expiry.newBuilder().setAtMs(4).setLimit(LifetimeLimit.LIFETIME_LIMIT_BYTES))
                .setState(ChildSaState.CHILD_SA_STATE_EXPIRED).build();
        ChildSaRecord m = SaMergePolicies.mergeChild(a, b);
        assertThat(m.getLeaseHighWater()).isEqualTo(10);
        assertThat(m.hasHardExpiry()).isTrue();
        assertThat(m.hasSoftExpiry()).isTrue();
        assertThat(m.getState()).isEqualTo(ChildSaState.CHILD_SA_STATE_EXPIRED);
    }

    @Test
    void sameOwnerKeepsEpochAndOneSidedRecordIsKept() {
        ChildSaRecord a = sa("n1", 10).setOwnerEpoch(4).build();
        ChildSaRecord b = sa("n1", 20).setOwnerEpoch(4).build();
        assertThat(SaMergePolicies.mergeChild(a, b).getOwnerEpoch()).isEqualTo(4);
        assertThat(SaMergePolicies.mergeChild(null, b)).isSameAs(b);
        assertThat(SaMergePolicies.mergeChild(a, null)).isSameAs(a);
    }

    @Test
    void ikeRecordFurtherInTheExchangeWinsAndMessageIdsNeverGoBack() {
        IkeSaRecord a = IkeSaRecord.newBuilder().setId("ike").setNextRequestMessageId(9).setNextExpectedMessageId(2)
                .setOwnerMember("m1").setOwnerNodeId("n1").setGeneration(3).setLocalIdentity("a").build();
        IkeSaRecord b = IkeSaRecord.newBuilder().setId("ike").setNextRequestMessageId(7).setNextExpectedMessageId(5)
                .setOwnerMember("m1").setOwnerNodeId("n1").setGeneration(8).setLocalIdentity("b").build();
        IkeSaRecord m = SaMergePolicies.mergeIke(a, b);
        assertThat(m.getLocalIdentity()).isEqualTo("a");
        assertThat(m.getNextRequestMessageId()).isEqualTo(9);
        assertThat(m.getNextExpectedMessageId()).isEqualTo(5);
        assertThat(m.getGeneration()).isEqualTo(9);
    }

    @Test
    void ikeRecordsOfTwoOwnersMergeAsMergedSoTheNextOwnerSynchronizes() {
        IkeSaRecord a = IkeSaRecord.newBuilder().setId("ike").setNextRequestMessageId(9).setOwnerMember("m1")
                .setOwnerNodeId("n1").setOwnerEpoch(2).build();
        IkeSaRecord b = IkeSaRecord.newBuilder().setId("ike").setNextRequestMessageId(7).setOwnerMember("m2")
                .setOwnerNodeId("n2").setOwnerEpoch(3).build();
        IkeSaRecord m = SaMergePolicies.mergeIke(a, b);
        assertThat(m.getOwnerEpoch()).isEqualTo(4);
        assertThat(m.getOwnerReason()).isEqualTo(dev.keel.proto.v1.OwnershipReason.OWNERSHIP_REASON_MERGE);
        assertThat(SaMergePolicies.mergeIke(a, a.toBuilder().setNextRequestMessageId(10).build()).getOwnerReason())
                .as("one owner on both sides").isEqualTo(dev.keel.proto.v1.OwnershipReason.OWNERSHIP_REASON_UNSPECIFIED);
    }
}
