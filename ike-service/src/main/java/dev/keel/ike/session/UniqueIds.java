package dev.keel.ike.session;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The unique ids of one engine's IKE SAs and CHILD SAs, as strongSwan's uniqueid: each IKE SA and
 * each CHILD SA gets the next one when it is made here (a rekey's replacement and an SA taken over
 * from another node included), from 1, never reused while the engine runs. The handles an operator
 * names an SA by (keel.v1.IkeService); two counters, since IKE and CHILD SA ids are named apart.
 */
public final class UniqueIds {

    private final AtomicLong ikeSas = new AtomicLong();
    private final AtomicLong childSas = new AtomicLong();

    /** The id of a new IKE SA. */
    long nextIkeSa() {
        return ikeSas.incrementAndGet();
    }

    /** The id of a new CHILD SA. */
    long nextChildSa() {
        return childSas.incrementAndGet();
    }
}
