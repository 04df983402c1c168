package dev.keel.esp.feed;

import dev.keel.proto.ChildKeyUnwrapper;
import static dev.keel.esp.feed.Fixtures.await;
import static dev.keel.esp.feed.Fixtures.send;
import static dev.keel.esp.feed.Fixtures.udp;
import static dev.keel.esp.feed.Fixtures.v4;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.net.IpAddress;
import dev.keel.esp.acquire.Acquire;
import dev.keel.esp.acquire.AcquireLimiter;
import dev.keel.esp.acquire.ExpiryListener;
import dev.keel.esp.forward.FedGateway;
import dev.keel.esp.forward.ForwardDrop;
import dev.keel.esp.net.UdpOptions;
import dev.keel.esp.plain.VirtualWire;
import dev.keel.policy.config.ConfigLoader;
import dev.keel.policy.config.ConfigResult;
import dev.keel.policy.config.PolicyConfig;
import dev.keel.policy.grpc.PolicyGrpcService;
import dev.keel.policy.grpc.PolicyServer;
import dev.keel.policy.store.PolicyStore;
import io.grpc.ManagedChannel;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.vertx.core.Vertx;
import io.vertx.core.internal.threadchecker.BlockedThreadEvent;
import java.net.InetSocketAddress;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The SPD from a live policy-service (in-process gRPC) drives the outbound decisions of a
 * running worker on two event loops: BYPASS, DISCARD, no match, PROTECT without an SA (one
 * acquire per policy under a burst); a new configuration changes them through the watch; a
 * restarted watch resumes from its revision; a restarted service (new epoch) gives a snapshot.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class FedSpdTest {

    static final String PSK_ENV = "KEEL_TEST_PSK";

    static final String CONFIG_1 = """
            secrets:
              psk-b: {env: KEEL_TEST_PSK}
            connections:
              site-b:
                local_addrs: 127.0.0.2
                remote_addrs: 127.0.0.3
                local: {auth: psk, id: gw-a.example, secret: psk-b}
                remote: {auth: psk, id: gw-b.example}
                children:
                  net: {local_ts: 10.1.0.0/16, remote_ts: 10.2.0.0/16, start_action: trap}
                  web: {local_ts: 10.1.0.0/16, remote_ts: 10.3.0.0/16, start_action: trap}
            policies:
              - {name: mgmt, local_ts: 10.1.0.0/16, remote_ts: "10.2.0.9[udp/9]", action: bypass}
              - {name: block, local_ts: 10.1.0.0/16, remote_ts: 10.4.0.0/16, action: drop}
            """;

    /** mgmt is gone (10.2.0.9 port 9 is now PROTECTed by net) and 10.4/16 is bypassed instead of dropped. */
    static final String CONFIG_2 = CONFIG_1.replace(
            "  - {name: mgmt, local_ts: 10.1.0.0/16, remote_ts: \"10.2.0.9[udp/9]\", action: bypass}\n", "")
            .replace("{name: block, local_ts: 10.1.0.0/16, remote_ts: 10.4.0.0/16, action: drop}",
                    "{name: open, local_ts: 10.1.0.0/16, remote_ts: 10.4.0.0/16, action: bypass}");

    static final byte[] HOST = v4(10, 1, 0, 5);

    private final ConcurrentLinkedQueue<BlockedThreadEvent> blocked = new ConcurrentLinkedQueue<>();
    private final List<Acquire> acquired = Collections.synchronizedList(new ArrayList<>());
    private ConfigLoader loader;
    private PolicyStore store;
    private String serverName;
    private PolicyServer server;
    private ManagedChannel channel;
    private ScheduledExecutorService scheduler;
    private ExecutorService acquireExecutor;
    private SpdTable spd;
    private SpdFeed feed;
    private SaTables sas;
    private Vertx vertx;
    private FedGateway gw;
    private DatagramChannel hostA;
    private DatagramChannel hostB;
    private DatagramChannel clearSink;
    private InetSocketAddress wire;

    static PolicyConfig config(ConfigLoader loader, String yaml) {
        ConfigResult r = loader.loadText("test.yaml", yaml);
        assertThat(r).isInstanceOf(ConfigResult.Valid.class);
        return ((ConfigResult.Valid) r).config();
    }

    @BeforeEach
    void start() throws Exception {
        loader = new ConfigLoader(Map.of(PSK_ENV, "not-a-real-psk-for-tests")::get);
        store = new PolicyStore(config(loader, CONFIG_1), 8, 1001);
        serverName = InProcessServerBuilder.generateName();
        server = new PolicyServer(InProcessServerBuilder.forName(serverName), new PolicyGrpcService(loader, store)).start();
        channel = InProcessChannelBuilder.forName(serverName).build();
        scheduler = Executors.newSingleThreadScheduledExecutor();
        acquireExecutor = Executors.newSingleThreadExecutor();
        spd = new SpdTable();
        feed = new SpdFeed(channel, spd, scheduler, Duration.ofMillis(20), Duration.ofMillis(200)).start();
        byte[] kek = new byte[32];
        kek[0] = 1;
        sas = new SaTables("w1", new ChildKeyUnwrapper(kek), sa -> { },
                new ReplayCheckpoints(channel, "w1", CheckpointRule.defaults()), ExpiryListener.NONE, scheduler);
        AcquireLimiter limiter = new AcquireLimiter(acquired::add, acquireExecutor, Duration.ofSeconds(60));
        vertx = Fixtures.vertx(2, blocked);
        hostA = Fixtures.socket("127.0.0.1");
        hostB = Fixtures.socket("127.0.0.1");
        clearSink = Fixtures.socket("127.0.0.4");
        wire = Fixtures.freeUdp("127.0.0.2");
        InetSocketAddress udp = Fixtures.freeUdp("127.0.0.2");
        gw = FedGateway.start(vertx, FedGateway.Config.of(udp).withClearPath(Fixtures.local(clearSink)),
                new VirtualWire(vertx, wire, Fixtures.local(hostA), UdpOptions.DEFAULTS), spd, sas, limiter)
                .await(10, TimeUnit.SECONDS);
        await(() -> feed.snapshots() == 1, 10_000, () -> "no SPD snapshot");
    }

    @AfterEach
    void stop() throws Exception {
        try {
            if (gw != null) {
                gw.close().await(10, TimeUnit.SECONDS);
            }
            feed.close();
            channel.shutdownNow();
            server.close();
            scheduler.shutdownNow();
            acquireExecutor.shutdownNow();
            hostA.close();
            hostB.close();
            clearSink.close();
        } finally {
            vertx.close().await(10, TimeUnit.SECONDS);
        }
        assertThat(blocked).as("event loops reported blocked").isEmpty();
    }

    private long drops(ForwardDrop d) {
        return gw.counters().drops(d);
    }

    @Test
    void decisionsFollowTheSpdAndChangeWithANewConfiguration() throws Exception {
        assertThat(spd.revision()).isEqualTo(1);
        byte[] bypass = udp(HOST, v4(10, 2, 0, 9), 9, 40, 1);
        send(hostA, bypass, wire);
        assertThat(Fixtures.receive(clearSink, 5000)).as("BYPASS goes out in clear, unchanged").isEqualTo(bypass);
        send(hostA, udp(HOST, v4(10, 4, 0, 1), 53, 40, 2), wire);
        await(() -> drops(ForwardDrop.POLICY_DISCARD) == 1, 5000, () -> gw.counters().toString());
        send(hostA, udp(HOST, v4(10, 9, 0, 1), 53, 40, 3), wire);
        await(() -> drops(ForwardDrop.NO_POLICY) == 1, 5000, () -> gw.counters().toString());
        assertThat(drops(ForwardDrop.NO_SA)).isZero();
        assertThat(acquired).isEmpty();

        store.apply(config(loader, CONFIG_2));
        await(() -> spd.revision() == 2, 5000, () -> "SPD revision " + spd.revision());
        assertThat(feed.deltas()).isEqualTo(1);
        send(hostA, bypass, wire); // now PROTECT through site-b/net, which has no SA
        await(() -> drops(ForwardDrop.NO_SA) == 1, 5000, () -> gw.counters().toString());
        await(() -> acquired.size() == 1, 5000, () -> "acquires " + acquired);
        Acquire a = acquired.getFirst();
        assertThat(a.connection()).isEqualTo("site-b");
        assertThat(a.child()).isEqualTo("net");
        assertThat(a.source()).isEqualTo(IpAddress.parse("10.1.0.5"));
        assertThat(a.destination()).isEqualTo(IpAddress.parse("10.2.0.9"));
        assertThat(a.protocol()).isEqualTo(17);
        assertThat(a.destinationPort()).isEqualTo(9);
        byte[] opened = udp(HOST, v4(10, 4, 0, 1), 53, 40, 4);
        send(hostA, opened, wire);
        assertThat(Fixtures.receive(clearSink, 5000)).as("10.4/16 is bypassed now").isEqualTo(opened);
        assertThat(drops(ForwardDrop.POLICY_DISCARD)).isEqualTo(1);
        assertThat(gw.counters().bypassed()).isEqualTo(2);
    }

    @Test
    void aBurstWithoutAnSaSendsOneAcquirePerPolicy() throws Exception {
        int perHost = 500;
        Thread other = Thread.ofPlatform().start(() -> {
            try {
                for (int i = 0; i < perHost; i++) {
                    send(hostB, udp(HOST, v4(10, 2, 0, 7), 5000, 40, i), wire);
                }
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        for (int i = 0; i < perHost; i++) {
            send(hostA, udp(HOST, v4(10, 2, 0, 8), 5000, 40, i), wire);
            if (i % 2 == 0) {
                send(hostA, udp(HOST, v4(10, 3, 0, 1), 443, 40, i), wire);
            }
        }
        other.join();
        long sent = 2L * perHost + perHost / 2;
        await(() -> gw.counters().plaintextIn() == sent, 10_000, () -> gw.counters().toString());
        assertThat(drops(ForwardDrop.NO_SA)).isEqualTo(sent);
        await(() -> acquired.size() >= 2, 5000, () -> "acquires " + acquired);
        Thread.sleep(100); // any straggler acquire would have been handed over by now
        assertThat(acquired).extracting(Acquire::child).containsExactlyInAnyOrder("net", "web");
        assertThat(gw.acquires().fired()).isEqualTo(2);
        assertThat(gw.acquires().suppressed()).isEqualTo(sent - 2);
    }

    @Test
    void aRestartedWatchResumesAndANewEpochGetsASnapshot() throws Exception {
        feed.restart();
        await(() -> feed.connects() == 2, 5000, () -> "connects " + feed.connects());
        store.apply(config(loader, CONFIG_2));
        await(() -> spd.revision() == 2, 5000, () -> "SPD revision " + spd.revision());
        assertThat(feed.snapshots()).as("resumed with deltas, no second snapshot").isEqualTo(1);
        assertThat(feed.deltas()).isEqualTo(1);

        // The service restarts: new epoch, revisions from 1 again. The feed reconnects with back-off.
        server.close();
        store = new PolicyStore(config(loader, CONFIG_1), 8, 2002);
        server = new PolicyServer(InProcessServerBuilder.forName(serverName), new PolicyGrpcService(loader, store)).start();
        await(() -> feed.snapshots() == 2, 10_000, () -> "snapshots " + feed.snapshots());
        assertThat(spd.epoch()).isEqualTo(2002);
        assertThat(spd.revision()).isEqualTo(1);
        byte[] bypass = udp(HOST, v4(10, 2, 0, 9), 9, 40, 1);
        send(hostA, bypass, wire);
        assertThat(Fixtures.receive(clearSink, 5000)).as("CONFIG_1's mgmt bypass is back").isEqualTo(bypass);
        assertThat(feed.rejected()).isZero();
    }
}
