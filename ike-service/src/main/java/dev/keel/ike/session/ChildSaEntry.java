package dev.keel.ike.session;

import java.util.ArrayList;
import java.util.List;

/**
 * One CHILD SA of an IKE SA with what the IKE SA tracks for it besides its keys: its lifetime
 * timers with their deadlines, and whether a rekey has replaced it so that it only waits for its
 * delete (RFC 7296 §2.8).
 */
final class ChildSaEntry {

    final ChildSa child;
    /** Its unique id on this node ({@link UniqueIds}): kept when its IKE SA is rekeyed. */
    final long uniqueId;
    /** When it was negotiated here (Unix epoch ms), 0 for one taken over from another node. */
    final long madeAtMillis;
    private final List<IkeTimers.Cancellable> timers = new ArrayList<>(2);
    private boolean replaced;
    /** The inbound SPI of the CHILD SA that replaced it, 0 when unknown (taken over from another node). */
    private int replacedBy;
    /** When the rekey and the hard lifetime are due, Unix epoch ms (0: never): replicated with the IKE SA. */
    private long rekeyAtMillis;
    private long expireAtMillis;

    ChildSaEntry(ChildSa child, long uniqueId, long madeAtMillis) {
        this.child = child;
        this.uniqueId = uniqueId;
        this.madeAtMillis = madeAtMillis;
    }

    void addTimer(IkeTimers.Cancellable timer) {
        timers.add(timer);
    }

    void cancelTimers() {
        timers.forEach(IkeTimers.Cancellable::cancel);
        timers.clear();
    }

    void deadlines(long rekeyAt, long expireAt) {
        this.rekeyAtMillis = rekeyAt;
        this.expireAtMillis = expireAt;
    }

    long rekeyAtMillis() {
        return rekeyAtMillis;
    }

    long expireAtMillis() {
        return expireAtMillis;
    }

    boolean replaced() {
        return replaced;
    }

    void markReplaced(int bySpi) {
        replaced = true;
        replacedBy = bySpi;
    }

    /** True when {@code spi} is the inbound SPI of the CHILD SA known to have replaced this one. */
    boolean replacedBy(int spi) {
        return replaced && replacedBy != 0 && replacedBy == spi;
    }

    void unmarkReplaced() {
        replaced = false;
        replacedBy = 0;
    }
}
