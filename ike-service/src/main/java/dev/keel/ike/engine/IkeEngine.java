package dev.keel.ike.engine;

import dev.keel.ike.session.IkeEnvironment;
import dev.keel.ike.session.IkeSa;
import dev.keel.ike.session.ChildSa;
import dev.keel.ike.session.IkeSaExecutor;
import dev.keel.ike.session.SpiAllocator;
import dev.keel.ike.session.IkeEvents;
import dev.keel.ike.session.IkeDrop;
import dev.keel.ike.session.IkeSaState;
import dev.keel.ike.session.ConnectionDirectory;
import dev.keel.ike.session.IkeCounters;
import dev.keel.core.net.IpAddress;
import dev.keel.core.transform.KeyExchangeTransform;
import dev.keel.core.proposal.Proposal;
import dev.keel.core.proposal.ProposalSyntaxException;
import dev.keel.core.proposal.Protocol;
import dev.keel.ike.crypto.Auth;
import dev.keel.ike.crypto.IkeSaKeys;
import dev.keel.ike.crypto.IkeSuite;
import dev.keel.ike.crypto.InvalidKeyExchangeException;
import dev.keel.ike.crypto.KeyDerivation;
import dev.keel.ike.crypto.Prf;
import dev.keel.ike.crypto.Role;
import dev.keel.ike.crypto.SkCiphers;
import dev.keel.ike.crypto.KeyExchange;
import dev.keel.ike.config.ChildConnection;
import dev.keel.ike.config.IkeConnection;
import dev.keel.ike.message.ExchangeType;
import dev.keel.ike.message.IkeDecodeResult;
import dev.keel.ike.message.IkeHeader;
import dev.keel.ike.message.IkeMessage;
import dev.keel.ike.message.NotifyPayload;
import dev.keel.ike.message.NotifyType;
import dev.keel.ike.message.NoncePayload;
import dev.keel.ike.net.IkeReceiver;
import dev.keel.ike.net.IkeTransport;
import dev.keel.ike.task.IkeAuthChildTask;
import dev.keel.ike.task.ChildRekeyTask;
import dev.keel.ike.task.CreateChildSaResponder;
import dev.keel.ike.task.CreateChildSaTask;
import dev.keel.ike.task.IkeRekeyTask;
import dev.keel.ike.task.DeleteTask;
import dev.keel.ike.task.DpdTask;
import dev.keel.ike.task.IkeAuthTask;
import dev.keel.ike.task.IkeInitTask;
import dev.keel.ike.task.InformationalTask;
import dev.keel.ike.task.NatDetectTask;
import dev.keel.ike.task.RefuseTask;
import dev.keel.ike.session.RetransmitPolicy;
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
import java.util.concurrent.ConcurrentHashMap;
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

    /**
     * What the responder lets half-open IKE SAs cost it (RFC 7296 §2.6), under strongSwan's names
     * (strongswan.conf {@code charon.*}); the defaults suit a gateway.
     *
     * @param cookieThreshold       demand cookies while this many IKE SAs are half open ({@code cookie_threshold})
     * @param cookieThresholdIp     demand cookies from an address with this many half open ({@code cookie_threshold_ip})
     * @param halfOpenLimit         refuse new IKE_SA_INITs beyond this many half open ({@code init_limit_half_open})
     * @param blockThreshold        refuse new IKE_SA_INITs from an address with this many half open ({@code block_threshold})
     * @param halfOpenTimeout       a half-open IKE SA not authenticated by then is dropped ({@code half_open_timeout})
     * @param cookieSecretLifetime  the cookie secret is replaced this often; a cookie stays valid for up to
     *                              two lifetimes ({@code cookie_secret_lifetime}); zero: never
     */
    public record Limits(int cookieThreshold, int cookieThresholdIp, int halfOpenLimit, int blockThreshold,
            Duration halfOpenTimeout, Duration cookieSecretLifetime) {
        /**
         * Cookies from 1,000 half-open SAs or 32 from one address; refuse beyond 10,000 or 128 from
         * one address; 30 s to authenticate; a new cookie secret every 60 s. (strongSwan: 10 / 3 / 0 /
         * 5 / 30 s, sized for a host rather than a gateway cluster.)
         */
        public static final Limits DEFAULT = new Limits(1_000, 32, 10_000, 128, Duration.ofSeconds(30),
                Duration.ofSeconds(60));

        /** Checks the ranges. */
        public Limits {
            if (cookieThreshold < 0 || cookieThresholdIp < 0 || halfOpenLimit < 1 || blockThreshold < 1) {
                throw new IllegalArgumentException("half-open limits must be positive, thresholds not negative");
            }
            if (!halfOpenTimeout.isPositive() || cookieSecretLifetime.isNegative()) {
                throw new IllegalArgumentException("half_open_timeout must be positive, cookie_secret_lifetime not negative");
            }
        }
    }

    /**
     * The largest first IKE_SA_INIT request a responder takes. A half-open IKE SA keeps it (AUTH
     * signs it, §2.15), so this bounds what one costs; RFC 7296 §2 asks for 3,000 bytes, and even a
     * 1,568-byte ML-KEM-1024 public value leaves ample room for proposals and notifies.
     */
    public static final int MAX_INIT_REQUEST = 8_192;

    private final IkeEnvironment env;
    private final IpAddress localAddress;
    private final Supplier<IkeSaExecutor> executors;
    private final Limits limits;
    private final CookieJar cookies;
    private final Map<Long, IkeSa> byLocalSpi = new ConcurrentHashMap<>();
    private final HalfOpenSas halfOpen = new HalfOpenSas();
    private final Map<IkeSa, IkeSaExecutor> executorOf = new ConcurrentHashMap<>();
    private final Map<IkeSa, CompletableFuture<IkeSa>> initiations = new ConcurrentHashMap<>();
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
            RetransmitPolicy retransmit, Limits limits, SecureRandom random) {
        this.localAddress = localAddress;
        this.executors = executors;
        this.limits = limits;
        this.cookies = new CookieJar(random);
        this.env = new IkeEnvironment(transport, new Bookkeeping(events), random, spis, connections, retransmit,
                new IkeCounters(), ikePort, natTPort);
        warmUp(random);
        if (limits.cookieSecretLifetime().isPositive()) {
            scheduleCookieRotation(executors.get());
        }
    }

    /** Replaces the cookie secret every {@code cookie_secret_lifetime}, on one of the engine's executors. */
    private void scheduleCookieRotation(IkeSaExecutor executor) {
        executor.schedule(limits.cookieSecretLifetime(), () -> {
            cookies.rotate();
            scheduleCookieRotation(executor);
        });
    }

    /**
     * Loads and runs the crypto and codec paths once, on the constructing thread: the first use
     * of a class (Bouncy Castle's signed jar above all) costs hundreds of milliseconds on a busy
     * machine and must not happen on an event loop in the middle of an exchange. Every key
     * exchange group, and one SK round trip per cipher family, with throwaway keys.
     */
    private static void warmUp(SecureRandom random) {
        for (KeyExchangeTransform group : KeyExchangeTransform.values()) {
            if (group == KeyExchangeTransform.NONE) {
                continue;
            }
            try (KeyExchange a = KeyExchange.create(group, random); KeyExchange b = KeyExchange.create(group, random)) {
                a.sharedSecret(b.publicValue());
            } catch (IllegalArgumentException | InvalidKeyExchangeException e) {
                // a group Keel does not implement: nothing to warm
            }
        }
        for (String suite : List.of("aes256gcm16-prfsha256-x25519", "aes128-sha256-modp2048",
                "chacha20poly1305-prfsha256-x25519")) {
            try {
                IkeSuite s = IkeSuite.from(Proposal.parse(Protocol.IKE, suite).effective());
                byte[] n = new byte[32];
                try (IkeSaKeys keys = KeyDerivation.ikeSa(s, n, n, n, new byte[8], new byte[8]);
                        SkCiphers.Pair i = SkCiphers.create(s, keys, Role.INITIATOR, random);
                        SkCiphers.Pair r = SkCiphers.create(s, keys, Role.RESPONDER, random)) {
                    IkeHeader h = IkeHeader.of(1, 2, ExchangeType.INFORMATIONAL, true, false, 0);
                    byte[] m = IkeMessage.encodeProtected(h, List.of(NotifyPayload.of(NotifyType.INITIAL_CONTACT)),
                            i.outbound()).bytes();
                    IkeMessage.decode(m, r.inbound());
                    Auth.pskAuth(Prf.of(s.prf()), n, n);
                }
            } catch (ProposalSyntaxException | RuntimeException e) {
                throw new IllegalStateException("IKE crypto self-test failed for " + suite, e);
            }
        }
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
        cookies.rotate();
    }

    /**
     * Initiates every child of {@code c} whose {@code start_action} is {@code start} (a connection
     * without a remote address cannot initiate and is skipped); failures are logged, not thrown.
     */
    public void initiateStartChildren(IkeConnection c) {
        if (c.remoteAddrs().isEmpty()) {
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
            return createChild(existing, child).thenApply(x -> existing.current());
        }
        IkeSaExecutor executor = executors.get();
        IkeSa sa = new IkeSa(true, newSpi(), 0, env, executor, this::responderTasks, c.get().remoteEndpoint(),
                localAddress, this::forget);
        sa.connection(c.get());
        sa.successors(successors);
        byLocalSpi.put(sa.localSpi(), sa);
        executorOf.put(sa, executor);
        CompletableFuture<IkeSa> done = new CompletableFuture<>();
        initiations.put(sa, done);
        executor.execute(() -> {
            sa.tasks().queue(ExchangeType.IKE_SA_INIT, IkeInitTask.initiator(sa), NatDetectTask.initiator(sa));
            sa.tasks().queue(ExchangeType.IKE_AUTH, IkeAuthTask.initiator(sa), IkeAuthChildTask.initiator(sa, ch.get()));
        });
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
     * Deletes the CHILD SA of {@code sa} with inbound SPI {@code inboundSpi}: its hard lifetime
     * (by time here, by bytes or packets from the data plane) ran out.
     */
    public void expireChild(IkeSa sa, int inboundSpi) {
        executorOf.getOrDefault(sa, IMMEDIATE).execute(() -> deleteChild(sa, inboundSpi, "hard lifetime reached"));
    }

    private static void deleteChild(IkeSa first, int inboundSpi, String why) {
        IkeSa sa = first.current();
        if (!sa.isAlive()) {
            return;
        }
        sa.childByInboundSpi(inboundSpi).ifPresent(child -> {
            LOG.info("{}: deleting {}: {}", sa, child, why);
            sa.tasks().queue(ExchangeType.INFORMATIONAL, DeleteTask.childSa(sa, child));
        });
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
            return;
        }
        executorOf.getOrDefault(sa, IMMEDIATE).execute(() -> sa.receive(datagram, peer, localPort));
    }

    /**
     * A first IKE_SA_INIT request (responder SPI 0): a retransmission goes to its half-open IKE SA;
     * otherwise a responder IKE SA is made only for a request that decodes, carries message ID 0
     * (§2.2), fits {@link #MAX_INIT_REQUEST}, stays inside the half-open limits and, under load,
     * returns our cookie (§2.6). It is dropped if not authenticated within {@code half_open_timeout}.
     */
    private void newInitRequest(int localPort, InetSocketAddress peer, byte[] datagram, IkeHeader h) {
        IkeSa existing = halfOpen.find(h.initiatorSpi(), peer);
        if (existing != null) { // a retransmission: the SA answers from its cache
            executorOf.getOrDefault(existing, IMMEDIATE).execute(() -> existing.receive(datagram, peer, localPort));
            return;
        }
        if (datagram.length > MAX_INIT_REQUEST) {
            env.counters().dropped(IkeDrop.INIT_TOO_LARGE);
            return;
        }
        if (h.messageId() != 0) {
            env.counters().dropped(IkeDrop.BAD_INIT_REQUEST);
            return;
        }
        if (halfOpen.count() >= limits.halfOpenLimit()) {
            env.counters().dropped(IkeDrop.HALF_OPEN_LIMIT);
            return;
        }
        int fromPeer = halfOpen.countFrom(peer.getAddress());
        if (fromPeer >= limits.blockThreshold()) {
            env.counters().dropped(IkeDrop.HALF_OPEN_PEER_LIMIT);
            return;
        }
        IkeDecodeResult decoded = IkeMessage.decode(datagram, null);
        if (!(decoded instanceof IkeDecodeResult.Ok ok)) {
            if (decoded instanceof IkeDecodeResult.UnprotectedError err) {
                env.counters().dropped(err.reason());
            } else {
                env.counters().dropped(IkeDrop.BAD_INIT_REQUEST);
            }
            return;
        }
        boolean cookieDemanded = halfOpen.count() >= limits.cookieThreshold() || fromPeer >= limits.cookieThresholdIp();
        if (cookieDemanded && !hasValidCookie(ok.message(), peer, h, localPort)) {
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
            sa.timers().schedule(limits.halfOpenTimeout(), () -> {
                if (sa.isAlive() && halfOpen.contains(sa)) {
                    env.counters().halfOpenTimeout();
                    sa.destroy("not authenticated within " + limits.halfOpenTimeout().toSeconds() + " s (half_open_timeout)");
                }
            });
            sa.receive(decoded, datagram, peer, localPort);
        });
    }

    /** RFC 7296 §2.6: under load, a first IKE_SA_INIT without our cookie gets one and no state. */
    private boolean hasValidCookie(IkeMessage request, InetSocketAddress peer, IkeHeader h, int localPort) {
        Optional<NoncePayload> ni = request.first(NoncePayload.class);
        if (ni.isEmpty()) {
            env.counters().dropped(IkeDrop.BAD_INIT_REQUEST);
            return false;
        }
        byte[] address = peer.getAddress().getAddress();
        Optional<NotifyPayload> cookie = request.notify(NotifyType.COOKIE);
        if (cookie.isPresent() && cookies.verify(cookie.get().data(), ni.get().nonce(), address, h.initiatorSpi())) {
            return true;
        }
        IkeHeader response = IkeHeader.of(h.initiatorSpi(), 0, ExchangeType.IKE_SA_INIT, false, true, 0);
        byte[] answer = IkeMessage.encode(response, List.of(NotifyPayload.of(NotifyType.COOKIE,
                cookies.make(ni.get().nonce(), address, h.initiatorSpi())))).bytes();
        env.counters().dropped(IkeDrop.COOKIE_REQUIRED);
        env.counters().cookieSent();
        env.transport().send(localPort, peer, answer);
        return false;
    }

    private List<Task> responderTasks(IkeSa sa, ExchangeType type) {
        boolean keyed = sa.keys() != null;
        return switch (type) {
            case IKE_SA_INIT -> keyed ? List.of(new RefuseTask(NotifyType.INVALID_SYNTAX))
                    : List.of(IkeInitTask.responder(sa), NatDetectTask.responder(sa));
            case IKE_AUTH -> sa.state() == IkeSaState.CONNECTING && keyed
                    ? List.of(IkeAuthTask.responder(sa), IkeAuthChildTask.responder(sa))
                    : List.of(new RefuseTask(NotifyType.INVALID_SYNTAX));
            case INFORMATIONAL -> List.of(new InformationalTask(sa));
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
        IkeSa next = new IkeSa(originalInitiator, spiI, spiR, env, executor, this::responderTasks, old.remote(),
                localAddress, this::forget);
        next.successors(successors);
        executorOf.put(next, executor);
        byLocalSpi.put(next.localSpi(), next);
        return next;
    }

    /**
     * Rekey and hard-lifetime timers of a new CHILD SA (strongSwan's rekey_time / life_time):
     * the rekey comes up to a tenth of rekey_time early, never after life_time (jitter keeps both
     * peers from rekeying at the same moment, RFC 7296 §2.8.1); the timers follow the CHILD SA
     * to a rekeyed IKE SA and stop when it is deleted.
     */
    private void scheduleLifetimes(IkeSa sa, ChildSa child) {
        Optional<ChildConnection> config = sa.connection().child(child.name());
        if (config.isEmpty()) {
            return;
        }
        Duration rekey = config.get().rekeyTime();
        Duration life = config.get().lifeTime();
        int spi = child.inboundSpi();
        if (rekey.isPositive()) {
            long headroom = life.isPositive() ? Math.max(0, life.toMillis() - rekey.toMillis()) : rekey.toMillis();
            long jitterMax = Math.min(headroom, rekey.toMillis() / 10);
            long jitter = jitterMax <= 0 ? 0 : env.random().nextLong(jitterMax);
            sa.addChildTimer(spi, sa.timers().schedule(rekey.minusMillis(jitter),
                    () -> ChildRekeyTask.start(sa, spi)));
        }
        if (life.isPositive()) {
            sa.addChildTimer(spi, sa.timers().schedule(life, () -> deleteChild(sa, spi, "hard lifetime reached")));
        }
    }

    /**
     * Dead peer detection (RFC 7296 §1.4, §2.4): dpdDelay after the last authenticated message
     * from the peer, an empty INFORMATIONAL request unless one of ours is already outstanding;
     * an unanswered one ends the IKE SA through the retransmission limit.
     */
    private void scheduleLiveness(IkeSa sa) {
        Duration delay = sa.connection().dpdDelay();
        if (delay.isPositive()) {
            scheduleLiveness(sa, delay, delay);
        }
    }

    private void scheduleLiveness(IkeSa sa, Duration delay, Duration after) {
        sa.timers().schedule(after, () -> {
            if (!sa.isAlive() || sa.successor() != null) {
                return; // a rekeyed IKE SA's replacement runs its own checks
            }
            long idle = sa.timers().nowMillis() - sa.lastInboundMillis();
            if (idle < delay.toMillis()) { // heard from the peer meanwhile: check dpdDelay after that
                scheduleLiveness(sa, delay, Duration.ofMillis(delay.toMillis() - idle));
                return;
            }
            if (!sa.tasks().busy()) {
                sa.tasks().queue(ExchangeType.INFORMATIONAL, new DpdTask());
            }
            scheduleLiveness(sa, delay, delay);
        });
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
            scheduleLiveness(sa);
            next.ikeEstablished(sa);
        }

        @Override
        public void ikeDestroyed(IkeSa sa, String reason) {
            next.ikeDestroyed(sa, reason);
        }

        @Override
        public void ikeRekeyed(IkeSa old, IkeSa replacement) {
            indexEstablished(replacement);
            scheduleLiveness(replacement);
            next.ikeRekeyed(old, replacement);
        }

        @Override
        public void childRekeyed(IkeSa sa, ChildSa old, ChildSa replacement) {
            next.childRekeyed(sa, old, replacement);
        }

        @Override
        public void childEstablished(IkeSa sa, ChildSa child) {
            scheduleLifetimes(sa, child);
            next.childEstablished(sa, child);
            CompletableFuture<IkeSa> f = initiations.remove(sa);
            if (f != null) {
                f.complete(sa);
            }
        }

        @Override
        public void childDeleted(IkeSa sa, ChildSa child) {
            next.childDeleted(sa, child);
        }

        @Override
        public void failed(IkeSa sa, String reason) {
            LOG.warn("{}: {}", sa, reason);
            next.failed(sa, reason);
            if (sa.state() == IkeSaState.ESTABLISHED) { // a child failed; the IKE SA stays
                CompletableFuture<IkeSa> f = initiations.remove(sa);
                if (f != null) {
                    f.completeExceptionally(new IllegalStateException(reason));
                }
            }
        }
    }
}
