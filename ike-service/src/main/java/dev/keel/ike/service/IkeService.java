package dev.keel.ike.service;

import dev.keel.ike.admin.IkeAdminService;
import dev.keel.ike.admin.LogControl;
import dev.keel.ike.engine.IkeSettings;
import dev.keel.core.net.IpAddress;
import dev.keel.ike.metrics.IkeMetrics;
import dev.keel.ike.metrics.IkeServiceMetrics;
import dev.keel.ike.net.IkeRelayService;
import dev.keel.ike.net.IkeTransport;
import dev.keel.ike.net.UdpIkeSockets;
import dev.keel.ike.config.IkeConnection;
import dev.keel.ike.session.IkeSa;
import dev.keel.ike.session.ConnectionDirectory;
import dev.keel.ike.session.IkeEvents;
import dev.keel.ike.engine.IkeEngine;
import dev.keel.ike.session.VertxIkeSaExecutor;
import io.grpc.Channel;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * ike-service running alone: the IKE engine on its own UDP ports (IKE and NAT-T IKE) or, in relay
 * mode, behind the esp-workers that own them ({@link IkeRelayService}, docs/gateway.md), its
 * connections from policy-service's Watch stream, its CHILD SAs installed through sad-service's
 * gRPC API for the data-plane node {@code owner} (an esp-worker, which picks them up from the
 * SAD's Watch stream). {@code start} children are initiated as their connection arrives.
 *
 * <p>Given the cluster KEK's unwrap, its IKE SAs are stored in the SAD as the gateway stores them
 * ({@link SadIkeSaStore}, naming this service) and a restarted service takes over the records
 * naming it ({@link SadIkeSaAdopter#forIkeService}) before it initiates {@code start} children,
 * and only for connections no taken-over IKE SA carries: the peers see no new IKE_SA_INIT
 * (docs/gateway.md, "The services apart").
 *
 * <p>In relay mode without an explicit {@code owner}, a CHILD SA is installed for the node of the
 * esp-worker the peer's IKE last came through, and ESP a worker reports it has no SA for is
 * claimed for that worker's node ({@link SadSaClaimer#onUnknownEspAt}): with several workers on
 * one address, the SAs follow the kernel's spreading of the peers (docs/esp-worker.md, "Several
 * workers per address").
 */
public final class IkeService implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(IkeService.class);

    /**
     * @param address  outer address the IKE sockets bind to; in relay mode the workers' outer address
     * @param ikePort  500, or P in a lab (in relay mode: the workers' port serving as 500)
     * @param natTPort 4500 (P + 1 in a lab); -1 when another process owns it and no relay is used
     *                 (in relay mode: the workers' port serving as 4500)
     * @param espPort  the data plane's ESP-in-UDP port recorded in the SAs (normally 4500)
     * @param nodeId   this service's name in record ids
     * @param owner    node id of the SAs' owner: the sad-service member the esp-worker that runs them
     *                 watches as (the SAD only accepts members); empty: in relay mode the node of the
     *                 worker the peer's IKE came through, else the member serving the call
     * @param relay    no sockets of its own: IKE reaches the engine through {@link #relay()}, served
     *                 by the caller's gRPC server, from the esp-workers that own the ports
     * @param limits   what half-open IKE SAs may cost the responder (RFC 7296 §2.6)
     */
    public record Settings(String address, int ikePort, int natTPort, int espPort, int loops, String nodeId,
            String owner, boolean relay, IkeSettings limits) {
        public Settings {
            if (relay && natTPort <= 0) {
                throw new IllegalArgumentException("relay mode needs the workers' NAT-T port, got " + natTPort);
            }
        }

        /** Settings with the default half-open limits. */
        public Settings(String address, int ikePort, int natTPort, int espPort, int loops, String nodeId,
                String owner, boolean relay) {
            this(address, ikePort, natTPort, espPort, loops, nodeId, owner, relay, IkeSettings.DEFAULT);
        }

        /** Settings for IKE on this process's own sockets. */
        public Settings(String address, int ikePort, int natTPort, int espPort, int loops, String nodeId,
                String owner) {
            this(address, ikePort, natTPort, espPort, loops, nodeId, owner, false);
        }
    }

    /** How many peers the relay remembers with their worker before it starts again. */
    private static final int RELAY_ROUTES = 1 << 20;

    private final Vertx vertx;
    private final IkeEngine engine;
    private final UdpIkeSockets sockets;
    private final IkeRelayService relay;
    private final PolicyWatcher watcher;
    private final SadChildInstaller installer;
    private final SadSpiPool spis;
    private final SadSaClaimer claims;
    private final ScheduledExecutorService scheduler;
    private final SadIkeSaStore ikeStore;
    private final SadIkeSaAdopter takeovers;
    private final Channel saService;
    private final String owner;

    private IkeService(Vertx vertx, IkeEngine engine, UdpIkeSockets sockets, IkeRelayService relay,
            PolicyWatcher watcher, SadChildInstaller installer, SadSpiPool spis, SadSaClaimer claims,
            ScheduledExecutorService scheduler, SadIkeSaStore ikeStore, SadIkeSaAdopter takeovers, Channel saService,
            String owner) {
        this.vertx = vertx;
        this.saService = saService;
        this.owner = owner;
        this.claims = claims;
        this.ikeStore = ikeStore;
        this.takeovers = takeovers;
        this.spis = spis;
        this.engine = engine;
        this.sockets = sockets;
        this.relay = relay;
        this.watcher = watcher;
        this.installer = installer;
        this.scheduler = scheduler;
    }

    /** The longest a CHILD SA's completing response waits for the worker to hold it, as the gateway's. */
    static final int USABLE_TIMEOUT_MILLIS = 5_000;

    /** Binds the sockets (none in relay mode), then follows policy-service; IKE SAs are not stored. */
    public static Future<IkeService> start(Vertx vertx, Settings s, Channel policyService, Channel saService,
            Map<String, byte[]> secrets) {
        return start(vertx, s, policyService, saService, secrets, null);
    }

    /**
     * Binds the sockets (none in relay mode), then follows policy-service.
     *
     * @param ikeKeys the cluster KEK's unwrap: the IKE SAs are stored in the SAD and taken over after
     *                a restart; null: neither (an IKE SA ends with this process)
     */
    public static Future<IkeService> start(Vertx vertx, Settings s, Channel policyService, Channel saService,
            Map<String, byte[]> secrets, IkeSaRecords.KeyUnwrap ikeKeys) {
        return start(vertx, s, policyService, saService, secrets, ikeKeys, null);
    }

    /**
     * As {@link #start(Vertx, Settings, Channel, Channel, Map, IkeSaRecords.KeyUnwrap)}, with the
     * engine's and the service's meters in {@code metrics} (null: none).
     */
    public static Future<IkeService> start(Vertx vertx, Settings s, Channel policyService, Channel saService,
            Map<String, byte[]> secrets, IkeSaRecords.KeyUnwrap ikeKeys, MeterRegistry metrics) {
        SecureRandom random = new SecureRandom();
        AtomicReference<UdpIkeSockets> socketsRef = new AtomicReference<>();
        IkeRelayService relay = s.relay()
                ? new IkeRelayService(s.nodeId(), InetAddress.ofLiteral(s.address()), s.ikePort(), s.natTPort(),
                        RELAY_ROUTES)
                : null;
        IkeTransport transport = relay != null ? relay
                : (localPort, peer, message) -> socketsRef.get().send(localPort, peer, message);
        InetSocketAddress espLocal = new InetSocketAddress(s.address(), s.espPort());
        // Behind the relay the response that completes a CHILD SA waits until the owner's worker holds
        // it (install before use, as the gateway's data plane; docs/gateway.md)
        SadChildInstaller.InstallListener usable = relay == null ? null
                : (ids, owner, at) -> owner.isEmpty() ? CompletableFuture.completedFuture(false)
                        : relay.awaitUsable(owner, ids.inbound(), ids.outbound(), USABLE_TIMEOUT_MILLIS);
        SadChildInstaller installer = relay != null && (s.owner() == null || s.owner().isEmpty())
                ? new SadChildInstaller(saService, s.nodeId(), sa -> relay.workerOf(sa.endpoints().remote()), espLocal,
                        usable)
                : new SadChildInstaller(saService, s.nodeId(), s.owner(), espLocal, usable);
        ConnectionDirectory directory = new ConnectionDirectory();
        // ClaimOwnership: sad-service grants it to its admin role only (SadApiRoles)
        SadSaClaimer claims = relay == null ? null
                : new SadSaClaimer(saService, s.nodeId(), directory, new ClaimGate(ClaimGate.Limits.DEFAULTS));
        SadSpiPool spis = new SadSpiPool(saService);
        SadIkeSaStore ikeStore = ikeKeys == null ? null
                : new SadIkeSaStore(saService, IpAddress.parse(s.address()), s.owner(), s.nodeId(), installer::ids);
        IkeMetrics ikeMetrics = metrics == null ? null : new IkeMetrics(metrics);
        IkeEvents events = ikeStore == null ? installer : IkeEvents.all(installer, ikeStore);
        IkeEngine engine = new IkeEngine(transport, ikeMetrics == null ? events : IkeEvents.all(events, ikeMetrics),
                IpAddress.parse(s.address()), s.ikePort(),
                s.natTPort() > 0 ? s.natTPort() : s.ikePort() == 500 ? 4500 : s.ikePort() + 1, directory,
                spis, VertxIkeSaExecutor.roundRobin(vertx, s.loops()),
                s.limits(), random);
        if (metrics != null) { // here, on the caller's thread: registering loads classes and takes locks
            ikeMetrics.bind(engine);
            new IkeServiceMetrics(installer, ikeStore, null, claims, spis, relay).bindTo(metrics);
        }
        installer.attach(engine);
        if (ikeStore != null) {
            ikeStore.attach(engine);
        }
        if (relay != null) {
            relay.receiver(engine);
            relay.reports(workerReports(claims, new TrapAcquires(directory, () -> engine), installer));
        }
        ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().daemon().name("keel-ike-policy").factory());
        // The first batch of SPIs before the first setup (a failed one is retried by the next refill).
        return Future.fromCompletionStage(spis.start()).compose(v -> relay != null ? Future.<UdpIkeSockets>succeededFuture()
                : UdpIkeSockets.bind(vertx, s.address(), s.ikePort(), s.natTPort(), engine)).map(sockets -> {
            socketsRef.set(sockets);
            StartChildren starts = new StartChildren(engine, ikeStore != null);
            PolicyWatcher watcher = new PolicyWatcher(policyService, directory, secrets, s.ikePort(), scheduler,
                    starts::arrived).start();
            SadIkeSaAdopter takeovers = null;
            if (ikeStore != null) { // taken over once their connections are here, then the start children
                SadIkeSaAdopter t = SadIkeSaAdopter.forIkeService(saService, engine, installer, ikeStore, ikeKeys);
                watcher.firstSnapshot().thenRun(t::start);
                t.caughtUp().thenRun(starts::open);
                takeovers = t;
            }
            if (metrics != null && takeovers != null) {
                new IkeServiceMetrics(null, null, takeovers, null, null, null).bindTo(metrics);
            }
            return new IkeService(vertx, engine, sockets, relay, watcher, installer, spis, claims, scheduler,
                    ikeStore, takeovers, saService, s.owner() == null ? "" : s.owner());
        }).onFailure(e -> {
            scheduler.shutdownNow();
            spis.close();
            if (claims != null) {
                claims.close();
            }
        });
    }

    /** The IkeRelay gRPC service the esp-workers attach to (relay mode), or null (own sockets). */
    public IkeRelayService relay() {
        return relay;
    }

    public IkeEngine engine() {
        return engine;
    }

    /**
     * keel.v1.IkeService over this service's engine, for its admin listener: CHILD SAs' traffic as
     * the workers report it to the SAD ({@link SadChildSaUsage}), the owner the one given
     * ({@code --owner-node}, empty otherwise). ike-service is no cluster member: its Stats say 1.
     */
    public IkeAdminService adminService(LogControl log) {
        return new IkeAdminService(engine, new SadChildSaUsage(saService, installer::ids), owner, () -> 1, log);
    }

    public SadChildInstaller installer() {
        return installer;
    }

    /** Where the engine's inbound SPIs come from. */
    public SadSpiPool spis() {
        return spis;
    }

    public PolicyWatcher watcher() {
        return watcher;
    }

    /**
     * What the esp-workers report over the relay: ESP without an SA and outbound misses claim a
     * live CHILD SA for the reporting worker's node ({@link SadSaClaimer}); a miss with no such SA
     * initiates a {@code trap} child; lifetimes rekey (soft) or delete (hard) through the
     * installer, as the gateway's expiry events do.
     */
    private static IkeRelayService.WorkerReports workerReports(SadSaClaimer claims, TrapAcquires traps,
            SadChildInstaller installer) {
        return new IkeRelayService.WorkerReports() {
            @Override
            public void onUnknownEsp(String worker, int spi, InetSocketAddress sender) {
                claims.onUnknownEspAt(worker, spi, sender);
            }

            @Override
            public void onAcquire(String worker, String connection, String child, IpAddress source,
                    IpAddress destination, int protocol) {
                claims.onAcquireAt(worker, connection, child, destination, () -> traps.acquire(connection, child,
                        source + " -> " + destination + " (protocol " + protocol + ") at node '" + worker + "'"));
            }

            @Override
            public void onExpiry(String worker, String saId, boolean hard) {
                if (hard) {
                    installer.hardExpired(saId);
                } else {
                    installer.softExpired(saId);
                }
            }
        };
    }

    /** The claims of SAs for the esp-workers that report their ESP (relay mode), or null. */
    public SadSaClaimer claims() {
        return claims;
    }

    /** Where the IKE SAs are stored, or null (no KEK given). */
    public SadIkeSaStore ikeStore() {
        return ikeStore;
    }

    /** What takes over this service's IKE SAs after a restart, or null (no KEK given). */
    public SadIkeSaAdopter takeovers() {
        return takeovers;
    }

    /**
     * Initiates the {@code start} children of arriving connections; after a restart (IKE SAs
     * stored) only once the stored ones are taken over, and not for a connection one of them
     * carries: the peer has its CHILD SAs already.
     */
    private static final class StartChildren {
        private final IkeEngine engine;
        private List<IkeConnection> waiting;

        StartChildren(IkeEngine engine, boolean afterTakeovers) {
            this.engine = engine;
            this.waiting = afterTakeovers ? new ArrayList<>() : null;
        }

        void arrived(IkeConnection c) {
            synchronized (this) {
                if (waiting != null) {
                    waiting.add(c);
                    return;
                }
            }
            engine.initiateStartChildren(c);
        }

        void open() {
            List<IkeConnection> now;
            synchronized (this) {
                now = waiting;
                waiting = null;
            }
            Set<String> running = new HashSet<>();
            engine.ikeSas().forEach(sa -> running.add(sa.connection().name()));
            for (IkeConnection c : now) {
                if (running.contains(c.name())) {
                    LOG.info("{}: carried on by an IKE SA taken over from the SAD; its start children are not"
                            + " initiated again", c.name());
                } else {
                    engine.initiateStartChildren(c);
                }
            }
        }
    }

    /**
     * Stops: with its IKE SAs in the SAD (a KEK), leaves them there without a word to the peers,
     * for this ike-service's next start (or whichever takes its node id) to carry on, as after a
     * kill but with nothing in flight; the esp-workers keep forwarding meanwhile. Without, deletes
     * every IKE SA (waiting up to 3 s for the peers and the SAD), as nothing could carry them on.
     * Then closes the sockets.
     */
    public Future<Void> stop() {
        if (ikeStore != null) {
            List<IkeSa> sas = engine.ikeSas();
            LOG.info("stopping: {} IKE SA(s) left in the SAD for this ike-service's next start", sas.size());
            sas.forEach(sa -> engine.abandon(sa, "ike-service stops; its next start carries it on from the SAD"));
        } else {
            engine.ikeSas().forEach(engine::terminate);
        }
        Promise<Void> done = Promise.promise();
        long deadline = System.nanoTime() + 3_000_000_000L;
        awaitDrained(done, deadline);
        return done.future().map(v -> {
            close();
            return null;
        });
    }

    private void awaitDrained(Promise<Void> done, long deadline) {
        if (engine.ikeSaCount() == 0 && installer.pending() == 0 || System.nanoTime() > deadline) {
            done.tryComplete();
            return;
        }
        vertx.setTimer(20, id -> awaitDrained(done, deadline));
    }

    @Override
    public void close() {
        if (takeovers != null) {
            takeovers.close();
        }
        watcher.close();
        if (sockets != null) {
            sockets.close();
        }
        if (claims != null) {
            claims.close();
        }
        scheduler.shutdownNow();
    }
}
