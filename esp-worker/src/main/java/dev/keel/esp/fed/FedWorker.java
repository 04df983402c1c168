package dev.keel.esp.fed;

import dev.keel.core.net.IpPrefix;
import dev.keel.core.spd.SpdAction;
import dev.keel.core.spd.SpdEntry;
import dev.keel.esp.acquire.AcquireLimiter;
import dev.keel.esp.acquire.ExpiryListener;
import dev.keel.esp.config.FedWorkerConfig;
import dev.keel.esp.config.PlaintextConfig;
import dev.keel.esp.feed.UsableWait;
import dev.keel.proto.ChildKeyUnwrapper;
import dev.keel.esp.feed.SaMaintenance;
import dev.keel.esp.feed.WorkerFeeds;
import dev.keel.esp.forward.FedGateway;
import dev.keel.esp.metrics.DataPlaneMetrics;
import dev.keel.esp.metrics.IkeRelayMetrics;
import dev.keel.esp.net.IkeHandoff;
import dev.keel.esp.net.IkePortSocket;
import dev.keel.esp.net.IkeRelayClient;
import dev.keel.esp.net.UdpOptions;
import dev.keel.esp.net.UnknownSpiListener;
import dev.keel.esp.net.UnknownSpiReports;
import dev.keel.esp.plain.PlaintextPort;
import dev.keel.esp.plain.VirtualWire;
import dev.keel.esp.raw.OuterTransport;
import dev.keel.esp.tun.OwnedRoutes;
import dev.keel.esp.tun.TunDevice;
import dev.keel.esp.tun.TunMtu;
import dev.keel.esp.tun.TunPort;
import dev.keel.esp.tun.TunSetup;
import dev.keel.proto.CoreMapping;
import dev.keel.rpc.FirstReadyChannel;
import dev.keel.rpc.MetricsEndpoint;
import io.grpc.ChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running esp-worker fed by the SAD: the data plane ({@link FedGateway}) with the tables
 * {@link WorkerFeeds} keeps equal to sad-service (the CHILD SAs this node owns) and policy-service
 * (the SPD), the plaintext side, and for TUN the routes through it. {@link #close()} stops it.
 *
 * <p>IKE datagrams on the outer socket go to ike-service through the IKE relay ({@code ike.relay},
 * {@link IkeRelayClient}), and its answers leave through the same socket; without a relay they are
 * dropped and counted. Acquires (a PROTECT policy's packet without an outbound SA here) and the
 * CHILD SAs' soft and hard lifetimes go to ike-service over the same stream, which claims a live
 * CHILD SA for this node or initiates a {@code trap} child, and rekeys or deletes; counted.
 * ESP whose SPI has no SA here is dropped and counted ({@code UNKNOWN_SPI}) and, with a relay,
 * reported to ike-service ({@link UnknownSpiReports}, bounded), which claims the CHILD SA for this
 * node when it is one ike-service serves and the packet came from its peer: with several workers
 * on one address, ownership follows the kernel's spreading of the peers (docs/esp-worker.md,
 * "Several workers per address").
 */
public final class FedWorker implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(FedWorker.class);

    /** How long a TUN worker waits for policy-service's first SPD, whose remote selectors it routes. */
    static final Duration FIRST_SPD_WAIT = Duration.ofSeconds(30);
    /** How long an acquire stays in flight before another packet of its policy may report one. */
    static final Duration ACQUIRE_TIMEOUT = Duration.ofSeconds(10);

    private final FedWorkerConfig config;
    private final Vertx vertx;
    private final ManagedChannel policyChannel;
    private final FirstReadyChannel sadChannel;
    private final WorkerFeeds feeds;
    private final ExecutorService acquireExecutor;
    private final IkeHandoff ike;
    /** The IKE relay to ike-service, or null ({@code ike.relay: none}). */
    private final IkeRelayClient relay;
    private final ManagedChannel relayChannel;
    private IkePortSocket ikePortSocket;
    /** Reports of ESP with an SPI that has no SA here, to ike-service; null without a relay. */
    private final UnknownSpiReports unknownSpi;
    private final LongAdder acquires;
    private final LongAdder expiries;
    private final PrintStream out;
    private TunDevice tun;
    private OwnedRoutes routes;
    private PlaintextPort port;
    private FedGateway dataPlane;
    /** The Prometheus endpoint ({@code metrics.listen}), or null. */
    private MetricsEndpoint metrics;
    private DataPlaneMetrics dataPlaneMetrics;
    private boolean closed;
    /** Polls the tables for ike-service's AwaitUsable questions (one thread, started at the first). */
    private final ScheduledExecutorService usableChecks =
            Executors.newSingleThreadScheduledExecutor(
                    Thread.ofPlatform().daemon().name("keel-usable-probe").factory());

    private FedWorker(FedWorkerConfig config, Vertx vertx, ManagedChannel policyChannel, FirstReadyChannel sadChannel,
            WorkerFeeds feeds, ExecutorService acquireExecutor, IkeHandoff ike, IkeRelayClient relay,
            ManagedChannel relayChannel, LongAdder acquires, LongAdder expiries, PrintStream out) {
        this.config = config;
        this.vertx = vertx;
        this.policyChannel = policyChannel;
        this.sadChannel = sadChannel;
        this.feeds = feeds;
        this.acquireExecutor = acquireExecutor;
        this.ike = ike;
        this.relay = relay;
        this.relayChannel = relayChannel;
        this.unknownSpi = relay == null ? null
                : new UnknownSpiReports(relay::reportUnknownEsp, UnknownSpiReports.Limits.DEFAULTS);
        this.acquires = acquires;
        this.expiries = expiries;
        this.out = out;
    }

    /**
     * Starts a worker: Vert.x with {@code loops} event loops, the channels to both services, the
     * feeds, the plaintext side (TUN: after the first SPD, routing its protected remote
     * selectors), the data plane. On failure closes what it opened and throws.
     */
    public static FedWorker start(FedWorkerConfig cfg, PrintStream out) throws Exception {
        ChannelCredentials creds = credentials(cfg.tls());
        Vertx vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true).setEventLoopPoolSize(cfg.loops()));
        ManagedChannel policy = NettyChannelBuilder.forTarget(cfg.policy(), creds).build();
        List<ManagedChannel> sadMembers = new ArrayList<>();
        for (String e : cfg.sad()) {
            sadMembers.add(NettyChannelBuilder.forTarget(e, creds).build());
        }
        FirstReadyChannel sad = new FirstReadyChannel(sadMembers);
        LongAdder acquires = new LongAdder();
        LongAdder expiries = new LongAdder();
        ExecutorService acquireExecutor = Executors.newSingleThreadExecutor(
                Thread.ofPlatform().daemon().name("keel-acquire").factory());
        ManagedChannel relayChannel = cfg.ikeRelay() == null ? null
                : NettyChannelBuilder.forTarget(cfg.ikeRelay(), creds).build();
        IkeRelayClient relay = relayChannel == null ? null
                : new IkeRelayClient(relayChannel, IkeRelayClient.Settings.of(cfg.nodeId()));
        WorkerFeeds feeds = new WorkerFeeds(policy, sad, cfg.nodeId(), ChildKeyUnwrapper.load(cfg.kekFile()),
                SaMaintenance.Settings.defaults(), expiries(expiries, relay));
        FedWorker[] self = new FedWorker[1];
        // ike-service's answers leave through the data plane's socket, the one the peer sent to
        IkeHandoff handoff = relay == null ? new UnrelayedIke() : relay.port(cfg.listen(),
                (msg, off, len, peer) -> self[0].dataPlane.sendIke(msg, off, len, peer));
        FedWorker w = new FedWorker(cfg, vertx, policy, sad, feeds, acquireExecutor, handoff, relay, relayChannel,
                acquires, expiries, out);
        self[0] = w;
        try {
            if (cfg.metricsListen() != null) { // first: an address in use stops the start before anything runs
                w.metrics = MetricsEndpoint.start(cfg.metricsListen());
            }
            feeds.start();
            w.openPlaintext();
            AcquireLimiter limiter = new AcquireLimiter(a -> {
                acquires.increment();
                if (relay == null || !relay.reportAcquire(a.connection(), a.child(), a.source(), a.destination(),
                        a.protocol())) {
                    LOG.info("acquire {}/{}: {} -> {} (protocol {}): not sent to ike-service ({})", a.connection(),
                            a.child(), a.source(), a.destination(), a.protocol(),
                            relay == null ? "ike.relay: none" : "relay stream down or its queue full");
                }
            }, acquireExecutor, ACQUIRE_TIMEOUT);
            UnknownSpiListener unknown = w.unknownSpi == null ? UnknownSpiListener.NONE : w.unknownSpi;
            w.dataPlane = FedGateway.start(vertx, FedGateway.Config.of(cfg.listen()).withIke(w.ike)
                            .withUnknownSpi(unknown), w.port,
                    feeds.spd(), feeds.sas(), limiter).await(30, TimeUnit.SECONDS);
            if (relay != null && cfg.ikePort() > 0) { // IKE_SA_INIT on 500 too, relayed as 4500's
                w.ikePortSocket = IkePortSocket.bind(vertx, new InetSocketAddress(cfg.listen().getAddress(),
                        cfg.ikePort())).await(10, TimeUnit.SECONDS);
                w.ikePortSocket.handTo(relay.port(w.ikePortSocket.local(), w.ikePortSocket));
            }
            if (relay != null) {
                relay.usableProbe(w::probeUsable);
                relay.start();
            }
            if (w.metrics != null) {
                w.dataPlaneMetrics = DataPlaneMetrics.of(w.dataPlane, feeds);
                w.dataPlaneMetrics.bindTo(w.metrics.registry());
                if (relay != null) {
                    new IkeRelayMetrics(relay, w.unknownSpi).bindTo(w.metrics.registry());
                }
            }
        } catch (Exception e) {
            w.close();
            throw e;
        }
        out.println("keel-esp-worker: started: node " + cfg.nodeId() + ", udp " + cfg.listen() + ", "
                + cfg.loops() + " event loop(s), plaintext " + w.plaintextText() + ", sad " + String.join(" ", cfg.sad())
                + ", policy " + cfg.policy() + (cfg.tls() != null ? " (mutual TLS)" : " (plaintext, this host)")
                + ", ike relay " + (cfg.ikeRelay() == null ? "none" : cfg.ikeRelay())
                + ", metrics " + (w.metrics == null ? "off" : w.metrics.url()));
        out.flush();
        return w;
    }

    /** How often a pair ike-service waits for is looked at in the tables. */
    private static final long USABLE_POLL_MICROS = 500;

    /**
     * Answers whether the CHILD SA pair is usable here (ike-service holds the IKE response that
     * completes it until then): in the tables, the outbound SA leased, and with owner-preferred
     * routes its owner's route applied, so the LAN's first packet comes to this worker, not
     * through another's standby route (which would claim the SA away: docs/gateway.md).
     */
    private void probeUsable(String inboundId, String outboundId, int timeoutMillis, Consumer<Boolean> answer) {
        UsableWait.until(usableChecks, () -> {
            OwnedRoutes r = routes;
            return feeds.sas().pairUsable(inboundId, outboundId) && (r == null || r.routedFor(outboundId));
        }, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis), USABLE_POLL_MICROS).thenAccept(usable -> {
            if (!usable) {
                LOG.warn("CHILD SA {} not usable here {} ms after ike-service asked", inboundId, timeoutMillis);
            }
            answer.accept(usable);
        });
    }

    private static ChannelCredentials credentials(FedWorkerConfig.Tls tls) throws IOException {
        return tls == null ? InsecureChannelCredentials.create()
                : TlsChannelCredentials.newBuilder().keyManager(tls.cert().toFile(), tls.key().toFile())
                        .trustManager(tls.ca().toFile()).build();
    }

    /**
     * Soft and hard lifetimes of the CHILD SAs here: rekeying and deleting are ike-service's, told
     * over the relay; without one (or with the stream down) only logged, and ike-service's own
     * timers rekey and delete by time.
     */
    private static ExpiryListener expiries(LongAdder count, IkeRelayClient relay) {
        return new ExpiryListener() {
            @Override
            public void onSoftExpiry(String saId, String connection, String child, boolean outbound) {
                report(saId, connection, child, false);
            }

            @Override
            public void onHardExpiry(String saId, String connection, String child, boolean outbound) {
                report(saId, connection, child, true);
            }

            private void report(String saId, String connection, String child, boolean hard) {
                count.increment();
                if (relay == null || !relay.reportExpiry(saId, hard)) {
                    LOG.info("CHILD SA {} ({}/{}) {}-expired: not sent to ike-service ({})", saId, connection, child,
                            hard ? "hard" : "soft", relay == null ? "ike.relay: none" : "relay stream down");
                }
            }
        };
    }

    private void openPlaintext() throws Exception {
        switch (config.plaintext()) {
            case PlaintextConfig.VirtualWire w -> port = new VirtualWire(vertx, w.bind(), w.host(), UdpOptions.DEFAULTS);
            case PlaintextConfig.Tun t -> {
                List<IpPrefix> protectedRemotes = protectedRemotes();
                int mtu = t.mtu() > 0 ? t.mtu()
                        : TunMtu.innerMtu(t.pathMtu(), config.listen().getAddress().getAddress().length == 16,
                                OuterTransport.UDP_ENCAP, List.of());
                tun = TunSetup.up(t.name(), config.loops(), mtu, t.addresses().stream().map(Object::toString).toList(),
                        protectedRemotes, t.routes().baseMetric(), t.offload());
                if (t.routes() == PlaintextConfig.Routes.OWNER_PREFERRED) {
                    // the owner's route of each outbound SA's remote selectors (docs/ha.md, "Anycast with BIRD")
                    routes = OwnedRoutes.through(tun.name(), r -> CoreMapping.selectors(r.getRemoteTsList(), "remote_ts")
                            .stream().flatMap(ts -> ts.addressRange().toPrefixes().stream()).distinct().toList());
                    feeds.sas().addOutboundListener(routes);
                }
                // ICMP too-big from the inner destination: the kernel drops packets from its own TUN address (docs/tun.md)
                port = new TunPort(tun, mtu, null, null);
            }
        }
    }

    /** The remote selectors of policy-service's PROTECT policies, after waiting for its first SPD. */
    private List<IpPrefix> protectedRemotes() throws InterruptedException {
        long deadline = System.nanoTime() + FIRST_SPD_WAIT.toNanos();
        while (feeds.spdFeed().snapshots() == 0) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("no SPD from policy-service " + config.policy() + " within "
                        + FIRST_SPD_WAIT.toSeconds() + " s: the TUN routes come from it");
            }
            Thread.sleep(20);
        }
        return feeds.spd().current().entries().stream().filter(e -> e.action() == SpdAction.PROTECT)
                .map(SpdEntry::remote).flatMap(ts -> ts.addressRange().toPrefixes().stream()).distinct().toList();
    }

    private String plaintextText() {
        return switch (config.plaintext()) {
            case PlaintextConfig.VirtualWire w -> "virtual wire " + w.bind() + " -> " + w.host();
            case PlaintextConfig.Tun t -> "tun " + tun.name() + " (" + config.loops() + " queues, routes "
                    + t.routes().name().toLowerCase(java.util.Locale.ROOT) + ")";
        };
    }

    public FedWorkerConfig config() {
        return config;
    }

    /** The data plane: counters, SA counters, the outer socket. */
    public FedGateway dataPlane() {
        return dataPlane;
    }

    /** The feeds and the tables they keep. */
    public WorkerFeeds feeds() {
        return feeds;
    }

    /** The IKE relay to ike-service, or null without one. */
    public IkeRelayClient relay() {
        return relay;
    }

    /** The IKE hand-off in use. */
    public IkeHandoff ikeHandoff() {
        return ike;
    }

    /** The reports of ESP with an unknown SPI to ike-service, or null without a relay. */
    public UnknownSpiReports unknownSpiReports() {
        return unknownSpi;
    }

    /** IKE datagrams dropped for want of a relay (0 with a relay). */
    public long ikeDropped() {
        return ike instanceof UnrelayedIke u ? u.dropped() : 0;
    }

    /** The Prometheus endpoint, or null when {@code metrics} is not configured. */
    public MetricsEndpoint metrics() {
        return metrics;
    }

    /** Acquires reported by the data plane (counted and logged: not relayed yet). */
    public long acquires() {
        return acquires.sum();
    }

    private String reportsText() {
        if (unknownSpi == null) {
            return "";
        }
        StringBuilder b = new StringBuilder("; unknown-SPI reports");
        for (UnknownSpiReports.Outcome o : UnknownSpiReports.Outcome.values()) {
            b.append(' ').append(o.name().toLowerCase(java.util.Locale.ROOT)).append(' ').append(unknownSpi.count(o));
        }
        return b.append("; reports to ike-service sent ").append(relay.reportsSent()).append(", lost ")
                .append(relay.reportsLost()).toString();
    }

    /** Prints the counters, then closes the data plane, the feeds (zeroizing the SAs), the channels, TUN and Vert.x. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (dataPlane != null) {
            out.println("keel-esp-worker: stopping: " + dataPlane.counters() + "; esp in "
                    + dataPlane.espCounters().inboundSnapshot() + ", out " + dataPlane.espCounters().outboundSnapshot()
                    + "; ike dropped (no relay) " + ikeDropped() + reportsText() + "; acquires " + acquires.sum()
                    + "; expiries " + expiries.sum());
            out.flush();
            try {
                dataPlane.close().await(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                LOG.warn("closing the data plane: {}", e.toString());
            }
        }
        usableChecks.shutdownNow();
        if (dataPlaneMetrics != null) {
            dataPlaneMetrics.close();
        }
        if (metrics != null) {
            metrics.close();
        }
        if (relay != null) {
            relay.close();
            relayChannel.shutdownNow();
        }
        if (ikePortSocket != null) {
            ikePortSocket.close();
        }
        feeds.close();
        if (routes != null) {
            routes.close();
        }
        acquireExecutor.shutdownNow();
        policyChannel.shutdownNow();
        sadChannel.close();
        if (tun != null) {
            tun.close();
        }
        try {
            vertx.close().await(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            LOG.warn("closing Vert.x: {}", e.toString());
        }
    }
}
