package dev.keel.sad.store;

import com.hazelcast.map.EntryProcessor;
import com.hazelcast.query.Predicate;
import dev.keel.sad.keys.RecordMac;
import dev.keel.sad.keys.TamperedRecordException;
import java.io.Serial;
import java.util.HashMap;
import java.util.Map;

/**
 * Base of the maintenance passes over an SA map, run by the oldest member: a query with
 * {@link #due()} finds the keys that need work, then {@code executeOnKeys} applies the pass to
 * them. A pass is deterministic in its fields (clock and member set captured when built), so the
 * backup replica re-runs it (backup processor = this) and reaches the same bytes.
 *
 * <p>The prologue every pass shares: an absent record is left alone (null); a record that fails
 * its integrity check ({@link RecordMac}) is left as it is and answered {@link #REFUSED}; only a
 * record whose tag verifies reaches {@link #apply}, with the tag key that new versions are sealed
 * with.
 */
public abstract class MaintenancePass implements EntryProcessor<String, byte[], Object> {

    @Serial
    private static final long serialVersionUID = 1L;

    /** The result for a record the pass changed or purged. */
    public static final Boolean CHANGED = Boolean.TRUE;
    /** The result for a record that failed its integrity check and was left alone. */
    public static final Boolean REFUSED = Boolean.FALSE;

    /** When the pass runs (captured once: the backup re-runs it with the same clock). */
    protected final long nowMs;
    /** Member UUID -> node id of every live member. */
    protected final HashMap<String, String> liveMembers;

    protected MaintenancePass(long nowMs, Map<String, String> liveMembers) {
        this.nowMs = nowMs;
        this.liveMembers = new HashMap<>(liveMembers);
    }

    /** Which records the pass reads, for their tag. */
    protected abstract RecordMac.Scope scope();

    /** The pass on a record whose tag verified under {@code mac}; {@link #CHANGED} or null. */
    protected abstract Object apply(Map.Entry<String, byte[]> entry, byte[] value, RecordMac mac);

    /** Whether the pass would change the record, from its bytes (what {@link #due()} selects). */
    abstract boolean isDue(byte[] value);

    @Override
    public final Object process(Map.Entry<String, byte[]> entry) {
        byte[] value = entry.getValue();
        if (value == null) {
            return null;
        }
        RecordMac mac;
        try {
            mac = RecordMac.verify(scope(), entry.getKey(), value);
        } catch (TamperedRecordException e) {
            return REFUSED;
        }
        return apply(entry, value, mac);
    }

    /** Whether a record's owner incarnation has left the cluster (no member set: nothing is orphaned). */
    protected final boolean orphan(String ownerMember) {
        return !liveMembers.isEmpty() && !liveMembers.containsKey(ownerMember);
    }

    @Override
    public final EntryProcessor<String, byte[], Object> getBackupProcessor() {
        return this;
    }

    /** Selects the entries this pass would change. */
    public final Predicate<String, byte[]> due() {
        return new Due(this);
    }

    private record Due(MaintenancePass pass) implements Predicate<String, byte[]> {
        @Serial
        private static final long serialVersionUID = 1L;

        @Override
        public boolean apply(Map.Entry<String, byte[]> entry) {
            byte[] v = entry.getValue();
            return v != null && pass.isDue(v);
        }
    }
}
