package dev.keel.ike.session;

import dev.keel.ike.engine.IkeSettings;
import dev.keel.ike.engine.IkeEngine;
import dev.keel.core.net.IpAddress;
import dev.keel.core.net.IpRange;
import dev.keel.core.proposal.Proposal;
import dev.keel.core.proposal.Protocol;
import dev.keel.core.proposal.ProposalSyntaxException;
import dev.keel.core.sa.IpsecMode;
import dev.keel.core.ts.TrafficSelectors;
import dev.keel.ike.config.ChildConnection;
import dev.keel.ike.config.IkeConnection;
import dev.keel.ike.message.IkeHeader;
import dev.keel.ike.message.IkeIdentity;
import dev.keel.ike.net.IkeTransport;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.internal.threadchecker.BlockedThreadEvent;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * Two IKE engines in one process joined by an in-memory wire (STYLE: two peers with a fake
 * sender): "alice" at 192.0.2.1:500 initiates, "bob" at 192.0.2.2:500 responds. Tests shape the
 * connections, drop chosen datagrams, and read what each side's {@link IkeEvents} saw. Public for
 * the tests of what is built on the engine (dev.keel.ike.admin).
 */
public final class TwoIkePeers implements AutoCloseable {

    public static final InetSocketAddress ALICE = new InetSocketAddress("192.0.2.1", 500);
    public static final InetSocketAddress BOB = new InetSocketAddress("192.0.2.2", 500);

    final Vertx vertx;
    final ConcurrentLinkedQueue<BlockedThreadEvent> blocked = new ConcurrentLinkedQueue<>();
    final RecordingEvents aliceEvents = new RecordingEvents();
    final RecordingEvents bobEvents = new RecordingEvents();
    public final IkeEngine alice;
    public final IkeEngine bob;
    final AtomicInteger delivered = new AtomicInteger();
    public volatile Predicate<byte[]> dropToAlice = d -> false;
    public volatile Predicate<byte[]> dropToBob = d -> false;
    /** Every datagram bob sent, in order (what a peer sees of a takeover). */
    final ConcurrentLinkedQueue<byte[]> fromBob = new ConcurrentLinkedQueue<>();
    /** Where each datagram bob sent went, in order. */
    final ConcurrentLinkedQueue<InetSocketAddress> bobSentTo = new ConcurrentLinkedQueue<>();
    /** The source bob sees on alice's datagrams: ALICE, or another address once she "moved" (MOBIKE tests). */
    volatile InetSocketAddress aliceSource = ALICE;
    /** The engine that receives what is sent to ALICE: alice, or after {@link #survivor} the survivor. */
    private volatile IkeEngine atAlice;
    /** Set by {@link #survivor}: alice is dead, nothing she sends arrives. */
    private volatile boolean aliceDead;
    private final RetransmitPolicy retransmit = new RetransmitPolicy(Duration.ofMillis(200), 1.5, 3);

    TwoIkePeers(IkeSettings bobLimits) {
        this(bobLimits, IkeEvents.NONE, IkeEvents.NONE);
    }

    /**
     * Peers whose engines also tell {@code aliceAlso} and {@code bobAlso} of every event (metrics, say).
     * Alice has the default half-open limits; both have {@code bobLimits}' {@code fragment_size}.
     */
    TwoIkePeers(IkeSettings bobLimits, IkeEvents aliceAlso, IkeEvents bobAlso) {
        this(bobLimits, aliceAlso, bobAlso, new SecureRandom(), new SecureRandom());
    }

    /** Peers whose engines draw keys, nonces and SPIs from {@code aliceRandom} and {@code bobRandom}. */
    TwoIkePeers(SecureRandom aliceRandom, SecureRandom bobRandom) {
        this(IkeSettings.DEFAULT, IkeEvents.NONE, IkeEvents.NONE, aliceRandom, bobRandom);
    }

    private TwoIkePeers(IkeSettings bobLimits, IkeEvents aliceAlso, IkeEvents bobAlso, SecureRandom aliceRandom,
            SecureRandom bobRandom) {
        vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(2)
                .setBlockedThreadCheckInterval(50).setBlockedThreadCheckIntervalUnit(TimeUnit.MILLISECONDS)
                .setMaxEventLoopExecuteTime(500).setMaxEventLoopExecuteTimeUnit(TimeUnit.MILLISECONDS));
        ((VertxInternal) vertx).blockedThreadChecker().setThreadBlockedHandler(e -> {
            if (blocked.isEmpty()) {
                Throwable where = new Throwable("blocked " + e.thread().getName() + " " + e.duration() / 1_000_000 + " ms");
                where.setStackTrace(e.thread().getStackTrace());
                where.printStackTrace();
            }
            blocked.add(e);
        });
        RetransmitPolicy fast = retransmit;
        IkeEngine[] engines = new IkeEngine[2];
        IkeTransport toBob = (port, peer, msg) -> {
            if (!aliceDead) {
                deliver(engines[1], aliceSource, msg, dropToBob);
            }
        };
        IkeTransport toAlice = (port, peer, msg) -> {
            fromBob.add(msg.clone());
            bobSentTo.add(peer);
            deliver(atAlice, BOB, msg, dropToAlice);
        };
        alice = new IkeEngine(toBob, both(aliceEvents, aliceAlso), address(ALICE), 500, 4500, new ConnectionDirectory(),
                new RandomSpiAllocator(new SecureRandom()), VertxIkeSaExecutor.roundRobin(vertx, 2),
                IkeSettings.DEFAULT.withFragmentSize(bobLimits.fragmentSize()).withRetransmit(fast), aliceRandom);
        bob = new IkeEngine(toAlice, both(bobEvents, bobAlso), address(BOB), 500, 4500, new ConnectionDirectory(),
                new RandomSpiAllocator(new SecureRandom()), VertxIkeSaExecutor.roundRobin(vertx, 2),
                bobLimits.withRetransmit(fast), bobRandom);
        engines[0] = alice;
        engines[1] = bob;
        atAlice = alice;
    }

    private static IkeEvents both(IkeEvents recording, IkeEvents also) {
        return also == IkeEvents.NONE ? recording : IkeEvents.all(recording, also);
    }

    /**
     * Kills alice (nothing she sends arrives any more; her timers run on into the void, as a
     * process killed with kill -9 sends nothing) and puts a new engine at her address, with alice's
     * connections and {@code events}, which from now on receives everything bob sends to ALICE:
     * the node that takes alice's IKE SAs over, behind the same anycast address.
     */
    IkeEngine survivor(RecordingEvents events) {
        aliceDead = true;
        IkeTransport toBob = (port, peer, msg) -> deliver(bob, ALICE, msg, dropToBob);
        IkeEngine survivor = new IkeEngine(toBob, events, address(ALICE), 500, 4500, new ConnectionDirectory(),
                new RandomSpiAllocator(new SecureRandom()), VertxIkeSaExecutor.roundRobin(vertx, 2),
                IkeSettings.DEFAULT.withRetransmit(retransmit), new SecureRandom());
        survivor.connections().replace(alice.connections().all());
        atAlice = survivor;
        return survivor;
    }

    public TwoIkePeers() {
        this(IkeSettings.DEFAULT);
    }

    private void deliver(IkeEngine to, InetSocketAddress from, byte[] msg, Predicate<byte[]> drop) {
        if (drop.test(msg)) {
            return;
        }
        delivered.incrementAndGet();
        byte[] copy = msg.clone();
        vertx.runOnContext(v -> to.onMessage(500, from, copy, 0, copy.length));
    }

    static IpAddress address(InetSocketAddress a) {
        return IpAddress.fromBytes(a.getAddress().getAddress());
    }

    /** A site-to-site connection from {@code self} to {@code peer} with a PSK. */
    static IkeConnection psk(String name, InetSocketAddress self, InetSocketAddress peer, String selfId, String peerId,
            String psk, String ike, String esp, String localTs, String remoteTs) {
        return connection(name, self, peer, selfId, peerId,
                new IkeConnection.Auth.Psk(psk.getBytes(StandardCharsets.UTF_8)), ike, esp, localTs, remoteTs);
    }

    static IkeConnection connection(String name, InetSocketAddress self, InetSocketAddress peer, String selfId,
            String peerId, IkeConnection.Auth auth, String ike, String esp, String localTs, String remoteTs) {
        try {
            return connectionOrThrow(name, self, peer, selfId, peerId, auth, ike, esp, localTs, remoteTs);
        } catch (ProposalSyntaxException e) {
            throw new IllegalArgumentException(e);
        }
    }

    private static IkeConnection connectionOrThrow(String name, InetSocketAddress self, InetSocketAddress peer,
            String selfId, String peerId, IkeConnection.Auth auth, String ike, String esp, String localTs,
            String remoteTs) throws ProposalSyntaxException {
        ChildConnection child = new ChildConnection("net", TrafficSelectors.parseList(localTs),
                TrafficSelectors.parseList(remoteTs), Proposal.parseList(Protocol.ESP, esp), IpsecMode.TUNNEL,
                Duration.ofHours(1), Duration.ofMinutes(66), ChildConnection.StartAction.NONE);
        return new IkeConnection(name, List.of(IpRange.of(address(self))), List.of(IpRange.of(address(peer))), 500, IkeIdentity.parse(selfId),
                peerId == null ? null : IkeIdentity.parse(peerId), auth, Proposal.parseList(Protocol.IKE, ike), false,
                Duration.ZERO, List.of(child));
    }

    /** Gives both sides matching PSK connections: alice's "to-bob" and bob's "to-alice", each with child "net". */
    public void configurePsk(String aliceIke, String bobIke, String aliceEsp, String bobEsp, String alicePsk, String bobPsk,
            String aliceRemoteTs, String bobLocalTs) {
        alice.connections().replace(List.of(psk("to-bob", ALICE, BOB, "alice.example", "bob.example", alicePsk,
                aliceIke, aliceEsp, "10.1.0.0/16", aliceRemoteTs)));
        bob.connections().replace(List.of(psk("to-alice", BOB, ALICE, "bob.example", "alice.example", bobPsk,
                bobIke, bobEsp, bobLocalTs, "10.1.0.0/16")));
    }

    /** Reshapes both sides' connections (lifetimes, DPD, more children) after {@link #configurePsk}. */
    public void reshape(java.util.function.UnaryOperator<IkeConnection> aliceShape,
            java.util.function.UnaryOperator<IkeConnection> bobShape) {
        alice.connections().replace(alice.connections().all().stream().map(aliceShape).toList());
        bob.connections().replace(bob.connections().all().stream().map(bobShape).toList());
    }

    /** {@code c} with every child's rekey and hard lifetimes set (zero: never). */
    static IkeConnection lifetimes(IkeConnection c, Duration rekey, Duration life) {
        return new IkeConnection(c.name(), c.localAddrs(), c.remoteAddrs(), c.remotePort(), c.localId(), c.remoteId(),
                c.auth(), c.proposals(), c.encap(), c.dpdDelay(), c.children().stream()
                        .map(ch -> new ChildConnection(ch.name(), ch.localTs(), ch.remoteTs(), ch.espProposals(),
                                ch.mode(), rekey, life, ch.startAction()))
                        .toList(), c.lifetime());
    }

    /** {@code c} with dead peer detection every {@code dpd}. */
    static IkeConnection dpd(IkeConnection c, Duration dpd) {
        return new IkeConnection(c.name(), c.localAddrs(), c.remoteAddrs(), c.remotePort(), c.localId(), c.remoteId(),
                c.auth(), c.proposals(), c.encap(), dpd, c.children(), c.lifetime());
    }

    /** {@code c} with one more tunnel-mode child named {@code name} like its first one but for other selectors. */
    public static IkeConnection withChild(IkeConnection c, String name, String localTs, String remoteTs) {
        ChildConnection first = c.children().getFirst();
        ChildConnection extra = new ChildConnection(name, TrafficSelectors.parseList(localTs),
                TrafficSelectors.parseList(remoteTs), first.espProposals(), first.mode(), first.rekeyTime(),
                first.lifeTime(), first.startAction());
        List<ChildConnection> children = new java.util.ArrayList<>(c.children());
        children.add(extra);
        return new IkeConnection(c.name(), c.localAddrs(), c.remoteAddrs(), c.remotePort(), c.localId(), c.remoteId(),
                c.auth(), c.proposals(), c.encap(), c.dpdDelay(), children, c.lifetime());
    }

    /** True for a request (not a response) of {@code exchange}. */
    static boolean isRequest(byte[] msg, String exchange) {
        return IkeHeader.peek(msg).map(h -> !h.isResponse() && h.exchange().name().equals(exchange)).orElse(false);
    }

    /** The one IKE SA {@code engine} has (fails the test otherwise). */
    static IkeSa onlyIkeSa(IkeEngine engine) {
        List<IkeSa> all = engine.ikeSas();
        if (all.size() != 1) {
            throw new AssertionError("expected one IKE SA, found " + all);
        }
        return all.getFirst();
    }

    static boolean isResponse(byte[] msg, String exchange) {
        return IkeHeader.peek(msg).map(h -> h.isResponse() && h.exchange().name().equals(exchange)).orElse(false);
    }

    @Override
    public void close() throws Exception {
        vertx.close().await(10, TimeUnit.SECONDS);
    }

    /** What one engine reported. */
    static final class RecordingEvents implements IkeEvents {
        final ConcurrentLinkedQueue<IkeSa> established = new ConcurrentLinkedQueue<>();
        final ConcurrentLinkedQueue<String> destroyed = new ConcurrentLinkedQueue<>();
        final ConcurrentLinkedQueue<ChildSa> children = new ConcurrentLinkedQueue<>();
        final ConcurrentLinkedQueue<ChildSa> childrenDeleted = new ConcurrentLinkedQueue<>();
        final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        final ConcurrentLinkedQueue<ChildSa> rekeyedChildren = new ConcurrentLinkedQueue<>();
        final ConcurrentLinkedQueue<IkeSa> rekeyedIkeSas = new ConcurrentLinkedQueue<>();
        /** When set, every CHILD SA's install waits for it (DESIGN §4 install before use). */
        volatile java.util.concurrent.CompletableFuture<Void> installGate;
        /** When set, IKE SA state is stored there as node {@code node} (docs/ha.md, IKE SA failover). */
        private volatile MemorySad sad;
        private volatile String node;

        /** Stores this engine's IKE SAs in {@code store} as node {@code name}. */
        RecordingEvents storingIn(MemorySad store, String name) {
            this.node = name;
            this.sad = store;
            return this;
        }

        @Override
        public java.util.concurrent.CompletionStage<?> ikeSaChanged(IkeSa sa) {
            MemorySad s = sad;
            return s == null ? IkeEvents.INSTALLED : s.store(node, sa);
        }

        @Override
        public java.util.concurrent.CompletionStage<?> childInstalled(IkeSa sa, ChildSa child) {
            java.util.concurrent.CompletableFuture<Void> gate = installGate;
            return gate == null ? IkeEvents.INSTALLED : gate;
        }

        @Override
        public void childRekeyed(IkeSa sa, ChildSa old, ChildSa replacement) {
            rekeyedChildren.add(old);
        }

        @Override
        public void ikeRekeyed(IkeSa old, IkeSa replacement) {
            rekeyedIkeSas.add(old);
        }

        @Override
        public void ikeEstablished(IkeSa sa) {
            established.add(sa);
        }

        @Override
        public void ikeDestroyed(IkeSa sa, String reason) {
            destroyed.add(reason);
            MemorySad s = sad;
            if (s != null) {
                s.delete(node, sa);
            }
        }

        @Override
        public void childEstablished(IkeSa sa, ChildSa child) {
            children.add(child);
        }

        @Override
        public void childDeleted(IkeSa sa, ChildSa child) {
            childrenDeleted.add(child);
        }

        @Override
        public void failed(IkeSa sa, String reason) {
            failures.add(reason);
        }
    }
}
