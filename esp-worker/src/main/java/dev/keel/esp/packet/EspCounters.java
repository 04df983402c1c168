package dev.keel.esp.packet;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/** Packet counts by outcome for one data plane; safe to bump from any thread without allocating. */
public final class EspCounters {

    private final LongAdder[] inbound = adders(DecapOutcome.values().length);
    private final LongAdder[] outbound = adders(EncapOutcome.values().length);

    private static LongAdder[] adders(int n) {
        LongAdder[] a = new LongAdder[n];
        for (int i = 0; i < n; i++) {
            a[i] = new LongAdder();
        }
        return a;
    }

    public void count(DecapOutcome outcome) {
        inbound[outcome.ordinal()].increment();
    }

    public void count(EncapOutcome outcome) {
        outbound[outcome.ordinal()].increment();
    }

    public long get(DecapOutcome outcome) {
        return inbound[outcome.ordinal()].sum();
    }

    public long get(EncapOutcome outcome) {
        return outbound[outcome.ordinal()].sum();
    }

    /** A snapshot of the inbound counts, for reports and the admin API. */
    public Map<DecapOutcome, Long> inboundSnapshot() {
        Map<DecapOutcome, Long> m = new EnumMap<>(DecapOutcome.class);
        for (DecapOutcome o : DecapOutcome.values()) {
            m.put(o, get(o));
        }
        return m;
    }

    /** A snapshot of the outbound counts. */
    public Map<EncapOutcome, Long> outboundSnapshot() {
        Map<EncapOutcome, Long> m = new EnumMap<>(EncapOutcome.class);
        for (EncapOutcome o : EncapOutcome.values()) {
            m.put(o, get(o));
        }
        return m;
    }
}
