package dev.keel.ike.service;

import dev.keel.core.net.IpAddress;
import dev.keel.ike.config.IkeConnection;
import dev.keel.ike.session.ConnectionDirectory;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.ChildSaState;
import dev.keel.proto.CoreMapping;
import dev.keel.proto.v1.ClaimOwnershipRequest;
import dev.keel.proto.v1.Direction;
import dev.keel.proto.v1.Endpoint;
import dev.keel.proto.v1.GetChildSaRequest;
import dev.keel.proto.v1.IkeSaChild;
import dev.keel.proto.v1.IkeSaRecord;
import dev.keel.proto.v1.ListChildSasRequest;
import dev.keel.proto.v1.ListChildSasResponse;
import dev.keel.proto.v1.SaServiceGrpc;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ownership moves to where the peer's packets arrive (DESIGN §4; docs/ha.md, "Packets at the node
 * that does not own their SA"). Told of ESP whose SPI the data plane has no SA for, and of IKE
 * messages for an IKE SA the engine does not have, it looks the SA up in the SAD and, when
 * another node owns it, claims the peer's IKE SA record and every CHILD SA record it lists with
 * ClaimOwnership naming that owner: two nodes racing for it do not take it from each other, the
 * second claim is refused. The SAD then hands the CHILD SAs to this node's data plane (with the
 * replay floor and lease high-water mark of a planned move) and the IKE SA to its
 * {@link SadIkeSaAdopter}; the previous owner stops using both.
 *
 * <p>Only an SA this node can serve is claimed: of a connection configured here whose
 * {@code local_addrs} hold the SA's local address, and only from a packet whose source is the
 * SA's peer address. {@link ClaimGate} bounds the look-ups; the calls run on virtual threads.
 *
 * <p>In the split ({@link #onUnknownEspAt}), esp-workers report the ESP they have no SA for and
 * each CHILD SA pair is claimed for the reporting worker's node; the IKE SA record stays where it
 * is, because ike-service runs every IKE SA whichever worker carries its CHILD SAs.
 */
public final class SadSaClaimer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SadSaClaimer.class);
    private static final int LATENCIES_KEPT = 1_000;

    private final SaServiceGrpc.SaServiceBlockingStub sad;
    private final String node;
    private final ConnectionDirectory connections;
    private final ClaimGate gate;
    private final ExecutorService calls = Executors.newThreadPerTaskExecutor(
            Thread.ofVirtual().name("keel-claim-", 0).factory());
    /** IKE SA records being claimed here now: the ESP and the IKE of one peer do not claim twice. */
    private final Set<String> claiming = ConcurrentHashMap.newKeySet();
    private final LongAdder lookups = new LongAdder();
    private final LongAdder made = new LongAdder();
    private final LongAdder refused = new LongAdder();
    private final LongAdder notFound = new LongAdder();
    private final LongAdder limited = new LongAdder();
    /** Time from the packet to the claim made, summed over the claims made. */
    private final LongAdder claimNanos = new LongAdder();
    private final List<Long> latencyMicros = new ArrayList<>();
    private final AtomicLong lastRefusalLog = new AtomicLong(System.nanoTime() - 1_000_000_000L);

    /**
     * @param saService   a channel to sad-service
     * @param node        this node's id: the new owner of the claims {@link #onUnknownEsp} and
     *                    {@link #onUnknownIke} make
     * @param connections the connections this node serves
     */
    public SadSaClaimer(Channel saService, String node, ConnectionDirectory connections, ClaimGate gate) {
        this.sad = SaServiceGrpc.newBlockingStub(saService);
        this.node = node;
        this.connections = connections;
        this.gate = gate;
    }

    /** ESP with {@code spi} from {@code sender} found no SA here (the data plane's event loop). */
    public void onUnknownEsp(int spi, InetSocketAddress sender) {
        long t0 = System.nanoTime();
        if (admitted(spi & 0xffff_ffffL)) {
            run(() -> claimByEsp(spi, sender, node, true, t0));
        }
    }

    /**
     * ESP with {@code spi} from {@code sender} found no SA at the esp-worker of node {@code worker}
     * (a sad-service member's node id; the IKE relay's report): claims that CHILD SA's inbound and
     * outbound records for {@code worker}, and not the IKE SA record (ike-service keeps running the
     * IKE SA). The SAD hands the pair to that worker's feed as in a planned move: the inbound SA
     * with the replay floor, the outbound one leasing above the previous owner's high-water mark.
     */
    public void onUnknownEspAt(String worker, int spi, InetSocketAddress sender) {
        long t0 = System.nanoTime();
        if (admitted(spi & 0xffff_ffffL)) {
            run(() -> claimByEsp(spi, sender, worker, false, t0));
        }
    }

    /**
     * A packet to {@code destination} hit child {@code child} of {@code connection} at the
     * esp-worker of node {@code worker}, which has no outbound SA for it (the IKE relay's acquire).
     * When another node holds a live CHILD SA of that child whose remote selectors take the
     * packet, its pair is claimed for {@code worker} as {@link #onUnknownEspAt} does: after a worker
     * died, the LAN's packets reach a survivor before the peer's ESP does. Otherwise (none, or
     * one this worker holds already) runs {@code none}, where a {@code trap} child is initiated.
     */
    public void onAcquireAt(String worker, String connection, String child, IpAddress destination, Runnable none) {
        long t0 = System.nanoTime();
        if (admitted(ClaimGate.acquireKey(worker, connection, child))) {
            run(() -> {
                ChildSaRecord in = liveInbound(connection, child, destination);
                if (in == null) {
                    none.run();
                    return;
                }
                if (in.getOwnerNodeId().equals(worker)) {
                    return; // its feed has not installed it yet
                }
                String what = "a packet to " + destination + " for " + connection + "/" + child + " at node '" + worker
                        + "'";
                InetSocketAddress peer = CoreMapping.endpoint(in.getPeer(), "peer");
                if (claimable(what, worker, in.getOwnerNodeId(), in.getConnection(), in.getLocal(), in.getPeer(),
                        peer)) {
                    claimPair(what, in, worker, t0, "to the esp-worker of node '" + worker + "'");
                }
            });
        }
    }

    /**
     * The live inbound CHILD SA record of {@code child} in {@code connection} whose remote
     * selectors hold {@code destination}, the newest of several (a rekey's overlap); or null.
     */
    private ChildSaRecord liveInbound(String connection, String child, IpAddress destination) {
        ChildSaRecord best = null;
        String token = "";
        for (int page = 0; page < 100; page++) { // 100,000 records: bounded, never a loop on a bad token
            ListChildSasResponse r = sad.withDeadlineAfter(10, TimeUnit.SECONDS).listChildSas(
                    ListChildSasRequest.newBuilder().setConnection(connection).setPageSize(1_000).setPageToken(token)
                            .build());
            for (ChildSaRecord c : r.getChildSasList()) {
                if (c.getDirection() == Direction.DIRECTION_INBOUND && c.getChild().equals(child)
                        && (c.getState() == ChildSaState.CHILD_SA_STATE_ACTIVE
                                || c.getState() == ChildSaState.CHILD_SA_STATE_REKEYING)
                        && CoreMapping.selectors(c.getRemoteTsList(), "remote_ts").stream()
                                .anyMatch(ts -> ts.contains(destination))
                        && (best == null || c.getCreatedAtMs() > best.getCreatedAtMs())) {
                    best = c;
                }
            }
            token = r.getNextPageToken();
            if (token.isEmpty()) {
                break;
            }
        }
        return best;
    }

    /** An IKE message with SPIs {@code spiI} / {@code spiR} from {@code peer} found no IKE SA here (an event loop). */
    public void onUnknownIke(long spiI, long spiR, InetSocketAddress peer) {
        if (spiR == 0) {
            return; // no responder SPI: nothing any node can have established
        }
        long t0 = System.nanoTime();
        if (admitted(ClaimGate.ikeKey(spiI, spiR))) {
            run(() -> claimByIke(spiI, spiR, peer, t0));
        }
    }

    /**
     * A split-brain merge gave IKE SA record {@code r} to another node while this node ran it. The
     * merge decides each record apart and gives an inbound CHILD SA to the side whose owner recorded
     * the peer's packets furthest (docs/sad.md, "Split brain"); when that is this node, the peer's
     * packets still arrive here, so the IKE SA and the rest of its CHILD SAs are claimed back, as
     * the peer's next packet would have them claimed, but without waiting for it.
     */
    public void onMergedAway(IkeSaRecord r) {
        long t0 = System.nanoTime();
        if (admitted(ClaimGate.ikeKey(r.getInitiatorSpi(), r.getResponderSpi()))) {
            run(() -> {
                for (IkeSaChild c : r.getChildrenList()) {
                    ChildSaRecord in = IkeSaRecords.child(sad, c.getInboundSaId());
                    if (in != null && in.getOwnerNodeId().equals(node)) {
                        claimIkeSa("CHILD SA " + in.getId() + " stayed here at a merge", r.getId(),
                                r.getOwnerNodeId(), r.getOwnerNodeId(), t0);
                        return;
                    }
                }
            });
        }
    }

    private boolean admitted(long key) {
        if (gate.admit(key) == ClaimGate.Verdict.ADMITTED) {
            return true;
        }
        limited.increment();
        return false;
    }

    private void run(Runnable claim) {
        try {
            calls.execute(() -> {
                try {
                    lookups.increment();
                    claim.run();
                } catch (StatusRuntimeException e) {
                    refused.increment();
                    LOG.warn("claim not made: sad-service answered {}", e.getStatus());
                } finally {
                    gate.release();
                }
            });
        } catch (RejectedExecutionException closed) {
            gate.release();
        }
    }

    /**
     * Claims the CHILD SA with inbound {@code spi} for {@code newOwner}: with its IKE SA record
     * (and every CHILD SA that lists) when {@code withIkeSa} and the record lists it, else the pair.
     */
    private void claimByEsp(int spi, InetSocketAddress sender, String newOwner, boolean withIkeSa, long t0) {
        ChildSaRecord in;
        try {
            in = sad.withDeadlineAfter(10, TimeUnit.SECONDS)
                    .getChildSa(GetChildSaRequest.newBuilder().setInboundSpi(spi).build()).getChildSa();
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() == Status.Code.NOT_FOUND) {
                notFound.increment(); // a made-up or long-deleted SPI: stays a plain drop
                return;
            }
            throw e;
        }
        String what = String.format("ESP SPI 0x%08x from %s", spi, sender);
        if (in.getState() == ChildSaState.CHILD_SA_STATE_DELETED || in.getState() == ChildSaState.CHILD_SA_STATE_EXPIRED) {
            notFound.increment();
            return;
        }
        if (!claimable(what, newOwner, in.getOwnerNodeId(), in.getConnection(), in.getLocal(), in.getPeer(),
                sender)) {
            return;
        }
        if (!withIkeSa) {
            claimPair(what, in, newOwner, t0, "to the esp-worker of node '" + newOwner + "'");
            return;
        }
        IkeSaRecord ike = IkeSaRecords.find(sad, in.getIkeSaId());
        if (ike != null && ike.getChildrenList().stream().anyMatch(c -> c.getInboundSaId().equals(in.getId()))) {
            claimIkeSa(what, ike.getId(), ike.getOwnerNodeId(), in.getOwnerNodeId(), t0);
            return;
        }
        // The IKE SA that carries it now is not the one it was made under (an IKE SA rekey): only
        // the pair moves here; the IKE SA follows with the peer's next IKE message.
        claimPair(what, in, node, t0, "without its IKE SA (record " + in.getIkeSaId() + " "
                + (ike == null ? "gone" : "does not list it") + ")");
    }

    /**
     * Claims the inbound record {@code in}, then its outbound partner, for {@code newOwner}; the
     * outbound only after the inbound, so that two claimants racing never split a pair.
     */
    private void claimPair(String what, ChildSaRecord in, String newOwner, long t0, String how) {
        if (!claimChild(in.getId(), in.getOwnerNodeId(), newOwner)) {
            refused.increment();
            return;
        }
        int moved = 1;
        Optional<ChildSaRecords.Ids> pair = ChildSaRecords.Ids.ofInbound(in.getId());
        if (pair.isPresent()) {
            moved += claimChild(pair.get().outbound(), in.getOwnerNodeId(), newOwner) ? 1 : 0;
        }
        long micros = done(t0);
        LOG.info("{}: claimed CHILD SA {} ({} records) from node '{}' {} in {} ms", what, in.getId(), moved,
                in.getOwnerNodeId(), how, String.format("%.1f", micros / 1000.0));
    }

    private void claimByIke(long spiI, long spiR, InetSocketAddress peer, long t0) {
        String id = IkeSaRecords.id(spiI, spiR);
        IkeSaRecord r = IkeSaRecords.find(sad, id);
        if (r == null) {
            notFound.increment();
            return;
        }
        String what = "IKE message for " + id + " from " + peer;
        if (claimable(what, node, r.getOwnerNodeId(), r.getConnection(), r.getLocal(), r.getPeer(), peer)) {
            claimIkeSa(what, id, r.getOwnerNodeId(), r.getOwnerNodeId(), t0);
        }
    }

    /**
     * Whether {@code newOwner} may claim an SA owned by {@code owner}, of {@code connection}, with
     * our endpoint {@code local} and the peer's {@code peer}, for a packet from {@code from}; a
     * refusal is counted and logged.
     */
    private boolean claimable(String what, String newOwner, String owner, String connection, Endpoint local,
            Endpoint peer, InetSocketAddress from) {
        String why = null;
        if (owner.equals(newOwner)) {
            LOG.debug("{}: owned here already (not in use yet)", what);
            return false;
        }
        Optional<IkeConnection> c = connections.byName(connection);
        if (c.isEmpty()) {
            why = "no connection '" + connection + "' here";
        } else if (!c.get().acceptsLocal(IpAddress.fromBytes(local.getAddress().toByteArray()))) {
            why = "its local address " + IpAddress.fromBytes(local.getAddress().toByteArray())
                    + " is not in local_addrs of connection '" + connection + "'";
        } else if (!Arrays.equals(peer.getAddress().toByteArray(), from.getAddress().getAddress())) {
            why = "its peer is " + IpAddress.fromBytes(peer.getAddress().toByteArray());
        }
        if (why != null) {
            refused.increment();
            long now = System.nanoTime();
            long last = lastRefusalLog.get();
            if (now - last >= 1_000_000_000L && lastRefusalLog.compareAndSet(last, now)) { // at most one line a second
                LOG.info("{}: not claimed from node '{}': {} ({} refused so far)", what, owner, why, refused.sum());
            }
            return false;
        }
        return true;
    }

    /**
     * Claims IKE SA record {@code id} from {@code owner}, then each CHILD SA the claimed record lists
     * from {@code childOwner} (the same node, unless an earlier claim moved only some of them).
     */
    private void claimIkeSa(String what, String id, String owner, String childOwner, long t0) {
        if (!claiming.add(id)) {
            limited.increment(); // this peer's other packets got here first
            return;
        }
        try {
            IkeSaRecord claimed;
            try {
                claimed = sad.withDeadlineAfter(10, TimeUnit.SECONDS).claimOwnership(ClaimOwnershipRequest.newBuilder()
                        .setIkeSaId(id).setNodeId(node).setExpectedOwnerNodeId(owner).build()).getIkeSa();
            } catch (StatusRuntimeException e) {
                Status.Code code = e.getStatus().getCode();
                if (code == Status.Code.NOT_FOUND) {
                    notFound.increment();
                } else if (code == Status.Code.FAILED_PRECONDITION) { // another node claimed it first
                    refused.increment();
                    LOG.info("{}: IKE SA {} not claimed: {}", what, id, e.getStatus().getDescription());
                } else {
                    throw e;
                }
                return;
            }
            int children = 0;
            for (IkeSaChild c : claimed.getChildrenList()) {
                boolean in = claimChild(c.getInboundSaId(), childOwner, node);
                boolean out = claimChild(c.getOutboundSaId(), childOwner, node);
                children += in && out ? 1 : 0;
            }
            long micros = done(t0);
            LOG.info("{}: claimed IKE SA {} and {} of its {} CHILD SAs from node '{}' in {} ms", what, id, children,
                    claimed.getChildrenCount(), owner, String.format("%.1f", micros / 1000.0));
        } finally {
            claiming.remove(id);
        }
    }

    /** Claims CHILD SA {@code id} from {@code owner} for {@code newOwner}; false when it is gone or another node's. */
    private boolean claimChild(String id, String owner, String newOwner) {
        try {
            sad.withDeadlineAfter(10, TimeUnit.SECONDS).claimOwnership(ClaimOwnershipRequest.newBuilder().setSaId(id)
                    .setNodeId(newOwner).setExpectedOwnerNodeId(owner).build());
            return true;
        } catch (StatusRuntimeException e) {
            Status.Code code = e.getStatus().getCode();
            if (code != Status.Code.NOT_FOUND && code != Status.Code.FAILED_PRECONDITION) {
                throw e;
            }
            LOG.info("CHILD SA {} not claimed: {}", id, e.getStatus().getDescription());
            return false;
        }
    }

    private long done(long t0) {
        long nanos = System.nanoTime() - t0;
        claimNanos.add(nanos);
        made.increment();
        long micros = nanos / 1_000;
        synchronized (latencyMicros) {
            if (latencyMicros.size() < LATENCIES_KEPT) {
                latencyMicros.add(micros);
            }
        }
        return micros;
    }

    /** Look-ups started (each admitted by the gate). */
    public long lookups() {
        return lookups.sum();
    }

    /**
     * Claims made: the peer's IKE SA (or, without one, its CHILD SA) moved to this node, or a CHILD
     * SA to the esp-worker that reported it.
     */
    public long claimsMade() {
        return made.sum();
    }

    /** Nanoseconds from the packet to the claim made, summed over {@link #claimsMade}. */
    public long claimNanos() {
        return claimNanos.sum();
    }

    /** Claims not made: owned by another node than the one read (a race lost), not ours to serve, or failed. */
    public long claimsRefused() {
        return refused.sum();
    }

    /** Look-ups that found no live SA: the packet stays a plain drop. */
    public long claimsNotFound() {
        return notFound.sum();
    }

    /** Packets the gate kept from a look-up (the same SPI within a second, too many under way, the rate). */
    public long claimsLimited() {
        return limited.sum();
    }

    /** Microseconds from the packet to the claim made, per claim (the first thousand). */
    public List<Long> claimLatenciesMicros() {
        synchronized (latencyMicros) {
            return List.copyOf(latencyMicros);
        }
    }

    /** The gate. */
    public ClaimGate gate() {
        return gate;
    }

    @Override
    public void close() {
        calls.shutdownNow();
    }
}
