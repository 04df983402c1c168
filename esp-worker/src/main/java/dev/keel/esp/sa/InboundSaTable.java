package dev.keel.esp.sa;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Inbound SAs by SPI, read lock-free and allocation-free on the packet path. Writers (SA
 * installs and deletes) change a map of their own and publish new open-addressing arrays through
 * one volatile field, so a reader always sees a consistent table. A {@link #batch} of changes
 * publishes once: readers see none of them, then all.
 */
public final class InboundSaTable {

    private record Slots(int[] spis, InboundSa[] sas, int size) {
    }

    private volatile Slots slots = new Slots(new int[16], new InboundSa[16], 0);
    /** What the table holds, published or not yet (a batch under way). Guarded by this. */
    private final Map<Integer, InboundSa> bySpi = new HashMap<>();
    /** Nesting depth of {@link #batch} calls; changes publish when it is 0. Guarded by this. */
    private int batching;
    /** {@link #bySpi} changed since the last publication. Guarded by this. */
    private boolean changed;

    /** The SA with this SPI, or null. */
    public InboundSa lookup(int spi) {
        Slots s = slots;
        int mask = s.spis.length - 1;
        for (int i = mix(spi) & mask, probes = 0; probes <= mask; i = (i + 1) & mask, probes++) {
            InboundSa sa = s.sas[i];
            if (sa == null) {
                return null;
            }
            if (s.spis[i] == spi) {
                return sa;
            }
        }
        return null;
    }

    /** Adds or replaces the SA for its SPI; returns the one it replaced (published or not), or null. */
    public synchronized InboundSa put(InboundSa sa) {
        InboundSa replaced = bySpi.put(sa.spi(), sa);
        changed = true;
        publishUnlessBatching();
        return replaced;
    }

    /** Removes the SA with this SPI and returns it (not closed), or null. */
    public synchronized InboundSa remove(int spi) {
        InboundSa removed = bySpi.remove(spi);
        if (removed != null) {
            changed = true;
            publishUnlessBatching();
        }
        return removed;
    }

    /**
     * The SA with this SPI as the writers see it: a change of a batch under way included (on the
     * writer's thread; readers use {@link #lookup}).
     */
    public synchronized InboundSa current(int spi) {
        return bySpi.get(spi);
    }

    /**
     * Runs {@code changes} (puts and removals on this table) and publishes the table once, after
     * them: an install costs a hash map insert, and the copy of the arrays is shared by the batch.
     */
    public synchronized void batch(Runnable changes) {
        batching++;
        try {
            changes.run();
        } finally {
            batching--;
            publishUnlessBatching();
        }
    }

    private void publishUnlessBatching() {
        if (batching == 0 && changed) {
            slots = build(bySpi.values());
            changed = false;
        }
    }

    public int size() {
        return slots.size;
    }

    /** A snapshot of every SA in the (published) table. */
    public List<InboundSa> all() {
        Slots s = slots;
        List<InboundSa> out = new ArrayList<>(s.size);
        for (InboundSa sa : s.sas) {
            if (sa != null) {
                out.add(sa);
            }
        }
        return out;
    }

    private static Slots build(Collection<InboundSa> all) {
        // Load factor at most 1/2 keeps probe runs short.
        int cap = Integer.highestOneBit(Math.max(16, all.size() * 2 - 1)) << 1;
        int[] spis = new int[cap];
        InboundSa[] sas = new InboundSa[cap];
        for (InboundSa sa : all) {
            int i = mix(sa.spi()) & (cap - 1);
            while (sas[i] != null) {
                i = (i + 1) & (cap - 1);
            }
            spis[i] = sa.spi();
            sas[i] = sa;
        }
        return new Slots(spis, sas, all.size());
    }

    /** SPIs may be sequential; spread them before masking. */
    private static int mix(int spi) {
        int h = spi * 0x9E3779B9;
        return h ^ (h >>> 16);
    }
}
