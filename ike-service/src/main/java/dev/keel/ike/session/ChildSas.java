package dev.keel.ike.session;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CHILD SAs of one IKE SA by inbound SPI, in the order they were made, each with what the IKE
 * SA tracks for it ({@link ChildSaEntry}). Adding or removing one tells the node; runs on the IKE
 * SA's thread.
 */
public final class ChildSas {

    private static final Logger LOG = LoggerFactory.getLogger(ChildSas.class);

    private final IkeSa sa;
    private final Map<Integer, ChildSaEntry> entries = new LinkedHashMap<>();

    ChildSas(IkeSa sa) {
        this.sa = sa;
    }

    /**
     * What the IKE SA tracks for one CHILD SA, for an operator (keel.v1.IkeService).
     *
     * @param uniqueId        its unique id on this node
     * @param replaced        a rekey replaced it: it only waits for its delete
     * @param madeAtMillis    when it was negotiated (here or by the node it was taken over from), Unix epoch ms, 0: not known
     * @param rekeyAtMillis   when its rekey is due, Unix epoch ms (0: never)
     * @param expireAtMillis  when its hard lifetime ends, Unix epoch ms (0: never)
     */
    public record Status(ChildSa child, long uniqueId, boolean replaced, long madeAtMillis, long rekeyAtMillis,
            long expireAtMillis) {
    }

    /** Each CHILD SA with what the IKE SA tracks for it, in the order they were made. */
    public List<Status> statuses() {
        List<Status> out = new ArrayList<>(entries.size());
        for (ChildSaEntry e : entries.values()) {
            out.add(new Status(e.child, e.uniqueId, e.replaced(), e.madeAtMillis, e.rekeyAtMillis(),
                    e.expireAtMillis()));
        }
        return out;
    }

    /** The CHILD SAs now, in the order they were made. */
    public List<ChildSa> list() {
        List<ChildSa> out = new ArrayList<>(entries.size());
        for (ChildSaEntry e : entries.values()) {
            out.add(e.child);
        }
        return out;
    }

    /**
     * Adds a negotiated CHILD SA and tells the node to install it; the message under way waits
     * for that install ({@link ExchangeBarrier}) and {@code then} runs, on the IKE SA's thread
     * before that message leaves, with true when the node installed it and false when it could
     * not (the SAD refused it or was unreachable): the caller decides what a pair the node lacks
     * means to the peer.
     */
    public void add(ChildSa child, Consumer<Boolean> then) {
        entries.put(child.inboundSpi(), new ChildSaEntry(child, sa.env().uniqueIds().nextChildSa(),
                sa.timers().epochMillis()));
        sa.env().counters().childEstablished();
        LOG.info("{} CHILD_SA {} established", sa, child);
        sa.env().events().childEstablished(sa, child);
        sa.barrier().awaitInstall(sa.env().events().childInstalled(sa, child).toCompletableFuture(), then);
    }

    /** Removes a CHILD SA, tells the node, zeroizes its keys and frees its SPI. */
    public void remove(ChildSa child) {
        ChildSaEntry entry = entries.get(child.inboundSpi());
        if (entry != null && entry.child.equals(child)) {
            entries.remove(child.inboundSpi());
            entry.cancelTimers();
            for (ChildSaEntry other : entries.values()) {
                if (other.replacedBy(child.inboundSpi())) { // the replacement went first (deleted by the peer): in use again
                    other.unmarkReplaced();
                }
            }
            LOG.info("{} CHILD_SA {} deleted", sa, child);
            sa.env().events().childDeleted(sa, child);
            sa.env().spis().release(child.inboundSpi());
            child.keys().close();
        }
    }

    /**
     * Of {@code leaving}, those whose going loses their configuration: not replaced by a rekey and
     * no CHILD SA of the same name staying (a rekey or a collision's winner, RFC 7296 §2.8.1);
     * one per name.
     */
    public List<ChildSa> lost(List<ChildSa> leaving) {
        Set<String> staying = new HashSet<>();
        for (ChildSaEntry e : entries.values()) {
            if (!leaving.contains(e.child)) {
                staying.add(e.child.name());
            }
        }
        List<ChildSa> out = new ArrayList<>();
        for (ChildSa c : leaving) {
            ChildSaEntry e = entries.get(c.inboundSpi());
            boolean replaced = e != null && e.child.equals(c) && e.replaced();
            if (!replaced && staying.add(c.name())) {
                out.add(c);
            }
        }
        return out;
    }

    /** Removes every CHILD SA ({@link #remove}): the IKE SA is destroyed. */
    void removeAll() {
        for (ChildSa child : list()) {
            remove(child);
        }
    }

    /** Forgets every CHILD SA without a word to the node (their timers stop): another node owns them now. */
    void abandonAll() {
        for (ChildSaEntry e : entries.values()) {
            e.cancelTimers();
        }
        entries.clear();
    }

    /** Moves every CHILD SA, with its timers and replaced mark, to the IKE SA that replaced this one (RFC 7296 §2.18). */
    void moveTo(ChildSas successor) {
        successor.entries.putAll(entries);
        entries.clear();
    }

    /** The unique id of our CHILD SA with inbound SPI {@code spi}, or 0 when there is none. */
    public long uniqueId(int spi) {
        ChildSaEntry e = entries.get(spi);
        return e == null ? 0 : e.uniqueId;
    }

    /** Our CHILD SA whose inbound SPI is {@code spi}, if any. */
    public Optional<ChildSa> byInboundSpi(int spi) {
        ChildSaEntry e = entries.get(spi);
        return e == null ? Optional.empty() : Optional.of(e.child);
    }

    /** Our CHILD SA that sends to the peer's inbound SPI {@code spi} (the SPI a REKEY_SA or Delete names). */
    public Optional<ChildSa> byOutboundSpi(int spi) {
        for (ChildSaEntry e : entries.values()) {
            if (e.child.outboundSpi() == spi) {
                return Optional.of(e.child);
            }
        }
        return Optional.empty();
    }

    /**
     * Marks the CHILD SA with inbound SPI {@code spi} as replaced by the one with inbound SPI
     * {@code bySpi}: it only waits for its delete now, unless its replacement goes first.
     */
    public void markReplaced(int spi, int bySpi) {
        ChildSaEntry e = entries.get(spi);
        if (e != null) {
            e.markReplaced(bySpi);
        }
    }

    /** Takes the mark back: the replacement of the CHILD SA with inbound SPI {@code spi} could not be installed. */
    public void unmarkReplaced(int spi) {
        ChildSaEntry e = entries.get(spi);
        if (e != null) {
            e.unmarkReplaced();
        }
    }

    /** True when the CHILD SA with inbound SPI {@code spi} was already replaced by a rekey. */
    public boolean isReplaced(int spi) {
        ChildSaEntry e = entries.get(spi);
        return e != null && e.replaced();
    }

    /** Records when the CHILD SA with inbound SPI {@code spi} is rekeyed and ends (Unix epoch ms, 0: never). */
    public void deadlines(int spi, long rekeyAtMillis, long expireAtMillis) {
        ChildSaEntry e = entries.get(spi);
        if (e != null) {
            e.deadlines(rekeyAtMillis, expireAtMillis);
        }
    }

    /** Keeps a lifetime timer of a CHILD SA, cancelled when the CHILD SA goes. */
    public void addTimer(int spi, IkeTimers.Cancellable timer) {
        ChildSaEntry e = entries.get(spi);
        if (e != null) {
            e.addTimer(timer);
        } else {
            timer.cancel();
        }
    }

    /** The CHILD SAs as the IKE SA's snapshot keeps them. */
    List<IkeSaSnapshot.Child> snapshot() {
        List<IkeSaSnapshot.Child> out = new ArrayList<>(entries.size());
        for (ChildSaEntry e : entries.values()) {
            out.add(new IkeSaSnapshot.Child(e.child, e.replaced(), e.rekeyAtMillis(), e.expireAtMillis(),
                    e.madeAtMillis));
        }
        return out;
    }

    /** Takes the CHILD SAs of an IKE SA taken over, with their deadlines and marks, and reserves their SPIs here. */
    void restore(List<IkeSaSnapshot.Child> children) {
        for (IkeSaSnapshot.Child child : children) {
            ChildSaEntry e = new ChildSaEntry(child.child(), sa.env().uniqueIds().nextChildSa(),
                    child.madeAtMillis());
            e.deadlines(child.rekeyAtMillis(), child.expireAtMillis());
            if (child.replaced()) {
                e.markReplaced(0);
            }
            entries.put(child.child().inboundSpi(), e);
            sa.env().spis().reserve(child.child().inboundSpi());
        }
    }
}
