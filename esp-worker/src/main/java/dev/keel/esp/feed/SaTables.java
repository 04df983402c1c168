package dev.keel.esp.feed;

import dev.keel.proto.ChildKeyUnwrapper;
import dev.keel.esp.acquire.AcquireLimiter;
import dev.keel.esp.acquire.ExpiryListener;
import dev.keel.esp.sa.EspSa;
import dev.keel.esp.sa.InboundSa;
import dev.keel.esp.sa.InboundSaTable;
import dev.keel.esp.sa.OutboundSa;
import dev.keel.esp.sa.OutboundSaTable;
import dev.keel.esp.sa.SelectorPolicy;
import dev.keel.proto.CoreMapping;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.ChildSaState;
import dev.keel.proto.v1.Direction;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The worker's SAs as sad-service describes them: inbound SAs by SPI ({@link InboundSaTable}),
 * outbound SAs by child ({@link OutboundSaTable}), both read lock-free by the event loops. Only
 * SAs this node owns are installed (only the owner unwraps keys and leases sequence numbers);
 * an SA whose ownership moves away, or that is deleted, is removed and its keys zeroized.
 *
 * <p>Writers (the watch feed, the usage reporter) are serialized on this object; each change
 * publishes new immutable tables, or, in a {@link #batch} (a burst of the feed's events), the
 * batch publishes each table once. An SA's packet state (replay window, sequence blocks,
 * counters) lives in its {@link EspSa} object, which an update of the record keeps.
 */
public final class SaTables {

    private static final Logger log = LoggerFactory.getLogger(SaTables.class);
    /** A batch changing more SAs than this logs them in one line (a takeover's burst). */
    private static final int LOG_LINES_PER_BATCH = 8;

    /** One installed SA: the last record seen and the data-plane object. */
    public static final class Installed {
        private volatile ChildSaRecord record;
        private final EspSa sa;
        /** Its child's key ({@link OutboundSaTable#key}), from the record it was installed from. */
        private final String child;
        /** An inbound SA's replay checkpoints (null: outbound, or anti-replay off). */
        private ReplayCheckpoints.Tracker replay;
        private boolean softNotified;
        private boolean hardNotified;
        volatile long reportedPackets;
        volatile long reportedBytes;

        Installed(ChildSaRecord record, EspSa sa) {
            this.record = record;
            this.sa = sa;
            this.child = OutboundSaTable.key(record.getConnection(), record.getChild());
        }

        public ChildSaRecord record() {
            return record;
        }

        public EspSa sa() {
            return sa;
        }

        public boolean outbound() {
            return sa instanceof OutboundSa;
        }

        /** An inbound SA's replay checkpoints, or null. */
        ReplayCheckpoints.Tracker replay() {
            return replay;
        }

        /** Its child's connection name (of the record it was installed from). */
        public String connection() {
            return record.getConnection();
        }

        /** Its child's name within the connection. */
        public String childName() {
            return record.getChild();
        }
    }

    /**
     * Told when any SA enters the tables and when it leaves them (removed, replaced, cleared), both
     * directions: the metrics' per-SA series come and go with it. Called in order on the writer's
     * thread, under the tables' lock: it must return at once.
     */
    public interface SaListener {
        /** {@code sa} is in the tables now. */
        void installed(Installed sa);

        /** {@code sa} is no longer in the tables (its counters count no more). */
        void removed(Installed sa);
    }

    /** A snapshot of one SA's counters (the in-process registry tests and the admin API read). */
    public record SaCounters(String id, int spi, boolean outbound, long packets, long bytes, long drops,
            boolean hardExpired) {
    }

    /**
     * Told when an outbound SA enters the tables (this node owns it and unwrapped its keys) and
     * when it leaves them (deleted, moved to another node, cleared). Called in order on the
     * writer's thread, under the tables' lock: it must return at once.
     */
    public interface OutboundListener {
        /** {@code record}'s SA is installed. */
        void outboundInstalled(ChildSaRecord record);

        /** The SA installed from {@code record} (the last record seen) is removed. */
        void outboundRemoved(ChildSaRecord record);
    }

    private final String nodeId;
    private final ChildKeyUnwrapper keys;
    private final OutboundSa.LeaseRequester leases;
    private final ReplayCheckpoints checkpoints;
    private final ExpiryListener expiries;
    private final Executor events;
    private final InboundSaTable inbound = new InboundSaTable();
    /** The outlet of each connection's inbound SAs (0: the shared plaintext side; route-based: its interface's). */
    private volatile java.util.function.ToIntFunction<String> outlets = connection -> 0;
    private final OutboundSaTable outbound = new OutboundSaTable();
    private final Map<String, Installed> byId = new LinkedHashMap<>();
    /** The installed SAs of each child, both directions, by child key: what a rekey or a re-pick looks at. */
    private final Map<String, List<Installed>> byChild = new HashMap<>();
    /** What {@link #outbound} holds now, by child key (changed under this object's lock, published as a copy). */
    private final Map<String, OutboundSa> published = new HashMap<>();
    /** Nesting depth of {@link #batch}: 0 = each change publishes at once. */
    private int batching;
    /** In a batch: children whose outbound SA is to be picked again when it ends. */
    private final Set<String> outboundToPick = new HashSet<>();
    /** In a batch: removed SAs, closed once the tables no longer hold them. */
    private final List<EspSa> toClose = new ArrayList<>();
    /** In a batch: the SAs it installed and removed, logged when it ends. */
    private final List<Installed> installedInBatch = new ArrayList<>();
    private final List<Installed> removedInBatch = new ArrayList<>();
    private final LongAdder refused = new LongAdder();
    private final List<OutboundListener> outboundListeners = new ArrayList<>();
    private final List<SaListener> saListeners = new ArrayList<>();
    private volatile AcquireLimiter acquires;

    /**
     * @param nodeId  this worker's node id: SAs other nodes own are not installed
     * @param keys    unwraps the SAs' keys
     * @param leases  asks sad-service for sequence blocks of outbound SAs
     * @param checkpoints records inbound SAs' replay checkpoints and bounds their windows by them
     * @param expiries told of soft and hard expiries, on {@code events}
     */
    public SaTables(String nodeId, ChildKeyUnwrapper keys, OutboundSa.LeaseRequester leases,
            ReplayCheckpoints checkpoints, ExpiryListener expiries, Executor events) {
        this.nodeId = nodeId;
        this.keys = keys;
        this.leases = leases;
        this.checkpoints = checkpoints;
        this.expiries = expiries;
        this.events = events;
    }

    /** The inbound SAs' replay checkpoints. */
    public ReplayCheckpoints checkpoints() {
        return checkpoints;
    }

    /**
     * Where the inbound SAs of each connection deliver: a route-based connection's number among the
     * interfaces ({@link SpdTable#interfaces}), 0 for the rest. Set before the first SA arrives.
     */
    public void outlets(java.util.function.ToIntFunction<String> byConnection) {
        this.outlets = java.util.Objects.requireNonNull(byConnection, "byConnection");
    }

    /** Clears a policy's acquire slot when its child's SA arrives. */
    public void acquireLimiter(AcquireLimiter limiter) {
        this.acquires = limiter;
    }

    /** Adds {@code listener} and tells it at once of every outbound SA installed now. */
    public synchronized void addOutboundListener(OutboundListener listener) {
        outboundListeners.add(listener);
        for (Installed in : byId.values()) {
            if (in.outbound()) {
                listener.outboundInstalled(in.record);
            }
        }
    }

    /** Adds {@code listener} and tells it at once of every SA installed now. */
    public synchronized void addSaListener(SaListener listener) {
        saListeners.add(listener);
        byId.values().forEach(listener::installed);
    }

    /** Removes {@code listener}; it hears nothing more. */
    public synchronized void removeSaListener(SaListener listener) {
        saListeners.remove(listener);
    }

    public String nodeId() {
        return nodeId;
    }

    public InboundSaTable inbound() {
        return inbound;
    }

    public OutboundSaTable outbound() {
        return outbound;
    }

    /**
     * Runs {@code changes} ({@link #upsert}s and {@link #remove}s, e.g. one Watch response) under
     * this object's lock and publishes each table once when they are done, instead of once per
     * change: installing n SAs costs one copy of each table, not n. The data plane sees none of the
     * batch's changes, then all of them (each SA complete, its window bounded, before it is
     * visible); SAs a batch removes are closed after the tables no longer hold them.
     */
    public synchronized void batch(Runnable changes) {
        batching++;
        try {
            inbound.batch(changes);
        } finally {
            if (--batching == 0) {
                for (String child : outboundToPick) {
                    pickOutbound(child);
                }
                if (!outboundToPick.isEmpty()) {
                    outbound.publish(published);
                    outboundToPick.clear();
                }
                for (EspSa sa : toClose) {
                    sa.close();
                }
                toClose.clear();
                logBatch();
            }
        }
    }

    /** Installs, updates or removes the SA a record describes. */
    public synchronized void upsert(ChildSaRecord r) {
        Installed have = byId.get(r.getId());
        boolean live = r.getState() != ChildSaState.CHILD_SA_STATE_DELETED;
        if (!live || !nodeId.equals(r.getOwnerNodeId())) {
            if (have != null) {
                remove(r.getId());
            }
            return;
        }
        if (have == null) {
            have = install(r);
            if (have == null) {
                return;
            }
        } else {
            if (have.replay != null && r.getOwnerEpoch() > have.record.getOwnerEpoch()) {
                have.replay.reowned(r); // it was another node's meanwhile: restart above its floor
            }
            have.record = r;
            if (have.sa instanceof OutboundSa o && r.hasPeer()) {
                try {
                    o.peer(CoreMapping.endpoint(r.getPeer(), "peer"));
                } catch (IllegalArgumentException e) {
                    log.warn("SA {}: {}", r.getId(), e.getMessage());
                }
            }
        }
        applyExpiry(have);
        if (have.sa instanceof OutboundSa) {
            outboundChanged(have); // an inbound record (a checkpoint) changes no choice
        }
    }

    /** Applies the expiry fields of a record (e.g. from a usage report) to an installed SA. */
    public void updateCounters(ChildSaRecord r) {
        if (!r.hasSoftExpiry() && !r.hasHardExpiry() && r.getState() != ChildSaState.CHILD_SA_STATE_EXPIRED) {
            return; // nothing to apply (most answers): no lock, so answers do not queue behind the feed
        }
        applyExpiries(r);
    }

    private synchronized void applyExpiries(ChildSaRecord r) {
        Installed have = byId.get(r.getId());
        if (have != null && r.getOwnerNodeId().equals(nodeId)) {
            ChildSaRecord.Builder b = have.record.toBuilder();
            if (r.hasSoftExpiry()) {
                b.setSoftExpiry(r.getSoftExpiry());
            }
            if (r.hasHardExpiry()) {
                b.setHardExpiry(r.getHardExpiry());
            }
            if (r.getState() == ChildSaState.CHILD_SA_STATE_EXPIRED) {
                b.setState(r.getState());
            }
            have.record = b.build();
            if (applyExpiry(have) && have.sa instanceof OutboundSa) {
                outboundChanged(have);
            }
        }
    }

    /** Marks an SA hard-expired because the data plane itself saw a hard packet/byte limit pass. */
    synchronized void expireLocally(String id) {
        Installed have = byId.get(id);
        if (have != null && !have.sa.isHardExpired()) {
            have.sa.markHardExpired();
            notifyHard(have);
            if (have.sa instanceof OutboundSa) {
                outboundChanged(have);
            }
        }
    }

    private boolean applyExpiry(Installed in) {
        ChildSaRecord r = in.record;
        boolean changed = false;
        if ((r.hasSoftExpiry() || r.hasHardExpiry()) && !in.softNotified) {
            in.softNotified = true;
            events.execute(() -> expiries.onSoftExpiry(r.getId(), r.getConnection(), r.getChild(), in.outbound()));
        }
        if ((r.hasHardExpiry() || r.getState() == ChildSaState.CHILD_SA_STATE_EXPIRED) && !in.sa.isHardExpired()) {
            in.sa.markHardExpired();
            changed = true;
            notifyHard(in);
        }
        return changed;
    }

    private void notifyHard(Installed in) {
        if (!in.hardNotified) {
            in.hardNotified = true;
            ChildSaRecord r = in.record;
            events.execute(() -> expiries.onHardExpiry(r.getId(), r.getConnection(), r.getChild(), in.outbound()));
        }
    }

    private Installed install(ChildSaRecord r) {
        if (!r.hasKeys()) {
            refuse(r, "the record carries no keys (watch without include_wrapped_keys?)");
            return null;
        }
        byte[] enc = null;
        byte[] integ = null;
        EspSa sa;
        try {
            enc = keys.unwrap(r.getKeys().getEncryption().toByteArray(), r.getKeys().getKekId());
            integ = keys.unwrap(r.getKeys().getIntegrity().toByteArray(), r.getKeys().getKekId());
            var spec = ProtoConversions.spec(r, enc, integ);
            if (r.getDirection() == Direction.DIRECTION_INBOUND) {
                var policy = new SelectorPolicy(CoreMapping.selectors(r.getLocalTsList(), "local_ts"),
                        CoreMapping.selectors(r.getRemoteTsList(), "remote_ts"));
                // After a takeover the window restarts above the floor (sa.proto replay_floor).
                sa = new InboundSa(spec, policy, r.getReplayFloor(), outlets.applyAsInt(r.getConnection()));
            } else if (r.getDirection() == Direction.DIRECTION_OUTBOUND) {
                sa = OutboundSa.leased(r.getId(), spec, CoreMapping.endpoint(r.getPeer(), "peer"), leases, null);
            } else {
                throw new IllegalArgumentException("direction " + r.getDirection());
            }
        } catch (RuntimeException e) {
            refuse(r, e.getMessage());
            return null;
        } finally {
            if (enc != null) {
                Arrays.fill(enc, (byte) 0);
            }
            if (integ != null) {
                Arrays.fill(integ, (byte) 0);
            }
        }
        Installed in = new Installed(r, sa);
        if (sa instanceof InboundSa i && i.replayWindow() != null) {
            // Before the SA is in the table: its window is bounded by the recorded checkpoint + margin.
            in.replay = checkpoints.attach(r.getId(), i.replayWindow(), r, predecessorMargin(r));
        }
        byId.put(r.getId(), in);
        byChild.computeIfAbsent(in.child, k -> new ArrayList<>(2)).add(in);
        if (sa instanceof InboundSa i) {
            InboundSa replaced = inbound.put(i);
            if (replaced != null) {
                log.warn("SA {}: SPI {} replaced another inbound SA", r.getId(), i.spec().spiHex());
                byId.values().removeIf(x -> {
                    if (x.sa != replaced) {
                        return false;
                    }
                    if (x.replay != null) {
                        x.replay.detach();
                    }
                    unindex(x);
                    saListeners.forEach(l -> l.removed(x));
                    return true;
                });
                closeUnpublished(replaced);
            }
        }
        if (batching == 0) {
            logInstalled(in);
        } else {
            installedInBatch.add(in);
        }
        saListeners.forEach(l -> l.installed(in));
        if (in.outbound()) {
            outboundListeners.forEach(l -> l.outboundInstalled(r));
        }
        return in;
    }

    /**
     * The largest replay margin of the other inbound SAs of the same child here (the SA a rekey
     * replaces, which carries the same flow until the peer switches), or 0.
     */
    private long predecessorMargin(ChildSaRecord r) {
        long m = 0;
        for (Installed x : byChild.getOrDefault(OutboundSaTable.key(r.getConnection(), r.getChild()), List.of())) {
            if (x.replay != null) {
                m = Math.max(m, x.replay.margin());
            }
        }
        return m;
    }

    private void unindex(Installed in) {
        List<Installed> same = byChild.get(in.child);
        if (same != null) {
            same.remove(in);
            if (same.isEmpty()) {
                byChild.remove(in.child);
            }
        }
    }

    private void refuse(ChildSaRecord r, String why) {
        refused.increment();
        log.warn("SA {}: not installed: {}", r.getId(), why);
    }

    /** Removes (and zeroizes) an SA; false if it was not installed. */
    public synchronized boolean remove(String id) {
        Installed in = byId.remove(id);
        if (in == null) {
            return false;
        }
        unindex(in);
        if (in.sa instanceof InboundSa i && inbound.current(i.spi()) == i) {
            inbound.remove(i.spi());
        }
        if (in.replay != null) {
            in.replay.detach();
        }
        if (in.sa instanceof OutboundSa) {
            outboundChanged(in);
        }
        closeUnpublished(in.sa);
        saListeners.forEach(l -> l.removed(in));
        if (batching == 0) {
            log.info("SA {} removed", id);
        } else {
            removedInBatch.add(in);
        }
        if (in.outbound()) {
            ChildSaRecord last = in.record;
            outboundListeners.forEach(l -> l.outboundRemoved(last));
        }
        return true;
    }

    /** After a snapshot: removes every SA the snapshot did not contain. */
    public synchronized void retainOnly(Set<String> ids) {
        batch(() -> {
            for (String id : List.copyOf(byId.keySet())) {
                if (!ids.contains(id)) {
                    remove(id);
                }
            }
        });
    }

    /**
     * Logs a batch's installs and removals: a line each, as outside a batch, or for a burst (a
     * takeover's) one line of ids: a line per SA was 40 % of the feed's time in a 2,000-SA
     * takeover (docs/ha.md, "Measured: 1,000 tunnels").
     */
    private void logBatch() {
        if (installedInBatch.size() + removedInBatch.size() <= LOG_LINES_PER_BATCH) {
            installedInBatch.forEach(SaTables::logInstalled);
            removedInBatch.forEach(in -> log.info("SA {} removed", in.record.getId()));
        } else {
            if (!installedInBatch.isEmpty()) {
                log.info("{} SAs installed: {}", installedInBatch.size(), ids(installedInBatch));
            }
            if (!removedInBatch.isEmpty()) {
                log.info("{} SAs removed: {}", removedInBatch.size(), ids(removedInBatch));
            }
        }
        installedInBatch.clear();
        removedInBatch.clear();
    }

    private static String ids(List<Installed> sas) {
        StringBuilder b = new StringBuilder();
        for (Installed in : sas) {
            b.append(b.isEmpty() ? "" : " ").append(in.record.getId());
        }
        return b.toString();
    }

    private static void logInstalled(Installed in) {
        ChildSaRecord r = in.record;
        log.info("SA {} ({} {}/{}, SPI {}) installed", r.getId(), in.outbound() ? "out" : "in", r.getConnection(),
                r.getChild(), in.sa.spec().spiHex());
    }

    /** Closes a removed SA now, or, in a batch, once the batch has published tables without it. */
    private void closeUnpublished(EspSa sa) {
        if (batching == 0) {
            sa.close();
        } else {
            toClose.add(sa);
        }
    }

    /**
     * The choice of {@code in}'s child's outbound SA may have changed: picks it again and publishes
     * the table with only that entry changed (an install or removal costs a look at the child's
     * SAs and one copy of the table), or, in a batch, when the batch ends.
     */
    private void outboundChanged(Installed in) {
        if (batching > 0) {
            outboundToPick.add(in.child);
        } else {
            pickOutbound(in.child);
            outbound.publish(published);
        }
    }

    /**
     * Picks one child's outbound SA into {@link #published}: usable ones (not hard-expired, not
     * exhausted, with sequence numbers in hand) first, then not on standby, then ACTIVE over
     * REKEYING over REKEYED, then the newest (a rekey's new SA takes over) or, on standby, the oldest.
     */
    private void pickOutbound(String child) {
        Installed best = null;
        for (Installed in : byChild.getOrDefault(child, List.of())) {
            if (in.sa instanceof OutboundSa && (best == null || better(in, best))) {
                best = in;
            }
        }
        if (best == null) {
            published.remove(child);
        } else {
            OutboundSa o = (OutboundSa) best.sa;
            published.put(child, o);
            AcquireLimiter limiter = acquires;
            if (limiter != null && !o.isHardExpired()) {
                limiter.clear(child);
            }
        }
    }

    private static boolean better(Installed a, Installed b) {
        boolean ua = usable(a);
        boolean ub = usable(b);
        if (ua != ub) {
            return ua;
        }
        boolean sa = a.record.getOutboundStandby();
        if (sa != b.record.getOutboundStandby()) {
            return !sa; // a rekey responder's new SA waits for the peer's Delete of the old one
        }
        int ra = rank(a.record.getState());
        int rb = rank(b.record.getState());
        if (ra != rb) {
            return ra < rb;
        }
        // the newest takes over, but of standby SAs the oldest: the next waits for its Delete
        return sa ? a.record.getCreatedAtMs() < b.record.getCreatedAtMs()
                : a.record.getCreatedAtMs() > b.record.getCreatedAtMs();
    }

    /**
     * Not hard-expired, not exhausted, and holding sequence numbers: a rekey's new SA takes over
     * only once its first lease is in hand ({@link #leaseArrived}), so no packet waits for it.
     */
    private static boolean usable(Installed in) {
        OutboundSa o = (OutboundSa) in.sa;
        return !o.isHardExpired() && !o.isExhausted() && o.peekNextSequence() != 0;
    }

    /**
     * The outbound SA {@code id} got sequence numbers after having none: it may be the child's
     * choice now (a rekey's new SA, until then passed over for the old one).
     */
    public synchronized void leaseArrived(String id) {
        Installed in = byId.get(id);
        if (in == null || !in.outbound()) {
            return;
        }
        if (batching > 0) {
            outboundToPick.add(in.child);
            return;
        }
        OutboundSa before = published.get(in.child);
        pickOutbound(in.child);
        if (published.get(in.child) != before) {
            outbound.publish(published);
        }
    }

    private static int rank(ChildSaState s) {
        return switch (s) {
            case CHILD_SA_STATE_ACTIVE -> 0;
            case CHILD_SA_STATE_REKEYING -> 1;
            case CHILD_SA_STATE_REKEYED -> 2;
            default -> 3;
        };
    }

    /** The installed SAs (a copy). */
    public synchronized List<Installed> installed() {
        return new ArrayList<>(byId.values());
    }

    /** The installed SA with this id, or null. */
    public synchronized Installed get(String id) {
        return byId.get(id);
    }

    /**
     * Whether the CHILD SA pair is usable here: the inbound SA installed, and the outbound one with
     * a sequence-number lease in hand (none asked for and unanswered), so the first packet either
     * way finds its SA (install before use, docs/ha.md).
     */
    public synchronized boolean pairUsable(String inboundId, String outboundId) {
        Installed out = byId.get(outboundId);
        return byId.get(inboundId) != null && out != null && out.sa() instanceof OutboundSa o && !o.leaseInFlight()
                && o.peekNextSequence() != 0;
    }

    /** Per-SA counters, for tests and the admin API. */
    public List<SaCounters> counters() {
        Collection<Installed> all = installed();
        List<SaCounters> out = new ArrayList<>(all.size());
        for (Installed in : all) {
            EspSa sa = in.sa;
            out.add(new SaCounters(in.record.getId(), sa.spi(), in.outbound(), sa.packets(), sa.bytes(), sa.drops(),
                    sa.isHardExpired()));
        }
        return out;
    }

    /** Records refused (no keys, wrong KEK, unknown transform, bad field). */
    public long refused() {
        return refused.sum();
    }

    /** Removes and zeroizes everything. */
    public synchronized void clear() {
        batch(() -> {
            for (String id : List.copyOf(byId.keySet())) {
                remove(id);
            }
        });
    }
}
