package dev.keel.sad.store;

import com.hazelcast.nio.ObjectDataInput;
import com.hazelcast.nio.ObjectDataOutput;
import com.hazelcast.spi.merge.MergingEntry;
import com.hazelcast.spi.merge.MergingValue;
import com.hazelcast.spi.merge.SplitBrainMergePolicy;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.ChildSaState;
import dev.keel.proto.v1.Direction;
import dev.keel.proto.v1.IkeSaRecord;
import dev.keel.proto.v1.OwnershipReason;
import dev.keel.sad.keys.RecordMac;
import dev.keel.sad.keys.RecordMac.Scope;
import dev.keel.sad.keys.TamperedRecordException;

/**
 * The split-brain merge rules for the SA maps (docs/sad.md, "Split brain"). When two
 * sub-clusters merge, Hazelcast calls the map's policy once per key present in the merging
 * (smaller) side, with the value of the surviving side as {@code existing} (null when absent).
 *
 * <p>The rules are pure functions ({@link #mergeChild}, {@link #mergeIke}) so they are tested
 * directly, and symmetric except for exact ties.
 *
 * <p>Both sides' records are checked first ({@link RecordMac}): a side whose record fails its
 * check does not take part (the other side's record is kept as it is; when both fail, the
 * surviving side's stays), so a record forged on a rogue "side" that merges in never wins.
 */
public final class SaMergePolicies {

    private SaMergePolicies() {}

    /**
     * CHILD SA rule:
     * <ol>
     *   <li>a deletion wins: if either side is a tombstone the result is a tombstone (an SA the
     *       IKE service deleted, and told the peer so, must not come back);</li>
     *   <li>otherwise, for an inbound SA, the record with the higher replay checkpoint wins (its
     *       owner is the one the peer's packets reached); then the record with the higher lease
     *       high-water mark (then the higher owner epoch, then the higher generation, then the
     *       surviving side);</li>
     *   <li>no counter is ever lowered: lease high-water mark, replay checkpoint, replay floor,
     *       bytes and packets are the maximum of both sides, and an expiry seen by either side
     *       stays (a hard expiry keeps the SA EXPIRED); the replay margin is what keeps
     *       checkpoint + margin at the higher of both sides' (docs/ha.md);</li>
     *   <li>when the sides disagree on the owner, the winner's owner keeps it and the owner
     *       epoch rises above both, so the losing side's data plane sees that it lost the SA; an
     *       inbound SA's replay floor rises to the losing side's checkpoint + margin, and the
     *       winner's owner counts everything up to it as seen, keeping its own window above it
     *       (checkpoint + margin stays at or above both sides', so a later takeover's floor covers
     *       both owners).</li>
     * </ol>
     */
    public static ChildSaRecord mergeChild(ChildSaRecord existing, ChildSaRecord merging) {
        if (existing == null) {
            return merging;
        }
        if (merging == null) {
            return existing;
        }
        boolean existingDeleted = existing.getState() == ChildSaState.CHILD_SA_STATE_DELETED;
        boolean mergingDeleted = merging.getState() == ChildSaState.CHILD_SA_STATE_DELETED;
        ChildSaRecord winner;
        ChildSaRecord loser;
        if (existingDeleted != mergingDeleted) {
            winner = existingDeleted ? existing : merging;
        } else {
            // An inbound SA goes to the side whose owner recorded the peer's packets furthest: the
            // routers sent them there, so it carries the SA and keeps its window as it is.
            int c = merging.getDirection() == Direction.DIRECTION_INBOUND
                    ? Long.compareUnsigned(merging.getReplayCheckpoint(), existing.getReplayCheckpoint()) : 0;
            if (c == 0) {
                c = Long.compareUnsigned(merging.getLeaseHighWater(), existing.getLeaseHighWater());
            }
            if (c == 0) {
                c = Long.compare(merging.getOwnerEpoch(), existing.getOwnerEpoch());
            }
            if (c == 0) {
                c = Long.compare(merging.getGeneration(), existing.getGeneration());
            }
            winner = c > 0 ? merging : existing;
        }
        loser = winner == existing ? merging : existing;
        long checkpoint = maxU(winner.getReplayCheckpoint(), loser.getReplayCheckpoint());
        long limit = maxU(Records.replayLimit(winner.getReplayCheckpoint(), winner.getReplayMargin()),
                Records.replayLimit(loser.getReplayCheckpoint(), loser.getReplayMargin()));
        ChildSaRecord.Builder b = winner.toBuilder()
                .setLeaseHighWater(maxU(winner.getLeaseHighWater(), loser.getLeaseHighWater()))
                .setReplayCheckpoint(checkpoint)
                .setReplayMargin(limit - checkpoint) // limit >= checkpoint: no underflow
                .setReplayFloor(maxU(winner.getReplayFloor(), loser.getReplayFloor()))
                .setBytes(maxU(winner.getBytes(), loser.getBytes()))
                .setPackets(maxU(winner.getPackets(), loser.getPackets()))
                .setGeneration(Math.max(winner.getGeneration(), loser.getGeneration()) + 1);
        if (!winner.hasSoftExpiry() && loser.hasSoftExpiry()) {
            b.setSoftExpiry(loser.getSoftExpiry());
        }
        if (!winner.hasHardExpiry() && loser.hasHardExpiry()) {
            b.setHardExpiry(loser.getHardExpiry());
        }
        if (b.hasHardExpiry() && b.getState() != ChildSaState.CHILD_SA_STATE_DELETED) {
            b.setState(ChildSaState.CHILD_SA_STATE_EXPIRED);
        }
        long epoch = Math.max(winner.getOwnerEpoch(), loser.getOwnerEpoch());
        if (!winner.getOwnerMember().equals(loser.getOwnerMember())) {
            b.setOwnerEpoch(epoch + 1).setOwnerReason(OwnershipReason.OWNERSHIP_REASON_MERGE);
            if (winner.getDirection() == Direction.DIRECTION_INBOUND) {
                // The losing side's owner may have accepted up to its checkpoint + margin: the floor
                // rises to that, and the winner's owner, seeing the epoch rise, counts everything up
                // to it as seen. Its own window stays as it is: what it accepted, it remembers.
                long floor = ClaimProcessor.takeoverFloor(loser.getReplayCheckpoint(), loser.getReplayMargin(),
                        b.getReplayFloor());
                b.setReplayFloor(floor)
                        .setReplayCheckpoint(maxU(winner.getReplayCheckpoint(), floor))
                        .setReplayMargin(winner.getReplayMargin());
            }
        } else {
            b.setOwnerEpoch(epoch);
        }
        return b.build();
    }

    /**
     * IKE SA rule: the record further along in the exchange (higher next request message ID,
     * then higher next expected message ID, then generation) wins; message IDs are the maximum of
     * both sides; ownership as for CHILD SAs.
     */
    public static IkeSaRecord mergeIke(IkeSaRecord existing, IkeSaRecord merging) {
        if (existing == null) {
            return merging;
        }
        if (merging == null) {
            return existing;
        }
        int c = Integer.compareUnsigned(merging.getNextRequestMessageId(), existing.getNextRequestMessageId());
        if (c == 0) {
            c = Integer.compareUnsigned(merging.getNextExpectedMessageId(), existing.getNextExpectedMessageId());
        }
        if (c == 0) {
            c = Long.compare(merging.getGeneration(), existing.getGeneration());
        }
        IkeSaRecord winner = c > 0 ? merging : existing;
        IkeSaRecord loser = winner == existing ? merging : existing;
        long epoch = Math.max(winner.getOwnerEpoch(), loser.getOwnerEpoch());
        return winner.toBuilder()
                .setNextRequestMessageId(IkeUpsertProcessor.maxU32(winner.getNextRequestMessageId(),
                        loser.getNextRequestMessageId()))
                .setNextExpectedMessageId(IkeUpsertProcessor.maxU32(winner.getNextExpectedMessageId(),
                        loser.getNextExpectedMessageId()))
                .setGeneration(Math.max(winner.getGeneration(), loser.getGeneration()) + 1)
                .setOwnerEpoch(winner.getOwnerMember().equals(loser.getOwnerMember()) ? epoch : epoch + 1)
                // both sides' owners may have exchanged messages with the peer: the next one synchronizes (RFC 6311)
                .setOwnerReason(winner.getOwnerMember().equals(loser.getOwnerMember()) ? winner.getOwnerReason()
                        : OwnershipReason.OWNERSHIP_REASON_MERGE)
                .build();
    }

    private static long maxU(long a, long b) {
        return Long.compareUnsigned(a, b) >= 0 ? a : b;
    }


    /**
     * The merged value of one key: {@code rule} over both sides' records when both pass their
     * integrity check (tagged with the surviving side's KEK); otherwise the one side that passes,
     * as stored; otherwise the surviving side's value as it is (null: store nothing).
     */
    private static Object merge(Scope scope, MergingEntry<Object, Object> merging, MergingEntry<Object, Object> existing,
            Rule rule) {
        RecordMac m = checked(scope, merging);
        RecordMac e = checked(scope, existing);
        if (m != null && e != null) {
            String key = (String) existing.getKey();
            return rule.merge(e, key, (byte[]) existing.getDeserializedValue(), (byte[]) merging.getDeserializedValue());
        }
        if (m != null) {
            return merging.getRawValue();
        }
        return existing == null ? null : existing.getRawValue();
    }

    /** A merge rule over two checked records, giving the stored bytes. */
    private interface Rule {
        byte[] merge(RecordMac mac, String key, byte[] existing, byte[] merging);
    }

    /** The tag key of a side's record, or null when it has none or the record fails its check. */
    private static RecordMac checked(Scope scope, MergingEntry<Object, Object> v) {
        if (v == null || v.getDeserializedValue() == null) {
            return null;
        }
        try {
            return RecordMac.verify(scope, (String) v.getKey(), (byte[]) v.getDeserializedValue());
        } catch (TamperedRecordException x) {
            return null;
        }
    }

    /** Hazelcast adapter for {@link #mergeChild} on the CHILD SA map. */
    public static final class ChildSa implements SplitBrainMergePolicy<Object, MergingEntry<Object, Object>, Object> {
        @Override
        public Object merge(MergingEntry<Object, Object> merging, MergingEntry<Object, Object> existing) {
            return SaMergePolicies.merge(Scope.CHILD_SA, merging, existing, (mac, key, e, m) -> Records.sealed(mac, key,
                    mergeChild(Records.parseChild(e), Records.parseChild(m))));
        }

        @Override
        public void writeData(ObjectDataOutput out) {}

        @Override
        public void readData(ObjectDataInput in) {}
    }

    /** Hazelcast adapter for {@link #mergeIke} on the IKE SA map. */
    public static final class IkeSa implements SplitBrainMergePolicy<Object, MergingEntry<Object, Object>, Object> {
        @Override
        public Object merge(MergingEntry<Object, Object> merging, MergingEntry<Object, Object> existing) {
            return SaMergePolicies.merge(Scope.IKE_SA, merging, existing, (mac, key, e, m) -> Records.sealed(mac, key,
                    mergeIke(Records.parseIke(e), Records.parseIke(m)).toBuilder()));
        }

        @Override
        public void writeData(ObjectDataOutput out) {}

        @Override
        public void readData(ObjectDataInput in) {}
    }

    /**
     * SPI map rule: a binding to an SA beats a bare reservation; two different bindings (a 2^-32
     * coincidence of two sides allocating the same SPI) keep the surviving side's, and the other
     * SA's install will be refused on its next touch of the SPI.
     */
    public static final class Spi implements SplitBrainMergePolicy<Object, MergingValue<Object>, Object> {
        @Override
        public Object merge(MergingValue<Object> merging, MergingValue<Object> existing) {
            if (existing == null || existing.getDeserializedValue() == null) {
                return merging == null ? null : merging.getRawValue();
            }
            if (merging == null || merging.getDeserializedValue() == null) {
                return existing.getRawValue();
            }
            boolean existingBound = !SpiBindProcessor.RESERVED.equals(existing.getDeserializedValue());
            boolean mergingBound = !SpiBindProcessor.RESERVED.equals(merging.getDeserializedValue());
            return !existingBound && mergingBound ? merging.getRawValue() : existing.getRawValue();
        }

        @Override
        public void writeData(ObjectDataOutput out) {}

        @Override
        public void readData(ObjectDataInput in) {}
    }
}
