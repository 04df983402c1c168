package dev.keel.esp.sa;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * An outbound ESP SA: hands out sequence numbers in order and stops before the counter would
 * wrap (RFC 4303 §3.3.3), telling its owner once that the SA needs rekeying.
 */
public final class OutboundSa extends EspSa {

    /** Without ESN the last usable number is 2^32-1; with ESN, 2^64-1. */
    private final long lastSequence;
    private final AtomicLong next;
    private final Consumer<OutboundSa> onExhausted;
    private volatile boolean exhausted;

    /** An SA whose first packet carries sequence number 1. */
    public OutboundSa(EspSaSpec spec, Consumer<OutboundSa> onExhausted) {
        this(spec, 1, onExhausted);
    }

    /** An SA whose next packet carries {@code firstSequence} (e.g. after a takeover). */
    public OutboundSa(EspSaSpec spec, long firstSequence, Consumer<OutboundSa> onExhausted) {
        super(spec);
        if (firstSequence == 0) {
            throw new IllegalArgumentException("sequence numbers start at 1 (RFC 4303 §3.3.3)");
        }
        this.lastSequence = spec.esn() ? -1L : 0xffff_ffffL;
        this.next = new AtomicLong(firstSequence);
        this.onExhausted = onExhausted;
    }

    /**
     * The next sequence number, or 0 when the SA has used its last one; the first such call
     * notifies the exhaustion listener.
     */
    public long nextSequence() {
        long seq = next.getAndIncrement();
        if (Long.compareUnsigned(seq, lastSequence) > 0 || seq == 0) {
            next.set(0);
            if (!exhausted) {
                exhausted = true;
                if (onExhausted != null) {
                    onExhausted.accept(this);
                }
            }
            return 0;
        }
        return seq;
    }

    /** True once the counter ran out; the SA must be replaced by a rekeyed one. */
    public boolean isExhausted() {
        return exhausted;
    }

    /** The number the next packet would carry (the high-water mark for a handover). */
    public long peekNextSequence() {
        return next.get();
    }
}
