package dev.keel.sad.store;

import com.hazelcast.map.EntryProcessor;
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
 * ownership on the backup) but {@link SetValue}: the exact bytes the primary wrote, so primary
 * and backup are byte-identical. A processor that changed nothing has no backup processor, and
 * then no backup is sent or awaited.
 */
public abstract class RecordProcessor implements EntryProcessor<String, byte[], OpResult> {

    @Serial
    private static final long serialVersionUID = 1L;

    private transient byte[] written;
    private transient boolean removed;

    @Override
    public final OpResult process(Map.Entry<String, byte[]> entry) {
        written = null;
        removed = false;
        return apply(entry);
    }

    /** Does the work; writes only through {@link #write} / {@link #remove}. */
    protected abstract OpResult apply(Map.Entry<String, byte[]> entry);

    protected final byte[] write(Map.Entry<String, byte[]> entry, byte[] value) {
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
            return new SetValue(written);
        }
        return removed ? new SetValue(null) : null;
    }

    /** Backup side: store exactly what the primary stored (null removes). */
    public static final class SetValue implements EntryProcessor<String, byte[], OpResult> {
        @Serial
        private static final long serialVersionUID = 1L;
        private final byte[] value;

        SetValue(byte[] value) {
            this.value = value;
        }

        @Override
        public OpResult process(Map.Entry<String, byte[]> entry) {
            entry.setValue(value);
            return null;
        }

        @Override
        public EntryProcessor<String, byte[], OpResult> getBackupProcessor() {
            return null;
        }
    }
}
