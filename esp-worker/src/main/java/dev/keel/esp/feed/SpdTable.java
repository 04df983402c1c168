package dev.keel.esp.feed;

import dev.keel.core.spd.Spd;

/**
 * The worker's SPD: an immutable core {@link Spd} behind one volatile reference, swapped whole
 * when a new one is compiled (copy-on-write), so event loops look up without locks. Until the
 * first snapshot arrives it is empty, and every packet is discarded (RFC 4301 §5.1: no match).
 */
public final class SpdTable {

    private volatile Spd spd = Spd.empty();
    private volatile long revision;
    private volatile long epoch;

    /** The current SPD. */
    public Spd current() {
        return spd;
    }

    /** Publishes a new SPD compiled at {@code epoch}/{@code revision}. */
    public void publish(Spd next, long epoch, long revision) {
        this.spd = next;
        this.epoch = epoch;
        this.revision = revision;
    }

    /** The policy-service revision of the current SPD (0 before any). */
    public long revision() {
        return revision;
    }

    public long epoch() {
        return epoch;
    }
}
