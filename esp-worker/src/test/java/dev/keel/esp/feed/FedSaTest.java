package dev.keel.esp.feed;

import dev.keel.proto.ChildKeyUnwrapper;
import static dev.keel.esp.feed.Fixtures.await;
import static dev.keel.esp.feed.Fixtures.send;
import static dev.keel.esp.feed.Fixtures.udp;
import static dev.keel.esp.feed.Fixtures.v4;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.keel.core.net.IpPrefix;
import dev.keel.core.packet.PacketBuffer;
import dev.keel.core.sa.IpsecMode;
import dev.keel.core.ts.TrafficSelector;
import dev.keel.esp.acquire.AcquireLimiter;
import dev.keel.esp.acquire.ExpiryListener;
import dev.keel.esp.forward.FedGateway;
import dev.keel.esp.forward.StaticGateway;
import dev.keel.esp.forward.StaticSaPair;
import dev.keel.esp.net.UdpOptions;
import dev.keel.esp.packet.DecapOutcome;
import dev.keel.esp.packet.EncapOutcome;
import dev.keel.esp.packet.EspCounters;
import dev.keel.esp.packet.EspEncapsulator;
import dev.keel.esp.packet.IndependentEspAccess;
import dev.keel.esp.packet.Suites;
import dev.keel.esp.plain.VirtualWire;
import dev.keel.esp.sa.EspSaSpec;
import dev.keel.esp.sa.OutboundSa;
import dev.keel.policy.config.ConfigLoader;
import dev.keel.policy.grpc.PolicyGrpcService;
import dev.keel.policy.grpc.PolicyServer;
import dev.keel.policy.store.PolicyStore;
import dev.keel.proto.CoreMapping;
import dev.keel.proto.v1.ChildSaKeys;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.ChildSaState;
import dev.keel.proto.v1.DeleteChildSaRequest;
import dev.keel.proto.v1.Direction;
import dev.keel.proto.v1.Endpoint;
import dev.keel.proto.v1.GetChildSaRequest;
import dev.keel.proto.v1.InstallChildSaRequest;
import dev.keel.proto.v1.IpsecProtocol;
import dev.keel.proto.v1.Lifetime;
import dev.keel.proto.v1.SaServiceGrpc;
import dev.keel.sad.SadConfig;
import dev.keel.sad.SadNode;
import dev.keel.sad.keys.KeyEncryptionKey;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.vertx.core.Vertx;
import io.vertx.core.internal.threadchecker.BlockedThreadEvent;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * A worker fed by an embedded sad-service (one Hazelcast member, in-process gRPC) and
 * policy-service: SAs installed in sad-service appear and carry traffic to and from a
 * statically keyed peer gateway; sequence numbers come from leases, refilled under sustained
 * traffic without a stall or a repeat; a lease that cannot be refilled drops and counts; hard
 * lifetimes stop the SA both ways; a restarted SA watch resumes from its revision.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class FedSaTest {

    static final String NODE = "w1";
    static final int LEASE = 4096;

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
                  lease: {local_ts: 10.1.0.0/16, remote_ts: 10.5.0.0/16}
                  dry: {local_ts: 10.1.0.0/16, remote_ts: 10.6.0.0/16}
                  life: {local_ts: 10.1.0.0/16, remote_ts: 10.7.0.0/16}
                  late: {local_ts: 10.1.0.0/16, remote_ts: 10.8.0.0/16}
            """;

    static final byte[] HOST = v4(10, 1, 0, 5);

    private final ConcurrentLinkedQueue<BlockedThreadEvent> blocked = new ConcurrentLinkedQueue<>();
    private final List<String> expiries = Collections.synchronizedList(new ArrayList<>());
    private final AtomicBoolean blockLeases = new AtomicBoolean();
    private final AtomicInteger blockedLeaseCalls = new AtomicInteger();
    private Path dir;
    private SadNode sad;
    private ManagedChannel sadChannel;
    private SaServiceGrpc.SaServiceBlockingStub sadStub;
    private PolicyServer policy;
    private ManagedChannel policyChannel;
    private WorkerFeeds feeds;
    private ExecutorService acquireExecutor;
    private Vertx vertx;
    private FedGateway gw;
    private DatagramChannel hostA;
    private InetSocketAddress wire;
    private InetSocketAddress udpW;

    @BeforeAll
    void start() throws Exception {
        dir = Files.createTempDirectory("keel-fed-sa");
        byte[] kek = new byte[KeyEncryptionKey.LENGTH];
        new SecureRandom().nextBytes(kek);
        Path kekFile = dir.resolve("kek.hex");
        KeyEncryptionKey.write(kekFile, kek);
        int hzPort;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            hzPort = s.getLocalPort();
        }
        SadConfig.Builder b = SadConfig.builder(NODE, kekFile);
        b.clusterName = "keel-esp-test-" + UUID.randomUUID();
        b.bindHost = "127.0.0.1";
        b.hazelcastPort = hzPort;
        b.members = List.of("127.0.0.1:" + hzPort);
        b.grpcPort = 0;
        b.partitionCount = 31;
        b.maintenanceIntervalMillis = 500;
        String sadName = InProcessServerBuilder.generateName();
        sad = SadNode.start(b.build(), InProcessServerBuilder.forName(sadName).directExecutor());
        sadChannel = InProcessChannelBuilder.forName(sadName).build();
        sadStub = SaServiceGrpc.newBlockingStub(sadChannel);

        ConfigLoader loader = new ConfigLoader(Map.of("KEEL_TEST_PSK", "not-a-real-psk-for-tests")::get);
        String policyName = InProcessServerBuilder.generateName();
        policy = new PolicyServer(InProcessServerBuilder.forName(policyName),
                new PolicyGrpcService(loader, new PolicyStore(FedSpdTest.config(loader, CONFIG)))).start();
        policyChannel = InProcessChannelBuilder.forName(policyName).build();

        Channel gated = ClientInterceptors.intercept(sadChannel, new LeaseGate());
        ExpiryListener listener = new ExpiryListener() {
            @Override
            public void onSoftExpiry(String saId, String connection, String child, boolean outbound) {
                expiries.add("soft " + saId);
            }

            @Override
            public void onHardExpiry(String saId, String connection, String child, boolean outbound) {
                expiries.add("hard " + saId);
            }
        };
        feeds = new WorkerFeeds(policyChannel, gated, NODE, new ChildKeyUnwrapper(kek),
                new SaMaintenance.Settings(LEASE, Duration.ofMillis(100), Duration.ofMillis(20), Duration.ofMillis(200)),
                listener).start();
        acquireExecutor = Executors.newSingleThreadExecutor();
        vertx = Fixtures.vertx(1, blocked);
        hostA = Fixtures.socket("127.0.0.1");
        wire = Fixtures.freeUdp("127.0.0.2");
        udpW = Fixtures.freeUdp("127.0.0.2");
        gw = FedGateway.start(vertx, FedGateway.Config.of(udpW),
                new VirtualWire(vertx, wire, Fixtures.local(hostA), UdpOptions.DEFAULTS), feeds.spd(), feeds.sas(),
                new AcquireLimiter(a -> { }, acquireExecutor, Duration.ofSeconds(5))).await(10, TimeUnit.SECONDS);
        await(() -> feeds.spdFeed().snapshots() == 1 && feeds.saFeed().snapshots() == 1, 30_000,
                () -> "feeds not ready: spd " + feeds.spdFeed().snapshots() + ", sa " + feeds.saFeed().snapshots());
    }

    @AfterAll
    void stop() throws Exception {
        try {
            if (gw != null) {
                gw.close().await(10, TimeUnit.SECONDS);
            }
            if (feeds != null) {
                feeds.close();
            }
            if (acquireExecutor != null) {
                acquireExecutor.shutdownNow();
            }
            if (hostA != null) {
                hostA.close();
            }
            if (policyChannel != null) {
                policyChannel.shutdownNow();
            }
            if (policy != null) {
                policy.close();
            }
            if (sadChannel != null) {
                sadChannel.shutdownNow();
            }
            if (sad != null) {
                sad.close();
            }
        } finally {
            if (vertx != null) {
                vertx.close().await(10, TimeUnit.SECONDS);
            }
            if (dir != null) {
                try (var files = Files.list(dir)) {
                    for (Path p : files.toList()) {
                        Files.deleteIfExists(p);
                    }
                }
                Files.deleteIfExists(dir);
            }
        }
    }

    @AfterEach
    void noBlockedLoops() {
        assertThat(blocked).as("event loops reported blocked").isEmpty();
    }

    /** Fails LeaseSequence with UNAVAILABLE while {@link #blockLeases} is set: a sad-service that cannot lease. */
    private final class LeaseGate implements ClientInterceptor {
        @Override
        public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
            if (!blockLeases.get()
                    || !method.getFullMethodName().equals(SaServiceGrpc.getLeaseSequenceMethod().getFullMethodName())) {
                return next.newCall(method, options);
            }
            blockedLeaseCalls.incrementAndGet();
            return new ClientCall<>() {
                @Override
                public void start(Listener<R> listener, Metadata headers) {
                    listener.onClose(Status.UNAVAILABLE.withDescription("test: leases blocked"), new Metadata());
                }

                @Override
                public void request(int n) {
                }

                @Override
                public void cancel(String message, Throwable cause) {
                }

                @Override
                public void halfClose() {
                }

                @Override
                public void sendMessage(Q message) {
                }
            };
        }
    }

    // --- fixtures --------------------------------------------------------------------------------

    static Endpoint endpoint(InetSocketAddress a) {
        return CoreMapping.endpoint(a.getAddress(), a.getPort());
    }

    static dev.keel.proto.v1.TrafficSelector ts(int a, int b) {
        return CoreMapping.selector(TrafficSelector.parse("10." + a + ".0.0/16"));
    }

    /** Installs an AES-128-GCM CHILD SA owned by this worker; keys are Suites' deterministic ones for the SPI. */
    ChildSaRecord install(String id, String child, int spi, Direction dir, InetSocketAddress peer, int remoteNet,
            Lifetime lifetime) {
        Suites s = Suites.AES128_GCM16;
        boolean in = dir == Direction.DIRECTION_INBOUND;
        ChildSaRecord.Builder r = ChildSaRecord.newBuilder()
                .setId(id).setConnection("site-b").setChild(child).setIkeSaId("ike-1")
                .setSpi(spi).setDirection(dir).setProtocol(IpsecProtocol.IPSEC_PROTOCOL_ESP)
                .setMode(dev.keel.proto.v1.IpsecMode.IPSEC_MODE_TUNNEL)
                .setLocal(endpoint(udpW)).setPeer(endpoint(peer))
                .setEncryptionTransform(s.encryption.id()).setEncryptionKeyLength(s.keyLength + 4)
                .setEsn(false).setReplayWindow(in ? 1024 : 0)
                .addLocalTs(ts(1, 0)).addRemoteTs(ts(remoteNet, 0))
                .setLifetime(lifetime);
        return sadStub.withDeadlineAfter(30, TimeUnit.SECONDS).installChildSa(InstallChildSaRequest.newBuilder()
                .setChildSa(r).setOwnerNodeId(NODE)
                .setKeys(ChildSaKeys.newBuilder().setEncryption(ByteString.copyFrom(s.encryptionKey(spi)))).build())
                .getChildSa();
    }

    static EspSaSpec spec(int spi) {
        return Suites.AES128_GCM16.spec(spi, IpsecMode.TUNNEL, false, 0, 1024);
    }

    OutboundSa outbound(String child) {
        return feeds.sas().outbound().lookup("site-b/" + child);
    }

    SaTables.SaCounters counters(String id) {
        return gw.saCounters().stream().filter(c -> c.id().equals(id)).findFirst().orElseThrow();
    }

    /** Reads ESP datagrams from {@code sink} until {@code want} arrived or {@code millis} passed. */
    static List<byte[]> drain(DatagramChannel sink, int want, long millis) throws Exception {
        List<byte[]> out = new ArrayList<>();
        while (out.size() < want) {
            byte[] d = Fixtures.receive(sink, millis);
            if (d == null) {
                break;
            }
            out.add(d);
        }
        return out;
    }

    static long seqOf(byte[] esp) {
        return ByteBuffer.wrap(esp, 4, 4).getInt() & 0xffff_ffffL;
    }

    // --- tests -----------------------------------------------------------------------------------

    @Test
    void anSaInstalledInSadServiceCarriesTrafficBothWays() throws Exception {
        DatagramChannel hostB = Fixtures.socket("127.0.0.1");
        InetSocketAddress udpB = Fixtures.freeUdp("127.0.0.3");
        InetSocketAddress wireB = Fixtures.freeUdp("127.0.0.3");
        int outSpi = 0x0a0b0101;
        int inSpi = 0x0b0a0101;
        StaticGateway b = StaticGateway.start(vertx, StaticGateway.Config.of(udpB, List.of(new StaticSaPair(
                        spec(outSpi), spec(inSpi), udpW, List.of(TrafficSelector.of(IpPrefix.parse("10.2.0.0/16"))),
                        List.of(TrafficSelector.of(IpPrefix.parse("10.1.0.0/16")))))),
                new VirtualWire(vertx, wireB, Fixtures.local(hostB), UdpOptions.DEFAULTS)).await(10, TimeUnit.SECONDS);
        try {
            send(hostA, udp(HOST, v4(10, 2, 0, 7), 7, 40, 0), wire);
            await(() -> gw.counters().drops(dev.keel.esp.forward.ForwardDrop.NO_SA) >= 1, 5000, () -> "no NO_SA drop");
            install("net-out", "net", outSpi, Direction.DIRECTION_OUTBOUND, udpB, 2, Lifetime.getDefaultInstance());
            install("net-in", "net", inSpi, Direction.DIRECTION_INBOUND, udpB, 2, Lifetime.getDefaultInstance());
            await(() -> outbound("net") != null && feeds.sas().inbound().lookup(inSpi) != null
                    && outbound("net").peekNextSequence() != 0, 10_000, () -> "SAs not installed");
            int n = 400;
            for (int batch = 0; batch < n; batch += 50) {
                List<byte[]> sent = new ArrayList<>();
                for (int i = batch; i < batch + 50; i++) {
                    byte[] p = udp(HOST, v4(10, 2, 0, 7), 7, 20 + i, i);
                    sent.add(p);
                    send(hostA, p, wire);
                }
                for (byte[] p : sent) {
                    assertThat(Fixtures.receive(hostB, 5000)).as("A→B through the fed outbound SA").isEqualTo(p);
                }
            }
            for (int i = 0; i < n; i++) {
                byte[] p = udp(v4(10, 2, 0, 7), HOST, 7, 20 + i, i);
                assertThat(Fixtures.deliver(hostB, p, wireB, hostA, () -> gw.espCounters()
                        .get(DecapOutcome.CHECKPOINT_BEHIND))).as("B→A through the fed inbound SA").isEqualTo(p);
            }
            assertThat(counters("net-out").packets()).isEqualTo(n);
            assertThat(counters("net-in").packets()).isEqualTo(n);
            assertThat(b.espCounters().get(DecapOutcome.DELIVERED)).isEqualTo(n);
            // Usage reaches sad-service through ReportUsage.
            await(() -> sadStub.getChildSa(GetChildSaRequest.newBuilder().setId("net-in").build()).getChildSa()
                    .getPackets() == n, 5000, () -> "usage not reported");
            // The replay checkpoint of the inbound SA follows its right edge (sa.proto CheckpointReplays).
            await(() -> sadStub.getChildSa(GetChildSaRequest.newBuilder().setId("net-in").build()).getChildSa()
                    .getReplayCheckpoint() == n, 5000, () -> "checkpoint not recorded");

            // Deleting the SA in sad-service removes it from the worker (and zeroizes it).
            sadStub.deleteChildSa(DeleteChildSaRequest.newBuilder().setId("net-in").build());
            await(() -> feeds.sas().inbound().lookup(inSpi) == null, 5000, () -> "inbound SA not removed");
        } finally {
            b.close().await(10, TimeUnit.SECONDS);
            hostB.close();
        }
    }

    @Test
    void leasesRefillUnderSustainedTrafficWithoutStallOrRepeat() throws Exception {
        DatagramChannel sink = Fixtures.socket("127.0.0.5");
        try {
            int spi = 0x0c000001;
            install("lease-out", "lease", spi, Direction.DIRECTION_OUTBOUND, Fixtures.local(sink), 5,
                    Lifetime.getDefaultInstance());
            await(() -> outbound("lease") != null && outbound("lease").peekNextSequence() != 0, 10_000,
                    () -> "SA not installed");
            int n = 6 * LEASE + 100; // crosses six lease boundaries
            long leasesBefore = feeds.maintenance().leasesGranted();
            long waitedBefore = gw.espCounters().get(EncapOutcome.NO_SEQUENCE_LEASE);
            List<Long> seqs = new ArrayList<>(n);
            byte[] first = null;
            int window = 400;
            int sent = 0;
            long began = System.nanoTime();
            long deadline = began + TimeUnit.SECONDS.toNanos(60);
            // 10,000 packets/s: half a lease lasts 200 ms, the time a LeaseSequence has to come back. Unpaced,
            // a loopback burst used half a block in ~20 ms, and a lease slowed by a loaded machine stalled it.
            long perSecond = 10_000;
            sink.configureBlocking(false);
            ByteBuffer bb = ByteBuffer.allocate(65536);
            while (seqs.size() < n && System.nanoTime() < deadline) {
                long due = (System.nanoTime() - began) * perSecond / 1_000_000_000L;
                while (sent < n && sent - seqs.size() < window && sent < due) {
                    send(hostA, udp(HOST, v4(10, 5, 0, 1), 9000, 64, sent), wire);
                    sent++;
                }
                bb.clear();
                if (sink.receive(bb) != null) {
                    bb.flip();
                    byte[] d = new byte[bb.remaining()];
                    bb.get(d);
                    if (first == null) {
                        first = d;
                    }
                    seqs.add(seqOf(d));
                } else {
                    Thread.sleep(0, 200_000);
                }
            }
            assertThat(gw.espCounters().get(EncapOutcome.NO_SEQUENCE_LEASE) - waitedBefore)
                    .as("packets that found no leased number").isZero();
            assertThat(counters("lease-out").drops()).isZero();
            assertThat(seqs).as("every packet went out").hasSize(n);
            for (int i = 1; i < seqs.size(); i++) {
                assertThat(seqs.get(i)).as("sequence numbers on the wire strictly increase (packet %d)", i)
                        .isGreaterThan(seqs.get(i - 1));
            }
            assertThat(seqs.getFirst()).isEqualTo(1); // the first lease of an SA starts at 1 (sa.proto)
            assertThat(feeds.maintenance().leasesGranted() - leasesBefore).isGreaterThanOrEqualTo(6);
            long highWater = sadStub.getChildSa(GetChildSaRequest.newBuilder().setId("lease-out").build()).getChildSa()
                    .getLeaseHighWater();
            assertThat(seqs.getLast()).as("every number used was leased first").isLessThan(highWater);
            // The first datagram is ESP an independent implementation opens with the SA's keys.
            Suites s = Suites.AES128_GCM16;
            assertThat(IndependentEspAccess.open(first, 1, false, s.encryption, s.encryptionKey(spi), s.integrity,
                    null)).isNotNull();
        } finally {
            sink.close();
        }
    }

    @Test
    void anExhaustedLeaseWithoutRefillDropsAndCountsThenResumesAboveIt() throws Exception {
        DatagramChannel sink = Fixtures.socket("127.0.0.6");
        try {
            install("dry-out", "dry", 0x0d000001, Direction.DIRECTION_OUTBOUND, Fixtures.local(sink), 6,
                    Lifetime.getDefaultInstance());
            await(() -> outbound("dry") != null && outbound("dry").peekNextSequence() != 0, 10_000,
                    () -> "SA not installed");
            blockLeases.set(true);
            int extra = 100;
            List<Long> seqs = new ArrayList<>();
            for (int i = 0; i < LEASE + extra; i++) {
                send(hostA, udp(HOST, v4(10, 6, 0, 1), 9000, 32, i), wire);
                if (i % 200 == 199) {
                    drain(sink, 200, 2000).forEach(d -> seqs.add(seqOf(d)));
                }
            }
            drain(sink, LEASE - seqs.size(), 2000).forEach(d -> seqs.add(seqOf(d)));
            await(() -> counters("dry-out").drops() == extra, 5000,
                    () -> "drops " + gw.espCounters().outboundSnapshot());
            assertThat(seqs).hasSize(LEASE);
            assertThat(counters("dry-out").drops()).isEqualTo(extra);
            assertThat(blockedLeaseCalls.get()).as("the refill was tried and failed").isPositive();
            assertThat(Fixtures.receive(sink, 100)).isNull();

            blockLeases.set(false); // sad-service is back: the retry gets the next block
            await(() -> outbound("dry").peekNextSequence() != 0, 5000, () -> "no lease after unblocking");
            for (int i = 0; i < 10; i++) {
                send(hostA, udp(HOST, v4(10, 6, 0, 1), 9000, 32, i), wire);
            }
            drain(sink, 10, 5000).forEach(d -> seqs.add(seqOf(d)));
            assertThat(seqs).hasSize(LEASE + 10);
            for (int i = 1; i < seqs.size(); i++) {
                assertThat(seqs.get(i)).isGreaterThan(seqs.get(i - 1));
            }
            assertThat(seqs.get(LEASE)).as("continues above the exhausted block").isGreaterThan((long) LEASE);
        } finally {
            blockLeases.set(false);
            sink.close();
        }
    }

    @Test
    void hardLifetimesStopTheSaBothWays() throws Exception {
        DatagramChannel sink = Fixtures.socket("127.0.0.7");
        DatagramChannel peer = Fixtures.socket("127.0.0.7");
        try {
            install("life-out", "life", 0x0e000001, Direction.DIRECTION_OUTBOUND, Fixtures.local(sink), 7,
                    Lifetime.newBuilder().setSoftPackets(300).setHardPackets(500).build());
            int inSpi = 0x0e000002;
            install("life-in", "life", inSpi, Direction.DIRECTION_INBOUND, Fixtures.local(peer), 7,
                    Lifetime.newBuilder().setSoftBytes(10_000).setHardBytes(20_000).build());
            await(() -> outbound("life") != null && outbound("life").peekNextSequence() != 0
                    && feeds.sas().inbound().lookup(inSpi) != null, 10_000, () -> "SAs not installed");

            // Outbound, by packets: send in rounds until the SA stops (at most one report interval late).
            int sent = 0;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (!outbound("life").isHardExpired() && System.nanoTime() < deadline && sent < 5000) {
                for (int i = 0; i < 25; i++) {
                    send(hostA, udp(HOST, v4(10, 7, 0, 1), 9000, 32, sent++), wire);
                }
                drain(sink, 25, 200);
                Thread.sleep(10);
            }
            assertThat(outbound("life").isHardExpired()).isTrue();
            long protectedPackets = counters("life-out").packets();
            assertThat(protectedPackets).isGreaterThanOrEqualTo(500);
            long expiredBefore = gw.espCounters().get(EncapOutcome.SA_EXPIRED);
            drain(sink, 1000, 300);
            for (int i = 0; i < 20; i++) {
                send(hostA, udp(HOST, v4(10, 7, 0, 1), 9000, 32, i), wire);
            }
            await(() -> gw.espCounters().get(EncapOutcome.SA_EXPIRED) == expiredBefore + 20, 5000,
                    () -> gw.espCounters().outboundSnapshot().toString());
            assertThat(Fixtures.receive(sink, 200)).as("nothing leaves through a hard-expired SA").isNull();
            assertThat(counters("life-out").packets()).isEqualTo(protectedPackets);

            // Inbound, by bytes: a peer's packets are accepted until the byte limit, rejected after it.
            OutboundSa peerSa = new OutboundSa(spec(inSpi), null);
            EspEncapsulator enc = new EspEncapsulator(new EspCounters());
            PacketBuffer pkt = new PacketBuffer(2048);
            int delivered = 0;
            int i = 0;
            deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (!feeds.sas().inbound().lookup(inSpi).isHardExpired() && System.nanoTime() < deadline && i < 2000) {
                byte[] inner = udp(v4(10, 7, 0, 1), HOST, 9000, 472, i++); // 500-byte inner packets
                pkt.reset();
                System.arraycopy(inner, 0, pkt.data(), pkt.offset(), inner.length);
                pkt.bounds(pkt.offset(), inner.length);
                assertThat(enc.encapsulate(peerSa, pkt)).isEqualTo(EncapOutcome.PROTECTED);
                peer.send(ByteBuffer.wrap(pkt.data(), pkt.offset(), pkt.length()), udpW);
                if (Fixtures.receive(hostA, 1000) != null) {
                    delivered++;
                }
                Thread.sleep(2);
            }
            assertThat(feeds.sas().inbound().lookup(inSpi).isHardExpired()).isTrue();
            assertThat(delivered * 500L).isGreaterThanOrEqualTo(20_000);
            long rejectedBefore = gw.espCounters().get(DecapOutcome.SA_EXPIRED);
            for (int k = 0; k < 5; k++) {
                byte[] inner = udp(v4(10, 7, 0, 1), HOST, 9000, 472, i++);
                pkt.reset();
                System.arraycopy(inner, 0, pkt.data(), pkt.offset(), inner.length);
                pkt.bounds(pkt.offset(), inner.length);
                enc.encapsulate(peerSa, pkt);
                peer.send(ByteBuffer.wrap(pkt.data(), pkt.offset(), pkt.length()), udpW);
            }
            await(() -> gw.espCounters().get(DecapOutcome.SA_EXPIRED) == rejectedBefore + 5, 5000,
                    () -> gw.espCounters().inboundSnapshot().toString());
            assertThat(Fixtures.receive(hostA, 200)).as("nothing is accepted after the hard lifetime").isNull();
            await(() -> expiries.containsAll(List.of("soft life-out", "hard life-out", "soft life-in", "hard life-in")),
                    5000, () -> "expiries " + expiries);
            await(() -> sadStub.getChildSa(GetChildSaRequest.newBuilder().setId("life-out").build()).getChildSa()
                    .getState() == ChildSaState.CHILD_SA_STATE_EXPIRED, 5000, () -> "sad-service did not expire it");
            peerSa.close();
        } finally {
            sink.close();
            peer.close();
        }
    }

    @Test
    void aRestartedSaWatchResumesFromItsRevision() throws Exception {
        long snapshots = feeds.saFeed().snapshots();
        long connects = feeds.saFeed().connects();
        feeds.saFeed().restart();
        await(() -> feeds.saFeed().connects() == connects + 1, 5000, () -> "no reconnect");
        DatagramChannel sink = Fixtures.socket("127.0.0.8");
        try {
            install("late-out", "late", 0x0f000001, Direction.DIRECTION_OUTBOUND, Fixtures.local(sink), 8,
                    Lifetime.getDefaultInstance());
            await(() -> outbound("late") != null, 10_000, () -> "SA installed after the restart did not arrive");
            assertThat(feeds.saFeed().resumes()).as("resumed, not re-snapshotted").isPositive();
            assertThat(feeds.saFeed().snapshots()).isEqualTo(snapshots);
            await(() -> outbound("late").peekNextSequence() != 0, 5000, () -> "no lease");
            send(hostA, udp(HOST, v4(10, 8, 0, 1), 9000, 32, 1), wire);
            byte[] d = Fixtures.receive(sink, 5000);
            assertThat(d).isNotNull();
            assertThat(seqOf(d)).isEqualTo(1);
        } finally {
            sink.close();
        }
    }
}
