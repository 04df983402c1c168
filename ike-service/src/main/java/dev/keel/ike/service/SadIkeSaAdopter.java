package dev.keel.ike.service;

import dev.keel.ike.engine.IkeEngine;
import dev.keel.ike.session.ChildSa;
import dev.keel.ike.session.IkeSaSnapshot;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.DeleteIkeSaRequest;
import dev.keel.proto.v1.IkeSaChild;
import dev.keel.proto.v1.IkeSaRecord;
import dev.keel.proto.v1.OwnershipReason;
import dev.keel.proto.v1.SaEvent;
import dev.keel.proto.v1.SaServiceGrpc;
import dev.keel.proto.v1.WatchRequest;
import dev.keel.proto.v1.WatchResponse;
import io.grpc.Channel;
import io.grpc.Context;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Takes over the IKE SAs this node comes to own (docs/ha.md, "IKE SA failover"): watches the SAD
 * (SaService.Watch for this node's SAs, wrapped keys included) and, for every IKE SA record owned
 * by this node's current incarnation that the engine does not run and did not end itself, reads
 * its CHILD SAs' records, unwraps its keys with the KEK and hands it to {@link IkeEngine#adopt}.
 * sad-service re-owns a departed member's SAs (its OwnershipKeeper); the IKE SA records follow
 * the CHILD SA records in the same pass, so the data plane has the CHILD SAs by then or soon.
 *
 * <p>A record of a rekey's replacement whose predecessor is still there and not marked replaced
 * never got its answer to the peer: it is deleted, and the predecessor taken over (the peer
 * retransmits the rekey to it). An IKE SA whose record another node comes to own (it claimed it,
 * {@link SadSaClaimer}) is dropped here at once.
 *
 * <p>Which records are this node's: in the gateway ({@link #SadIkeSaAdopter the constructor}),
 * those its sad-service member owns, as the CHILD SAs. ike-service apart from the data plane
 * ({@link #forIkeService}) owns no SA in the SAD (only members do: the records name the
 * data-plane node whose esp-worker runs the CHILD SAs) and names itself in each IKE SA record
 * instead ({@code ike_service}, its {@code --node-id}): it takes over the records naming it,
 * whichever node owns them and however often they move between the nodes it serves (a worker's
 * claim, sad-service's takeover), and never drops an IKE SA because its record's owner changed.
 * That is what a restarted ike-service finds (docs/gateway.md, "The services apart"). One
 * ike-service process per node id at a time.
 *
 * <p>Threads: one reads the watch and decides; the blocking part of a takeover (reading the CHILD
 * SA records, unwrapping the keys) runs for up to {@link #AT_ONCE} IKE SAs at a time on virtual
 * threads, because a failover brings one record per peer at once and each waits for SAD round
 * trips (one at a time, 1,000 took 12 s). Different IKE SAs share no state here; one IKE SA is
 * taken over at most once at a time ({@code adopting}), and handing it to the engine is atomic
 * with respect to losing its record ({@link #lost}), so an IKE SA whose record moved away while
 * its takeover was under way is either not started or abandoned. Restarts the watch after errors.
 */
public final class SadIkeSaAdopter implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SadIkeSaAdopter.class);
    /** IKE SAs whose takeover is under way at once (each mostly waits for the SAD). */
    static final int AT_ONCE = 32;

    private final SaServiceGrpc.SaServiceBlockingStub sad;
    /** Gateway: the owner node whose records these are; null apart. */
    private final String node;
    private final Supplier<String> member;
    /** Apart: the ike-service whose records these are ({@code ike_service}); null in the gateway. */
    private final String ikeService;
    private final java.util.concurrent.CompletableFuture<Void> caughtUp = new java.util.concurrent.CompletableFuture<>();
    private final IkeEngine engine;
    private final SadChildInstaller installer;
    private final SadIkeSaStore store;
    private final IkeSaRecords.KeyUnwrap unwrap;
    private final Set<String> adopting = ConcurrentHashMap.newKeySet();
    private final LongAdder adopted = new LongAdder();
    private final LongAdder refused = new LongAdder();
    private final LongAdder lost = new LongAdder();
    private final Thread thread;
    private final Semaphore slots = new Semaphore(AT_ONCE);
    private final ExecutorService takeovers = Executors.newThreadPerTaskExecutor(
            Thread.ofVirtual().name("keel-ike-takeover-", 0).factory());
    private volatile Context.CancellableContext call;
    private volatile boolean closed;
    private volatile java.util.function.Consumer<IkeSaRecord> mergedAway = r -> {};

    /**
     * @param saService a channel to sad-service
     * @param node      this node's id: the owner of the records to take over
     * @param member    this node's current sad-service member (incarnation): records still naming
     *                  another one wait for sad-service's takeover pass
     * @param unwrap    the KEK's unwrap (only the owner holds it)
     */
    public SadIkeSaAdopter(Channel saService, String node, Supplier<String> member, IkeEngine engine,
            SadChildInstaller installer, SadIkeSaStore store, IkeSaRecords.KeyUnwrap unwrap) {
        this(saService, node, member, null, engine, installer, store, unwrap);
    }

    /**
     * For ike-service apart from the data plane: takes over the IKE SA records naming
     * {@code store}'s ike-service, whichever node owns them.
     */
    public static SadIkeSaAdopter forIkeService(Channel saService, IkeEngine engine, SadChildInstaller installer,
            SadIkeSaStore store, IkeSaRecords.KeyUnwrap unwrap) {
        if (store.ikeService().isEmpty()) {
            throw new IllegalArgumentException("the store names no ike-service");
        }
        return new SadIkeSaAdopter(saService, null, null, store.ikeService(), engine, installer, store, unwrap);
    }

    private SadIkeSaAdopter(Channel saService, String node, Supplier<String> member, String ikeService,
            IkeEngine engine, SadChildInstaller installer, SadIkeSaStore store, IkeSaRecords.KeyUnwrap unwrap) {
        this.sad = SaServiceGrpc.newBlockingStub(saService);
        this.node = node;
        this.member = member;
        this.ikeService = ikeService;
        this.engine = engine;
        this.installer = installer;
        this.store = store;
        this.unwrap = unwrap;
        this.thread = Thread.ofPlatform().daemon().name("keel-ike-takeover").unstarted(this::run);
    }

    /** Starts watching. */
    /**
     * Told of each IKE SA that a split-brain merge gave to another node while this node ran it
     * (after it was abandoned here): the merge decides each record apart, so the node the peer's
     * packets reach may keep the CHILD SAs and lose their IKE SA ({@link SadSaClaimer#onMergedAway}).
     */
    public SadIkeSaAdopter onMergedAway(java.util.function.Consumer<IkeSaRecord> follower) {
        this.mergedAway = follower;
        return this;
    }

    public SadIkeSaAdopter start() {
        thread.start();
        return this;
    }

    private void run() {
        while (!closed) {
            Context.CancellableContext ctx = Context.current().withCancellation();
            call = ctx;
            try {
                ctx.run(() -> {
                    // apart: every owner's records (the filter passes one owner's; ours may move among several)
                    Iterator<WatchResponse> it = sad.watch(WatchRequest.newBuilder()
                            .setOwnerNodeId(node == null ? "" : node).setIncludeWrappedKeys(true).build());
                    while (it.hasNext()) {
                        for (SaEvent e : it.next().getEventsList()) {
                            apply(e);
                        }
                    }
                });
            } catch (StatusRuntimeException e) {
                if (!closed) {
                    LOG.warn("watching the SAD for IKE SAs to take over: {}; again in 1 s", e.getStatus());
                }
            } catch (RuntimeException e) {
                LOG.error("taking over IKE SAs failed; watching again in 1 s", e);
            } finally {
                ctx.cancel(null);
            }
            if (!closed) {
                try {
                    Thread.sleep(1_000);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }

    private void apply(SaEvent e) {
        switch (e.getType()) {
            case SA_EVENT_TYPE_SNAPSHOT_IKE_SA, SA_EVENT_TYPE_IKE_SA_PUT -> consider(e.getIkeSa());
            case SA_EVENT_TYPE_IKE_SA_DELETED -> store.recordDeleted(e.getIkeSa().getId());
            case SA_EVENT_TYPE_SNAPSHOT_END -> {
                if (!caughtUp.isDone()) {
                    try {
                        takeovers.execute(this::awaitSnapshotTakeovers);
                    } catch (RejectedExecutionException closed) {
                        // nobody waits any more
                    }
                }
            }
            default -> {
            }
        }
    }

    private void consider(IkeSaRecord r) {
        if (ikeService != null) {
            if (!r.getIkeService().equals(ikeService)) { // another ike-service's, or a gateway node's
                return;
            }
            store.ownerIs(r.getId(), r.getOwnerNodeId()); // its next write names the node that owns it now
        } else {
            if (!r.getOwnerNodeId().equals(node)) { // moved away from this node (the Watch passes those too)
                lost(r);
                return;
            }
            if (!r.getOwnerMember().equals(member.get())) {
                return;
            }
        }
        long localSpi = r.getInitiator() ? r.getInitiatorSpi() : r.getResponderSpi();
        if (engine.ikeSa(localSpi).isPresent() || adopting.contains(r.getId())) {
            return;
        }
        if (store.endedHere(r.getId())) { // a write that landed after its IKE SA ended here: not for the peer any more
            delete(r.getId(), "its IKE SA ended here");
            return;
        }
        if (store.lostHere(r.getId(), r.getOwnerEpoch())) { // older than the move that took it from here
            return;
        }
        adopting.add(r.getId());
        try {
            slots.acquire(); // the watch waits while AT_ONCE takeovers are under way
        } catch (InterruptedException e) {
            adopting.remove(r.getId());
            Thread.currentThread().interrupt();
            return;
        }
        try {
            takeovers.execute(() -> {
                try {
                    adopt(r);
                } catch (StatusRuntimeException | IllegalArgumentException | IllegalStateException e) {
                    refused.increment();
                    adopting.remove(r.getId());
                    LOG.warn("IKE SA {} not taken over: {}", r.getId(), e.getMessage());
                } catch (RuntimeException e) {
                    adopting.remove(r.getId());
                    LOG.error("IKE SA {}: taking it over failed", r.getId(), e);
                } finally {
                    slots.release();
                }
            });
        } catch (RejectedExecutionException e) { // closed
            adopting.remove(r.getId());
            slots.release();
        }
    }

    private void adopt(IkeSaRecord r) {
        if (!r.getRekeyedFrom().isEmpty()) {
            IkeSaRecord before = IkeSaRecords.find(sad, r.getRekeyedFrom());
            if (before != null && !before.getReplaced()) {
                delete(r.getId(), "the rekey that made it was never answered (" + r.getRekeyedFrom() + " lives on)");
                adopting.remove(r.getId());
                return;
            }
        }
        List<ChildSaRecord[]> children = new ArrayList<>(r.getChildrenCount());
        for (IkeSaChild c : r.getChildrenList()) {
            children.add(new ChildSaRecord[] {IkeSaRecords.child(sad, c.getInboundSaId()),
                    IkeSaRecords.child(sad, c.getOutboundSaId())});
        }
        IkeSaSnapshot s = IkeSaRecords.snapshot(r, children, unwrap);
        boolean merged = r.getOwnerReason() == OwnershipReason.OWNERSHIP_REASON_MERGE;
        synchronized (this) { // with lost(): the engine files the IKE SA before lost() can look for it
            if (closed || store.lostHere(r.getId(), r.getOwnerEpoch())) { // it moved away meanwhile
                adopting.remove(r.getId());
                return;
            }
            store.adopted(r.getId(), r.getOwnerEpoch(), r.getOwnerNodeId());
            start(r, children, s, merged);
        }
    }

    private void start(IkeSaRecord r, List<ChildSaRecord[]> children, IkeSaSnapshot s, boolean merged) {
        engine.adopt(s, merged, sa -> {
            for (int i = 0; i < r.getChildrenCount(); i++) {
                IkeSaChild c = r.getChildren(i);
                ChildSaRecord in = children.get(i)[0];
                if (in != null) {
                    sa.childSas().byInboundSpi(in.getSpi()).ifPresent((ChildSa child) -> installer.adopted(sa, child,
                            new ChildSaRecords.Ids(c.getInboundSaId(), c.getOutboundSaId())));
                }
            }
        }).whenComplete((sa, e) -> {
            adopting.remove(r.getId());
            if (e != null) {
                refused.increment();
                LOG.warn("IKE SA {} not taken over: {}", r.getId(), e.getMessage());
            } else {
                adopted.increment();
                if (s.children().size() < r.getChildrenCount()) { // the engine has logged the takeover itself
                    LOG.info("{} taken over: {} CHILD SAs whose records are gone left out", sa,
                            r.getChildrenCount() - s.children().size());
                }
            }
        });
    }

    /**
     * Another node owns {@code r} now (it claimed the IKE SA because the peer's packets reach it, or
     * a merge gave it the record): this node stops running it without a word to the peer or the
     * SAD. Its writes would be refused anyway; stopping at once also stops its retransmissions.
     */
    private synchronized void lost(IkeSaRecord r) {
        store.lostTo(r.getId(), r.getOwnerEpoch());
        long localSpi = r.getInitiator() ? r.getInitiatorSpi() : r.getResponderSpi();
        engine.ikeSa(localSpi).filter(sa -> sa.spiI() == r.getInitiatorSpi() && sa.spiR() == r.getResponderSpi())
                .ifPresent(sa -> {
                    lost.increment();
                    engine.abandon(sa, "node '" + r.getOwnerNodeId() + "' owns it now (" + r.getOwnerReason()
                            + ", owner epoch " + r.getOwnerEpoch() + ")");
                    if (r.getOwnerReason() == OwnershipReason.OWNERSHIP_REASON_MERGE) {
                        mergedAway.accept(r);
                    }
                });
    }

    private void delete(String id, String why) {
        try {
            sad.withDeadlineAfter(10, TimeUnit.SECONDS).deleteIkeSa(DeleteIkeSaRequest.newBuilder().setId(id).build());
            LOG.info("IKE SA record {} deleted: {}", id, why);
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() != Status.Code.NOT_FOUND) {
                LOG.warn("IKE SA record {}: delete failed ({}): {}", id, why, e.getStatus());
            }
        }
    }

    /**
     * Completes once the IKE SAs of the SAD's first snapshot are taken over (or refused): what this
     * node ran before a restart runs again, and a {@code start} child it carries is not initiated anew.
     */
    public java.util.concurrent.CompletionStage<Void> caughtUp() {
        return caughtUp;
    }

    /** After the first snapshot: waits (up to 30 s) until its takeovers are done. */
    private void awaitSnapshotTakeovers() {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        try {
            while (!adopting.isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        caughtUp.complete(null);
    }

    /** IKE SAs taken over. */
    public long adopted() {
        return adopted.sum();
    }

    /** IKE SA records this node owns that could not be taken over. */
    public long refused() {
        return refused.sum();
    }

    /** IKE SAs this node stopped running because another node came to own their records. */
    public long lost() {
        return lost.sum();
    }

    @Override
    public void close() {
        closed = true;
        Context.CancellableContext c = call;
        if (c != null) {
            c.cancel(null);
        }
        thread.interrupt();
        takeovers.shutdownNow();
    }
}
