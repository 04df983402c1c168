package dev.keel.esp.forward;

import dev.keel.esp.packet.DecapOutcome;
import dev.keel.esp.packet.EspCounters;
import dev.keel.esp.sa.InboundSa;
import dev.keel.esp.sa.ReplayWindow;
import java.util.concurrent.TimeUnit;

/**
 * Inbound packets that verified but lie above their SA's accept limit ({@link DecapOutcome#HELD}),
 * kept on one event loop until a replay checkpoint raises the limit, then accepted and delivered
 * in arrival order (docs/ha.md, "A late checkpoint holds inbound back"). The limit itself is
 * untouched: a packet leaves only once its window accepts it, so nothing above the recorded
 * checkpoint + margin is ever accepted. A packet kept longer than {@link #MAX_HOLD_MILLIS}, one
 * that finds the hold full or is larger than a slot, is dropped as {@link
 * DecapOutcome#CHECKPOINT_BEHIND}, as every one was before the hold.
 *
 * <p>One per forwarder, used only on its loop's thread; the slots are allocated at the first
 * packet held and reused, so holding allocates nothing per packet.
 */
final class HeldPackets {

    /** Packets kept at once per event loop. */
    static final int SLOTS = 1024;
    /** Largest inner packet kept: an Ethernet MTU's packet fits; larger ones are dropped. */
    static final int SLOT_BYTES = 2048;
    /** Longest a packet waits for its checkpoint; a healthy SAD answers within milliseconds. */
    static final long MAX_HOLD_MILLIS = 500;

    /** Where a released packet goes. */
    interface Outlet {
        /** {@code outlet}: the SA's ({@link InboundSa#outlet}). */
        void deliver(byte[] packet, int length, int outlet);
    }

    private byte[][] slots;
    private final int[] lengths = new int[SLOTS];
    private final long[] sequences = new long[SLOTS];
    private final InboundSa[] sas = new InboundSa[SLOTS];
    private final long[] heldAt = new long[SLOTS];
    private final EspCounters counters;
    private int size;

    HeldPackets(EspCounters counters) {
        this.counters = counters;
    }

    int size() {
        return size;
    }

    /**
     * Keeps the inner packet {@code buf[off, off + len)} of {@code sa} numbered {@code seq};
     * false (nothing kept) when the hold is full or the packet is larger than a slot.
     */
    boolean offer(InboundSa sa, long seq, byte[] buf, int off, int len, long nowNanos) {
        if (size == SLOTS || len > SLOT_BYTES) {
            return false;
        }
        if (slots == null) {
            slots = new byte[SLOTS][SLOT_BYTES];
        }
        System.arraycopy(buf, off, slots[size], 0, len);
        lengths[size] = len;
        sequences[size] = seq;
        sas[size] = sa;
        heldAt[size] = nowNanos;
        size++;
        return true;
    }

    /**
     * Offers every kept packet to its window again, oldest first: accepted ones go to {@code out}
     * (counted {@link DecapOutcome#DELIVERED}), those still above the limit stay unless kept too
     * long, duplicates are dropped ({@link DecapOutcome#REPLAYED}).
     */
    void release(long nowNanos, Outlet out) {
        long maxHold = TimeUnit.MILLISECONDS.toNanos(MAX_HOLD_MILLIS);
        int kept = 0;
        for (int i = 0; i < size; i++) {
            InboundSa sa = sas[i];
            ReplayWindow w = sa.replayWindow();
            long seq = sequences[i];
            boolean closed = sa.isClosed();
            // The limit is read without the window's lock first: a packet still above it waits on
            // without taking the lock each round (a stale read only keeps it one round longer).
            if (!closed && !w.aboveLimit(seq) && w.accept(seq)) {
                out.deliver(slots[i], lengths[i], sa.outlet());
                counters.count(DecapOutcome.DELIVERED);
            } else if (!closed && w.aboveLimit(seq) && nowNanos - heldAt[i] < maxHold) {
                if (kept != i) { // move it forward, keeping arrival order; swap the slots, not the bytes
                    byte[] s = slots[kept];
                    slots[kept] = slots[i];
                    slots[i] = s;
                    lengths[kept] = lengths[i];
                    sequences[kept] = seq;
                    sas[kept] = sa;
                    heldAt[kept] = heldAt[i];
                }
                kept++;
                continue;
            } else if (closed || w.aboveLimit(seq)) {
                sa.countDrop();
                counters.count(DecapOutcome.CHECKPOINT_BEHIND);
            } else {
                counters.count(DecapOutcome.REPLAYED);
            }
        }
        for (int i = kept; i < size; i++) {
            sas[i] = null; // no reference to a removed SA stays behind
        }
        size = kept;
    }
}
