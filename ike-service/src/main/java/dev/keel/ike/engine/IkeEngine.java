package dev.keel.ike.engine;

import dev.keel.ike.session.IkeEnvironment;
import dev.keel.ike.session.IkeSa;
import dev.keel.ike.session.ChildSa;
import dev.keel.ike.session.IkeSaExecutor;
import dev.keel.ike.session.SpiAllocator;
import dev.keel.ike.session.IkeEvents;
import dev.keel.ike.session.IkeDrop;
import dev.keel.ike.session.IkeSaSnapshot;
import dev.keel.ike.session.IkeSaState;
import dev.keel.ike.session.ConnectionDirectory;
import dev.keel.ike.session.IkeCounters;
import dev.keel.ike.session.UniqueIds;
import dev.keel.core.net.IpAddress;
import dev.keel.ike.config.ChildConnection;
import dev.keel.ike.config.IkeConnection;
import dev.keel.ike.message.ExchangeType;
import dev.keel.ike.message.IkeDecodeResult;
import dev.keel.ike.message.IkeHeader;
import dev.keel.ike.message.NotifyType;
import dev.keel.ike.net.IkeReceiver;
import dev.keel.ike.net.IkeTransport;
import dev.keel.ike.task.IkeAuthChildTask;
import dev.keel.ike.task.ChildRekeyTask;
import dev.keel.ike.task.CreateChildSaResponder;
import dev.keel.ike.task.CreateChildSaTask;
import dev.keel.ike.task.IkeRekeyTask;
import dev.keel.ike.task.DeleteTask;
import dev.keel.ike.task.IkeAuthTask;
import dev.keel.ike.task.IkeInitTask;
import dev.keel.ike.task.IkeIntermediateTask;
import dev.keel.ike.task.InformationalTask;
import dev.keel.ike.task.MessageIdSyncTask;
import dev.keel.ike.task.MobikeTask;
import dev.keel.ike.task.NatDetectTask;
import dev.keel.ike.task.RefuseTask;
import dev.keel.ike.session.Task;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The IKEv2 engine of one node: finds the IKE SA each message belongs to (by our SPI, or a new
 * responder SA for a fresh IKE_SA_INIT), runs it on that SA's thread, starts initiations, and
 * keeps half-open state bounded with cookies (RFC 7296 §2.6) and a hard limit.
 */
public final class IkeEngine implements IkeReceiver {

    private static final Logger LOG = LoggerFactory.getLogger(IkeEngine.class);

    private final IkeEnvironment env;
    /** NAT keepalive interval of IKE SAs behind a NAT (RFC 3948 §2.3); zero: none. */
    private volatile Duration natKeepalive = DEFAULT_NAT_KEEPALIVE;
    private final IpAddress localAddress;
    private final Supplier<IkeSaExecutor> executors;
    private final Map<Long, IkeSa> byLocalSpi = new ConcurrentHashMap<>();
    private final HalfOpenSas halfOpen;
    private final ChildLifetimes childLifetimes;
    private final IkeLifetimes ikeLifetimes;
    private final Reauthentication reauthentication = new Reauthentication(this::initiateNew, this::createChild);
    private final AfterCloseActions afterClose = new AfterCloseActions(this::initiate);
    private final Map<IkeSa, IkeSaExecutor> executorOf = new ConcurrentHashMap<>();
    private final Map<IkeSa, CompletableFuture<IkeSa>> initiations = new ConcurrentHashMap<>();
    private volatile UnknownIkeSaListener unknownSa = UnknownIkeSaListener.NONE;
    /** Who else hears the events ({@link #observe}), after the node's own listener. */
    private final List<IkeEvents> observers = new CopyOnWriteArrayList<>();
    /**
     * IKE SAs that reached ESTABLISHED, by connection: where an initiation looks for one to reuse
     * without scanning every IKE SA of the node (entries leave with the IKE SA; the state is
     * checked again at the look-up).
     */
    private final Map<IkeConnection, Set<IkeSa>> establishedByConnection = new ConcurrentHashMap<>();
    private final IkeSa.Successors successors = new IkeSa.Successors() {
        @Override
        public long newSpi() {
            return IkeEngine.this.newSpi();
        }

        @Override
        public IkeSa create(IkeSa old, boolean originalInitiator, long spiI, long spiR) {
            return successor(old, originalInitiator, spiI, spiR);
        }
    };

    /**
     * An engine answering on {@code localAddress} (the address NAT detection hashes), sending
     * through {@code transport}, running each IKE SA on an executor from {@code executors}.
     */
    public IkeEngine(IkeTransport transport, IkeEvents events, IpAddress localAddress, int ikePort, int natTPort,
            ConnectionDirectory connections, SpiAllocator spis, Supplier<IkeSaExecutor> executors,
            IkeSettings limits, SecureRandom random) {
        this.localAddress = localAddress;
        this.executors = executors;
        this.env = new IkeEnvironment(transport, new Bookkeeping(events), random, spis, connections, limits.retransmit(),
                new IkeCounters(), ikePort, natTPort, new UniqueIds(), limits.fragmentSize());
        this.halfOpen = new HalfOpenSas(limits, random, env.counters(), transport);
        this.childLifetimes = new ChildLifetimes(random);
        this.ikeLifetimes = new IkeLifetimes(random, sa -> reauthentication.start(sa));
        CryptoWarmUp.run(random);
        halfOpen.rotateCookieSecretEvery(executors.get());
    }

    /**
     * Whether child {@code child} of {@code connection} has a trap armed by its dpd_action or
     * close_action: the next acquire for it initiates it, whatever its start_action.
     */
    public boolean trapArmed(String connection, String child) {
        return afterClose.armed(connection, child);
    }

    /** The engine's counters. */
    public IkeCounters counters() {
        return env.counters();
    }

    /** Connections this engine serves. */
    public ConnectionDirectory connections() {
        return env.connections();
    }

    /** IKE SAs alive now. */
    public int ikeSaCount() {
        return byLocalSpi.size();
    }

    /** Responder IKE SAs that have not authenticated yet. */
    public int halfOpenCount() {
        return halfOpen.count();
    }

    /** A new cookie secret now (the engine also replaces it every {@code cookie_secret_lifetime}). */
    public void rotateCookieSecret() {
        halfOpen.rotateCookieSecret();
    }

    /**
     * Initiates every child of {@code c} whose {@code start_action} is {@code start} (a connection
     * without a remote address cannot initiate and is skipped); failures are logged, not thrown.
     */
    public void initiateStartChildren(IkeConnection c) {
        if (!c.canInitiate()) {
            return;
        }
        for (ChildConnection child : c.children()) {
            if (child.startAction() == ChildConnection.StartAction.START) {
                LOG.info("initiating {}/{} to {}", c.name(), child.name(), c.remoteEndpoint());
                initiate(c.name(), child.name()).whenComplete((sa, e) -> {
                    if (e != null) {
                        LOG.warn("{}/{}: {}", c.name(), child.name(), e.getMessage());
                    }
                });
            }
        }
    }

    /**
     * Starts IKE_SA_INIT + IKE_AUTH for {@code connection} with its child {@code child}; the
     * future completes when the IKE SA is established (the CHILD SA's outcome is reported through
     * {@link IkeEvents}) or fails with the reason.
     */
    public CompletableFuture<IkeSa> initiate(String connection, String child) {
        return initiate(connection, child, (sa, created) -> { });
    }

    /** Told which IKE SA an initiation runs on, before anything of it is sent. */
    @FunctionalInterface
    public interface InitiationListener {
        /**
         * {@code sa} carries the initiation: made for it ({@code created}), or an established one of
         * the connection that gets a further CHILD SA.
         */
        void runsOn(IkeSa sa, boolean created);
    }

    /** {@link #initiate(String, String)}, telling {@code listener} which IKE SA carries it. */
    public CompletableFuture<IkeSa> initiate(String connection, String child, InitiationListener listener) {
        Optional<IkeConnection> c = env.connections().byName(connection);
        if (c.isEmpty()) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("no connection '" + connection + "'"));
        }
        Optional<ChildConnection> ch = c.get().child(child);
        if (ch.isEmpty()) {
            return CompletableFuture.failedFuture(
                    new IllegalArgumentException("connection '" + connection + "' has no child '" + child + "'"));
        }
        IkeSa existing = establishedOf(c.get());
        if (existing != null) { // RFC 7296 §1.3.1: a further CHILD SA of an IKE SA we have
            listener.runsOn(existing, false);
            return createChild(existing, child).thenApply(x -> existing.current());
        }
        return initiateNew(executors.get(), c.get(), ch.get(), c.get().remoteEndpoint(), listener);
    }

    /** A new IKE SA for {@code c} to {@code remote} with {@code child} in IKE_AUTH, on {@code executor}. */
    private CompletableFuture<IkeSa> initiateNew(IkeSaExecutor executor, IkeConnection c, ChildConnection child,
            InetSocketAddress remote, InitiationListener listener) {
        IkeSa sa = new IkeSa(true, newSpi(), 0, env, executor, this::responderTasks, remote, localAddress, this::forget);
        sa.connection(c);
        sa.successors(successors);
        byLocalSpi.put(sa.localSpi(), sa);
        executorOf.put(sa, executor);
        CompletableFuture<IkeSa> done = new CompletableFuture<>();
        initiations.put(sa, done);
        listener.runsOn(sa, true);
        executor.execute(() -> {
            sa.tasks().queue(ExchangeType.IKE_SA_INIT, IkeInitTask.initiator(sa), NatDetectTask.initiator(sa));
            sa.tasks().queue(ExchangeType.IKE_AUTH, IkeAuthTask.initiator(sa), IkeAuthChildTask.initiator(sa, child));
        });
        return done;
    }

    /** A reauthentication's new IKE SA, on the thread of the IKE SA it replaces ({@link Reauthentication.Starter}). */
    private CompletableFuture<IkeSa> initiateNew(IkeSa old, IkeConnection c, ChildConnection child,
            InetSocketAddress remote) {
        IkeSaExecutor executor = executorOf.get(old);
        return initiateNew(executor != null ? executor : executors.get(), c, child, remote, (sa, created) -> { });
    }

    /**
     * Reauthenticates {@code sa} (RFC 7296 §2.8.3), make-before-break: a new IKE SA with full
     * IKE_SA_INIT and IKE_AUTH and a CHILD SA of each configuration {@code sa} carries, all
     * installed before {@code sa} is deleted with its CHILD SAs ({@link Reauthentication}); what
     * {@code reauth_time} does. Completes with the new IKE SA once the old one's Delete is queued,
     * or fails with the reason (the old IKE SA then stays).
     */
    public CompletableFuture<IkeSa> reauthenticate(IkeSa sa) {
        CompletableFuture<IkeSa> done = new CompletableFuture<>();
        executorOf.getOrDefault(sa, IMMEDIATE).execute(() -> reauthentication.start(sa).whenComplete((fresh, e) -> {
            if (e != null) {
                done.completeExceptionally(e);
            } else {
                done.complete(fresh);
            }
        }));
        return done;
    }

    /**
     * Creates a further CHILD SA of configuration {@code child} on the established {@code sa}
     * with a CREATE_CHILD_SA exchange (RFC 7296 §1.3.1); the future completes with it, or fails
     * with the reason.
     */
    public CompletableFuture<ChildSa> createChild(IkeSa sa, String child) {
        Optional<ChildConnection> ch = sa.connection() == null ? Optional.empty() : sa.connection().child(child);
        if (ch.isEmpty()) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("no child '" + child + "' for " + sa));
        }
        CompletableFuture<ChildSa> done = new CompletableFuture<>();
        executorOf.getOrDefault(sa, IMMEDIATE).execute(() -> {
            IkeSa current = sa.current();
            if (!current.isAlive() || current.state() != IkeSaState.ESTABLISHED) {
                done.completeExceptionally(new IllegalStateException(current + " is not established"));
                return;
            }
            current.tasks().queue(ExchangeType.CREATE_CHILD_SA, CreateChildSaTask.newChild(current, ch.get(), done));
        });
        return done;
    }

    /**
     * Rekeys the CHILD SA of {@code sa} whose inbound SPI is {@code inboundSpi} (RFC 7296 §2.8):
     * what its rekey timer does, and what the data plane calls at a soft byte or packet limit.
     * Nothing happens when that CHILD SA is gone or already being replaced.
     */
    public void rekeyChild(IkeSa sa, int inboundSpi) {
        executorOf.getOrDefault(sa, IMMEDIATE).execute(() -> ChildRekeyTask.start(sa, inboundSpi));
    }

    /** Rekeys {@code sa} (RFC 7296 §2.18); its CHILD SAs move to the new IKE SA. */
    public void rekeyIke(IkeSa sa) {
        executorOf.getOrDefault(sa, IMMEDIATE).execute(() -> IkeRekeyTask.start(sa));
    }

    /**
     * Deletes the CHILD SA of {@code sa} (or of the IKE SA that replaced it) with inbound SPI
     * {@code inboundSpi} with an INFORMATIONAL exchange (RFC 7296 §1.4.1), as an operator asks.
     * Nothing happens when it is gone or its IKE SA is not established.
     */
    public void terminateChild(IkeSa sa, int inboundSpi) {
        executorOf.getOrDefault(sa, IMMEDIATE).execute(() -> {
            IkeSa current = sa.current();
            if (current.state() == IkeSaState.ESTABLISHED) {
                current.childSas().byInboundSpi(inboundSpi).ifPresent(child ->
                        current.tasks().queue(ExchangeType.INFORMATIONAL, DeleteTask.childSa(current, child)));
            }
        });
    }

    /**
     * Tells the peer of {@code sa} (or of the IKE SA that replaced it) with UPDATE_SA_ADDRESSES that
     * the IKE SA and its CHILD SAs now run from the address and port we send from (RFC 4555 §3.5):
     * what the node calls when its own address, or the NAT in front of it, changed. The response's
     * NAT detection sets the IKE SA's NAT findings again. False when MOBIKE was not negotiated.
     */
    public CompletableFuture<Boolean> updateSaAddresses(IkeSa sa) {
        return onSaThread(sa, s -> {
            IkeSa current = s.current();
            if (!current.mobike() || current.state() != IkeSaState.ESTABLISHED) {
                return false;
            }
            current.tasks().queue(ExchangeType.INFORMATIONAL, MobikeTask.update(current));
            return true;
        });
    }

    /**
     * Runs {@code action} on {@code sa}'s thread, where its state may be read and changed; the
     * future completes with the result there (or fails with what it threw). For readers off that
     * thread: the admin API, which never reads an IKE SA anywhere else.
     */
    public <T> CompletableFuture<T> onSaThread(IkeSa sa, Function<IkeSa, T> action) {
        CompletableFuture<T> result = new CompletableFuture<>();
        IkeSaExecutor executor = executorOf.get(sa);
        Runnable run = () -> {
            try {
                result.complete(action.apply(sa));
            } catch (RuntimeException e) {
                result.completeExceptionally(e);
            }
        };
        if (executor != null) {
            executor.execute(run);
        } else { // gone from the engine: its thread is still the one of its timers
            sa.timers().execute(run);
        }
        return result;
    }

    /** strongSwan's {@code charon.keep_alive} default: NAT keepalives every 20 s. */
    public static final Duration DEFAULT_NAT_KEEPALIVE = Duration.ofSeconds(20);

    /**
     * How often an IKE SA behind a NAT sends keepalives (RFC 3948 §2.3); zero for none. IKE SAs
     * established from now on use it.
     */
    public void natKeepalive(Duration interval) {
        natKeepalive = interval;
    }

    /**
     * Tells {@code observer} every event of every IKE SA from now on, on that SA's thread, after the
     * node's own listener: {@code childInstalled} once the install is done (the stage it returns is
     * not waited for), {@code ikeSaChanged} never. It must not block. Closing the result stops it.
     */
    public AutoCloseable observe(IkeEvents observer) {
        observers.add(observer);
        return () -> observers.remove(observer);
    }

    /**
     * Deletes the CHILD SA of {@code sa} with inbound SPI {@code inboundSpi}: its hard lifetime
     * (by time here, by bytes or packets from the data plane) ran out.
     */
    public void expireChild(IkeSa sa, int inboundSpi) {
        executorOf.getOrDefault(sa, IMMEDIATE).execute(() -> ChildLifetimes.expire(sa, inboundSpi));
    }

    /**
     * Deletes {@code sa} with an INFORMATIONAL exchange (its CHILD SAs go with it); one not yet
     * established is dropped here only, as INFORMATIONAL exchanges follow the initial ones (§1.4).
     */
    public void terminate(IkeSa sa) {
        executorOf.getOrDefault(sa, IMMEDIATE).execute(() -> {
            IkeSa current = sa.current(); // after a rekey, the IKE SA that holds the CHILD SAs now
            if (current.state() == IkeSaState.ESTABLISHED) {
                current.tasks().queue(ExchangeType.INFORMATIONAL, DeleteTask.ikeSa(current));
            } else {
                current.destroy("terminated before it was established");
            }
        });
    }

    /** Every IKE SA alive now. */
    public List<IkeSa> ikeSas() {
        return List.copyOf(byLocalSpi.values());
    }

    /** The IKE SA filed under our SPI {@code localSpi}, if this engine has one. */
    public Optional<IkeSa> ikeSa(long localSpi) {
        return Optional.ofNullable(byLocalSpi.get(localSpi));
    }

    /**
     * Takes over an IKE SA another node established (docs/ha.md, "IKE SA failover"): an IKE SA
     * made from {@code s} (keys, message IDs, cached response, peer endpoint and our port, NAT,
     * CHILD SAs) is filed under our SPI so that the peer's datagrams find it, with DPD and the CHILD
     * SAs' rekey and lifetime timers from their recorded deadlines, the IKE SA's from when it was
     * established there. {@code beforeStart} runs on its thread before it sends anything (the node
     * registers its CHILD SAs there).
     *
     * <p>When its state may be stale, RFC 6311's message ID synchronization runs before anything
     * else: a request of the old owner's was in flight ({@link IkeSaSnapshot#requestInFlight}: the
     * peer may or may not have processed it), or {@code merged}, both sides of a split owned it. A
     * peer that did not announce RFC 6311 gets our next request one ID above the one in flight
     * instead (a takeover most likely lost the response, not the request). An IKE SA that was
     * being deleted or replaced by a rekey is deleted.
     *
     * @return completes with the IKE SA once it runs, or fails (no such connection here, an IKE SA
     *         with that SPI exists)
     */
    public CompletableFuture<IkeSa> adopt(IkeSaSnapshot s, boolean merged, Consumer<IkeSa> beforeStart) {
        Optional<IkeConnection> c = env.connections().byName(s.connection());
        if (c.isEmpty()) {
            return CompletableFuture.failedFuture(new IllegalArgumentException(
                    "no connection '" + s.connection() + "' for the IKE SA to take over"));
        }
        IkeSaExecutor executor = executors.get();
        IkeSa sa = new IkeSa(s.originalInitiator(), s.spiI(), s.spiR(), env, executor, this::responderTasks,
                s.remote(), localAddress, this::forget);
        if (byLocalSpi.putIfAbsent(s.localSpi(), sa) != null) {
            return CompletableFuture.failedFuture(new IllegalStateException("an IKE SA with SPI "
                    + Long.toHexString(s.localSpi()) + " is here already"));
        }
        sa.successors(successors);
        executorOf.put(sa, executor);
        CompletableFuture<IkeSa> done = new CompletableFuture<>();
        executor.execute(() -> {
            try {
                sa.restore(s, c.get());
            } catch (RuntimeException e) {
                byLocalSpi.remove(s.localSpi(), sa);
                executorOf.remove(sa);
                done.completeExceptionally(e);
                return;
            }
            env.counters().adopted();
            for (IkeSaSnapshot.Child child : s.children()) {
                childLifetimes.resume(sa, child.child().inboundSpi(), child.rekeyAtMillis(), child.expireAtMillis());
            }
            beforeStart.accept(sa);
            LOG.info("{} taken over from another node: {}", sa, s);
            if (s.requestInFlight() || merged) {
                if (sa.peerMessageIdSync()) {
                    env.counters().messageIdSync();
                    sa.tasks().queueMessageIdSync(new MessageIdSyncTask(sa));
                } else {
                    LOG.warn("{}: its state may be stale but the peer did not announce RFC 6311 message ID sync; "
                            + "our next request skips message ID {}", sa, sa.tasks().nextRequestId());
                    sa.tasks().skipRequestId();
                }
            }
            if (s.inFlightNewChild() != 0) {
                undoLostChildExchange(sa, s.inFlightRekeyedChild(), s.inFlightNewChild());
            }
            if (sa.state() == IkeSaState.DELETING) {
                sa.tasks().queue(ExchangeType.INFORMATIONAL, DeleteTask.ikeSa(sa));
            } else {
                indexEstablished(sa);
                DeadPeerDetection.start(sa);
                NatKeepalives.start(sa, natKeepalive);
                ikeLifetimes.start(sa);
            }
            done.complete(sa);
        });
        return done;
    }

    /**
     * The old owner's CREATE_CHILD_SA was in flight when it died: the peer may hold the pair it
     * proposed (whose keys died with the old owner) and, for a rekey, only wait for the Delete of
     * the CHILD SA it replaced. Both are deleted and, for a rekey, a fresh CHILD SA of the same
     * configuration made: its traffic pauses for two exchanges instead of running into an SA the
     * peer no longer uses.
     */
    private static void undoLostChildExchange(IkeSa sa, int rekeyedSpi, int proposedSpi) {
        ChildSa rekeyed = rekeyedSpi == 0 ? null : sa.childSas().byInboundSpi(rekeyedSpi).orElse(null);
        LOG.info("{}: the old owner's CREATE_CHILD_SA was in flight; deleting what it may have made{}", sa,
                rekeyed == null ? "" : " and " + rekeyed + ", and making a fresh CHILD SA");
        sa.tasks().queue(ExchangeType.INFORMATIONAL, DeleteTask.exchangeLostInTakeover(sa, rekeyed, proposedSpi));
        if (rekeyed != null) {
            sa.connection().child(rekeyed.name()).ifPresent(config -> sa.tasks().queue(ExchangeType.CREATE_CHILD_SA,
                    CreateChildSaTask.newChild(sa, config, new CompletableFuture<>())));
        }
    }

    /** Where messages for IKE SAs this engine does not have are reported (besides their counted drop). */
    public void onUnknownIkeSa(UnknownIkeSaListener listener) {
        this.unknownSa = listener;
    }

    /** Drops {@code sa} here without telling the peer or the SAD: another node owns it now ({@link IkeSa#abandon}). */
    public void abandon(IkeSa sa, String reason) {
        executorOf.getOrDefault(sa, IMMEDIATE).execute(() -> sa.abandon(reason));
    }

    @Override
    public void onMessage(int localPort, InetSocketAddress peer, byte[] buf, int off, int len) {
        byte[] datagram = Arrays.copyOfRange(buf, off, off + len);
        Optional<IkeHeader> peeked = IkeHeader.peek(datagram);
        if (peeked.isEmpty()) {
            env.counters().dropped(IkeDecodeResult.Reason.TRUNCATED);
            return;
        }
        IkeHeader h = peeked.get();
        if (h.exchange() == ExchangeType.IKE_SA_INIT && !h.isResponse() && h.responderSpi() == 0 && h.isInitiator()) {
            newInitRequest(localPort, peer, datagram, h);
            return;
        }
        long ours = h.isInitiator() ? h.responderSpi() : h.initiatorSpi();
        IkeSa sa = byLocalSpi.get(ours);
        if (sa == null) {
            env.counters().dropped(IkeDrop.NO_SA);
            unknownSa.onUnknownIkeSa(h.initiatorSpi(), h.responderSpi(), peer);
            return;
        }
        executorOf.getOrDefault(sa, IMMEDIATE).execute(() -> sa.receive(datagram, peer, localPort));
    }

    /**
     * A first IKE_SA_INIT request (responder SPI 0): a retransmission goes to its half-open IKE SA;
     * otherwise a responder IKE SA is made if {@link HalfOpenSas#admit} lets the request in, and
     * dropped if it has not authenticated within {@code half_open_timeout}.
     */
    private void newInitRequest(int localPort, InetSocketAddress peer, byte[] datagram, IkeHeader h) {
        IkeSa existing = halfOpen.find(h.initiatorSpi(), peer);
        if (existing != null) { // a retransmission: the SA answers from its cache
            executorOf.getOrDefault(existing, IMMEDIATE).execute(() -> existing.receive(datagram, peer, localPort));
            return;
        }
        IkeDecodeResult.Ok decoded = halfOpen.admit(localPort, peer, datagram, h);
        if (decoded == null) {
            return;
        }
        IkeSaExecutor executor = executors.get();
        IkeSa sa = new IkeSa(false, h.initiatorSpi(), newSpi(), env, executor, this::responderTasks, peer,
                localAddress, this::forget);
        sa.candidates(env.connections().forAddresses(localAddress, IpAddress.fromBytes(peer.getAddress().getAddress())));
        sa.successors(successors);
        byLocalSpi.put(sa.localSpi(), sa);
        halfOpen.add(h.initiatorSpi(), peer, sa);
        executorOf.put(sa, executor);
        executor.execute(() -> {
            sa.timers().schedule(halfOpen.timeout(), () -> {
                if (sa.isAlive() && halfOpen.contains(sa)) {
                    env.counters().halfOpenTimeout();
                    sa.destroy("not authenticated within " + halfOpen.timeout().toSeconds() + " s (half_open_timeout)");
                }
            });
            sa.receive(decoded, datagram, peer, localPort);
        });
    }

    private List<Task> responderTasks(IkeSa sa, ExchangeType type) {
        boolean keyed = sa.keys() != null;
        return switch (type) {
            case IKE_SA_INIT -> keyed ? List.of(new RefuseTask(NotifyType.INVALID_SYNTAX))
                    : List.of(IkeInitTask.responder(sa), NatDetectTask.responder(sa));
            case IKE_AUTH -> sa.state() == IkeSaState.CONNECTING && keyed
                    ? List.of(IkeAuthTask.responder(sa), IkeAuthChildTask.responder(sa))
                    : List.of(new RefuseTask(NotifyType.INVALID_SYNTAX));
            // RFC 9242 §3: only between IKE_SA_INIT and IKE_AUTH, and only for a negotiated additional key exchange
            case IKE_INTERMEDIATE -> sa.state() == IkeSaState.CONNECTING && keyed && sa.nextAdditionalKeyExchange() != null
                    ? List.of(IkeIntermediateTask.responder(sa))
                    : List.of(new RefuseTask(NotifyType.INVALID_SYNTAX));
            case INFORMATIONAL -> sa.mobike() ? List.of(new InformationalTask(sa), MobikeTask.responder(sa))
                    : List.of(new InformationalTask(sa));
            case CREATE_CHILD_SA -> List.of(new CreateChildSaResponder(sa));
            default -> List.of(new RefuseTask(NotifyType.INVALID_SYNTAX));
        };
    }

    private long newSpi() {
        while (true) {
            long spi = env.random().nextLong();
            if (spi != 0 && !byLocalSpi.containsKey(spi)) {
                return spi;
            }
        }
    }

    /** An established, not rekeyed IKE SA of {@code connection}, or null. */
    private IkeSa establishedOf(IkeConnection connection) {
        Set<IkeSa> candidates = establishedByConnection.get(connection);
        if (candidates != null) {
            for (IkeSa s : candidates) {
                if (s.connection() == connection && s.state() == IkeSaState.ESTABLISHED && s.successor() == null) {
                    return s;
                }
            }
        }
        return null;
    }

    private void indexEstablished(IkeSa sa) {
        IkeConnection connection = sa.connection();
        if (connection != null && byLocalSpi.get(sa.localSpi()) == sa) {
            establishedByConnection.computeIfAbsent(connection, k -> ConcurrentHashMap.newKeySet()).add(sa);
        }
    }

    private void unindex(IkeSa sa) {
        IkeConnection connection = sa.connection();
        if (connection != null) {
            establishedByConnection.computeIfPresent(connection, (k, set) -> {
                set.remove(sa);
                return set.isEmpty() ? null : set;
            });
        }
    }

    private void forget(IkeSa sa) {
        byLocalSpi.remove(sa.localSpi(), sa);
        unindex(sa);
        halfOpen.remove(sa);
        executorOf.remove(sa);
        CompletableFuture<IkeSa> f = initiations.remove(sa);
        if (f != null) {
            f.completeExceptionally(new IllegalStateException(sa + " failed before it was established"));
        }
    }

    private IkeSa successor(IkeSa old, boolean originalInitiator, long spiI, long spiR) {
        IkeSaExecutor executor = executorOf.get(old);
        if (executor == null) {
            executor = (IkeSaExecutor) old.timers();
        }
        IkeSa next = new IkeSa(originalInitiator, spiI, spiR, env, executor, this::responderTasks,
                old.endpoints().remote(), localAddress, this::forget);
        next.successors(successors);
        executorOf.put(next, executor);
        byLocalSpi.put(next.localSpi(), next);
        return next;
    }

    private static final IkeSaExecutor IMMEDIATE = new IkeSaExecutor() {
        @Override
        public void execute(Runnable action) {
            action.run();
        }

        @Override
        public Cancellable schedule(Duration delay, Runnable action) {
            throw new IllegalStateException("no timers outside an IKE SA's executor");
        }

        @Override
        public long nowMillis() {
            return System.nanoTime() / 1_000_000;
        }
    };

    /** Keeps the engine's tables in step with IKE SA events, then passes them on. */
    private final class Bookkeeping implements IkeEvents {
        private final IkeEvents next;

        Bookkeeping(IkeEvents next) {
            this.next = next;
        }

        @Override
        public void ikeEstablished(IkeSa sa) {
            halfOpen.remove(sa);
            indexEstablished(sa);
            DeadPeerDetection.start(sa);
            NatKeepalives.start(sa, natKeepalive);
            ikeLifetimes.start(sa);
            next.ikeEstablished(sa);
            observers.forEach(o -> o.ikeEstablished(sa));
        }

        @Override
        public void ikeDestroyed(IkeSa sa, String reason) {
            next.ikeDestroyed(sa, reason);
            observers.forEach(o -> o.ikeDestroyed(sa, reason));
        }

        @Override
        public void ikeRekeyed(IkeSa old, IkeSa replacement) {
            env.counters().ikeRekeyed();
            indexEstablished(replacement);
            DeadPeerDetection.start(replacement);
            NatKeepalives.start(replacement, natKeepalive);
            ikeLifetimes.start(replacement);
            next.ikeRekeyed(old, replacement);
            observers.forEach(o -> o.ikeRekeyed(old, replacement));
        }

        @Override
        public void childRekeyed(IkeSa sa, ChildSa old, ChildSa replacement) {
            LOG.info("{} CHILD_SA {} rekeyed, replaced by {}", sa, old, replacement);
            env.counters().childRekeyed();
            next.childRekeyed(sa, old, replacement);
            observers.forEach(o -> o.childRekeyed(sa, old, replacement));
        }

        @Override
        public void childrenLost(IkeSa sa, List<ChildSa> children, boolean peerDead) {
            next.childrenLost(sa, children, peerDead);
            observers.forEach(o -> o.childrenLost(sa, children, peerDead));
            afterClose.lost(sa, children, peerDead);
        }

        @Override
        public void childEstablished(IkeSa sa, ChildSa child) {
            childLifetimes.start(sa, child);
            afterClose.established(sa, child);
            next.childEstablished(sa, child);
            observers.forEach(o -> o.childEstablished(sa, child));
        }

        @Override
        public CompletionStage<?> childInstalled(IkeSa sa, ChildSa child) {
            CompletionStage<?> installed = next.childInstalled(sa, child);
            reauthentication.installing(sa, installed);
            CompletableFuture<IkeSa> f = initiations.remove(sa);
            if (f != null && installed.toCompletableFuture().isDone()) {
                f.complete(sa);
            } else if (f != null) { // an initiation is done when its CHILD SA carries traffic (DESIGN §4)
                installed.whenComplete((v, e) -> sa.timers().execute(() -> f.complete(sa)));
            }
            if (!observers.isEmpty()) { // after this turn of the IKE SA's thread, whatever the stage
                installed.whenComplete((v, e) -> sa.timers().execute(
                        () -> observers.forEach(o -> o.childInstalled(sa, child))));
            }
            return installed;
        }

        @Override
        public void childDeleted(IkeSa sa, ChildSa child) {
            next.childDeleted(sa, child);
            observers.forEach(o -> o.childDeleted(sa, child));
        }

        @Override
        public CompletionStage<?> ikeSaChanged(IkeSa sa) {
            return next.ikeSaChanged(sa);
        }

        @Override
        public void ikeAbandoned(IkeSa sa, String reason) {
            next.ikeAbandoned(sa, reason);
            observers.forEach(o -> o.ikeAbandoned(sa, reason));
        }

        @Override
        public void failed(IkeSa sa, String reason) {
            LOG.warn("{}: {}", sa, reason);
            next.failed(sa, reason);
            observers.forEach(o -> o.failed(sa, reason));
            if (sa.state() == IkeSaState.ESTABLISHED) { // a child failed; the IKE SA stays
                CompletableFuture<IkeSa> f = initiations.remove(sa);
                if (f != null) {
                    f.completeExceptionally(new IllegalStateException(reason));
                }
            }
        }
    }
}
