package dev.keel.esp.sa;

import java.util.ArrayList;
import java.util.List;

/**
 * Inbound SAs by SPI, read lock-free and allocation-free on the packet path. Writers (SA
 * installs and deletes, rare) copy the open-addressing arrays and publish them through one
 * volatile field, so a reader always sees a consistent table.
 */
public final class InboundSaTable {

    private record Slots(int[] spis, InboundSa[] sas, int size) {
    }

    private volatile Slots slots = new Slots(new int[16], new InboundSa[16], 0);

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

    /** Adds or replaces the SA for its SPI; returns the one it replaced, or null. */
    public synchronized InboundSa put(InboundSa sa) {
        List<InboundSa> all = all();
        InboundSa replaced = null;
        for (int i = 0; i < all.size(); i++) {
            if (all.get(i).spi() == sa.spi()) {
                replaced = all.set(i, sa);
            }
        }
        if (replaced == null) {
            all.add(sa);
        }
        slots = build(all);
        return replaced;
    }

    /** Removes the SA with this SPI and returns it (not closed), or null. */
    public synchronized InboundSa remove(int spi) {
        List<InboundSa> all = all();
        InboundSa removed = null;
        for (int i = 0; i < all.size(); i++) {
            if (all.get(i).spi() == spi) {
                removed = all.remove(i);
                break;
            }
        }
        if (removed != null) {
            slots = build(all);
        }
        return removed;
    }

    public int size() {
        return slots.size;
    }

    /** A snapshot of every SA in the table. */
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

    private static Slots build(List<InboundSa> all) {
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
