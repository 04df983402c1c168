package dev.keel.ike.session;

import dev.keel.ike.crypto.IkeSaKeys;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The SAD's part in an IKE SA takeover, in memory: the last stored snapshot of every IKE SA by
 * its SPIs, written only by the current owner (the SAD's fencing), with copies of the keys (the
 * owner zeroizes its own) and CHILD SAs without keys; a write completes 2 ms later, on another
 * thread, as a call to sad-service would. A test "kills" the owner by naming another.
 */
final class MemorySad {

    private final Map<String, IkeSaSnapshot> records = new ConcurrentHashMap<>();
    /** Every stored snapshot in order, for tests that look at what was written when. */
    final List<IkeSaSnapshot> writes = new CopyOnWriteArrayList<>();
    private volatile String owner;
    /** When set, every write completes only with it (a slow SAD). */
    volatile CompletableFuture<Void> gate;

    MemorySad(String owner) {
        this.owner = owner;
    }

    /** From now on only {@code node} writes: the old owner is dead (or fenced off). */
    void owner(String node) {
        this.owner = node;
    }

    /** Stores {@code sa}'s state for {@code node}, as RecordingEvents.ikeSaChanged calls it. */
    CompletionStage<?> store(String node, IkeSa sa) {
        if (!node.equals(owner)) {
            return CompletableFuture.failedFuture(new IllegalStateException(node + " no longer owns " + sa));
        }
        IkeSaSnapshot s = sa.snapshot();
        IkeSaSnapshot before = records.get(id(s.spiI(), s.spiR()));
        // sad-service keeps the stored keys when a write has none (only the first carries them)
        IkeSaKeys k = !s.keys().isClosed() ? copy(s.keys()) : before != null ? before.keys() : null;
        List<IkeSaSnapshot.Child> children = new ArrayList<>();
        for (IkeSaSnapshot.Child c : s.children()) {
            children.add(new IkeSaSnapshot.Child(c.child().withoutKeys(), c.replaced(), c.rekeyAtMillis(),
                    c.expireAtMillis(), c.madeAtMillis()));
        }
        IkeSaSnapshot copy = new IkeSaSnapshot(s.connection(), s.originalInitiator(), s.spiI(), s.spiR(), s.remote(),
                s.localPort(), s.natHere(), s.natThere(), s.proposal(), k,
                s.nextRequestId(), s.expectedRequestId(), s.requestInFlight(), s.inFlightRekeyedChild(),
                s.inFlightNewChild(), s.lastResponseId(),
                s.lastResponse() == null ? null : s.lastResponse().clone(), s.peerMessageIdSync(), s.mobike(), children,
                s.replaced(), s.deleting(), s.predecessorSpiI(), s.predecessorSpiR(), s.establishedAtMillis());
        records.put(id(s.spiI(), s.spiR()), copy);
        writes.add(copy);
        CompletableFuture<Void> g = gate;
        // a write takes a round trip, as to sad-service: never done by the time the engine looks
        return g != null ? g : CompletableFuture.runAsync(() -> { },
                CompletableFuture.delayedExecutor(2, java.util.concurrent.TimeUnit.MILLISECONDS));
    }

    private static IkeSaKeys copy(IkeSaKeys k) {
        return IkeSaKeys.of(k.skD(), k.skAi(), k.skAr(), k.skEi(), k.skEr(), k.skPi(), k.skPr());
    }

    /** Removes {@code sa}'s record when its owner destroyed it. */
    void delete(String node, IkeSa sa) {
        if (node.equals(owner)) {
            records.remove(id(sa.spiI(), sa.spiR()));
        }
    }

    /** The stored IKE SAs. */
    List<IkeSaSnapshot> all() {
        return List.copyOf(records.values());
    }

    /** The stored IKE SA with these SPIs, or null. */
    IkeSaSnapshot get(long spiI, long spiR) {
        return records.get(id(spiI, spiR));
    }

    private static String id(long spiI, long spiR) {
        return Long.toHexString(spiI) + "-" + Long.toHexString(spiR);
    }
}
