package dev.keel.sad.store;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.ChildSaState;
import dev.keel.proto.v1.Expiry;
import dev.keel.proto.v1.IkeSaRecord;
import dev.keel.proto.v1.Lifetime;
import dev.keel.proto.v1.LifetimeLimit;
import dev.keel.sad.keys.RecordMac;
import dev.keel.sad.keys.RecordMac.Scope;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/** Pure functions over stored records: parsing, key stripping, lifetimes, owner choice. */
public final class Records {

    private Records() {}

    public static ChildSaRecord parseChild(byte[] bytes) {
        try {
            return ChildSaRecord.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException("stored CHILD SA record is not a ChildSaRecord: " + e.getMessage());
        }
    }

    public static IkeSaRecord parseIke(byte[] bytes) {
        try {
            return IkeSaRecord.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException("stored IKE SA record is not an IkeSaRecord: " + e.getMessage());
        }
    }

    /**
     * A stored CHILD SA record after its integrity check ({@link RecordMac#verify}).
     *
     * @throws dev.keel.sad.keys.TamperedRecordException when the check fails
     */
    public static ChildSaRecord verifiedChild(String key, byte[] stored) {
        RecordMac.verify(Scope.CHILD_SA, key, stored);
        return parseChild(stored);
    }

    /** As {@link #verifiedChild}, for an IKE SA record. */
    public static IkeSaRecord verifiedIke(String key, byte[] stored) {
        RecordMac.verify(Scope.IKE_SA, key, stored);
        return parseIke(stored);
    }

    /** The bytes to store for a CHILD SA record under {@code key}: serialized, with its tag (the builder's is dropped). */
    public static byte[] sealed(RecordMac mac, String key, ChildSaRecord.Builder b) {
        return mac.seal(Scope.CHILD_SA, key, b.clearRecordTag().build());
    }

    /** As above, from a record (copied when it carries a tag). */
    public static byte[] sealed(RecordMac mac, String key, ChildSaRecord r) {
        return mac.seal(Scope.CHILD_SA, key, r.getRecordTag().isEmpty() ? r : r.toBuilder().clearRecordTag().build());
    }

    /** The bytes to store for an IKE SA record under {@code key}. */
    public static byte[] sealed(RecordMac mac, String key, IkeSaRecord.Builder b) {
        return mac.seal(Scope.IKE_SA, key, b.clearRecordTag().build());
    }

    public static ChildSaRecord withoutKeys(ChildSaRecord r) {
        return r.hasKeys() ? r.toBuilder().clearKeys().build() : r;
    }

    public static IkeSaRecord withoutKeys(IkeSaRecord r) {
        return r.hasKeys() ? r.toBuilder().clearKeys().build() : r;
    }

    /**
     * The highest sequence number an inbound SA's owner may have accepted: checkpoint + margin,
     * unsigned, saturating at 2^64 - 1 (ESN numbers use all 64 bits; docs/ha.md).
     */
    public static long replayLimit(long checkpoint, long margin) {
        long sum = checkpoint + margin;
        return Long.compareUnsigned(sum, checkpoint) < 0 ? -1L : sum;
    }

    public static boolean isLive(ChildSaRecord r) {
        return r.getState() != ChildSaState.CHILD_SA_STATE_DELETED;
    }

    /**
     * Applies the lifetime limits at time {@code nowMs}: sets soft_expiry / hard_expiry the first
     * time a limit is reached (a hard expiry also moves the state to EXPIRED). Returns {@code r}
     * itself when nothing changed.
     */
    public static ChildSaRecord applyLifetimes(ChildSaRecord r, long nowMs) {
        if (!isLive(r) || !r.hasLifetime()) {
            return r;
        }
        Lifetime l = r.getLifetime();
        ChildSaRecord.Builder b = null;
        if (!r.hasSoftExpiry()) {
            LifetimeLimit hit = reached(r, nowMs, l.getSoftSeconds(), l.getSoftBytes(), l.getSoftPackets());
            if (hit != null) {
                b = r.toBuilder().setSoftExpiry(Expiry.newBuilder().setAtMs(nowMs).setLimit(hit));
            }
        }
        if (!r.hasHardExpiry()) {
            LifetimeLimit hit = reached(r, nowMs, l.getHardSeconds(), l.getHardBytes(), l.getHardPackets());
            if (hit != null) {
                if (b == null) {
                    b = r.toBuilder();
                }
                if (!b.hasSoftExpiry()) {
                    // A hard limit implies the soft one: IKE sees the soft event first.
                    b.setSoftExpiry(Expiry.newBuilder().setAtMs(nowMs).setLimit(hit));
                }
                b.setHardExpiry(Expiry.newBuilder().setAtMs(nowMs).setLimit(hit))
                        .setState(ChildSaState.CHILD_SA_STATE_EXPIRED);
            }
        }
        if (b == null) {
            return r;
        }
        return b.setGeneration(r.getGeneration() + 1).setUpdatedAtMs(nowMs).build();
    }

    private static LifetimeLimit reached(ChildSaRecord r, long nowMs, long seconds, long bytes, long packets) {
        return reached(r.getCreatedAtMs(), r.getBytes(), r.getPackets(), nowMs, seconds, bytes, packets);
    }

    /** The limit an SA created at {@code createdAtMs} with these counters reached, or null. */
    static LifetimeLimit reached(long createdAtMs, long usedBytes, long usedPackets, long nowMs, long seconds,
            long bytes, long packets) {
        if (seconds > 0 && nowMs - createdAtMs >= seconds * 1000L) {
            return LifetimeLimit.LIFETIME_LIMIT_TIME;
        }
        if (bytes > 0 && Long.compareUnsigned(usedBytes, bytes) >= 0) {
            return LifetimeLimit.LIFETIME_LIMIT_BYTES;
        }
        if (packets > 0 && Long.compareUnsigned(usedPackets, packets) >= 0) {
            return LifetimeLimit.LIFETIME_LIMIT_PACKETS;
        }
        return null;
    }

    /**
     * The new owner of an SA whose owner incarnation is gone: the same node when it is live again
     * under a new member UUID (a healed split brain rejoins with a new UUID; a quick restart), so
     * a merge does not move SAs between nodes; otherwise {@link #chooseOwner}.
     *
     * @param live member UUID -> node id of every live member; not empty
     * @return the chosen member's UUID
     */
    public static String successor(String saId, String ownerNodeId, Map<String, String> live) {
        String same = null;
        for (Map.Entry<String, String> m : live.entrySet()) {
            if (m.getValue().equals(ownerNodeId) && (same == null || m.getKey().compareTo(same) < 0)) {
                same = m.getKey();
            }
        }
        return same != null ? same : chooseOwner(saId, live);
    }

    /**
     * Rendezvous (highest random weight) choice of a new owner among live members, so every
     * member computes the same owner for an SA from the same member set, and the SAs of a lost
     * member spread evenly over the survivors.
     *
     * @param live member UUID -> node id of every live member; not empty
     * @return the chosen member's UUID
     */
    public static String chooseOwner(String saId, Map<String, String> live) {
        String best = null;
        long bestWeight = 0;
        for (Map.Entry<String, String> m : live.entrySet()) {
            long w = mix(hash(saId) * 31 + hash(m.getValue()));
            if (best == null || Long.compareUnsigned(w, bestWeight) > 0
                    || (w == bestWeight && m.getKey().compareTo(best) < 0)) {
                best = m.getKey();
                bestWeight = w;
            }
        }
        return best;
    }

    private static long hash(String s) {
        long h = 0xcbf29ce484222325L; // FNV-1a 64
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        return h;
    }

    private static long mix(long z) { // SplitMix64 finalizer
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }
}
