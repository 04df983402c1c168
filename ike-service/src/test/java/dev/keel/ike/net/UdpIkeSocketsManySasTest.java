package dev.keel.ike.net;

import dev.keel.ike.engine.IkeSettings;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.net.IpAddress;
import dev.keel.core.net.IpRange;
import dev.keel.core.proposal.Proposal;
import dev.keel.core.proposal.Protocol;
import dev.keel.core.sa.IpsecMode;
import dev.keel.core.ts.TrafficSelectors;
import dev.keel.ike.config.ChildConnection;
import dev.keel.ike.config.IkeConnection;
import dev.keel.ike.message.IkeIdentity;
import dev.keel.ike.session.ChildSa;
import dev.keel.ike.session.ConnectionDirectory;
import dev.keel.ike.engine.IkeEngine;
import dev.keel.ike.session.IkeEvents;
import dev.keel.ike.session.IkeSa;
import dev.keel.ike.session.RandomSpiAllocator;
import dev.keel.ike.session.VertxIkeSaExecutor;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.internal.threadchecker.BlockedThreadEvent;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Functional guard for the setup-rate benchmark (bench/ike/keel-setup-rate.sh): two engines, each
 * on its own Vert.x, over real UDP sockets on 127.0.0.1 and 127.0.0.2 (free unprivileged ports),
 * establish and delete many IKE SAs with their CHILD SAs, many in flight, from one peer address.
 * Not timed: after a warm-up round it proves that none fails, that no event loop is held (Vert.x
 * blocked-thread events are failures) and that both engines' tables are empty afterwards.
 */
class UdpIkeSocketsManySasTest {

    private static final int TOTAL = 200;
    private static final int IN_FLIGHT = 32;
    private static final byte[] PSK = "many-sas-test-psk".getBytes(StandardCharsets.UTF_8);

    private final List<AutoCloseable> toClose = new ArrayList<>();
    private final ConcurrentLinkedQueue<String> blocked = new ConcurrentLinkedQueue<>();

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : toClose.reversed()) {
            c.close();
        }
    }

    @Test
    void twoHundredIkeAndChildSasWithThirtyTwoInFlightComeUpAndGoAwayWithoutFailures() throws Exception {
        Counting initiatorEvents = new Counting();
        Counting responderEvents = new Counting();
        Node responder = node("127.0.0.2", responderEvents);
        Node initiator = node("127.0.0.1", initiatorEvents);
        // one connection per slot: the engine reuses an established IKE SA of a connection for a further
        // CHILD SA (RFC 7296 §1.3.1), so each slot's next IKE SA starts once its previous one is gone
        List<IkeConnection> slots = new ArrayList<>();
        for (int i = 0; i < IN_FLIGHT; i++) {
            slots.add(connection("slot-" + i, "127.0.0.1", "127.0.0.2", responder.sockets.ikePort(), "initiator.test",
                    "responder.test", "10.1.0.0/24", "10.2.0.0/24"));
        }
        initiator.engine.connections().replace(slots);
        responder.engine.connections().replace(List.of(connection("from-initiator", "127.0.0.2", "127.0.0.1", 500,
                "responder.test", "initiator.test", "10.2.0.0/24", "10.1.0.0/24")));

        // First use of code paths (class loading, call-site linkage) on an event loop can exceed the
        // 500 ms limit on a heavily loaded machine; a first round warms them, the guarded round follows.
        int warm = IN_FLIGHT;
        assertThat(round(initiator.engine, initiatorEvents, warm, ConcurrentHashMap.newKeySet())).isEmpty();
        waitUntil(Duration.ofSeconds(30), () -> initiator.engine.ikeSaCount() == 0 && responder.engine.ikeSaCount() == 0);
        blocked.clear();

        Set<Long> responderSpis = ConcurrentHashMap.newKeySet();
        List<String> failures = round(initiator.engine, initiatorEvents, TOTAL, responderSpis);
        assertThat(failures).isEmpty();
        waitUntil(Duration.ofSeconds(30), () -> initiator.engine.ikeSaCount() == 0 && responder.engine.ikeSaCount() == 0);
        assertThat(initiator.engine.ikeSaCount()).isZero();
        assertThat(responder.engine.ikeSaCount()).isZero();

        assertThat(responderSpis).as("one responder IKE SA per initiation").hasSize(TOTAL);
        assertThat(initiator.engine.counters().establishedCount()).isEqualTo(warm + TOTAL);
        assertThat(responder.engine.counters().establishedCount()).isEqualTo(warm + TOTAL);
        assertThat(initiator.engine.counters().childrenEstablishedCount()).isEqualTo(warm + TOTAL);
        assertThat(responder.engine.counters().childrenEstablishedCount()).isEqualTo(warm + TOTAL);
        assertThat(initiator.engine.counters().failedCount() + responder.engine.counters().failedCount()).isZero();
        assertThat(initiatorEvents.childDeleted.get()).isEqualTo(warm + TOTAL);
        assertThat(responderEvents.childDeleted.get()).isEqualTo(warm + TOTAL);
        assertThat(initiatorEvents.failures).isEmpty();
        assertThat(responderEvents.failures).isEmpty();
        assertThat(responder.engine.halfOpenCount()).isZero();
        assertThat(initiator.sockets.sendFailures() + responder.sockets.sendFailures()).isZero();
        assertThat(blocked).as("Vert.x blocked-thread events").isEmpty();
    }

    /**
     * Initiates {@code total} IKE SAs, {@link #IN_FLIGHT} at a time (one per slot connection), deleting
     * each once its CHILD SA is up; a slot starts its next IKE SA when the previous one is destroyed.
     * Returns the failures (bounded in time: a stuck round fails the test).
     */
    private static List<String> round(IkeEngine initiator, Counting events, int total, Set<Long> responderSpis)
            throws InterruptedException {
        AtomicInteger started = new AtomicInteger();
        AtomicInteger succeeded = new AtomicInteger();
        AtomicInteger destroyed = new AtomicInteger();
        ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        Consumer<String> start = connection -> {
            if (started.incrementAndGet() > total) {
                return;
            }
            initiator.initiate(connection, "net").whenComplete((sa, error) -> {
                if (error != null) {
                    failures.add(String.valueOf(error.getMessage()));
                } else {
                    succeeded.incrementAndGet();
                    responderSpis.add(sa.spiR());
                    initiator.terminate(sa);
                }
            });
        };
        events.onDestroyed = sa -> {
            destroyed.incrementAndGet();
            start.accept(sa.connection().name());
        };
        for (int i = 0; i < IN_FLIGHT; i++) {
            start.accept("slot-" + i);
        }
        waitUntil(Duration.ofSeconds(240), () -> destroyed.get() >= total || !failures.isEmpty());
        events.onDestroyed = sa -> { };
        List<String> result = new ArrayList<>(failures);
        if (result.isEmpty() && succeeded.get() != total) {
            result.add("only " + succeeded.get() + " of " + total + " established within the time limit");
        }
        return result;
    }

    private record Node(Vertx vertx, UdpIkeSockets sockets, IkeEngine engine) {
    }

    private Node node(String host, IkeEvents events) throws Exception {
        Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(2)
                .setBlockedThreadCheckInterval(50).setBlockedThreadCheckIntervalUnit(TimeUnit.MILLISECONDS)
                .setMaxEventLoopExecuteTime(500).setMaxEventLoopExecuteTimeUnit(TimeUnit.MILLISECONDS));
        toClose.add(() -> vertx.close().await(10, TimeUnit.SECONDS));
        ((VertxInternal) vertx).blockedThreadChecker().setThreadBlockedHandler((BlockedThreadEvent e) -> {
            Throwable where = new Throwable("blocked " + e.thread().getName() + " " + e.duration() / 1_000_000 + " ms");
            where.setStackTrace(e.thread().getStackTrace());
            where.printStackTrace();
            blocked.add(where.getMessage());
        });
        AtomicReference<IkeEngine> engine = new AtomicReference<>();
        UdpIkeSockets sockets = UdpIkeSockets.bind(vertx, host, 0, -1,
                (port, peer, buf, off, len) -> engine.get().onMessage(port, peer, buf, off, len))
                .await(30, TimeUnit.SECONDS);
        toClose.add(sockets);
        SecureRandom random = new SecureRandom();
        engine.set(new IkeEngine(sockets, events, IpAddress.parse(host), sockets.ikePort(), sockets.natTPort(),
                new ConnectionDirectory(), new RandomSpiAllocator(random), VertxIkeSaExecutor.roundRobin(vertx, 2),
                IkeSettings.DEFAULT, random));
        return new Node(vertx, sockets, engine.get());
    }

    private static IkeConnection connection(String name, String self, String peer, int peerPort, String selfId,
            String peerId, String localTs, String remoteTs) throws Exception {
        ChildConnection child = new ChildConnection("net", TrafficSelectors.parseList(localTs),
                TrafficSelectors.parseList(remoteTs), Proposal.parseList(Protocol.ESP, "aes256gcm16"), IpsecMode.TUNNEL,
                Duration.ofHours(1), Duration.ofMinutes(66), ChildConnection.StartAction.NONE);
        return new IkeConnection(name, List.of(IpRange.parse(self)), List.of(IpRange.parse(peer)), peerPort,
                IkeIdentity.parse(selfId), IkeIdentity.parse(peerId), new IkeConnection.Auth.Psk(PSK),
                Proposal.parseList(Protocol.IKE, "aes256gcm16-prfsha256-x25519"), false, Duration.ZERO, List.of(child));
    }

    private static void waitUntil(Duration timeout, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
    }

    /** Counts what one engine reports. */
    private static final class Counting implements IkeEvents {
        final AtomicInteger childDeleted = new AtomicInteger();
        final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        volatile Consumer<IkeSa> onDestroyed = sa -> { };

        @Override
        public void ikeDestroyed(IkeSa sa, String reason) {
            onDestroyed.accept(sa);
        }

        @Override
        public void childDeleted(IkeSa sa, ChildSa child) {
            childDeleted.incrementAndGet();
        }

        @Override
        public void failed(IkeSa sa, String reason) {
            failures.add(reason);
        }
    }
}
