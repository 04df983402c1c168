package dev.keel.bench.ike;

import dev.keel.ike.engine.IkeSettings;
import dev.keel.core.net.IpAddress;
import dev.keel.core.net.IpRange;
import dev.keel.core.proposal.Proposal;
import dev.keel.core.proposal.ProposalSyntaxException;
import dev.keel.core.proposal.Protocol;
import dev.keel.core.sa.IpsecMode;
import dev.keel.core.ts.TrafficSelectors;
import dev.keel.ike.config.ChildConnection;
import dev.keel.ike.config.IkeConnection;
import dev.keel.ike.message.IkeIdentity;
import dev.keel.ike.net.UdpIkeSockets;
import dev.keel.ike.session.ConnectionDirectory;
import dev.keel.ike.engine.IkeEngine;
import dev.keel.ike.session.IkeEvents;
import dev.keel.ike.session.RandomSpiAllocator;
import dev.keel.ike.session.VertxIkeSaExecutor;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.internal.VertxInternal;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

/**
 * One side of the setup-rate benchmark: its own Vert.x (event loops), an IKE engine on real UDP
 * sockets ({@link UdpIkeSockets}) and one PSK connection to the other side, as a gateway would
 * configure it (strongSwan's retransmission defaults, default half-open limits).
 */
final class BenchPeer implements AutoCloseable {

    /**
     * The whole load comes from one address, so no cookies and no per-address block, as
     * charon-setup-rate.sh sets cookie_threshold, block_threshold and init_limit_half_open.
     */
    static final IkeSettings ONE_LOAD_GENERATOR = new IkeSettings(1_000_000, 1_000_000, 1_000_000,
            1_000_000, java.time.Duration.ofSeconds(30), java.time.Duration.ofSeconds(60));

    static final String IKE_PROPOSAL = "aes256gcm16-prfsha256-x25519";
    static final String ESP_PROPOSAL = "aes256gcm16";
    static final String CONNECTION = "bench";
    static final String CHILD = "net";
    private static final byte[] PSK = "keel-bench-psk-keel-bench-psk".getBytes(StandardCharsets.UTF_8);

    final Vertx vertx;
    final UdpIkeSockets sockets;
    final IkeEngine engine;
    /** Vert.x blocked-thread events (an event loop held longer than 500 ms). */
    final LongAdder blockedThreadEvents = new LongAdder();
    /** When each blocked-thread event came (epoch ms), to count those in the measured window. */
    final java.util.Queue<Long> blockedThreadEventTimes = new java.util.concurrent.ConcurrentLinkedQueue<>();

    /**
     * Binds {@code local} (port 0 picks one) with {@code loops} event loops and serves one connection
     * to {@code peer}: as the initiator with IDs initiator→responder and selectors 10.1.0.0/24 ===
     * 10.2.0.0/24, as the responder with the mirror image.
     */
    BenchPeer(boolean initiator, InetSocketAddress local, InetSocketAddress peer, int loops, IkeEvents events)
            throws Exception {
        this(initiator, local, peer, loops, events, 1, -1);
    }

    /**
     * As above with {@code connections} identical connections named {@code bench-0}, {@code bench-1},
     * ... (the initiator's pool: the engine reuses an established IKE SA of a connection for a further
     * CHILD SA, RFC 7296 §1.3.1, so a new IKE SA per initiation takes a connection without one),
     * and a NAT-T socket on {@code natTPort} (0: any free port; -1: none). A responder that floats
     * to port 4500 (Keel's gateway and esp-workers always do, docs/gateway.md) needs it: without
     * one, IKE_AUTH goes to its port 4500 without the non-ESP marker and is taken for ESP.
     */
    BenchPeer(boolean initiator, InetSocketAddress local, InetSocketAddress peer, int loops, IkeEvents events,
            int connections, int natTPort) throws Exception {
        vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(loops)
                .setBlockedThreadCheckInterval(100).setBlockedThreadCheckIntervalUnit(TimeUnit.MILLISECONDS)
                .setMaxEventLoopExecuteTime(500).setMaxEventLoopExecuteTimeUnit(TimeUnit.MILLISECONDS));
        ((VertxInternal) vertx).blockedThreadChecker().setThreadBlockedHandler(e -> {
            blockedThreadEvents.increment();
            blockedThreadEventTimes.add(System.currentTimeMillis());
            Throwable where = new Throwable("blocked thread: " + e.thread().getName() + " " + e.duration() / 1_000_000 + " ms");
            where.setStackTrace(e.thread().getStackTrace());
            where.printStackTrace();
        });
        AtomicReference<IkeEngine> engineRef = new AtomicReference<>();
        sockets = UdpIkeSockets.bind(vertx, local.getHostString(), local.getPort(), natTPort,
                (port, from, buf, off, len) -> engineRef.get().onMessage(port, from, buf, off, len))
                .await(10, TimeUnit.SECONDS);
        IpAddress localAddress = IpAddress.fromBytes(local.getAddress().getAddress());
        SecureRandom random = new SecureRandom();
        engine = new IkeEngine(sockets, events, localAddress, sockets.ikePort(), sockets.natTPort(),
                new ConnectionDirectory(), new RandomSpiAllocator(random), VertxIkeSaExecutor.roundRobin(vertx, loops),
                ONE_LOAD_GENERATOR, random);
        engineRef.set(engine);
        List<IkeConnection> list = new java.util.ArrayList<>();
        for (int i = 0; i < connections; i++) {
            list.add(connection(CONNECTION + "-" + i, initiator, local, peer));
        }
        engine.connections().replace(list);
    }

    private static IkeConnection connection(String name, boolean initiator, InetSocketAddress local,
            InetSocketAddress peer)
            throws ProposalSyntaxException {
        String self = initiator ? "initiator.bench.keel.test" : "responder.bench.keel.test";
        String other = initiator ? "responder.bench.keel.test" : "initiator.bench.keel.test";
        String localTs = initiator ? "10.1.0.0/24" : "10.2.0.0/24";
        String remoteTs = initiator ? "10.2.0.0/24" : "10.1.0.0/24";
        ChildConnection child = new ChildConnection(CHILD, TrafficSelectors.parseList(localTs),
                TrafficSelectors.parseList(remoteTs), Proposal.parseList(Protocol.ESP, ESP_PROPOSAL), IpsecMode.TUNNEL,
                Duration.ofHours(1), Duration.ofMinutes(66), ChildConnection.StartAction.NONE);
        return new IkeConnection(name, List.of(IpRange.of(IpAddress.fromBytes(local.getAddress().getAddress()))),
                List.of(IpRange.of(IpAddress.fromBytes(peer.getAddress().getAddress()))), peer.getPort(), IkeIdentity.parse(self),
                IkeIdentity.parse(other), new IkeConnection.Auth.Psk(PSK), Proposal.parseList(Protocol.IKE, IKE_PROPOSAL),
                false, Duration.ZERO, List.of(child));
    }

    @Override
    public void close() throws Exception {
        sockets.close();
        vertx.close().await(10, TimeUnit.SECONDS);
    }
}
