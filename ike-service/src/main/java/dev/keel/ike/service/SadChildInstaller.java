package dev.keel.ike.service;

import dev.keel.ike.session.ChildSa;
import dev.keel.ike.engine.IkeEngine;
import dev.keel.ike.session.IkeEvents;
import dev.keel.ike.session.IkeSa;
import dev.keel.proto.v1.DeleteChildSaRequest;
import dev.keel.proto.v1.DeleteChildSaResponse;
import dev.keel.proto.v1.InstallChildSaResult;
import dev.keel.proto.v1.InstallChildSasRequest;
import dev.keel.proto.v1.InstallChildSasResponse;
import dev.keel.proto.v1.SaServiceGrpc;
import dev.keel.rpc.Statuses;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Installs the CHILD SAs the engine negotiates in sad-service (DESIGN §2: ike-service → gRPC
 * install / delete → sad-service), both directions in one InstallChildSas call with their
 * plaintext keys, which sad-service wraps under the cluster KEK; deletes them when the engine
 * deletes the child. The data plane learns of both from the SAD's Watch stream, never from here.
 * Lifetime events of the data plane come back through {@link #softExpired} (rekey) and
 * {@link #hardExpired} (delete).
 *
 * <p>Engine callbacks run on an IKE SA's event loop: every call here is an asynchronous gRPC
 * call, never a wait.
 */
public final class SadChildInstaller implements IkeEvents {

    private static final Logger LOG = LoggerFactory.getLogger(SadChildInstaller.class);

    /**
     * Told when a pair is in the SAD for node {@code owner} ("" = none named), with the time IKE
     * established it ({@link System#nanoTime()}); answers when the pair carries traffic in that
     * node's data plane (the gateway watches its tables; ike-service behind the relay asks the
     * worker; alone, ike-service has nothing more to wait for).
     */
    @FunctionalInterface
    public interface InstallListener {
        CompletionStage<?> installed(ChildSaRecords.Ids ids, String owner, long establishedNanos);
    }

    private record Pair(IkeSa sa, int inboundSpi, ChildSaRecords.Ids ids) {
    }

    private final SaServiceGrpc.SaServiceStub stub;
    private final String node;
    private final Function<IkeSa, String> owner;
    private final InetSocketAddress local;
    private final InstallListener listener;
    private final Map<String, Pair> bySaId = new ConcurrentHashMap<>();
    private final Map<Integer, Pair> byInboundSpi = new ConcurrentHashMap<>();
    /** Installs under way, by inbound SPI, until the engine asks for them ({@link #childInstalled}). */
    private final Map<Integer, CompletableFuture<Void>> installing = new ConcurrentHashMap<>();
    private final LongAdder installed = new LongAdder();
    private final LongAdder installFailures = new LongAdder();
    private final LongAdder deleted = new LongAdder();
    private final LongAdder deleteFailures = new LongAdder();
    private final AtomicInteger pending = new AtomicInteger();
    private volatile IkeEngine engine;

    /**
     * @param saService a channel to sad-service (in-process in the gateway, mutual TLS across hosts)
     * @param node      this node's id: names the records
     * @param owner     node id of the SAs' owner, a sad-service member (the data plane watches the SAD as
     *                  that node); empty: the sad-service node serving the call (the gateway's own member)
     * @param local     our ESP-in-UDP endpoint (outer address, NAT-T port)
     */
    public SadChildInstaller(Channel saService, String node, String owner, InetSocketAddress local,
            InstallListener listener) {
        this(saService, node, fixedOwner(owner), local, listener);
    }

    /**
     * As {@link #SadChildInstaller(Channel, String, String, InetSocketAddress, InstallListener)}
     * with the owner chosen per IKE SA when each pair is installed (ike-service in relay mode: the
     * node of the esp-worker the peer's IKE came through); the function runs on the IKE SA's event
     * loop, must not block, and answers empty for the sad-service node serving the call.
     */
    public SadChildInstaller(Channel saService, String node, Function<IkeSa, String> owner, InetSocketAddress local,
            InstallListener listener) {
        this.stub = SaServiceGrpc.newStub(saService);
        this.node = node;
        this.owner = owner;
        this.local = local;
        this.listener = listener == null ? (ids, o, t) -> IkeEvents.INSTALLED : listener;
    }

    private static Function<IkeSa, String> fixedOwner(String owner) {
        String o = owner == null ? "" : owner;
        return sa -> o;
    }

    /** The engine to ask for rekeys and deletes on lifetime events. */
    public void attach(IkeEngine engine) {
        this.engine = engine;
    }

    @Override
    public void childEstablished(IkeSa sa, ChildSa child) {
        long at = System.nanoTime();
        ChildSaRecords.Ids ids = ChildSaRecords.Ids.of(node, child.inboundSpi());
        Pair pair = new Pair(sa, child.inboundSpi(), ids);
        bySaId.put(ids.inbound(), pair);
        bySaId.put(ids.outbound(), pair);
        byInboundSpi.put(child.inboundSpi(), pair);
        InstallChildSasRequest req;
        String ownerNode;
        try {
            String o = owner.apply(sa);
            ownerNode = o == null ? "" : o;
            req = InstallChildSasRequest.newBuilder()
                    .addAllItems(ChildSaRecords.requests(sa, child, ids, local, o == null ? "" : o))
                    .build();
        } finally {
            ChildSaRecords.wipe(child); // the request holds the only copies now; the SAD wraps them
        }
        CompletableFuture<Void> usable = new CompletableFuture<>();
        installing.put(child.inboundSpi(), usable);
        pending.incrementAndGet();
        stub.withDeadlineAfter(10, TimeUnit.SECONDS).installChildSas(req, new StreamObserver<>() {
            @Override
            public void onNext(InstallChildSasResponse r) {
                StringBuilder problems = new StringBuilder();
                for (InstallChildSaResult x : r.getResultsList()) {
                    if (x.getCode() != 0) {
                        problems.append(problems.isEmpty() ? "" : "; ").append(Status.fromCodeValue(x.getCode())
                                .getCode()).append(": ").append(x.getMessage());
                    }
                }
                if (problems.isEmpty()) {
                    installed.increment();
                    LOG.info("{}: CHILD SA {} in the SAD as {} / {}", sa, child.name(), ids.inbound(), ids.outbound());
                    listener.installed(ids, ownerNode, at).whenComplete((v, e) -> usable.complete(null));
                } else {
                    failed(usable, sa, ids, problems.toString());
                }
            }

            @Override
            public void onError(Throwable t) {
                pending.decrementAndGet();
                failed(usable, sa, ids, Statuses.brief(t));
            }

            @Override
            public void onCompleted() {
                pending.decrementAndGet();
            }
        });
    }

    /**
     * Completes when the pair is in the SAD (with its synchronous backup) and, in the gateway, in
     * this node's data plane: DESIGN §4, the IKE message that completes it waits for this. Fails
     * when the SAD refused the pair or could not be reached: the engine then keeps the peer from
     * using it (a TEMPORARY_FAILURE answer, or a Delete).
     */
    @Override
    public CompletionStage<?> childInstalled(IkeSa sa, ChildSa child) {
        CompletableFuture<Void> usable = installing.remove(child.inboundSpi());
        return usable == null ? IkeEvents.INSTALLED : usable;
    }

    /** The record ids of our CHILD SA with inbound SPI {@code inboundSpi} (the SA ids the SAD stores it under). */
    public ChildSaRecords.Ids ids(int inboundSpi) {
        Pair p = byInboundSpi.get(inboundSpi);
        return p != null ? p.ids() : ChildSaRecords.Ids.of(node, inboundSpi);
    }

    /**
     * A CHILD SA of an IKE SA taken over from another node, stored under {@code ids}: its lifetime
     * events and its delete find it from now on (the SAD and the data plane have it already).
     */
    public void adopted(IkeSa sa, ChildSa child, ChildSaRecords.Ids ids) {
        Pair pair = new Pair(sa, child.inboundSpi(), ids);
        bySaId.put(ids.inbound(), pair);
        bySaId.put(ids.outbound(), pair);
        byInboundSpi.put(child.inboundSpi(), pair);
    }

    /** Another node owns {@code sa} now: forget its pairs here, leave their records to it. */
    @Override
    public void ikeAbandoned(IkeSa sa, String reason) {
        byInboundSpi.values().removeIf(p -> p.sa().current() == sa);
        bySaId.values().removeIf(p -> p.sa().current() == sa);
    }

    /** A pair the SAD refused or never heard of: the engine's stage fails, and the engine decides what the peer hears. */
    private void failed(CompletableFuture<Void> usable, IkeSa sa, ChildSaRecords.Ids ids, String why) {
        installFailures.increment();
        LOG.warn("{}: CHILD SA {} not installed in the SAD: {}", sa, ids.inbound(), why);
        usable.completeExceptionally(new IllegalStateException("CHILD SA " + ids.inbound() + " not installed: " + why));
    }

    @Override
    public void childDeleted(IkeSa sa, ChildSa child) {
        Pair pair = byInboundSpi.remove(child.inboundSpi());
        ChildSaRecords.Ids ids = pair != null ? pair.ids() : ChildSaRecords.Ids.of(node, child.inboundSpi());
        bySaId.remove(ids.inbound());
        bySaId.remove(ids.outbound());
        delete(ids.inbound());
        delete(ids.outbound());
    }

    private void delete(String id) {
        pending.incrementAndGet();
        stub.withDeadlineAfter(10, TimeUnit.SECONDS).deleteChildSa(DeleteChildSaRequest.newBuilder().setId(id).build(),
                new StreamObserver<>() {
                    @Override
                    public void onNext(DeleteChildSaResponse r) {
                        deleted.increment();
                    }

                    @Override
                    public void onError(Throwable t) {
                        pending.decrementAndGet();
                        Status s = Status.fromThrowable(t);
                        if (s.getCode() != Status.Code.NOT_FOUND) { // never installed (a refused install)
                            deleteFailures.increment();
                            LOG.warn("SA {}: delete in the SAD failed: {}", id, s);
                        }
                    }

                    @Override
                    public void onCompleted() {
                        pending.decrementAndGet();
                    }
                });
    }

    /** The data plane reached a soft lifetime of SA {@code saId}: rekey its child (RFC 7296 §2.8). */
    public void softExpired(String saId) {
        Pair p = bySaId.get(saId);
        IkeEngine e = engine;
        if (p != null && e != null) {
            LOG.info("SA {}: soft lifetime reached; rekeying", saId);
            e.rekeyChild(p.sa().current(), p.inboundSpi());
        }
    }

    /** The data plane reached a hard lifetime of SA {@code saId}: delete its child. */
    public void hardExpired(String saId) {
        Pair p = bySaId.get(saId);
        IkeEngine e = engine;
        if (p != null && e != null) {
            LOG.info("SA {}: hard lifetime reached; deleting", saId);
            e.expireChild(p.sa().current(), p.inboundSpi());
        }
    }

    /** Pairs installed in the SAD. */
    public long installed() {
        return installed.sum();
    }

    /** Pairs the SAD refused or could not be reached for. */
    public long installFailures() {
        return installFailures.sum();
    }

    /** Records deleted. */
    public long deleted() {
        return deleted.sum();
    }

    /** Install and delete calls not answered yet. */
    public int pending() {
        return pending.get();
    }

    /** SA ids of the pairs the engine holds now (inbound and outbound). */
    public java.util.Set<String> saIds() {
        return java.util.Set.copyOf(bySaId.keySet());
    }
}
