package dev.keel.gateway;

import dev.keel.core.net.IpAddress;
import dev.keel.core.net.IpPrefix;
import dev.keel.esp.tun.TunDevice;
import dev.keel.esp.tun.TunPort;
import dev.keel.esp.tun.TunSetup;
import dev.keel.esp.export.KeyExportConfig;
import dev.keel.esp.export.WiresharkKeyWriter;
import dev.keel.esp.forward.StaticGateway;
import dev.keel.esp.net.UdpOptions;
import dev.keel.esp.plain.PlaintextPort;
import dev.keel.esp.plain.VirtualWire;
import dev.keel.ike.config.ChildConnection;
import dev.keel.ike.config.IkeConnection;
import dev.keel.ike.net.IkeTransport;
import dev.keel.ike.net.UdpIkeSockets;
import dev.keel.ike.session.ConnectionDirectory;
import dev.keel.ike.session.IkeEngine;
import dev.keel.ike.session.RandomSpiAllocator;
import dev.keel.ike.session.VertxIkeSaExecutor;
import dev.keel.ike.task.RetransmitPolicy;
import dev.keel.policy.config.PolicyConfig;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One gateway node in one process: the IKE engine and the ESP data plane, configured from one
 * file. The data plane owns UDP 4500 (ESP in UDP) and hands IKE messages arriving there to the
 * engine, which answers through it; the engine owns UDP 500 itself.
 */
public final class GatewayNode {

    private static final Logger LOG = LoggerFactory.getLogger(GatewayNode.class);

    private final Vertx vertx;
    private final GatewaySettings settings;
    private final StaticGateway dataPlane;
    private final UdpIkeSockets ikeSockets;
    private final IkeEngine engine;

    private GatewayNode(Vertx vertx, GatewaySettings settings, StaticGateway dataPlane, UdpIkeSockets ikeSockets,
            IkeEngine engine) {
        this.vertx = vertx;
        this.settings = settings;
        this.dataPlane = dataPlane;
        this.ikeSockets = ikeSockets;
        this.engine = engine;
    }

    /**
     * Starts a node: data plane, IKE sockets and engine; then initiates every child whose
     * {@code start_action} is {@code start}. {@code plaintext} is the plaintext side the caller
     * opened (TUN or virtual wire).
     */
    public static Future<GatewayNode> start(Vertx vertx, GatewaySettings settings, PolicyConfig policy,
            PlaintextPort plaintext) {
        List<IkeConnection> connections;
        WiresharkKeyWriter keys;
        try {
            connections = IkeConnections.of(policy, settings.ikePort());
            keys = WiresharkKeyWriter.open(settings.keyExport() == null ? KeyExportConfig.disabled()
                    : KeyExportConfig.toDirectory(settings.keyExport()));
        } catch (IllegalArgumentException | IOException e) {
            return Future.failedFuture(e);
        }
        AtomicReference<IkeEngine> engineRef = new AtomicReference<>();
        AtomicReference<UdpIkeSockets> socketsRef = new AtomicReference<>();
        AtomicReference<StaticGateway> dataPlaneRef = new AtomicReference<>();
        StaticGateway.Config dpConfig = StaticGateway.Config.of(settings.natTEndpoint(), List.of())
                .withIke((buf, off, len, peer) -> {
                    IkeEngine e = engineRef.get();
                    if (e != null) {
                        e.onMessage(settings.natTPort(), peer, buf, off, len);
                    }
                });
        IkeTransport transport = (localPort, peer, message) -> {
            if (localPort == settings.natTPort()) {
                dataPlaneRef.get().sendIke(message, 0, message.length, peer);
            } else {
                socketsRef.get().send(localPort, peer, message);
            }
        };
        return StaticGateway.start(vertx, dpConfig, plaintext).compose(dp -> {
            dataPlaneRef.set(dp);
            SecureRandom random = new SecureRandom();
            IpAddress local = IpAddress.parse(settings.address());
            ConnectionDirectory directory = new ConnectionDirectory();
            directory.replace(connections);
            IkeEngine engine = new IkeEngine(transport,
                    new DataPlaneInstaller(vertx, dp, keys, settings.natTEndpoint().getAddress()), local,
                    settings.ikePort(), settings.natTPort(), directory, new RandomSpiAllocator(random),
                    VertxIkeSaExecutor.roundRobin(vertx, settings.loops()), RetransmitPolicy.DEFAULT,
                    IkeEngine.Limits.DEFAULT, random);
            engineRef.set(engine);
            return UdpIkeSockets.bind(vertx, settings.address(), settings.ikePort(), -1, engine)
                    .recover(e -> dp.close().transform(x -> Future.failedFuture(e)))
                    .map(sockets -> {
                        socketsRef.set(sockets);
                        GatewayNode node = new GatewayNode(vertx, settings, dp, sockets, engine);
                        node.startConnections(connections);
                        return node;
                    });
        });
    }

    private void startConnections(List<IkeConnection> connections) {
        for (IkeConnection c : connections) {
            for (ChildConnection child : c.children()) {
                if (child.startAction() == ChildConnection.StartAction.START) {
                    LOG.info("initiating {}/{} to {}", c.name(), child.name(), c.remoteEndpoint());
                    engine.initiate(c.name(), child.name()).whenComplete((sa, e) -> {
                        if (e != null) {
                            LOG.warn("{}/{}: {}", c.name(), child.name(), e.getMessage());
                        }
                    });
                }
            }
        }
    }

    /** The IKE engine. */
    public IkeEngine engine() {
        return engine;
    }

    /** The data plane. */
    public StaticGateway dataPlane() {
        return dataPlane;
    }

    /** The node's settings. */
    public GatewaySettings settings() {
        return settings;
    }

    /**
     * Opens the plaintext side a node's settings describe. A TUN interface (root or
     * CAP_NET_ADMIN) gets one queue per event loop and a route for every child's remote
     * selectors; it lives as long as the process.
     */
    static PlaintextPort openPlaintext(Vertx vertx, GatewaySettings settings, PolicyConfig policy)
            throws IOException, InterruptedException {
        return switch (settings.plaintext()) {
            case GatewaySettings.VirtualWire w -> new VirtualWire(vertx, w.bind(), w.host(), UdpOptions.DEFAULTS);
            case GatewaySettings.Tun t -> {
                List<IpPrefix> routes = policy.connectionList().stream().flatMap(c -> c.children().stream())
                        .flatMap(ch -> ch.remoteTs().stream()).flatMap(ts -> ts.addressRange().toPrefixes().stream())
                        .distinct().toList();
                TunDevice tun = TunSetup.up(t.name(), settings.loops(), t.mtu(), t.addresses(), routes);
                // ICMP too-big from the inner destination: the kernel drops packets from its own TUN address (docs/tun.md)
                yield new TunPort(tun, t.mtu(), null, null);
            }
        };
    }

    /**
     * Deletes every IKE SA (telling the peers; waits up to {@link #DELETE_GRACE} for their answers),
     * then closes sockets and the data plane.
     */
    public Future<Void> close() {
        engine.ikeSas().forEach(engine::terminate);
        Promise<Void> drained = Promise.promise();
        awaitDrained(drained, System.nanoTime() + DELETE_GRACE.toNanos());
        return drained.future().compose(v -> {
            ikeSockets.close();
            return dataPlane.close();
        });
    }

    private void awaitDrained(Promise<Void> drained, long deadlineNanos) {
        if (engine.ikeSaCount() == 0 || System.nanoTime() > deadlineNanos) {
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
