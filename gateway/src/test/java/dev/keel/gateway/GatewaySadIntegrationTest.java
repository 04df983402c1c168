package dev.keel.gateway;

import static dev.keel.gateway.LoopbackTesting.await;
import static dev.keel.gateway.LoopbackTesting.ikePortPair;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.esp.forward.ForwardDrop;
import dev.keel.esp.packet.InnerPackets;
import dev.keel.ike.session.IkeSa;
import dev.keel.policy.config.ConfigLoader;
import dev.keel.policy.config.ConfigResult;
import dev.keel.policy.config.PolicyConfig;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.ChildSaState;
import dev.keel.proto.v1.Direction;
import dev.keel.proto.v1.ListChildSasRequest;
import dev.keel.proto.v1.SaServiceGrpc;
import dev.keel.sad.keys.KeyEncryptionKey;
import dev.keel.proto.v1.ConfigSource;
import dev.keel.proto.v1.PolicyServiceGrpc;
import dev.keel.proto.v1.ValidateConfigRequest;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.internal.threadchecker.BlockedThreadEvent;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.crypto.Cipher;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Two gateways on loopback, each embedding a sad-service member with its own KEK: a CHILD SA
 * negotiated by IKE is stored in the SAD (both directions, keys wrapped under the KEK, which the
 * JDK's RFC 5649 unwrap recovers, and A's outbound key equals B's inbound key), reaches the data
 * plane through the SAD's Watch stream and carries traffic; the admin gRPC API lists the SAs; a
 * delete leaves tombstones in the SAD and nothing in the data planes; a {@code trap} child comes
 * up on the first packet (one acquire, then the SA).
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class GatewaySadIntegrationTest {

    private final ConcurrentLinkedQueue<BlockedThreadEvent> blocked = new ConcurrentLinkedQueue<>();
    private final List<GatewayNode> nodes = new ArrayList<>();
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private Vertx vertx;
    private Path dir;

    @BeforeEach
    void setUp() throws Exception {
        dir = Files.createTempDirectory("keel-gw-sad");
        vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true).setEventLoopPoolSize(2)
                .setBlockedThreadCheckInterval(50).setBlockedThreadCheckIntervalUnit(TimeUnit.MILLISECONDS)
                .setMaxEventLoopExecuteTime(500).setMaxEventLoopExecuteTimeUnit(TimeUnit.MILLISECONDS));
        ((VertxInternal) vertx).blockedThreadChecker().setThreadBlockedHandler(e -> {
            if (blocked.isEmpty()) {
                Throwable where = new Throwable(e.thread().getName() + " blocked " + e.duration() / 1_000_000 + " ms");
                where.setStackTrace(e.thread().getStackTrace());
                where.printStackTrace();
            }
            blocked.add(e);
        });
    }

    @AfterEach
    void tearDown() throws Exception {
        try {
            for (GatewayNode n : nodes) {
                try {
                    n.close().await(30, TimeUnit.SECONDS);
                } catch (Exception e) {
                    // already closed by the test, or failed: keep closing the rest
                }
            }
            for (AutoCloseable c : closeables) {
                c.close();
            }
        } finally {
            vertx.close().await(10, TimeUnit.SECONDS);
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** One side's ports and files. */
    private record Side(String name, String address, int ike, int natT, InetSocketAddress wire, DatagramChannel host,
            int hazelcast, byte[] kek, Path kekFile) {
    }

    private Side side(String name, String address) throws Exception {
        DatagramChannel host = DatagramChannel.open();
        host.setOption(StandardSocketOptions.SO_REUSEADDR, true);
        host.bind(new InetSocketAddress(address, 0));
        host.configureBlocking(false);
        closeables.add(host);
        byte[] kek = new byte[KeyEncryptionKey.LENGTH];
        new SecureRandom().nextBytes(kek);
        Path kekFile = dir.resolve(name + "-kek.hex");
        KeyEncryptionKey.write(kekFile, kek);
        // Held open together, so no two of them are the same port; NAT-T is IKE + 1 (IkeSa.floatToNatT).
        try (DatagramSocket wire = udp(address); ServerSocket hz = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int ike = ikePortPair(List.of("127.0.0.1", "127.0.0.2"), wire.getLocalPort());
            return new Side(name, address, ike, ike + 1, new InetSocketAddress(address, wire.getLocalPort()), host,
                    hz.getLocalPort(), kek, kekFile);
        }
    }

    private static String yaml(Side me, Side peer, String localTs, String remoteTs, String startAction) {
        return yaml(me, peer, localTs, remoteTs, startAction, "");
    }

    private static String yaml(Side me, Side peer, String localTs, String remoteTs, String startAction,
            String childExtra) {
        return """
                gateway:
                  address: %s
                  ike_port: %d
                  nat_t_port: %d
                  cluster: {node_id: %s, name: %s-%d, bind: 127.0.0.1:%d, kek_file: %s}
                  admin: {socket: %s-admin/admin.sock}
                  plaintext:
                    virtual_wire: {bind: %s:%d, host: %s}
                secrets:
                  psk: {env: KEEL_TEST_PSK}
                connections:
                  peer:
                    local_addrs: %s
                    remote_addrs: %s
                    local:  {auth: psk, id: %s.example, secret: psk}
                    remote: {auth: psk, id: %s.example}
                    proposals: aes256gcm16-prfsha256-x25519
                    children:
                      lan:
                        local_ts: %s
                        remote_ts: %s
                        esp_proposals: aes256gcm16
                        start_action: %s
                %s
                """.formatted(me.address, me.ike, me.natT, me.name, me.name, me.hazelcast, me.hazelcast,
                me.kekFile, me.name, me.wire.getHostString(), me.wire.getPort(),
                me.address + ":" + ((InetSocketAddress) localAddress(me.host)).getPort(),
                me.address, peer.address, me.name, peer.name, localTs, remoteTs, startAction,
                childExtra.isEmpty() ? "" : "        " + childExtra);
    }

    private static java.net.SocketAddress localAddress(DatagramChannel ch) {
        try {
            return ch.getLocalAddress();
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private Future<GatewayNode> start(Side me, Side peer, String localTs, String remoteTs, String startAction,
            int peerIkePort) throws Exception {
        return start(me, peer, localTs, remoteTs, startAction, "");
    }

    private Future<GatewayNode> start(Side me, Side peer, String localTs, String remoteTs, String startAction,
            String childExtra) throws Exception {
        // Both gateways must agree on the IKE port: the engine sends to the peer's ike_port = ours.
        String text = yaml(me, peer, localTs, remoteTs, startAction, childExtra);
        Path file = dir.resolve(me.name + ".yaml");
        Files.writeString(file, text);
        ConfigResult policy = new ConfigLoader(Map.of("KEEL_TEST_PSK", "integration test secret")::get).loadFile(file);
        assertThat(policy).isInstanceOf(ConfigResult.Valid.class);
        PolicyConfig pc = ((ConfigResult.Valid) policy).config();
        var read = GatewaySettingsReader.read(file);
        assertThat(read).isInstanceOf(GatewaySettingsReader.Result.Valid.class);
        GatewaySettings gs = ((GatewaySettingsReader.Result.Valid) read).settings();
        return GatewayNode.start(vertx, gs, pc, GatewayNode.openPlaintext(vertx, gs, pc)).onSuccess(n -> {
            synchronized (nodes) {
                nodes.add(n);
            }
        });
    }

    @Test
    void childSaFromIkeIsInTheSadWithWrappedKeysFeedsTheDataPlaneAndGoesAwayOnDelete() throws Exception {
        // Both sides share one IKE port number (IkeConnections: the peer's port is ours), on different addresses.
        Side a = side("gwa", "127.0.0.1");
        Side b0 = side("gwb", "127.0.0.2");
        Side b = new Side(b0.name, b0.address, a.ike, a.natT, b0.wire, b0.host, b0.hazelcast, b0.kek, b0.kekFile);
        Future<GatewayNode> startingB = start(b, a, "10.2.0.0/16", "10.1.0.0/16", "none", a.ike);
        Future<GatewayNode> startingA = start(a, b, "10.1.0.0/16", "10.2.0.0/16", "start", a.ike);
        GatewayNode nb = startingB.await(90, TimeUnit.SECONDS);
        GatewayNode na = startingA.await(90, TimeUnit.SECONDS);
        await(() -> na.installLatenciesMicros().size() == 1 && nb.installLatenciesMicros().size() == 1,
                20_000, "both directions fed to both data planes and leased");

        // The SAD holds both directions, owned by the node, keys wrapped under that node's KEK.
        List<ChildSaRecord> inA = records(na);
        List<ChildSaRecord> inB = records(nb);
        assertThat(inA).hasSize(2).allSatisfy(r -> {
            assertThat(r.getConnection()).isEqualTo("peer");
            assertThat(r.getChild()).isEqualTo("lan");
            assertThat(r.getOwnerNodeId()).isEqualTo("gwa");
            assertThat(r.getState()).isEqualTo(ChildSaState.CHILD_SA_STATE_ACTIVE);
            assertThat(r.getEncryptionKeyLength()).isEqualTo(36); // AES-256 + 4-byte salt (RFC 4106 §8.1)
            assertThat(r.getKeys().getEncryption().size()).as("RFC 5649: 36 bytes padded to 40, plus 8").isEqualTo(48);
        });
        ChildSaRecord outA = direction(inA, Direction.DIRECTION_OUTBOUND);
        ChildSaRecord inboundB = direction(inB, Direction.DIRECTION_INBOUND);
        assertThat(outA.getSpi()).isEqualTo(inboundB.getSpi());
        assertThat(na.spis().handedOut() + nb.spis().handedOut()).as("inbound SPIs reserved in the SAD").isEqualTo(2);
        assertThat(na.spis().fallbacks() + nb.spis().fallbacks()).as("random ones").isZero();
        byte[] keyOutA = unwrap(a.kek, outA.getKeys().getEncryption().toByteArray());
        byte[] keyInB = unwrap(b.kek, inboundB.getKeys().getEncryption().toByteArray());
        assertThat(keyOutA).hasSize(36).isEqualTo(keyInB);
        assertThat(outA.getKeys().getEncryption().toByteArray()).as("different KEKs, different wrapping")
                .isNotEqualTo(inboundB.getKeys().getEncryption().toByteArray());
        assertThat(na.installLatenciesMicros()).hasSize(1);
        System.out.printf("install latency (IKE established -> both SAs in the data plane): A %d us, B %d us%n",
                na.installLatenciesMicros().getFirst(), nb.installLatenciesMicros().getFirst());

        // Traffic through the data planes the SAD fed: 20 packets each way, every one protected by the
        // sender, delivered by the receiver, on the SAs the SAD holds, and nothing dropped anywhere.
        roundTrips(a, b, 20);
        DataPlaneCounts.awaitGrowth(na, Map.of(), DataPlaneCounts.carried(20, 20));
        DataPlaneCounts.awaitGrowth(nb, Map.of(), DataPlaneCounts.carried(20, 20));
        ChildSaRecord outB = direction(inB, Direction.DIRECTION_OUTBOUND);
        assertThat(DataPlaneCounts.saPackets(na, outA.getSpi(), true)).as("A's outbound SA").isEqualTo(20);
        assertThat(DataPlaneCounts.saPackets(nb, outA.getSpi(), false)).as("B's inbound SA, the same SPI").isEqualTo(20);
        assertThat(DataPlaneCounts.saPackets(nb, outB.getSpi(), true)).as("B's outbound SA").isEqualTo(20);
        assertThat(DataPlaneCounts.saPackets(na, outB.getSpi(), false)).as("A's inbound SA, the same SPI").isEqualTo(20);

        // The admin API, on its Unix socket (0600), lists them (no keys) and answers health checks; it
        // reads configurations by path only from the configuration's directory.
        Path socket = dir.resolve(a.name + "-admin/admin.sock");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(socket, LinkOption.NOFOLLOW_LINKS)))
                .isEqualTo("rw-------");
        ManagedChannel admin = Grpc.newChannelBuilder("unix:" + socket, InsecureChannelCredentials.create()).build();
        closeables.add(admin::shutdownNow);
        assertThatThrownBy(() -> PolicyServiceGrpc.newBlockingStub(admin).withDeadlineAfter(10, TimeUnit.SECONDS)
                .validateConfig(ValidateConfigRequest.newBuilder().setSource(ConfigSource.newBuilder()
                        .setPath("/etc/hostname")).build())).isInstanceOfSatisfying(StatusRuntimeException.class,
                                e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED));
        Files.writeString(dir.resolve("empty.yaml"), "connections: {}\n");
        assertThat(PolicyServiceGrpc.newBlockingStub(admin).withDeadlineAfter(10, TimeUnit.SECONDS)
                .validateConfig(ValidateConfigRequest.newBuilder().setSource(ConfigSource.newBuilder()
                        .setPath("empty.yaml")).build()).getValid()).isTrue();
        var listed = SaServiceGrpc.newBlockingStub(admin).withDeadlineAfter(10, TimeUnit.SECONDS)
                .listChildSas(ListChildSasRequest.getDefaultInstance());
        assertThat(listed.getChildSasList()).extracting(ChildSaRecord::getId)
                .containsExactlyInAnyOrderElementsOf(inA.stream().map(ChildSaRecord::getId).toList());
        assertThat(listed.getChildSasList()).allSatisfy(r -> assertThat(r.hasKeys()).isFalse());
        assertThat(HealthGrpc.newBlockingStub(admin).withDeadlineAfter(10, TimeUnit.SECONDS)
                .check(HealthCheckRequest.newBuilder().setService("keel.v1.SaService").build()).getStatus())
                .isEqualTo(HealthCheckResponse.ServingStatus.SERVING);

        // Delete the CHILD SA (the whole IKE SA from A): tombstones in both SADs, nothing in the data planes.
        IkeSa ike = na.engine().ikeSas().getFirst();
        na.engine().terminate(ike);
        await(() -> na.dataPlaneSas().installed().isEmpty() && nb.dataPlaneSas().installed().isEmpty(), 10_000,
                "data planes empty after the delete");
        for (var pair : List.of(Map.entry(na, inA), Map.entry(nb, inB))) {
            for (ChildSaRecord r : pair.getValue()) {
                await(() -> pair.getKey().sad().database().getChildSa(r.getId(), false).getState()
                        == ChildSaState.CHILD_SA_STATE_DELETED, 10_000, r.getId() + " deleted in the SAD");
                assertThat(pair.getKey().sad().database().getChildSa(r.getId(), true).hasKeys())
                        .as("a tombstone holds no key material").isFalse();
            }
        }
        assertThat(blocked).as("Vert.x blocked-thread events").isEmpty();
    }

    @Test
    void trapChildComesUpOnTheFirstPacket() throws Exception {
        Side a = side("gwa", "127.0.0.1");
        Side b0 = side("gwb", "127.0.0.2");
        Side b = new Side(b0.name, b0.address, a.ike, a.natT, b0.wire, b0.host, b0.hazelcast, b0.kek, b0.kekFile);
        Future<GatewayNode> startingB = start(b, a, "10.2.0.0/16", "10.1.0.0/16", "none", a.ike);
        Future<GatewayNode> startingA = start(a, b, "10.1.0.0/16", "10.2.0.0/16", "trap", a.ike);
        GatewayNode nb = startingB.await(90, TimeUnit.SECONDS);
        GatewayNode na = startingA.await(90, TimeUnit.SECONDS);
        // Nothing happens until traffic: a trap child is not initiated at start.
        await(() -> na.dataPlane().config() != null, 1_000, "started");
        Thread.sleep(500);
        assertThat(na.engine().ikeSas()).isEmpty();
        assertThat(records(na)).isEmpty();

        // Packets (a burst, the first of which hits the trap): exactly one acquire, then the SA.
        byte[] inner = InnerPackets.ipv4(new byte[] {10, 1, 0, 5}, new byte[] {10, 2, 0, 7}, 17, 64, 1);
        await(() -> na.dataPlane().acquires().fired() > 0 || sendFrom(a, inner), 5_000, "first packet acquired");
        for (int i = 0; i < 20; i++) {
            sendFrom(a, inner);
        }
        await(() -> na.installLatenciesMicros().size() == 1 && nb.installLatenciesMicros().size() == 1, 20_000,
                "trap child established and fed to both data planes");
        assertThat(na.dataPlane().acquires().fired()).as("acquires fired").isEqualTo(1);
        assertThat(na.acquiresInitiated()).isEqualTo(1);
        assertThat(na.dataPlane().acquires().suppressed()).as("later packets found it in flight").isPositive();
        assertThat(records(na)).hasSize(2);
        // The trapped packets before the SA: the first (which fired the acquire) dropped for want of an SA.
        assertThat(na.dataPlane().counters().drops(ForwardDrop.NO_SA)).as("packets dropped before the SA").isPositive();
        drain(b.host);
        Map<String, Long> beforeA = DataPlaneCounts.of(na);
        Map<String, Long> beforeB = DataPlaneCounts.of(nb);
        roundTrips(a, b, 10);
        DataPlaneCounts.awaitGrowth(na, beforeA, DataPlaneCounts.carried(10, 10));
        DataPlaneCounts.awaitGrowth(nb, beforeB, DataPlaneCounts.carried(10, 10));
        assertThat(na.dataPlane().acquires().fired()).as("no acquire once the SA is there").isEqualTo(1);
        assertThat(blocked).as("Vert.x blocked-thread events").isEmpty();
    }

    @Test
    void rekeyedChildReplacesTheOldOneInTheSadAndTheDataPlane() throws Exception {
        Side a = side("gwa", "127.0.0.1");
        Side b0 = side("gwb", "127.0.0.2");
        Side b = new Side(b0.name, b0.address, a.ike, a.natT, b0.wire, b0.host, b0.hazelcast, b0.kek, b0.kekFile);
        Future<GatewayNode> startingB = start(b, a, "10.2.0.0/16", "10.1.0.0/16", "none", "rekey_time: 1h");
        Future<GatewayNode> startingA = start(a, b, "10.1.0.0/16", "10.2.0.0/16", "start",
                "rekey_time: 6s\n        life_time: 1h");
        GatewayNode nb = startingB.await(90, TimeUnit.SECONDS);
        GatewayNode na = startingA.await(90, TimeUnit.SECONDS);
        await(() -> na.installLatenciesMicros().size() == 1 && nb.installLatenciesMicros().size() == 1, 20_000,
                "first CHILD SA usable");
        List<String> first = records(na).stream().map(ChildSaRecord::getId).toList();
        // A rekeys after 5.4..6 s (its timer, or the SAD's soft expiry through the data plane, whichever is first).
        await(() -> na.installLatenciesMicros().size() == 2 && nb.installLatenciesMicros().size() == 2
                && na.dataPlaneSas().installed().size() == 2 && nb.dataPlaneSas().installed().size() == 2, 20_000,
                "rekeyed CHILD SA usable and the old one gone from both data planes");
        for (String id : first) {
            assertThat(na.sad().database().getChildSa(id, false).getState()).as(id)
                    .isEqualTo(ChildSaState.CHILD_SA_STATE_DELETED);
        }
        List<ChildSaRecord> live = records(na).stream()
                .filter(r -> r.getState() == ChildSaState.CHILD_SA_STATE_ACTIVE).toList();
        assertThat(live).hasSize(2).extracting(ChildSaRecord::getId).doesNotContainAnyElementsOf(first);
        assertThat(na.dataPlaneSas().installed()).extracting(i -> i.record().getId())
                .containsExactlyInAnyOrderElementsOf(live.stream().map(ChildSaRecord::getId).toList());
        drain(b.host);
        drain(a.host);
        Map<String, Long> beforeA = DataPlaneCounts.of(na);
        Map<String, Long> beforeB = DataPlaneCounts.of(nb);
        roundTrips(a, b, 5);
        DataPlaneCounts.awaitGrowth(na, beforeA, DataPlaneCounts.carried(5, 5));
        DataPlaneCounts.awaitGrowth(nb, beforeB, DataPlaneCounts.carried(5, 5));
        for (ChildSaRecord r : live) {
            assertThat(DataPlaneCounts.saPackets(na, r.getSpi(), r.getDirection() == Direction.DIRECTION_OUTBOUND))
                    .as("rekeyed SA %s carried the traffic", r.getId()).isEqualTo(5);
        }
        assertThat(blocked).as("Vert.x blocked-thread events").isEmpty();
    }

    private static boolean sendFrom(Side s, byte[] inner) {
        try {
            s.host.send(ByteBuffer.wrap(inner), s.wire);
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
        return false;
    }

    private static void roundTrips(Side a, Side b, int count) throws Exception {
        byte[] srcA = {10, 1, 0, 5};
        byte[] dstB = {10, 2, 0, 7};
        for (int i = 0; i < count; i++) {
            byte[] inner = InnerPackets.ipv4(srcA, dstB, 17, 20 + i * 25, i);
            a.host.send(ByteBuffer.wrap(inner), a.wire);
            assertThat(receive(b.host)).as("packet %d at host B", i).isEqualTo(inner);
            byte[] back = InnerPackets.ipv4(dstB, srcA, 6, 40 + i, 1000 + i);
            b.host.send(ByteBuffer.wrap(back), b.wire);
            assertThat(receive(a.host)).as("reply %d at host A", i).isEqualTo(back);
        }
    }

    private static List<ChildSaRecord> records(GatewayNode n) {
        return n.sad().database().listChildSas(ListChildSasRequest.getDefaultInstance()).getChildSasList().stream()
                .map(r -> n.sad().database().getChildSa(r.getId(), true)).toList();
    }

    private static ChildSaRecord direction(List<ChildSaRecord> rs, Direction d) {
        return rs.stream().filter(r -> r.getDirection() == d).findFirst().orElseThrow();
    }

    /** RFC 5649 unwrap by the JDK's AES/KWP, independent of sad-service's and esp-worker's code. */
    private static byte[] unwrap(byte[] kek, byte[] wrapped) throws Exception {
        Cipher c = Cipher.getInstance("AES/KWP/NoPadding");
        c.init(Cipher.DECRYPT_MODE, new SecretKeySpec(kek, "AES"));
        return c.doFinal(wrapped);
    }

    private static void drain(DatagramChannel ch) throws Exception {
        ByteBuffer buf = ByteBuffer.allocate(2048);
        while (ch.receive(buf) != null) {
            buf.clear();
        }
    }

    private static byte[] receive(DatagramChannel ch) throws Exception {
        ByteBuffer buf = ByteBuffer.allocate(2048);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (ch.receive(buf) == null) {
            if (System.nanoTime() > deadline) {
                return null;
            }
            Thread.sleep(1);
        }
        buf.flip();
        return Arrays.copyOf(buf.array(), buf.limit());
    }

    private static DatagramSocket udp(String address) throws Exception {
        return new DatagramSocket(new InetSocketAddress(InetAddress.getByName(address), 0));
    }
}
