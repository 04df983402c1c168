package dev.keel.esp.feed;

import dev.keel.proto.ChildKeyUnwrapper;
import static dev.keel.esp.feed.Fixtures.await;
import static dev.keel.esp.feed.Fixtures.udp;
import static dev.keel.esp.feed.Fixtures.v4;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.keel.core.packet.PacketBuffer;
import dev.keel.core.sa.IpsecMode;
import dev.keel.esp.acquire.ExpiryListener;
import dev.keel.esp.packet.DecapOutcome;
import dev.keel.esp.packet.EncapOutcome;
import dev.keel.esp.packet.EspCounters;
import dev.keel.esp.packet.EspDecapsulator;
import dev.keel.esp.packet.EspEncapsulator;
import dev.keel.esp.packet.Suites;
import dev.keel.esp.sa.OutboundSa;
import dev.keel.policy.config.ConfigLoader;
import dev.keel.policy.grpc.PolicyGrpcService;
import dev.keel.policy.grpc.PolicyServer;
import dev.keel.policy.store.PolicyStore;
import dev.keel.proto.v1.ChildSaKeys;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.Direction;
import dev.keel.proto.v1.Endpoint;
import dev.keel.proto.v1.GetChildSaRequest;
import dev.keel.proto.v1.InstallChildSaRequest;
import dev.keel.proto.v1.IpsecProtocol;
import dev.keel.proto.v1.SaServiceGrpc;
import dev.keel.sad.SadConfig;
import dev.keel.sad.SadNode;
import dev.keel.sad.keys.KeyEncryptionKey;
import io.grpc.ManagedChannel;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The inbound replay floor across a takeover (docs/ha.md, "Inbound replay floor after a
 * takeover"), with the real pieces: two sad-service members, a worker fed by each, and the
 * owner's member terminated (as by kill -9) while two inbound SAs carry traffic.
 * <ul>
 *   <li>a fast SA takes 60,000 packets at about 100,000 a second, more than the old fixed margin
 *       of 32,768 between two of the old once-a-second checkpoints: the new owner accepts none of
 *       the packets the old owner accepted, replayed to it;</li>
 *   <li>a 100 packets/s SA goes on at that rate through the takeover: the new owner accepts it
 *       again within the failover budget (under a second of its packets fall below the floor),
 *       not five minutes later.</li>
 * </ul>
 * The workers' usage reports are set an hour apart, as the old checkpoints were tied to them.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ReplayFloorTakeoverTest {

    static final String CONFIG = """
            secrets:
              psk-b: {env: KEEL_TEST_PSK}
            connections:
              site-b:
                local_addrs: 127.0.0.2
                remote_addrs: 127.0.0.3
                local: {auth: psk, id: gw-a.example, secret: psk-b}
                remote: {auth: psk, id: gw-b.example}
                children:
                  net: {local_ts: 10.1.0.0/16, remote_ts: 10.2.0.0/16}
            """;
    static final int FAST_SPI = 0x0f000001;
    static final int SLOW_SPI = 0x0f000002;
    static final int FAST_PACKETS = 60_000;
    static final byte[] HOST = v4(10, 1, 0, 5);
    static final byte[] PEER_HOST = v4(10, 2, 0, 7);

    private final List<AutoCloseable> closeables = new ArrayList<>();

    @Test
    void theNewOwnerReplaysNothingTheOldOwnerAcceptedAndTakesA100PpsFlowWithinASecond() throws Exception {
        Path dir = Files.createTempDirectory("keel-replay-floor");
        try {
            byte[] kek = new byte[KeyEncryptionKey.LENGTH];
            new SecureRandom().nextBytes(kek);
            Path kekFile = dir.resolve("kek.hex");
            KeyEncryptionKey.write(kekFile, kek);
            String cluster = "keel-replay-floor-" + UUID.randomUUID();
            int p1 = freePort();
            int p2 = freePort();
            Member m1 = sad("n1", cluster, kekFile, p1, p2);
            Member m2 = sad("n2", cluster, kekFile, p2, p1);
            SadNode sad1 = m1.node();
            ManagedChannel c1 = m1.channel();
            ManagedChannel c2 = m2.channel();
            await(() -> sad1.cluster().hazelcast().getCluster().getMembers().size() == 2, 30_000,
                    () -> "members did not form a cluster");
            ManagedChannel policy = policy();
            WorkerFeeds w1 = worker(policy, c1, "n1", kek);
            WorkerFeeds w2 = worker(policy, c2, "n2", kek);
            EspDecapsulator d1 = new EspDecapsulator(w1.sas().inbound(), new EspCounters());

            SaServiceGrpc.SaServiceBlockingStub sad = SaServiceGrpc.newBlockingStub(c1);
            install(sad, "fast-in", FAST_SPI);
            install(sad, "slow-in", SLOW_SPI);
            await(() -> w1.sas().inbound().lookup(FAST_SPI) != null && w1.sas().inbound().lookup(SLOW_SPI) != null,
                    10_000, () -> "SAs not installed on n1");

            // The slow flow: 100 packets a second, from now until well after the takeover.
            List<byte[]> slow = packets(SLOW_SPI, 4_000);
            AtomicLong slowSent = new AtomicLong();
            Thread slowPeer = Thread.ofPlatform().name("peer-100pps").start(() -> {
                for (int i = 0; i < slow.size() && !Thread.currentThread().isInterrupted(); i++) {
                    slowSent.set(i + 1);
                    try {
                        Thread.sleep(10);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            closeables.add(slowPeer::interrupt);
            // n1 receives the slow flow for 3 s; the fast flow meanwhile, paced at ~100 packets a ms.
            EspDecapsulator d1slow = new EspDecapsulator(w1.sas().inbound(), new EspCounters());
            long[] slowTopOnN1 = {0};
            Thread slowOnN1 = Thread.ofPlatform().name("n1-slow").start(() -> {
                for (int next = 0; next < 300 && !Thread.currentThread().isInterrupted(); ) {
                    if (next < slowSent.get()) {
                        if (receive(d1slow, slow.get(next)) == DecapOutcome.DELIVERED) {
                            slowTopOnN1[0] = next + 1;
                        }
                        next++;
                    } else {
                        Thread.onSpinWait();
                    }
                }
            });
            List<byte[]> fast = packets(FAST_SPI, FAST_PACKETS);
            List<Integer> fastAccepted = new ArrayList<>();
            for (int i = 0; i < fast.size(); i++) {
                if (receive(d1, fast.get(i)) == DecapOutcome.DELIVERED) {
                    fastAccepted.add(i);
                }
                if (i % 100 == 99) {
                    Thread.sleep(1);
                }
            }
            slowOnN1.join();
            assertThat(slowTopOnN1[0]).as("n1 took the slow flow").isGreaterThan(250);
            assertThat(fastAccepted.size()).as("n1 took more than the old fixed margin of the fast flow")
                    .isGreaterThan(33_000);

            // Kill n1's member (no goodbye: as kill -9) and with it n1's worker.
            w1.close();
            sad1.cluster().hazelcast().getLifecycleService().terminate();
            await(() -> w2.sas().inbound().lookup(FAST_SPI) != null && w2.sas().inbound().lookup(SLOW_SPI) != null,
                    30_000, () -> "n2 did not take the SAs over");

            // (a) Every packet n1 accepted, sent again to n2: none is accepted.
            EspDecapsulator d2 = new EspDecapsulator(w2.sas().inbound(), new EspCounters());
            long replayed = 0;
            for (int i : fastAccepted) {
                if (receive(d2, fast.get(i)) == DecapOutcome.DELIVERED) {
                    replayed++;
                }
            }
            ChildSaRecord fastNow = SaServiceGrpc.newBlockingStub(c2).getChildSa(GetChildSaRequest.newBuilder()
                    .setId("fast-in").build()).getChildSa();

            // (b) The slow flow, on at 100 packets/s: n2 accepts it again within a second of its packets.
            ChildSaRecord slowNow = SaServiceGrpc.newBlockingStub(c2).getChildSa(GetChildSaRequest.newBuilder()
                    .setId("slow-in").build()).getChildSa();
            EspDecapsulator d2slow = new EspDecapsulator(w2.sas().inbound(), new EspCounters());
            long belowFloor = 0;
            long deliveredAfter = 0;
            long heldBack = 0;
            int next = (int) slowSent.get(); // what the peer sent before n2 had the SA is lost
            long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(2_500);
            while (System.nanoTime() < until && next < slow.size()) {
                if (next < slowSent.get()) {
                    DecapOutcome o = receive(d2slow, slow.get(next++));
                    if (o == DecapOutcome.DELIVERED) {
                        deliveredAfter++;
                    } else if (deliveredAfter == 0 && o == DecapOutcome.REPLAYED) {
                        belowFloor++;
                    } else {
                        heldBack++;
                    }
                } else {
                    Thread.sleep(1);
                }
            }
            System.out.printf("replay-floor-test: n1 accepted %d of %d fast packets (top %d), floor after the takeover "
                    + "%d; slow: n1's top %d, floor %d, %d below it at n2, then %d accepted%n", fastAccepted.size(),
                    FAST_PACKETS, fastAccepted.getLast() + 1, fastNow.getReplayFloor(), slowTopOnN1[0],
                    slowNow.getReplayFloor(), belowFloor, deliveredAfter);
            // Both outcomes are reported, so the old rule shows both failures.
            SoftAssertions soft = new SoftAssertions();
            soft.assertThat(replayed).as("(a) packets n1 accepted that n2 accepted again (floor %d, n1's top %d)",
                    fastNow.getReplayFloor(), fastAccepted.getLast() + 1).isZero();
            soft.assertThat(slowNow.getReplayFloor() - slowTopOnN1[0])
                    .as("(b) numbers between n1's last and the floor: at most 1 s of a 100 packets/s flow")
                    .isBetween(0L, 100L);
            soft.assertThat(deliveredAfter).as("(b) slow packets n2 accepted in 2.5 s (%d below the floor first)",
                    belowFloor).isGreaterThan(150);
            soft.assertThat(belowFloor).as("(b) packets below the floor after n2 had the SA: at most 1 s of them")
                    .isLessThanOrEqualTo(100);
            // The new owner's first checkpoint can wait for Hazelcast's partition migration after the member
            // loss; while it does, the window holds the flow back (CHECKPOINT_BEHIND, docs/ha.md). Seen: 0 or 1.
            soft.assertThat(heldBack).as("(b) packets refused after the first one n2 accepted").isLessThanOrEqualTo(10);
            soft.assertThat(belowFloor + heldBack).as("(b) slow packets lost at n2 in all: at most 1 s of them")
                    .isLessThanOrEqualTo(100);
            soft.assertAll();
        } finally {
            for (int i = closeables.size() - 1; i >= 0; i--) {
                try {
                    closeables.get(i).close();
                } catch (Exception ignored) {
                    // keep closing the rest
                }
            }
            try (var walk = Files.walk(dir)) {
                for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** A sad-service member and a channel to its in-process gRPC server. */
    private record Member(SadNode node, ManagedChannel channel) {}

    private Member sad(String node, String cluster, Path kekFile, int port, int other) throws Exception {
        SadConfig.Builder b = SadConfig.builder(node, kekFile);
        b.clusterName = cluster;
        b.bindHost = "127.0.0.1";
        b.hazelcastPort = port;
        b.members = List.of("127.0.0.1:" + port, "127.0.0.1:" + other);
        b.grpcPort = 0;
        b.partitionCount = 31;
        b.maintenanceIntervalMillis = 500;
        String name = InProcessServerBuilder.generateName();
        SadNode n = SadNode.start(b.build(), InProcessServerBuilder.forName(name).directExecutor());
        closeables.add(n);
        ManagedChannel c = InProcessChannelBuilder.forName(name).build();
        closeables.add(c::shutdownNow);
        return new Member(n, c);
    }

    private ManagedChannel policy() throws Exception {
        ConfigLoader loader = new ConfigLoader(Map.of("KEEL_TEST_PSK", "not-a-real-psk-for-tests")::get);
        String name = InProcessServerBuilder.generateName();
        PolicyServer server = new PolicyServer(InProcessServerBuilder.forName(name),
                new PolicyGrpcService(loader, new PolicyStore(FedSpdTest.config(loader, CONFIG)))).start();
        closeables.add(server::close);
        ManagedChannel c = InProcessChannelBuilder.forName(name).build();
        closeables.add(c::shutdownNow);
        return c;
    }

    private WorkerFeeds worker(ManagedChannel policy, ManagedChannel sad, String node, byte[] kek) {
        WorkerFeeds w = new WorkerFeeds(policy, sad, node, new ChildKeyUnwrapper(kek),
                new SaMaintenance.Settings(4096, Duration.ofHours(1), Duration.ofMillis(20), Duration.ofMillis(200)),
                ExpiryListener.NONE).start();
        closeables.add(w::close);
        return w;
    }

    private static Endpoint endpoint(byte[] address) {
        return Endpoint.newBuilder().setAddress(ByteString.copyFrom(address)).setPort(4500).build();
    }

    private static dev.keel.proto.v1.TrafficSelector ts(int b) {
        return FedSaTest.ts(b, 0);
    }

    /** An inbound AES-128-GCM SA owned by n1, keyed as Suites keys the SPI. */
    private static void install(SaServiceGrpc.SaServiceBlockingStub sad, String id, int spi) {
        Suites s = Suites.AES128_GCM16;
        ChildSaRecord.Builder r = ChildSaRecord.newBuilder().setId(id).setConnection("site-b").setChild(id)
                .setIkeSaId("ike-1").setSpi(spi).setDirection(Direction.DIRECTION_INBOUND)
                .setProtocol(IpsecProtocol.IPSEC_PROTOCOL_ESP).setMode(dev.keel.proto.v1.IpsecMode.IPSEC_MODE_TUNNEL)
                .setLocal(endpoint(v4(127, 0, 0, 2))).setPeer(endpoint(v4(127, 0, 0, 3)))
                .setEncryptionTransform(s.encryption.id()).setEncryptionKeyLength(s.keyLength + 4)
                .setReplayWindow(1024).addLocalTs(ts(1)).addRemoteTs(ts(2));
        sad.withDeadlineAfter(30, TimeUnit.SECONDS).installChildSa(InstallChildSaRequest.newBuilder().setChildSa(r)
                .setOwnerNodeId("n1")
                .setKeys(ChildSaKeys.newBuilder().setEncryption(ByteString.copyFrom(s.encryptionKey(spi)))).build());
    }

    /** The peer's packets to an SA: ESP with sequence numbers 1..n, each an inner UDP packet. */
    private static List<byte[]> packets(int spi, int n) {
        OutboundSa peer = new OutboundSa(Suites.AES128_GCM16.spec(spi, IpsecMode.TUNNEL, false, 0, 1024), null);
        EspEncapsulator encap = new EspEncapsulator(new EspCounters());
        List<byte[]> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            byte[] inner = udp(PEER_HOST, HOST, 7, 16, i);
            PacketBuffer pkt = new PacketBuffer(256).set(inner, 0, inner.length);
            assertThat(encap.encapsulate(peer, pkt)).isEqualTo(EncapOutcome.PROTECTED);
            out.add(pkt.toByteArray());
        }
        return out;
    }

    private static DecapOutcome receive(EspDecapsulator d, byte[] esp) {
        PacketBuffer pkt = new PacketBuffer(512).set(esp, 0, esp.length);
        pkt.endpoints(v4(127, 0, 0, 3), v4(127, 0, 0, 2), 4500, 4500);
        return d.decapsulate(pkt);
    }
}
