package dev.keel.ike.service;

import dev.keel.esp.acquire.AcquireLimiter;
import dev.keel.esp.acquire.ExpiryListener;
import dev.keel.esp.feed.CheckpointRule;
import dev.keel.proto.ChildKeyUnwrapper;
import dev.keel.esp.feed.ReplayCheckpoints;
import dev.keel.esp.feed.SaTables;
import dev.keel.esp.feed.SpdTable;
import dev.keel.esp.forward.FedGateway;
import dev.keel.esp.net.IkePortSocket;
import dev.keel.esp.net.IkeRelayClient;
import dev.keel.esp.net.UdpOptions;
import dev.keel.esp.plain.VirtualWire;
import io.grpc.Channel;
import io.vertx.core.Vertx;
import java.net.InetSocketAddress;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * An esp-worker's outer side as a worker main wires it for the IKE relay: the data plane
 * ({@link FedGateway}) owning the NAT-T port, an {@link IkePortSocket} owning the IKE port, both
 * handing IKE to an {@link IkeRelayClient} attached to ike-service on {@code ikeService}. No SAs
 * are fed here: the tests need the sockets, not the tunnel's packets.
 */
final class RelayWorker implements AutoCloseable {

    final FedGateway dataPlane;
    final IkePortSocket ikePort;
    final IkeRelayClient relay;
    private final ScheduledExecutorService scheduler;
    private final ExecutorService acquires;
    private final DatagramChannel host;

    private RelayWorker(FedGateway dataPlane, IkePortSocket ikePort, IkeRelayClient relay,
            ScheduledExecutorService scheduler, ExecutorService acquires, DatagramChannel host) {
        this.dataPlane = dataPlane;
        this.ikePort = ikePort;
        this.relay = relay;
        this.scheduler = scheduler;
        this.acquires = acquires;
        this.host = host;
    }

    /** Binds {@code address:ikePort} and {@code address:natTPort} and attaches to ike-service. */
    static RelayWorker start(Vertx vertx, String id, String address, int ikePort, int natTPort, Channel ikeService,
            Channel sadForCheckpoints) throws Exception {
        ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
        ExecutorService acquires = Executors.newSingleThreadExecutor();
        DatagramChannel host = DatagramChannel.open().bind(new InetSocketAddress(address, 0));
        IkeRelayClient relay = new IkeRelayClient(ikeService, IkeRelayClient.Settings.of(id));
        AtomicReference<FedGateway> dp = new AtomicReference<>();
        InetSocketAddress natT = new InetSocketAddress(address, natTPort);
        SaTables sas = new SaTables(id, new ChildKeyUnwrapper(new byte[32]), sa -> { },
                new ReplayCheckpoints(sadForCheckpoints, id, CheckpointRule.defaults()), ExpiryListener.NONE, scheduler);
        FedGateway dataPlane = FedGateway.start(vertx,
                FedGateway.Config.of(natT).withIke(relay.port(natT, (m, off, len, peer) -> dp.get().sendIke(m, off,
                        len, peer))),
                new VirtualWire(vertx, freeUdp(address), (InetSocketAddress) host.getLocalAddress(),
                        UdpOptions.DEFAULTS),
                new SpdTable(), sas, new AcquireLimiter(a -> { }, acquires, Duration.ofSeconds(5)))
                .await(10, TimeUnit.SECONDS);
        dp.set(dataPlane);
        IkePortSocket ike = IkePortSocket.bind(vertx, new InetSocketAddress(address, ikePort))
                .await(10, TimeUnit.SECONDS);
        ike.handTo(relay.port(ike.local(), ike));
        return new RelayWorker(dataPlane, ike, relay.start(), scheduler, acquires, host);
    }

    private static InetSocketAddress freeUdp(String address) throws java.io.IOException {
        try (DatagramChannel ch = DatagramChannel.open().bind(new InetSocketAddress(address, 0))) {
            return (InetSocketAddress) ch.getLocalAddress();
        }
    }

    @Override
    public void close() throws Exception {
        relay.close();
        ikePort.close();
        dataPlane.close().await(10, TimeUnit.SECONDS);
        scheduler.shutdownNow();
        acquires.shutdownNow();
        host.close();
    }
}
