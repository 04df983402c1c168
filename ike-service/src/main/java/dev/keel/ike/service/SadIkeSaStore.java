package dev.keel.ike.service;

import dev.keel.core.net.IpAddress;
import dev.keel.ike.engine.IkeEngine;
import dev.keel.ike.session.IkeEvents;
import dev.keel.ike.session.IkeSa;
import dev.keel.ike.session.IkeSaSnapshot;
import dev.keel.proto.v1.DeleteIkeSaRequest;
import dev.keel.proto.v1.DeleteIkeSaResponse;
import dev.keel.proto.v1.GetIkeSaRequest;
import dev.keel.proto.v1.GetIkeSaResponse;
import dev.keel.proto.v1.IkeSaRecord;
import dev.keel.proto.v1.InstallIkeSaRequest;
import dev.keel.proto.v1.InstallIkeSaResponse;
import dev.keel.proto.v1.SaServiceGrpc;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stores the engine's IKE SAs in sad-service (DESIGN §4; docs/ha.md, "IKE SA failover"): after
 * every exchange, before its response leaves, and before each request of ours leaves, one
 * InstallIkeSa (an upsert) with the IKE SA's snapshot; its plaintext keys only in the first,
 * which sad-service wraps under the cluster KEK. A destroyed IKE SA's record is deleted. The
 * stage the engine waits for completes when sad-service answered, failed or not: a failed write
 * costs the IKE SA's failover, never its exchange. A write refused because another node owns the
 * record now (a takeover or a merge) makes the engine drop the IKE SA here without a word.
 *
 * <p>ike-service apart from the data plane ({@code ikeService} set, docs/gateway.md) names itself
 * in every record ({@code ike_service}) and writes each record as owned by the data-plane node
 * that owns it now: the configured owner at first, then whichever node the record moved to (a
 * worker's claim, sad-service's takeover), as the write's answer, the adopter's events or a
 * refused write show. A record that names this ike-service stays its own whoever owns it: a
 * write refused because the owner moved is written again for the new owner, not a reason to
 * drop the IKE SA.
 *
 * <p>Engine callbacks run on an IKE SA's event loop: every call here is asynchronous.
 */
public final class SadIkeSaStore implements IkeEvents {

    private static final Logger LOG = LoggerFactory.getLogger(SadIkeSaStore.class);
    /** How long an IKE SA that ended here is not taken over from a late event of its own record. */
    private static final long ENDED_MEMORY_MILLIS = TimeUnit.MINUTES.toMillis(10);

    private final SaServiceGrpc.SaServiceStub stub;
    private final IpAddress local;
    private final String owner;
    private final String ikeService;
    private final IntFunction<ChildSaRecords.Ids> childIds;
    /** Apart: the owner node each record has now, when it is not {@link #owner}. */
    private final Map<String, String> owners = new ConcurrentHashMap<>();
    /** Ids of the IKE SAs whose record holds keys: later writes leave them out. */
    private final Set<String> stored = ConcurrentHashMap.newKeySet();
    /** Ids of IKE SAs that ended here, with when. */
    private final Map<String, Long> ended = new ConcurrentHashMap<>();
    /** The owner epoch of each IKE SA's record as this node last stored or adopted it. */
    private final Map<String, Long> epochs = new ConcurrentHashMap<>();
    /** IKE SAs another node took from this one: the highest owner epoch at which the record was not ours. */
    private final Map<String, Lost> lost = new ConcurrentHashMap<>();
    private final LongAdder writes = new LongAdder();
    private final LongAdder writeFailures = new LongAdder();
    private final LongAdder writeNanos = new LongAdder();
    private final LongAdder deletes = new LongAdder();
    private volatile IkeEngine engine;

    /**
     * @param saService a channel to sad-service
     * @param local     our IKE address (the anycast address in an HA pair)
     * @param owner     owner node id of the records; empty for the sad-service node serving the call
     * @param childIds  the record ids of our CHILD SA with this inbound SPI ({@link SadChildInstaller#ids})
     */
    public SadIkeSaStore(Channel saService, IpAddress local, String owner, IntFunction<ChildSaRecords.Ids> childIds) {
        this(saService, local, owner, "", childIds);
    }

    /**
     * @param ikeService this ike-service's node id when it runs apart from the data plane, named in
     *                   every record; empty in the gateway
     */
    public SadIkeSaStore(Channel saService, IpAddress local, String owner, String ikeService,
            IntFunction<ChildSaRecords.Ids> childIds) {
        this.stub = SaServiceGrpc.newStub(saService);
        this.local = local;
        this.owner = owner == null ? "" : owner;
        this.ikeService = ikeService == null ? "" : ikeService;
        this.childIds = childIds;
    }

    /** This ike-service's name in the records, or empty (the gateway: the owner node runs the IKE SA). */
    String ikeService() {
        return ikeService;
    }

    /** The engine that drops an IKE SA another node owns now. */
    public void attach(IkeEngine engine) {
        this.engine = engine;
    }

    @Override
    public CompletionStage<?> ikeSaChanged(IkeSa sa) {
        IkeSaSnapshot s = sa.snapshot();
        String id = IkeSaRecords.id(s.spiI(), s.spiR());
        CompletableFuture<Void> done = new CompletableFuture<>();
        write(sa, s, id, stored.add(id), true, done);
        return done;
    }

    /** One InstallIkeSa of {@code s}; {@code mayRetry}: once more when the record moved to another owner node. */
    private void write(IkeSa sa, IkeSaSnapshot s, String id, boolean first, boolean mayRetry,
            CompletableFuture<Void> done) {
        InstallIkeSaRequest req = IkeSaRecords.request(s, local, owners.getOrDefault(id, owner), ikeService, first,
                childIds);
        long t0 = System.nanoTime();
        stub.withDeadlineAfter(10, TimeUnit.SECONDS).installIkeSa(req, new StreamObserver<>() {
            @Override
            public void onNext(InstallIkeSaResponse r) {
                writes.increment();
                writeNanos.add(System.nanoTime() - t0);
                if (!ended.containsKey(id) && !lost.containsKey(id)) { // not a write that outlived its IKE SA here
                    epochs.put(id, r.getIkeSa().getOwnerEpoch());
                }
            }

            @Override
            public void onError(Throwable t) {
                writeFailures.increment();
                Status status = Status.fromThrowable(t);
                boolean notOwner = status.getCode() == Status.Code.FAILED_PRECONDITION
                        && status.getDescription() != null
                        && status.getDescription().contains("only its owner replaces it");
                if (notOwner && !ikeService.isEmpty() && mayRetry) {
                    ownerMoved(sa, s, id, first, done, status);
                    return;
                }
                if (first) {
                    stored.remove(id); // the next write carries the keys again
                }
                if (notOwner) {
                    IkeEngine e = engine;
                    if (e != null) {
                        e.abandon(sa, "another node owns it now: " + status.getDescription());
                    }
                } else {
                    LOG.warn("{}: state not stored in the SAD ({}); it does not survive a takeover until the next "
                            + "exchange stores it", sa, status);
                }
                done.complete(null);
            }

            @Override
            public void onCompleted() {
                done.complete(null);
            }
        });
    }

    /**
     * Apart: a write refused because another node owns record {@code id} now. When the record
     * still names this ike-service, the data plane moved it (a worker's claim, a takeover): written
     * again for its owner now. Otherwise another ike-service runs the IKE SA: dropped here.
     */
    private void ownerMoved(IkeSa sa, IkeSaSnapshot s, String id, boolean first, CompletableFuture<Void> done,
            Status refusal) {
        stub.withDeadlineAfter(10, TimeUnit.SECONDS).getIkeSa(GetIkeSaRequest.newBuilder().setId(id).build(),
                new StreamObserver<GetIkeSaResponse>() {
                    @Override
                    public void onNext(GetIkeSaResponse r) {
                        IkeSaRecord now = r.getIkeSa();
                        if (now.getIkeService().equals(ikeService)) {
                            owners.put(id, now.getOwnerNodeId());
                            write(sa, s, id, first, false, done);
                        } else {
                            if (first) {
                                stored.remove(id);
                            }
                            IkeEngine e = engine;
                            if (e != null) {
                                e.abandon(sa, "ike-service '" + now.getIkeService() + "' runs it now: "
                                        + refusal.getDescription());
                            }
                            done.complete(null);
                        }
                    }

                    @Override
                    public void onError(Throwable t) {
                        if (first) {
                            stored.remove(id);
                        }
                        LOG.warn("{}: state not stored in the SAD (its owner node changed, and reading it again "
                                + "failed: {})", sa, Status.fromThrowable(t));
                        done.complete(null);
                    }

                    @Override
                    public void onCompleted() {
                    }
                });
    }

    /** Apart: record {@code id}, which names this ike-service, is owned by data-plane node {@code node} now. */
    void ownerIs(String id, String node) {
        if (!ikeService.isEmpty() && stored.contains(id)) {
            owners.put(id, node);
        }
    }

    @Override
    public void ikeDestroyed(IkeSa sa, String reason) {
        String id = IkeSaRecords.id(sa.spiI(), sa.spiR());
        remember(id);
        epochs.remove(id);
        owners.remove(id);
        if (stored.remove(id)) {
            stub.withDeadlineAfter(10, TimeUnit.SECONDS).deleteIkeSa(DeleteIkeSaRequest.newBuilder().setId(id).build(),
                    new StreamObserver<DeleteIkeSaResponse>() {
                        @Override
                        public void onNext(DeleteIkeSaResponse r) {
                            deletes.increment();
                        }

                        @Override
                        public void onError(Throwable t) {
                            Status s = Status.fromThrowable(t);
                            if (s.getCode() != Status.Code.NOT_FOUND) {
                                LOG.warn("IKE SA {}: delete in the SAD failed: {}", id, s);
                            }
                        }

                        @Override
                        public void onCompleted() {
                        }
                    });
        }
    }

    /**
     * Another node owns {@code sa} now: not ended (its record lives on with the new owner, and may
     * come back to this node by a later claim or takeover), but every event of its record up to the
     * owner epoch this node ran it under is stale here ({@link #lostHere}).
     */
    @Override
    public void ikeAbandoned(IkeSa sa, String reason) {
        String id = IkeSaRecords.id(sa.spiI(), sa.spiR());
        stored.remove(id);
        owners.remove(id);
        Long epoch = epochs.remove(id);
        lostTo(id, epoch == null ? 0 : epoch);
    }

    /**
     * An IKE SA taken over from its record (owner epoch {@code epoch}, owner node {@code node}): the
     * record has its keys already.
     */
    void adopted(String id, long epoch, String node) {
        stored.add(id);
        if (!ikeService.isEmpty()) {
            owners.put(id, node);
        }
        ended.remove(id);
        lost.remove(id);
        epochs.put(id, epoch);
    }

    /** The record {@code id} was another node's at owner epoch {@code epoch} (a claim, a merge took it from here). */
    void lostTo(String id, long epoch) {
        long now = System.currentTimeMillis();
        lost.merge(id, new Lost(epoch, now), (a, b) -> a.epoch() >= b.epoch() ? a : b);
        if (lost.size() > 10_000) {
            lost.values().removeIf(l -> now - l.atMillis() > ENDED_MEMORY_MILLIS);
        }
    }

    /**
     * True when an event saying this node owns record {@code id} at owner epoch {@code epoch} is
     * older than the one that took the IKE SA from here: not to be taken over again. A later claim
     * or takeover back to this node raises the epoch above it.
     */
    boolean lostHere(String id, long epoch) {
        Lost l = lost.get(id);
        return l != null && Long.compareUnsigned(epoch, l.epoch()) <= 0;
    }

    private record Lost(long epoch, long atMillis) {
    }

    /** True when the IKE SA with record {@code id} ended here lately: an event of its record is not a takeover. */
    boolean endedHere(String id) {
        return ended.containsKey(id);
    }

    /** The record {@code id} is gone from the SAD: its later events, if any, are new. */
    void recordDeleted(String id) {
        ended.remove(id);
    }

    private void remember(String id) {
        long now = System.currentTimeMillis();
        ended.put(id, now);
        if (ended.size() > 10_000) {
            ended.values().removeIf(t -> now - t > ENDED_MEMORY_MILLIS);
        }
    }

    /** IKE SA states stored. */
    public long writes() {
        return writes.sum();
    }

    /** Writes sad-service refused or did not answer. */
    public long writeFailures() {
        return writeFailures.sum();
    }

    /** Nanoseconds the stored writes took, summed over {@link #writes}. */
    public long writeNanos() {
        return writeNanos.sum();
    }

    /** Mean time of a stored write, microseconds (0 before the first). */
    public double meanWriteMicros() {
        long n = writes.sum();
        return n == 0 ? 0 : writeNanos.sum() / 1_000.0 / n;
    }

    /** IKE SA records deleted. */
    public long deletes() {
        return deletes.sum();
    }
}
