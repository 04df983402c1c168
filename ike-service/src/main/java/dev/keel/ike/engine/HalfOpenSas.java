package dev.keel.ike.engine;

import dev.keel.ike.session.IkeSa;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The responder's half-open IKE SAs (answered IKE_SA_INIT, not yet authenticated), by the
 * initiator's SPI and endpoint (how a retransmitted IKE_SA_INIT finds its SA), with counts in
 * all and per source address for the limits and cookie thresholds (RFC 7296 §2.6). Thread-safe;
 * the counts are exact, the limit checks against them are not atomic with the add (a burst on
 * several loops may pass a limit by the number of loops).
 */
final class HalfOpenSas {

    private record Key(long spiI, InetSocketAddress peer) {
    }

    private final Map<Key, IkeSa> bySpi = new ConcurrentHashMap<>();
    private final Map<IkeSa, Key> keyOf = new ConcurrentHashMap<>();
    private final Map<InetAddress, AtomicInteger> perAddress = new ConcurrentHashMap<>();

    /** The half-open IKE SA a retransmission of this initiator's IKE_SA_INIT belongs to, or null. */
    IkeSa find(long spiI, InetSocketAddress peer) {
        return bySpi.get(new Key(spiI, peer));
    }

    /** Half-open IKE SAs now. */
    int count() {
        return keyOf.size();
    }

    /** Half-open IKE SAs whose initiator is at {@code address}. */
    int countFrom(InetAddress address) {
        AtomicInteger n = perAddress.get(address);
        return n == null ? 0 : n.get();
    }

    /** Records a new half-open IKE SA. */
    void add(long spiI, InetSocketAddress peer, IkeSa sa) {
        Key key = new Key(spiI, peer);
        bySpi.put(key, sa);
        keyOf.put(sa, key);
        perAddress.computeIfAbsent(peer.getAddress(), a -> new AtomicInteger()).incrementAndGet();
    }

    /** Forgets {@code sa} (authenticated or gone); harmless when it was not half open. */
    void remove(IkeSa sa) {
        Key key = keyOf.remove(sa);
        if (key == null) {
            return;
        }
        bySpi.remove(key, sa);
        perAddress.computeIfPresent(key.peer().getAddress(), (a, n) -> n.decrementAndGet() <= 0 ? null : n);
    }

    /** True while {@code sa} is half open. */
    boolean contains(IkeSa sa) {
        return keyOf.containsKey(sa);
    }
}
