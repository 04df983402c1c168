package dev.keel.gateway;

import dev.keel.core.crypto.AeadEngine;
import dev.keel.core.net.IpAddress;
import dev.keel.esp.config.PlaintextConfig;
import dev.keel.esp.acquire.AcquireLimiter;
import dev.keel.esp.acquire.ExpiryListener;
import dev.keel.esp.export.EspSaTable;
import dev.keel.esp.export.KeyExportConfig;
import dev.keel.esp.export.WiresharkKeyWriter;
import dev.keel.esp.feed.SaTables;
import dev.keel.esp.feed.UsableWait;
import dev.keel.esp.forward.FedGateway;
import dev.keel.esp.net.EventLoops;
import dev.keel.esp.net.UdpOptions;
import dev.keel.esp.plain.PlaintextPort;
import dev.keel.esp.plain.VirtualWire;
import dev.keel.esp.raw.OuterTransport;
import dev.keel.esp.tun.TunDevice;
import dev.keel.esp.tun.TunMtu;
import dev.keel.esp.tun.TunPort;
import dev.keel.esp.tun.TunSetup;
import dev.keel.ike.config.IkeConnection;
import dev.keel.ike.net.IkeTransport;
import dev.keel.ike.net.UdpIkeSockets;
import dev.keel.ike.service.ChildSaRecords;
import dev.keel.ike.service.ClaimGate;
import dev.keel.ike.service.ChildSaPeerFollower;
import dev.keel.ike.service.SadChildInstaller;
import dev.keel.ike.service.SadIkeSaAdopter;
import dev.keel.ike.service.SadChildSaUsage;
import dev.keel.ike.service.SadIkeSaStore;
import dev.keel.ike.service.SadSaClaimer;
import dev.keel.ike.service.TrapAcquires;
import dev.keel.ike.service.SadSpiPool;
import dev.keel.ike.session.ConnectionDirectory;
import dev.keel.ike.engine.IkeEngine;
import dev.keel.ike.export.IkeDecryptionTable;
import dev.keel.ike.session.IkeEvents;
import dev.keel.ike.session.IkeSa;
import dev.keel.ike.session.VertxIkeSaExecutor;
import dev.keel.policy.config.PolicyConfig;
import dev.keel.policy.store.ConfigDelta;
import dev.keel.policy.store.PolicyStore;
import dev.keel.sad.SadNode;
import io.netty.channel.EventLoop;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One gateway node in one process, the four services of DESIGN §2 wired as they are when they
 * run apart: the IKE engine installs negotiated CHILD SAs through sad-service's gRPC API
 * (in-process; keys wrapped under the cluster KEK in the embedded Hazelcast member), the data
 * plane ({@link FedGateway}) is fed by the SAD's change stream and policy-service's SPD, its
 * acquires start {@code trap} children and its lifetime events rekey and delete them. The data
 * plane owns UDP 4500 (ESP in UDP) and hands IKE messages arriving there to the engine, which
 * answers through it; the engine owns UDP 500 itself. ESP and IKE messages for SAs that another
 * node of the cluster owns make this node claim them ({@link SadSaClaimer}): ownership follows the
 * peer's packets (docs/ha.md).
 */
public final class GatewayNode {

    private static final Logger LOG = LoggerFactory.getLogger(GatewayNode.class);

    /** How long an acquire stays in flight before another packet may start one (an IKE exchange failed or was lost). */
    static final Duration ACQUIRE_TIMEOUT = Duration.ofSeconds(10);

    private final Vertx vertx;
    private final GatewaySettings settings;
    private final EmbeddedServices services;
    private final FedGateway dataPlane;
    private final UdpIkeSockets ikeSockets;
    private final IkeEngine engine;
    private final SadChildInstaller installer;
    private final SadIkeSaStore ikeStore;
    private final SadIkeSaAdopter takeovers;
    private final SadSaClaimer claims;
    private final NodeRuntime runtime;
    private final PolicyStore.Subscription policyUpdates;

    private GatewayNode(Vertx vertx, GatewaySettings settings, EmbeddedServices services, FedGateway dataPlane,
            UdpIkeSockets ikeSockets, IkeEngine engine, SadChildInstaller installer, SadIkeSaStore ikeStore,
            SadIkeSaAdopter takeovers, SadSaClaimer claims, NodeRuntime runtime, PolicyStore.Subscription policyUpdates) {
        this.vertx = vertx;
        this.settings = settings;
        this.services = services;
        this.dataPlane = dataPlane;
        this.ikeSockets = ikeSockets;
        this.engine = engine;
        this.installer = installer;
        this.ikeStore = ikeStore;
        this.takeovers = takeovers;
        this.claims = claims;
        this.runtime = runtime;
        this.policyUpdates = policyUpdates;
    }

    /** The node's own threads (acquires, install probes) and counters. */
    private static final class NodeRuntime {
        final ExecutorService acquireExecutor = Executors.newSingleThreadExecutor(
                Thread.ofPlatform().daemon().name("keel-acquire").factory());
        final ScheduledExecutorService probes = Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().daemon().name("keel-install-probe").factory());
        final List<Long> installMicros = new ArrayList<>();
        final AtomicReference<IkeEngine> engine = new AtomicReference<>();
        final AtomicReference<SadChildInstaller> installer = new AtomicReference<>();
        final AtomicReference<EmbeddedServices> services = new AtomicReference<>();
        final AtomicReference<SadSaClaimer> claims = new AtomicReference<>();
        /** Inbound SPIs reserved in the SAD ahead of need: unique across the cluster. */
        final AtomicReference<SadSpiPool> spis = new AtomicReference<>();
        /** The Prometheus endpoint and the node's meters ({@code metrics:}), or null. */
        final AtomicReference<GatewayMetrics> metrics = new AtomicReference<>();
        final ConnectionDirectory directory = new ConnectionDirectory();
        final TrapAcquires acquires = new TrapAcquires(directory, engine::get);
        /** The route-based connections' interfaces, open from start to stop (docs/gateway.md). */
        final AtomicReference<RouteInterfaces> routed = new AtomicReference<>(RouteInterfaces.none());

        void close() {
            routed.get().close();
            acquireExecutor.shutdownNow();
            probes.shutdownNow();
            SadSaClaimer c = claims.get();
            if (c != null) {
                c.close();
            }
            SadSpiPool p = spis.get();
            if (p != null) {
                p.close();
            }
            GatewayMetrics m = metrics.get();
            if (m != null) {
                m.close();
            }
        }
    }

    /**
     * Starts a node: the embedded sad-service member and policy-service (off the event loops:
     * Hazelcast joins block), the data plane fed by them, IKE sockets and engine; then initiates
     * every child whose {@code start_action} is {@code start}. {@code plaintext} is the plaintext
     * side the caller opened (TUN or virtual wire).
     */
    public static Future<GatewayNode> start(Vertx vertx, GatewaySettings settings, PolicyConfig policy,
            PlaintextPort plaintext) {
        List<IkeConnection> connections;
        WiresharkKeyWriter keys;
        try {
            connections = IkeConnections.of(policy, settings.ikePort(), settings.rawEsp());
            keys = WiresharkKeyWriter.open(settings.keyExport() == null ? KeyExportConfig.disabled()
                    : KeyExportConfig.of(settings.keyExport(), EspSaTable.FILE_NAME, IkeDecryptionTable.FILE_NAME));
        } catch (IllegalArgumentException | IOException e) {
            return Future.failedFuture(e);
        }
        NodeRuntime rt = new NodeRuntime();
        rt.directory.replace(connections);
        ExpiryListener expiries = new ExpiryListener() {
            @Override
            public void onSoftExpiry(String saId, String connection, String child, boolean outbound) {
                SadChildInstaller i = rt.installer.get();
                if (i != null) {
                    i.softExpired(saId);
                }
            }

            @Override
            public void onHardExpiry(String saId, String connection, String child, boolean outbound) {
                SadChildInstaller i = rt.installer.get();
                if (i != null) {
                    i.hardExpired(saId);
                }
            }
        };
        Future<EmbeddedServices> started = vertx.executeBlocking(() -> {
            prepareOffTheLoops(vertx);
            if (settings.metrics() != null) { // first: an address in use stops the start before Hazelcast joins
                rt.metrics.set(GatewayMetrics.start(settings.metrics()));
            }
            GatewayMetrics metrics = rt.metrics.get();
            rt.routed.set(RouteInterfaces.open(settings, policy)); // before the SAs: their outlets are these
            EmbeddedServices services = EmbeddedServices.start(settings, policy, expiries,
                    plaintext instanceof TunPort tun ? tun.device().name() : null, rt.routed.get(),
                    metrics == null ? null : metrics.sadCalls());
            SadSpiPool spis = new SadSpiPool(services.sadChannel);
            rt.spis.set(spis);
            try {
                spis.start().toCompletableFuture().get(10, TimeUnit.SECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                // the refill goes on; setups meanwhile take random SPIs (counted, SadSpiPool)
            }
            return services;
        });
        return started.compose(services -> {
            rt.services.set(services);
            Future<GatewayNode> node = startOn(vertx, settings, plaintext, services, rt, keys)
                    .compose(n -> rt.metrics.get() == null ? Future.succeededFuture(n) : vertx.executeBlocking(() -> {
                        rt.metrics.get().bind(n, services); // off the event loops (class loading, locks)
                        return n;
                    }));
            return node.recover(e -> vertx.executeBlocking(() -> {
                services.close();
                rt.close();
                return null;
            }).transform(x -> Future.failedFuture(e)));
        }, e -> {
            rt.close();
            return Future.failedFuture(e);
        });
    }

    /**
     * Does here, off the event loops, the one-time work the data plane's start would otherwise do
     * on them, each of which took up to half a second on a busy machine (a blocked loop): loading
     * the Netty classes of its first channels, starting the event loops' threads (Netty starts one
     * on its first task, and the start ran on another loop), and choosing the AEAD engine (loading
     * libcrypto and its self-test).
     */
    private static void prepareOffTheLoops(Vertx vertx) {
        for (EventLoop loop : EventLoops.of(vertx)) {
            loop.execute(() -> { });
        }
        AeadEngine.selected(); // logs its choice once; fails the start when an engine is forced but unusable
        for (String name : List.of("io.netty.buffer.ByteBufUtil", "io.netty.buffer.ByteBufAllocator",
                "io.netty.bootstrap.Bootstrap", "io.netty.channel.ChannelOutboundBuffer",
                "io.netty.channel.epoll.EpollDatagramChannel", "io.netty.channel.epoll.EpollDatagramChannelConfig")) {
            try {
                Class.forName(name, true, GatewayNode.class.getClassLoader());
            } catch (ClassNotFoundException | LinkageError e) {
                LOG.debug("not preloaded: {}", name);
            }
        }
        // A datagram channel made and closed here loads what constructing one needs (its pipeline and
        // unsafe: half a second seen on a loaded machine), which the data plane's start does on a loop.
        try {
            ((io.netty.channel.Channel) Class.forName("io.netty.channel.epoll.EpollDatagramChannel")
                    .getConstructor().newInstance()).unsafe().closeForcibly(); // never registered: no loop to close on
        } catch (ReflectiveOperationException | LinkageError e) {
            LOG.debug("no epoll datagram channel to preload: {}", e.toString());
        }
    }

    private static Future<GatewayNode> startOn(Vertx vertx, GatewaySettings settings, PlaintextPort plaintext,
            EmbeddedServices services, NodeRuntime rt, WiresharkKeyWriter keys) {
        AtomicReference<UdpIkeSockets> socketsRef = new AtomicReference<>();
        AtomicReference<FedGateway> dataPlaneRef = new AtomicReference<>();
        FedGateway.Config dpConfig = FedGateway.Config.of(settings.natTEndpoint()).withRawEsp(settings.rawEsp())
                .withIke((buf, off, len, peer) -> {
                    IkeEngine e = rt.engine.get();
                    if (e != null) {
                        e.onMessage(settings.natTPort(), peer, buf, off, len);
                    }
                })
                .withUnknownSpi((spi, sender) -> { // another node may own it: ownership follows the packets
                    SadSaClaimer c = rt.claims.get();
                    if (c != null) {
                        c.onUnknownEsp(spi, sender);
                    }
                });
        IkeTransport transport = new IkeTransport() {
            @Override
            public void send(int localPort, InetSocketAddress peer, byte[] message) {
                if (localPort == settings.natTPort()) {
                    dataPlaneRef.get().sendIke(message, 0, message.length, peer);
                } else {
                    socketsRef.get().send(localPort, peer, message);
                }
            }

            @Override
            public void sendNatKeepalive(InetSocketAddress peer) {
                dataPlaneRef.get().sendNatKeepalive(peer);
            }
        };
        AcquireLimiter acquires = new AcquireLimiter(a -> rt.acquires.acquire(a.connection(), a.child(), a.source()
                + " -> " + a.destination() + " (protocol " + a.protocol() + ")"), rt.acquireExecutor, ACQUIRE_TIMEOUT);
        return FedGateway.start(vertx, dpConfig, plaintext, rt.routed.get().ports(), services.feeds.spd(),
                services.feeds.sas(), acquires)
                .compose(dp -> {
                    dataPlaneRef.set(dp);
                    SecureRandom random = new SecureRandom();
                    IpAddress local = IpAddress.parse(settings.address());
                    SadChildInstaller installer = new SadChildInstaller(services.sadChannel,
                            settings.cluster().nodeId(), "", settings.natTEndpoint(),
                            (ids, owner, at) -> probeDataPlane(rt, services.feeds.sas(), ids, at));
                    // DESIGN §4: every exchange's IKE SA state is in the SAD before its response leaves
                    SadIkeSaStore ikeStore = new SadIkeSaStore(services.sadChannel, local, "", installer::ids);
                    GatewayMetrics metrics = rt.metrics.get();
                    IkeEvents events = IkeEvents.all(new KeyExportEvents(vertx, keys, settings.natTEndpoint().getAddress()),
                            installer, ikeStore, new ChildSaPeerFollower(services.sadChannel, installer::ids),
                            metrics == null ? IkeEvents.NONE : metrics.ike);
                    IkeEngine engine = new IkeEngine(transport, events, local, settings.ikePort(), settings.natTPort(),
                            rt.directory, rt.spis.get(),
                            VertxIkeSaExecutor.roundRobin(vertx, settings.loops()),
                            settings.ikeLimits(), random);
                    engine.natKeepalive(settings.natKeepalive());
                    installer.attach(engine);
                    ikeStore.attach(engine);
                    if (services.ikeAdmin != null) { // CHILD SA traffic as the data plane reports it to the SAD
                        services.ikeAdmin.attach(engine, new SadChildSaUsage(services.sadChannel, installer::ids));
                    }
                    // the peer's packets reach this node but another one owns its SAs: claimed here (docs/ha.md)
                    SadSaClaimer claims = new SadSaClaimer(services.sadChannel, settings.cluster().nodeId(),
                            rt.directory, new ClaimGate(ClaimGate.Limits.DEFAULTS));
                    engine.onUnknownIkeSa(claims::onUnknownIke);
                    rt.claims.set(claims);
                    rt.installer.set(installer);
                    rt.engine.set(engine);
                    PolicyStore.Subscription updates = followPolicy(services.policy, rt.directory, settings.ikePort(),
                            settings.rawEsp());
                    return UdpIkeSockets.bind(vertx, settings.address(), settings.ikePort(), -1, engine)
                            .recover(e -> {
                                updates.close();
                                return dp.close().transform(x -> Future.failedFuture(e));
                            })
                            .map(sockets -> {
                                socketsRef.set(sockets);
                                // the IKE SAs this node comes to own (a member left): carried on here (docs/ha.md)
                                SadIkeSaAdopter takeovers = new SadIkeSaAdopter(services.sadChannel,
                                        settings.cluster().nodeId(), () -> services.sad.cluster().memberUuid(), engine,
                                        installer, ikeStore, services.ikeKeys::unwrap)
                                        .onMergedAway(rt.claims.get()::onMergedAway).start();
                                GatewayNode node = new GatewayNode(vertx, settings, services, dp, sockets, engine,
                                        installer, ikeStore, takeovers, rt.claims.get(), rt, updates);
                                node.startConnections();
                                DropReport.start(rt.probes, dp);
                                return node;
                            });
                });
    }

    /** A configuration loaded through the admin API changes the IKE connections too, not only the SPD. */
    private static PolicyStore.Subscription followPolicy(PolicyStore store, ConnectionDirectory directory, int ikePort,
            boolean rawEsp) {
        PolicyStore.Revision now = store.current();
        return store.subscribe(now.revision(), now.epoch(), new PolicyStore.Listener() {
            @Override
            public void onSnapshot(long epoch, long revision, PolicyConfig config) {
                apply(config);
            }

            @Override
            public void onDelta(long epoch, ConfigDelta delta) {
                apply(store.current().config());
            }

            private void apply(PolicyConfig config) {
                try {
                    directory.replace(IkeConnections.of(config, ikePort, rawEsp));
                    LOG.info("IKE connections updated: {}", config.connections().keySet());
                } catch (IllegalArgumentException e) {
                    LOG.warn("IKE connections not updated: {}", e.getMessage());
                }
            }
        });
    }

    /**
     * Completes when both halves of a pair are in the data plane's tables and the outbound half
     * holds its first lease of sequence numbers (DESIGN §4: the IKE message that completes the pair
     * waits for this), and records how long that took after IKE established it. Gives up (and
     * completes, so that IKE does not wait for ever) after 5 s.
     */
    private static CompletableFuture<Void> probeDataPlane(NodeRuntime rt, SaTables tables, ChildSaRecords.Ids ids,
            long establishedNanos) {
        return UsableWait.until(rt.probes, () -> tables.pairUsable(ids.inbound(), ids.outbound()),
                establishedNanos + TimeUnit.SECONDS.toNanos(5), 200).thenAccept(usable -> {
                    if (!usable) {
                        LOG.warn("CHILD SA {} not in the data plane 5 s after IKE established it", ids.inbound());
                        return;
                    }
                    long micros = (System.nanoTime() - establishedNanos) / 1_000;
                    synchronized (rt.installMicros) {
                        if (rt.installMicros.size() < 10_000) {
                            rt.installMicros.add(micros);
                        }
                    }
                    LOG.info("CHILD SA {} usable in the data plane {} ms after IKE established it", ids.inbound(),
                            String.format("%.1f", micros / 1000.0));
                });
    }

    private void startConnections() {
        runtime.directory.all().forEach(engine::initiateStartChildren);
    }

    /** The IKE engine. */
    public IkeEngine engine() {
        return engine;
    }

    /** The data plane. */
    public FedGateway dataPlane() {
        return dataPlane;
    }

    /** The data plane's SA tables, as the SAD's Watch stream fills them. */
    public SaTables dataPlaneSas() {
        return services.feeds.sas();
    }

    /** The embedded sad-service member. */
    public SadNode sad() {
        return services.sad;
    }

    /** Installs CHILD SAs in the SAD. */
    public SadChildInstaller installer() {
        return installer;
    }

    /** Stores IKE SAs in the SAD. */
    public SadIkeSaStore ikeStore() {
        return ikeStore;
    }

    /** Takes over the IKE SAs this node comes to own. */
    public SadIkeSaAdopter takeovers() {
        return takeovers;
    }

    /** Claims the SAs whose packets reach this node while another node owns them. */
    public SadSaClaimer claims() {
        return claims;
    }

    /** Where the IKE engine's inbound SPIs come from: reserved in the SAD, unique across the cluster. */
    public SadSpiPool spis() {
        return runtime.spis.get();
    }

    /** The Prometheus endpoint, {@code http://host:port/metrics}, or null without one ({@code metrics:}). */
    public String metricsUrl() {
        GatewayMetrics m = runtime.metrics.get();
        return m == null ? null : m.endpoint().url();
    }

    /** The admin gRPC API's port, or -1 without one. */
    public int adminPort() {
        return services.adminPort();
    }

    /** Acquires that initiated a trap child. */
    public long acquiresInitiated() {
        return runtime.acquires.initiated();
    }

    /** Acquires for children that are not {@code trap} (left alone). */
    public long acquiresIgnored() {
        return runtime.acquires.ignored();
    }

    /** Microseconds from "IKE established a CHILD SA" to "usable in the data plane", one per CHILD SA so far. */
    public List<Long> installLatenciesMicros() {
        synchronized (runtime.installMicros) {
            return List.copyOf(runtime.installMicros);
        }
    }

    /** The node's settings. */
    public GatewaySettings settings() {
        return settings;
    }

    /**
     * Opens the plaintext side a node's settings describe. A TUN interface (root or
     * CAP_NET_ADMIN) gets one queue per event loop, the MTU of {@link #tunMtu}, offloads if asked
     * and the routes {@link LanRoutes} starts with (and {@link PeerRoutes}); it lives as long as the process.
     */
    static PlaintextPort openPlaintext(Vertx vertx, GatewaySettings settings, PolicyConfig policy)
            throws IOException, InterruptedException {
        return switch (settings.plaintext()) {
            case PlaintextConfig.VirtualWire w -> new VirtualWire(vertx, w.bind(), w.host(), UdpOptions.DEFAULTS);
            case PlaintextConfig.Tun t -> {
                int mtu = tunMtu(t);
                TunDevice tun = TunSetup.up(t.name(), settings.loops(), mtu, t.addresses().stream()
                        .map(Object::toString).toList(), LanRoutes.atStart(policy), t.routes().baseMetric(), t.offload());
                try {
                    PeerRoutes.install(tun.name(), LanRoutes.holdingPeers(policy), settings.address(),
                            settings.ikePort(), settings.natTPort());
                } catch (IOException | InterruptedException | RuntimeException e) {
                    tun.close();
                    throw e;
                }
                // ICMP too-big from the inner destination: the kernel drops packets from its own TUN address (docs/tun.md)
                yield new TunPort(tun, mtu, null, null);
            }
        };
    }

    /**
     * The TUN MTU: the file's {@code mtu}, or without one ({@code auto}) the path MTU less
     * {@link TunMtu}'s allowance for SAs not yet known (IKE negotiates them after the device is
     * up): 1400 on a 1500-byte path.
     */
    static int tunMtu(PlaintextConfig.Tun t) {
        return t.mtu() > 0 ? t.mtu() : TunMtu.innerMtu(t.pathMtu(), false, OuterTransport.UDP_ENCAP, List.of());
    }

    /**
     * Stops the node. Another data member in the cluster takes its SAs over, as after a kill but
     * with nothing lost (Hazelcast hands the partitions over as the member leaves): the IKE SAs are
     * left to it without a word to the peers. A node alone deletes every IKE SA instead (telling
     * the peers; waits up to {@link #DELETE_GRACE} for their answers and for the SAD to take the
     * deletes). Then it closes sockets, the data plane and the embedded services.
     */
    public Future<Void> close() {
        takeovers.close();
        claims.close();
        int others = services.sad.cluster().liveMembers().size() - 1;
        List<IkeSa> sas = engine.ikeSas();
        if (others > 0) {
            LOG.info("stopping: {} IKE SA(s) and their CHILD SAs left to the cluster's {} other member(s)", sas.size(),
                    others);
            sas.forEach(sa -> engine.abandon(sa, "this node stops; another member takes it over"));
        } else {
            sas.forEach(engine::terminate);
        }
        Promise<Void> drained = Promise.promise();
        awaitDrained(drained, System.nanoTime() + DELETE_GRACE.toNanos());
        return drained.future().compose(v -> {
            policyUpdates.close();
            ikeSockets.close();
            return dataPlane.close();
        }).compose(v -> vertx.executeBlocking(() -> {
            runtime.close();
            services.close();
            return null;
        }));
    }

    private void awaitDrained(Promise<Void> drained, long deadlineNanos) {
        if (engine.ikeSaCount() == 0 && installer.pending() == 0 || System.nanoTime() > deadlineNanos) {
            drained.tryComplete();
            return;
        }
        vertx.setTimer(20, id -> awaitDrained(drained, deadlineNanos));
    }

    /** How long {@link #close()} waits for peers to answer the deletes. */
    public static final Duration DELETE_GRACE = Duration.ofSeconds(3);

    InetSocketAddress ikeEndpoint() {
        return settings.ikeEndpoint();
    }
}
