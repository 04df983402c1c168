package dev.keel.gateway;

import static dev.keel.gateway.LoopbackPair.A;
import static dev.keel.gateway.LoopbackPair.peerConnection;
import static dev.keel.gateway.LoopbackTesting.await;
import static dev.keel.gateway.LoopbackTesting.freeTcpPort;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.esp.config.FedWorkerConfig;
import dev.keel.esp.config.FedWorkerConfigLoader;
import dev.keel.esp.fed.FedWorker;
import dev.keel.esp.net.UnknownSpiReports;
import dev.keel.esp.packet.DecapOutcome;
import dev.keel.esp.packet.InnerPackets;
import dev.keel.esp.sa.OutboundSa;
import dev.keel.gateway.LoopbackPair.Lan;
import dev.keel.ike.service.ChildSaRecords;
import dev.keel.ike.service.IkeService;
import dev.keel.ike.session.ChildSa;
import dev.keel.ike.session.IkeSa;
import dev.keel.ike.session.IkeSaState;
import dev.keel.policy.config.ConfigLoader;
import dev.keel.policy.config.ConfigResult;
import dev.keel.policy.grpc.PolicyGrpcService;
import dev.keel.policy.grpc.PolicyServer;
import dev.keel.policy.store.PolicyStore;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.OwnershipReason;
import dev.keel.sad.SadConfig;
import dev.keel.sad.SadNode;
import dev.keel.sad.keys.KeyEncryptionKey;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Several esp-workers on one gateway address (docs/esp-worker.md, "Several workers per address"),
 * all in this JVM on loopback (the workers as {@code FedWorkerMain} starts them, from their files): two sad-service members (sad-a, sad-b), a policy-service,
 * ike-service in relay mode, and two fed esp-workers (node sad-a and node sad-b) bound to the same
 * 127.0.0.1 ports through SO_REUSEPORT. A Keel gateway P talks to that address through an {@link
 * UdpRelay} (so every packet is seen). P's IKE and ESP reach one worker, chosen by the kernel;
 * ike-service installs P's CHILD SA for that worker's node. Then that worker is closed without a
 * word to the SAD (as kill -9 would): P's packets reach the other worker, which reports the unknown
 * SPI, ike-service claims the pair for its node, and ESP goes on both ways without a new IKE_SA_INIT
 * or CREATE_CHILD_SA; the survivor's sequence numbers start above everything the first worker sent,
 * and it rejects P's packets replayed from before and after the move.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class SplitWorkersTakeoverTest {

    private static final byte[] PEER_HOST = {10, 2, 0, 5};
    private static final byte[] LAN_HOST = {10, 1, 0, 7};
    private static final String SPLIT_POLICY = """
            secrets:
              psk: {env: KEEL_TEST_PSK}
            connections:
              peer:
                local_addrs: %s
                remote_addrs: %s
                local:  {auth: psk, id: ha.example, secret: psk}
                remote: {auth: psk, id: peer.example}
                proposals: aes256gcm16-prfsha256-x25519
                children:
                  lan: {local_ts: 10.1.0.0/16, remote_ts: 10.2.0.0/16, esp_proposals: aes256gcm16, start_action: none}
            """;

    @AutoClose
    private final LoopbackPair pair = new LoopbackPair("keel-split-workers");

    @TempDir
    Path dir;

    @Test
    void thePeersSasFollowItsPacketsToTheOtherWorkerWhenItsWorkerDies() throws Exception {
        UdpRelay relay = pair.relay; // to A's address: the workers' shared address
        int ikePort = pair.ikePort;
        relay.recordEsp(ikePort + 1);
        String address = A.getHostAddress();
        Vertx vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true).setEventLoopPoolSize(2));
        pair.closeAtEnd(() -> vertx.close().await(10, TimeUnit.SECONDS));

        // sad-service: two members of one cluster, plaintext gRPC on loopback
        byte[] k = new byte[KeyEncryptionKey.LENGTH];
        new SecureRandom().nextBytes(k);
        Path kek = dir.resolve("kek.hex");
        KeyEncryptionKey.write(kek, k);
        int hzA = freeTcpPort();
        int hzB = freeTcpPort();
        String cluster = "keel-split-" + UUID.randomUUID();
        SadNode sadA = sad("sad-a", cluster, kek, hzA, hzB);
        SadNode sadB = sad("sad-b", cluster, kek, hzB, hzA);
        await(() -> sadA.cluster().hazelcast().getCluster().getMembers().size() == 2, 60_000, "one SAD cluster");

        // policy-service, ike-service in relay mode (no --owner-node), its relay server
        ConfigLoader loader = new ConfigLoader(Map.of("KEEL_TEST_PSK", LoopbackPair.PSK)::get);
        ConfigResult r = loader.loadText("split.yaml", SPLIT_POLICY.formatted(address,
                LoopbackPair.ANYCAST.getHostAddress()));
        assertThat(r).as(String.valueOf(r)).isInstanceOf(ConfigResult.Valid.class);
        PolicyServer policy = pair.closeAtEnd(new PolicyServer(NettyServerBuilder.forAddress(
                new InetSocketAddress("127.0.0.1", 0)), new PolicyGrpcService(loader,
                new PolicyStore(((ConfigResult.Valid) r).config()))).start());
        ManagedChannel policyChannel = channel(policy.port());
        ManagedChannel sadChannel = channel(sadA.grpcPort());
        IkeService ike = IkeService.start(vertx, new IkeService.Settings(address, ikePort, ikePort + 1, ikePort + 1,
                        1, "ike1", "", true), policyChannel, sadChannel,
                Map.of("psk", LoopbackPair.PSK.getBytes(StandardCharsets.UTF_8))).await(30, TimeUnit.SECONDS);
        pair.closeAtEnd(ike);
        Server relayServer = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .addService(ike.relay()).build().start();
        pair.closeAtEnd(() -> relayServer.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));

        // two workers on the same outer ports, each with its own virtual wire and LAN host
        Map<String, Lan> lans = Map.of("sad-a", pair.lanA, "sad-b", pair.lanB);
        Map<String, FedWorker> workers = new HashMap<>();
        for (String node : List.of("sad-a", "sad-b")) {
            workers.put(node, worker(node, node.equals("sad-a") ? sadA : sadB, lans.get(node), policy.port(),
                    relayServer.getPort(), kek));
        }
        await(() -> ike.relay().workers() == 2, 10_000, "both workers attached to ike-service");

        // P sets up its IKE SA and CHILD SA through whichever worker the kernel hands its packets to
        var p = pair.startPeer(peerConnection("peer", "peer.example", "10.2.0.0/16", "0s", "start"));
        await(() -> p.engine().ikeSas().stream().anyMatch(sa -> sa.state() == IkeSaState.ESTABLISHED
                && !sa.children().isEmpty()), 30_000, "P's IKE SA and CHILD SA up");
        IkeSa pSa = p.engine().ikeSas().getFirst();
        ChildSa pChild = pSa.children().getFirst();
        ChildSaRecords.Ids ids = ChildSaRecords.Ids.of("ike1", pChild.outboundSpi());
        await(() -> record(sadA, ids.inbound()) != null && record(sadA, ids.outbound()) != null, 10_000,
                "the pair in the SAD");
        String first = record(sadA, ids.inbound()).getOwnerNodeId();
        String other = first.equals("sad-a") ? "sad-b" : "sad-a";
        assertThat(record(sadA, ids.outbound()).getOwnerNodeId()).isEqualTo(first);
        // installed for the worker P's IKE came through, not for the member serving ike-service's calls
        assertThat(first).isEqualTo(ike.relay().workerOf(ike.engine().ikeSas().getFirst().endpoints().remote()));
        assertThat(ike.claims().claimsMade()).as("no claim needed at setup").isZero();
        FedWorker carrier = workers.get(first);
        FedWorker survivor = workers.get(other);
        int inSpi = pChild.outboundSpi();
        await(() -> carrier.feeds().sas().inbound().lookup(inSpi) != null && outbound(carrier) != null
                && outbound(carrier).peekNextSequence() != 0, 20_000, "the pair in " + first + "'s data plane");
        System.out.printf("P's IKE and CHILD SA came up through worker %s; the other is %s%n", first, other);

        // ESP both ways through the carrier
        Flows flows = pair.closeAtEnd(new Flows(pair.lanPeer, lans.get(first)));
        flows.start();
        await(() -> flows.at(lans.get(first)) >= 30 && flows.at(pair.lanPeer) >= 30, 20_000,
                "traffic both ways through " + first);
        assertThat(flows.at(lans.get(other))).isZero();
        byte[] beforeMove = deliveredEsp(flows, relay, lans.get(first));
        flows.resume();
        List<UdpRelay.SentEsp> sentBefore = relay.espSent();
        assertThat(sentBefore).isNotEmpty();

        // The carrier dies: no delete, no checkpoint of its own; its sockets leave the group
        flows.lanSide(lans.get(other));
        long t0 = System.nanoTime();
        int sentAtClose = relay.espSent().size();
        carrier.close();
        long closedMillis = (System.nanoTime() - t0) / 1_000_000;
        long lanBefore = flows.at(lans.get(other));
        long peerAtClose = flows.at(pair.lanPeer);
        await(() -> flows.at(lans.get(other)) > lanBefore + 20 && flows.at(pair.lanPeer) > peerAtClose + 20,
                20_000, "traffic both ways through " + other + " after " + first + " closed");
        long inboundResumed = (flows.firstAfter(lans.get(other), t0) - t0) / 1_000_000;
        long outboundResumed = (flows.firstAfter(pair.lanPeer, t0 + closedMillis * 1_000_000) - t0) / 1_000_000;

        ChildSaRecord in = record(sadA, ids.inbound());
        ChildSaRecord out = record(sadA, ids.outbound());
        assertThat(in.getOwnerNodeId()).isEqualTo(other);
        assertThat(out.getOwnerNodeId()).isEqualTo(other);
        assertThat(in.getOwnerReason()).isEqualTo(OwnershipReason.OWNERSHIP_REASON_CLAIM);
        assertThat(out.getOwnerReason()).isEqualTo(OwnershipReason.OWNERSHIP_REASON_CLAIM);
        // the peer's ESP (an unknown-SPI report) and the LAN's packets (an acquire) both reach the
        // survivor: either claims, and a second claim by the owner it names changes nothing
        assertThat(ike.claims().claimsMade()).isBetween(1L, 2L);
        assertThat(survivor.unknownSpiReports().count(UnknownSpiReports.Outcome.REPORTED)).isPositive();
        assertThat(ike.relay().reportsReceived()).isPositive();

        // No renegotiation: one IKE_SA_INIT ever, no CREATE_CHILD_SA, P's SAs as they were
        assertThat(relay.initRequests()).as("IKE_SA_INIT requests from P").isEqualTo(1);
        assertThat(relay.requestsFromPeer(36)).as("CREATE_CHILD_SA requests from P").isZero();
        assertThat(ike.engine().counters().establishedCount()).isEqualTo(1);
        assertThat(p.engine().ikeSas()).containsExactly(pSa);
        assertThat(pSa.children()).hasSize(1);
        assertThat(pSa.children().getFirst().inboundSpi()).isEqualTo(pChild.inboundSpi());
        assertThat(pSa.children().getFirst().outboundSpi()).isEqualTo(pChild.outboundSpi());

        // The survivor's sequence numbers start above everything the carrier sent; no pair twice
        List<UdpRelay.SentEsp> sent = relay.espSent();
        long maxBefore = sent.subList(0, sentAtClose).stream().mapToLong(e -> e.seq() & 0xffff_ffffL).max()
                .orElseThrow();
        List<UdpRelay.SentEsp> after = sent.subList(sentAtClose, sent.size());
        assertThat(after).isNotEmpty();
        long minAfter = after.stream().mapToLong(e -> e.seq() & 0xffff_ffffL).min().orElseThrow();
        assertThat(minAfter).as("the survivor's first sequence number").isGreaterThan(maxBefore);
        Map<Long, UdpRelay.SentEsp> seen = new HashMap<>();
        List<String> twice = new ArrayList<>();
        for (UdpRelay.SentEsp e : sent) {
            if (seen.putIfAbsent(((long) e.spi() << 32) | (e.seq() & 0xffff_ffffL), e) != null) {
                twice.add(e.toString());
            }
        }
        assertThat(twice).as("(SPI, sequence number) pairs sent twice").isEmpty();

        // Replays of P's packets, one the carrier took before the move and one the survivor took after: dropped
        // as replays, nothing delivered
        byte[] afterMove = deliveredEsp(flows, relay, lans.get(other));
        long lanAtReplay = flows.at(lans.get(other));
        for (byte[] replay : List.of(beforeMove, afterMove)) {
            long replayed = survivor.dataPlane().espCounters().get(DecapOutcome.REPLAYED);
            Map<DecapOutcome, Long> was = survivor.dataPlane().espCounters().inboundSnapshot();
            relay.sendAsPeer(replay);
            await(() -> survivor.dataPlane().espCounters().get(DecapOutcome.REPLAYED) == replayed + 1, 5_000,
                    "replay of sequence number " + (ByteBuffer.wrap(replay).getInt(4) & 0xffff_ffffL)
                            + " rejected; before " + was + ", now "
                            + survivor.dataPlane().espCounters().inboundSnapshot());
        }
        Thread.sleep(200);
        assertThat(flows.at(lans.get(other))).as("nothing delivered from the replays").isEqualTo(lanAtReplay);

        // A flood of made-up SPIs from P's address and port: reports bounded, every packet counted, nothing claimed
        long unknownBefore = survivor.dataPlane().espCounters().get(DecapOutcome.UNKNOWN_SPI);
        Map<UnknownSpiReports.Outcome, Long> reportsBefore = reportCounts(survivor);
        long notFoundBefore = ike.claims().claimsNotFound();
        long claimsBeforeFlood = ike.claims().claimsMade();
        java.util.SplittableRandom random = new java.util.SplittableRandom(7);
        long floodStart = System.nanoTime();
        for (int i = 0; i < 5_000; i++) {
            byte[] esp = new byte[64];
            ByteBuffer.wrap(esp).putInt(0, random.nextInt() | 0x100).putInt(4, 1); // never SPI 0 (RFC 4303 §2.1)
            relay.sendAsPeer(esp);
            if (i % 100 == 99) {
                Thread.sleep(1); // within the worker's socket buffer
            }
        }
        await(() -> {
            long unknown = survivor.dataPlane().espCounters().get(DecapOutcome.UNKNOWN_SPI) - unknownBefore;
            return unknown > 0 && reportCounts(survivor).entrySet().stream()
                    .mapToLong(e -> e.getValue() - reportsBefore.get(e.getKey())).sum() == unknown;
        }, 10_000, "every unknown SPI's report counted");
        double floodSeconds = (System.nanoTime() - floodStart) / 1e9;
        long flooded = survivor.dataPlane().espCounters().get(DecapOutcome.UNKNOWN_SPI) - unknownBefore;
        long reported = survivor.unknownSpiReports().count(UnknownSpiReports.Outcome.REPORTED)
                - reportsBefore.get(UnknownSpiReports.Outcome.REPORTED);
        UnknownSpiReports.Limits limits = survivor.unknownSpiReports().limits();
        assertThat(flooded).as("made-up SPIs at the survivor").isGreaterThan(4_000);
        assertThat(reported).as("reports of %d made-up SPIs in %.2f s", flooded, floodSeconds)
                .isPositive().isLessThanOrEqualTo((long) (limits.burst() + limits.perSecond() * floodSeconds) + 1);
        await(() -> ike.claims().claimsNotFound() - notFoundBefore + ike.claims().claimsLimited() > 0
                && ike.claims().gate().outstanding() == 0, 10_000, "ike-service looked the reports up");
        assertThat(ike.claims().claimsMade()).as("no claim for a made-up SPI").isEqualTo(claimsBeforeFlood);

        System.out.printf("flood: %d made-up SPIs at the survivor in %.2f s: %d reported, %s; ike-service: %d not"
                        + " found, %d limited%n", flooded, floodSeconds, reported, reports(survivor),
                ike.claims().claimsNotFound() - notFoundBefore, ike.claims().claimsLimited());
        System.out.printf("worker %s closed in %d ms; P's ESP through %s after %d ms, the LAN's replies reached P"
                        + " after %d ms; sequence numbers: carrier up to %d, survivor from %d; claims %d, reports %s;"
                        + " survivor esp in %s%n", first, closedMillis, other, inboundResumed, outboundResumed,
                maxBefore, minAfter, ike.claims().claimsMade(), reports(survivor),
                survivor.dataPlane().espCounters().inboundSnapshot());
        System.out.printf("claim latencies (µs, packet at ike-service to claim made): %s%n",
                ike.claims().claimLatenciesMicros());
    }

    /**
     * Pauses the flows, then sends single packets from P's LAN host until one reaches {@code at}
     * (a fresh owner may hold one back until its next replay checkpoint: CHECKPOINT_BEHIND), and
     * returns that packet's ESP as P sent it: one the receiving worker accepted.
     */
    private static byte[] deliveredEsp(Flows flows, UdpRelay relay, Lan at) throws Exception {
        flows.pause();
        Thread.sleep(100);
        for (int tries = 0; tries < 10; tries++) {
            long before = flows.at(at);
            flows.sendOne();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
            while (flows.at(at) == before && System.nanoTime() < deadline) {
                Thread.sleep(2);
            }
            if (flows.at(at) > before) {
                return relay.lastEspFromPeer();
            }
        }
        throw new AssertionError("no single packet from P delivered in 10 tries");
    }

    private static Map<UnknownSpiReports.Outcome, Long> reportCounts(FedWorker w) {
        Map<UnknownSpiReports.Outcome, Long> m = new java.util.EnumMap<>(UnknownSpiReports.Outcome.class);
        for (UnknownSpiReports.Outcome o : UnknownSpiReports.Outcome.values()) {
            m.put(o, w.unknownSpiReports().count(o));
        }
        return m;
    }

    private static String reports(FedWorker w) {
        StringBuilder b = new StringBuilder();
        for (UnknownSpiReports.Outcome o : UnknownSpiReports.Outcome.values()) {
            b.append(o).append('=').append(w.unknownSpiReports().count(o)).append(' ');
        }
        return b.toString().strip();
    }

    private static OutboundSa outbound(FedWorker w) {
        return w.feeds().sas().outbound().lookup("peer/lan");
    }

    private static ChildSaRecord record(SadNode sad, String id) {
        try {
            return sad.database().getChildSa(id, false);
        } catch (RuntimeException e) {
            return null;
        }
    }

    private ManagedChannel channel(int port) {
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
        pair.closeAtEnd(ch::shutdownNow);
        return ch;
    }

    private SadNode sad(String node, String cluster, Path kek, int port, int other) throws Exception {
        SadConfig.Builder b = SadConfig.builder(node, kek);
        b.clusterName = cluster;
        b.bindHost = "127.0.0.1";
        b.hazelcastPort = port;
        b.members = List.of("127.0.0.1:" + port, "127.0.0.1:" + other);
        b.grpcPort = 0;
        b.partitionCount = 31;
        return pair.closeAtEnd(SadNode.start(b.build(), NettyServerBuilder.forAddress(
                new InetSocketAddress("127.0.0.1", 0))));
    }

    /** A fed worker of node {@code node}, as its main starts it, on the pair's A address and ports. */
    private FedWorker worker(String node, SadNode sad, Lan lan, int policyPort, int relayPort, Path kek)
            throws Exception {
        InetSocketAddress host = (InetSocketAddress) lan.host().getLocalAddress();
        Path file = dir.resolve(node + ".yaml");
        Files.writeString(file, """
                node_id: %s
                listen: %s:%d
                loops: 1
                plaintext:
                  virtual_wire: {bind: "%s:%d", host: "%s:%d"}
                sad:
                  endpoints: ["127.0.0.1:%d"]
                policy: {endpoint: "127.0.0.1:%d"}
                kek_file: %s
                ike: {relay: "127.0.0.1:%d", port: %d}
                """.formatted(node, A.getHostAddress(), pair.ikePort + 1, lan.wire().getHostString(),
                lan.wire().getPort(), host.getHostString(), host.getPort(), sad.grpcPort(), policyPort, kek,
                relayPort, pair.ikePort));
        FedWorkerConfigLoader.Result loaded = FedWorkerConfigLoader.loadFile(file);
        assertThat(loaded).as(String.valueOf(loaded)).isInstanceOf(FedWorkerConfigLoader.Result.Valid.class);
        FedWorkerConfig cfg = ((FedWorkerConfigLoader.Result.Valid) loaded).config();
        FedWorker w = pair.closeAtEnd(FedWorker.start(cfg, new PrintStream(new ByteArrayOutputStream(), true,
                StandardCharsets.UTF_8)));
        await(() -> w.feeds().spdFeed().snapshots() >= 1 && w.feeds().saFeed().snapshots() >= 1
                && w.relay().attached(), 30_000, "worker " + node + " fed and attached");
        return w;
    }

    /**
     * Inner traffic both ways, every 10 ms: from P's LAN host into the tunnel, and from the split's
     * LAN host (the one behind the worker {@link #lanSide} names) back; counts arrivals at each host
     * with their times.
     */
    private static final class Flows implements AutoCloseable {
        private final Lan peer;
        private volatile Lan lan;
        private volatile boolean paused;
        private volatile boolean closed;
        private final Map<DatagramChannel, ConcurrentLinkedQueue<Long>> arrivals = new java.util.concurrent.ConcurrentHashMap<>();
        private final List<Lan> all = new java.util.concurrent.CopyOnWriteArrayList<>();
        private Thread thread;

        Flows(Lan peer, Lan lan) {
            this.peer = peer;
            this.lan = lan;
            track(peer);
            track(lan);
        }

        private void track(Lan l) {
            if (arrivals.putIfAbsent(l.host(), new ConcurrentLinkedQueue<>()) == null) {
                all.add(l);
            }
        }

        void start() {
            thread = Thread.ofPlatform().daemon().name("split-flows").start(this::run);
        }

        /** From now on the replies come from (and arrivals are counted at) {@code l}. */
        void lanSide(Lan l) {
            track(l);
            lan = l;
        }

        void pause() {
            paused = true;
        }

        void resume() {
            paused = false;
        }

        /** One packet from P's LAN host into the tunnel, now. */
        void sendOne() throws java.io.IOException {
            peer.host().send(ByteBuffer.wrap(InnerPackets.ipv4(PEER_HOST, LAN_HOST, 17, 40, 60_000)), peer.wire());
        }

        long at(Lan l) {
            ConcurrentLinkedQueue<Long> q = arrivals.get(l.host());
            return q == null ? 0 : q.size();
        }

        /** The first arrival at {@code l} after {@code nanos}. */
        long firstAfter(Lan l, long nanos) {
            return arrivals.get(l.host()).stream().filter(t -> t > nanos).findFirst().orElseThrow();
        }

        private void run() {
            ByteBuffer buf = ByteBuffer.allocate(65_536);
            int id = 0;
            long next = System.nanoTime();
            while (!closed) {
                try {
                    if (paused) {
                        next = System.nanoTime(); // no catching up after a pause
                    } else if (System.nanoTime() >= next) {
                        id++;
                        peer.host().send(ByteBuffer.wrap(InnerPackets.ipv4(PEER_HOST, LAN_HOST, 17, 40, id)),
                                peer.wire());
                        Lan l = lan;
                        l.host().send(ByteBuffer.wrap(InnerPackets.ipv4(LAN_HOST, PEER_HOST, 17, 40, id)), l.wire());
                        next += 10_000_000;
                    }
                    for (Lan l : all) {
                        buf.clear();
                        while (l.host().receive(buf) != null) {
                            arrivals.get(l.host()).add(System.nanoTime());
                            buf.clear();
                        }
                    }
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    return;
                } catch (java.io.IOException e) {
                    if (!closed) {
                        System.err.println("flows: " + e);
                    }
                }
            }
        }

        @Override
        public void close() throws Exception {
            closed = true;
            if (thread != null) {
                thread.join(5_000);
            }
        }
    }
}
