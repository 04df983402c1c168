package dev.keel.sad.store;

import com.hazelcast.query.Predicate;
import dev.keel.proto.v1.ChildSaRecord;
import java.io.Serial;
import java.io.Serializable;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Map;

/**
 * The ListChildSas / Watch filter, evaluated on the members that hold the records: id after a
 * page token, connection, peer address, owner, tombstones.
 */
public final class ChildSaFilter implements Predicate<String, byte[]> {

    @Serial
    private static final long serialVersionUID = 1L;

    private final String afterId;
    private final String connection;
    private final byte[] peerAddress;
    private final String ownerNodeId;
    private final boolean includeDeleted;

    public ChildSaFilter(String afterId, String connection, byte[] peerAddress, String ownerNodeId,
            boolean includeDeleted) {
        this.afterId = afterId;
        this.connection = connection;
        this.peerAddress = peerAddress;
        this.ownerNodeId = ownerNodeId;
        this.includeDeleted = includeDeleted;
    }

    @Override
    public boolean apply(Map.Entry<String, byte[]> entry) {
        if (!afterId.isEmpty() && entry.getKey().compareTo(afterId) <= 0) {
            return false;
        }
        byte[] v = entry.getValue();
        return v != null && matches(Records.parseChild(v));
    }

    public boolean matches(ChildSaRecord r) {
        if (!includeDeleted && !Records.isLive(r)) {
            return false;
        }
        if (!connection.isEmpty() && !connection.equals(r.getConnection())) {
            return false;
        }
        if (peerAddress.length > 0 && !Arrays.equals(peerAddress, r.getPeer().getAddress().toByteArray())) {
            return false;
        }
        return ownerNodeId.isEmpty() || ownerNodeId.equals(r.getOwnerNodeId());
    }

    /** Orders map entries by SA id, for paging. */
    public static final class ById implements Comparator<Map.Entry<String, byte[]>>, Serializable {
        @Serial
        private static final long serialVersionUID = 1L;

        @Override
        public int compare(Map.Entry<String, byte[]> a, Map.Entry<String, byte[]> b) {
            return a.getKey().compareTo(b.getKey());
        }
    }
}
