package dev.keel.sad.store;

import com.hazelcast.map.EntryProcessor;
import com.hazelcast.nio.serialization.IdentifiedDataSerializable;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.ChildSaState;
import dev.keel.proto.v1.Direction;
import dev.keel.proto.v1.IkeSaRecord;
import dev.keel.sad.SadException.Kind;
import dev.keel.sad.keys.RecordMac;
import dev.keel.sad.keys.RecordMac.Scope;
import dev.keel.sad.keys.TamperedRecordException;
import java.io.Serial;
import java.util.Map;

/**
 * Base of the single-key processors on the SA maps. Use them only with {@code executeOnKey} /
 * {@code submitToKey}: the backup processor carries the one value this instance wrote.
 *
 * <p><b>Why a grant is on the backup before the caller sees it.</b> An entry processor runs as
 * an {@code EntryOperation} on the partition owner's partition thread, so all processors on a
 * key are serialized. The operation is backup-aware: after {@link #process} ran, Hazelcast asks
 * {@link #getBackupProcessor()} (called after {@code process} on the same instance) and, because
 * the SA maps have {@code backup-count 1} (synchronous), sends that processor to the backup
 * replica and tells the caller's invocation to expect one backup acknowledgement. The caller's
 * future completes only when both the primary's response and the backup's acknowledgement have
 * arrived (or the backup member has left the cluster, in which case the primary holds the only
 * copy and re-replicates it). So a result the caller sees is applied on two members, and a
 * result that was applied on the primary alone is never seen by any caller.
 *
 * <p>The backup processor is not {@code this} re-run (that would re-evaluate clocks and
 * ownership on the backup) but {@link SadSerialization.SetOne}: the exact bytes the primary
 * wrote, so primary and backup are byte-identical. A processor that changed nothing has no backup processor, and
 * then no backup is sent or awaited.
 *
 * <p><b>Integrity.</b> A processor reads the stored record through {@link #existingChild} (and
 * its kin {@link #liveChild}, {@link #ownedChild}) or {@link #openIke}, which check its tag ({@link RecordMac}); a record that fails is not used and
 * the operation is refused with DATA_LOSS. Every write tags the new record
 * ({@link #write(Map.Entry, ChildSaRecord.Builder)} and the like), with the KEK that tagged the
 * record read, or the one named by {@link #tagWith} for a record made here.
 */
public abstract class RecordProcessor implements EntryProcessor<String, byte[], OpResult>, IdentifiedDataSerializable {

    private transient byte[] written;
    private transient boolean removed;
    /** The tag key of the record read (or of {@link #tagWith}): the one new versions are tagged with. */
    private transient RecordMac mac;

    @Override
    public final OpResult process(Map.Entry<String, byte[]> entry) {
        written = null;
        removed = false;
        mac = null;
        try {
            return apply(entry);
        } catch (TamperedRecordException e) {
            return OpResult.refuse(Kind.DATA_LOSS, e.getMessage());
        } catch (Refusal r) {
            return r.result;
        }
    }

    /**
     * Does the work; reads through {@link #existingChild} and its kin or {@link #openIke}, writes
     * only through {@code write} / {@link #remove}.
     */
    protected abstract OpResult apply(Map.Entry<String, byte[]> entry);

    /**
     * The prologue of an operation on an existing CHILD SA: the stored record after its integrity
     * check. No record ends the operation with NOT_FOUND, a failed check with DATA_LOSS.
     */
    protected final ChildSaRecord existingChild(Map.Entry<String, byte[]> entry) {
        if (entry.getValue() == null) {
            throw new Refusal(OpResult.refuse(Kind.NOT_FOUND, "child SA " + entry.getKey() + " does not exist"));
        }
        return openChild(entry);
    }

    /** As {@link #existingChild}; a deleted SA (a tombstone) ends the operation with FAILED_PRECONDITION. */
    protected final ChildSaRecord liveChild(Map.Entry<String, byte[]> entry) {
        ChildSaRecord r = existingChild(entry);
        if (!Records.isLive(r)) {
            throw new Refusal(OpResult.refuse(Kind.FAILED_PRECONDITION, "child SA " + r.getId() + " is deleted"));
        }
        return r;
    }

    /**
     * As {@link #existingChild}, for an operation of the SA's owner: the refusals of
     * {@link #usableBy} end it.
     */
    protected final ChildSaRecord ownedChild(Map.Entry<String, byte[]> entry, String nodeId, Direction direction,
            String what) {
        ChildSaRecord r = existingChild(entry);
        OpResult refusal = usableBy(r, nodeId, direction, what);
        if (refusal != null) {
            throw new Refusal(refusal);
        }
        return r;
    }

    /**
     * Null when node {@code nodeId} may {@code what} on SA {@code r}: it is neither deleted nor
     * expired, has {@code direction} (null: either) and is owned by that node; else the refusal.
     */
    protected static OpResult usableBy(ChildSaRecord r, String nodeId, Direction direction, String what) {
        if (r.getState() == ChildSaState.CHILD_SA_STATE_DELETED) {
            return OpResult.refuse(Kind.FAILED_PRECONDITION, "child SA " + r.getId() + " is deleted");
        }
        if (r.getState() == ChildSaState.CHILD_SA_STATE_EXPIRED) {
            return OpResult.refuse(Kind.FAILED_PRECONDITION,
                    "child SA " + r.getId() + " reached its hard lifetime; cannot " + what);
        }
        if (direction != null && r.getDirection() != direction) {
            return OpResult.refuse(Kind.FAILED_PRECONDITION, "child SA " + r.getId() + " is "
                    + r.getDirection().name().substring("DIRECTION_".length()).toLowerCase()
                    + "; cannot " + what);
        }
        if (!r.getOwnerNodeId().equals(nodeId)) {
            return OpResult.refuse(Kind.FAILED_PRECONDITION, "child SA " + r.getId() + " is owned by node '"
                    + r.getOwnerNodeId() + "', not '" + nodeId + "' (owner epoch " + r.getOwnerEpoch() + ")");
        }
        return null;
    }

    /** The stored CHILD SA record (not null) after its integrity check; a failed check refuses the operation (DATA_LOSS). */
    private ChildSaRecord openChild(Map.Entry<String, byte[]> entry) {
        mac = RecordMac.verify(Scope.CHILD_SA, entry.getKey(), entry.getValue());
        return Records.parseChild(entry.getValue());
    }

    /** The stored IKE SA record (not null) after its integrity check; a failed check refuses the operation (DATA_LOSS). */
    protected final IkeSaRecord openIke(Map.Entry<String, byte[]> entry) {
        mac = RecordMac.verify(Scope.IKE_SA, entry.getKey(), entry.getValue());
        return Records.parseIke(entry.getValue());
    }

    /** Tags what this processor writes under the KEK with this id (a record made here, not read). */
    protected final void tagWith(int kekId) {
        mac = RecordMac.forKekId(kekId);
        if (mac == null) {
            throw new TamperedRecordException(String.format("cannot tag a record under KEK %08x: this node does not hold it",
                    kekId));
        }
    }

    protected final byte[] write(Map.Entry<String, byte[]> entry, ChildSaRecord.Builder record) {
        return write(entry, Records.sealed(mac, entry.getKey(), record));
    }

    protected final byte[] write(Map.Entry<String, byte[]> entry, ChildSaRecord record) {
        return write(entry, Records.sealed(mac, entry.getKey(), record));
    }

    protected final byte[] write(Map.Entry<String, byte[]> entry, IkeSaRecord.Builder record) {
        return write(entry, Records.sealed(mac, entry.getKey(), record));
    }

    private byte[] write(Map.Entry<String, byte[]> entry, byte[] value) {
        entry.setValue(value);
        written = value;
        return value;
    }

    protected final void remove(Map.Entry<String, byte[]> entry) {
        entry.setValue(null);
        removed = true;
    }

    @Override
    public final EntryProcessor<String, byte[], OpResult> getBackupProcessor() {
        if (written != null) {
            return new SadSerialization.SetOne<>(written, SadSerialization.SetOne.MAP_DEFAULT_TTL);
        }
        return removed ? new SadSerialization.SetOne<>(null, SadSerialization.SetOne.MAP_DEFAULT_TTL) : null;
    }

    @Override
    public final int getFactoryId() {
        return SadSerialization.FACTORY_ID;
    }

    /** Ends {@link #apply} with a refusal: thrown by the prologue helpers, answered by {@link #process}. */
    private static final class Refusal extends RuntimeException {
        @Serial
        private static final long serialVersionUID = 1L;
        private final transient OpResult result;

        Refusal(OpResult result) {
            super(null, null, false, false); // no stack trace: a refusal is an answer, not a fault
            this.result = result;
        }
    }
}
