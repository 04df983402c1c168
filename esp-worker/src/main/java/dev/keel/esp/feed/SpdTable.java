package dev.keel.esp.feed;

import dev.keel.core.spd.Spd;
import dev.keel.core.spd.SpdEntry;
import java.util.ArrayList;
import java.util.List;

/**
 * The worker's SPD: an immutable core {@link Spd} behind one volatile reference, swapped whole
 * when a new one is compiled (copy-on-write), so event loops look up without locks. Until the
 * first snapshot arrives it is empty, and every packet is discarded (RFC 4301 §5.1: no match).
 *
 * <p>Split by outlet: outlet 0 is the shared plaintext side, whose SPD holds every entry of no
 * interface; outlet {@code i} (1..n) is the {@code i}-th interface of {@link #interfaces}, whose
 * SPD holds only the entries of that interface (route-based connections, {@link SpdEntry#iface}):
 * RFC 4301 §4.4.1 lets the interface a packet arrives on choose the SPD, so two route-based
 * connections with the same {@code 0.0.0.0/0} selectors are never confused, and the shared side
 * never sends a packet into a route-based connection. Entries of an interface this worker does
 * not have are in no outlet's SPD.
 */
public final class SpdTable {

    private volatile Spd spd = Spd.empty();
    private volatile Spd[] byOutlet = {Spd.empty()};
    private volatile List<String> interfaces = List.of();
    private volatile long revision;
    private volatile long epoch;

    /** The whole SPD, every outlet's entries in order (what operators list). */
    public Spd current() {
        return spd;
    }

    /** The SPD of packets read from {@code outlet} (0: the shared side); empty for an outlet it does not know. */
    public Spd forOutlet(int outlet) {
        Spd[] s = byOutlet;
        return outlet >= 0 && outlet < s.length ? s[outlet] : Spd.empty();
    }

    /** Names the route-based interfaces: outlet {@code i} is {@code names.get(i - 1)}. */
    public synchronized void interfaces(List<String> names) {
        this.interfaces = List.copyOf(names);
        byOutlet = split(spd, interfaces);
    }

    /** Publishes a new SPD compiled at {@code epoch}/{@code revision}. */
    public synchronized void publish(Spd next, long epoch, long revision) {
        this.byOutlet = split(next, interfaces);
        this.spd = next;
        this.epoch = epoch;
        this.revision = revision;
    }

    private static Spd[] split(Spd all, List<String> interfaces) {
        List<List<SpdEntry>> parts = new ArrayList<>();
        for (int i = 0; i <= interfaces.size(); i++) {
            parts.add(new ArrayList<>());
        }
        for (SpdEntry e : all.entries()) {
            int outlet = e.iface() == null ? 0 : interfaces.indexOf(e.iface()) + 1;
            if (e.iface() == null || outlet > 0) {
                parts.get(outlet).add(e);
            }
        }
        Spd[] out = new Spd[parts.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = i == 0 && parts.get(0).size() == all.size() ? all : Spd.of(parts.get(i));
        }
        return out;
    }

    /** The policy-service revision of the current SPD (0 before any). */
    public long revision() {
        return revision;
    }

    public long epoch() {
        return epoch;
    }
}
