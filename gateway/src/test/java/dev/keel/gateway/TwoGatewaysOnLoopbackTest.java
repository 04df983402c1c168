package dev.keel.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.esp.forward.ForwardDrop;
import dev.keel.esp.packet.InnerPackets;
import dev.keel.ike.session.IkeSa;
import dev.keel.policy.config.ConfigLoader;
import dev.keel.policy.config.ConfigResult;
import dev.keel.policy.config.PolicyConfig;
import dev.keel.proto.v1.ChildSaInfo;
import dev.keel.proto.v1.IkeSaInfo;
import dev.keel.proto.v1.IkeSaState;
import dev.keel.proto.v1.IkeServiceGrpc;
import dev.keel.proto.v1.ListIkeSasRequest;
import dev.keel.proto.v1.StatsRequest;
import dev.keel.proto.v1.StatsResponse;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import dev.keel.rpc.Promtool;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.internal.threadchecker.BlockedThreadEvent;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The README's demo as a test: the two example gateways (docs/examples/demo-a.yaml, demo-b.yaml)
 * on loopback with the virtual wire. A initiates at start (IKE_SA_INIT + IKE_AUTH over real UDP,
 * floated to the NAT-T port because Keel forces UDP encapsulation), then inner packets sent by
 * host A arrive at host B intact, and back, every one counted as protected and delivered, and
 * both admin APIs list the tunnel with its traffic (keel.v1.IkeService); a packet outside every
 * policy is dropped at A, counted as NO_POLICY, and never reaches B. A's Prometheus endpoint
 * ({@code metrics:}), scraped during the traffic, passes Prometheus' own {@code promtool check
 * metrics} and counts the packets.
 */
class TwoGatewaysOnLoopbackTest {

    private static final Path EXAMPLES = Path.of("..", "docs", "examples");

    @Test
    void demoGatewaysBringUpATunnelAndCarryPacketsBothWays() throws Exception {
        Vertx vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true).setEventLoopPoolSize(2)
                .setBlockedThreadCheckInterval(50).setBlockedThreadCheckIntervalUnit(TimeUnit.MILLISECONDS)
                .setMaxEventLoopExecuteTime(500).setMaxEventLoopExecuteTimeUnit(TimeUnit.MILLISECONDS));
        ConcurrentLinkedQueue<BlockedThreadEvent> blocked = new ConcurrentLinkedQueue<>();
        ((VertxInternal) vertx).blockedThreadChecker().setThreadBlockedHandler(e -> {
            if (blocked.isEmpty()) { // say where: a class loaded on an event loop, a lock, a blocking call
                Throwable where = new Throwable(e.thread().getName() + " blocked " + e.duration() / 1_000_000 + " ms");
                where.setStackTrace(e.thread().getStackTrace());
                where.printStackTrace();
            }
            blocked.add(e);
        });
        try (DatagramChannel hostA = host("127.0.0.1", 21001); DatagramChannel hostB = host("127.0.0.2", 21002)) {
            // Both at once: each joins its own Hazelcast member first, seconds on a loaded machine.
            var startingB = start(vertx, "demo-b.yaml");
            var startingA = start(vertx, "demo-a.yaml");
            GatewayNode b = startingB.await(90, TimeUnit.SECONDS);
            GatewayNode a = startingA.await(90, TimeUnit.SECONDS);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            while (a.engine().ikeSas().stream().noneMatch(sa -> !sa.children().isEmpty())
                    || b.engine().ikeSas().stream().noneMatch(sa -> !sa.children().isEmpty())) {
                assertThat(System.nanoTime()).as("tunnel up within 15 s").isLessThan(deadline);
                Thread.sleep(20);
            }
            IkeSa saA = a.engine().ikeSas().getFirst();
            long fed = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (a.installLatenciesMicros().isEmpty() || b.installLatenciesMicros().isEmpty()) {
                assertThat(System.nanoTime()).as("SAs fed from the SAD to both data planes").isLessThan(fed);
                Thread.sleep(5);
            }
            assertThat(saA.endpoints().natDetected()).as("encapsulation forced").isTrue();
            assertThat(saA.endpoints().localPort()).isEqualTo(1501);

            byte[] srcA = {10, 1, 0, 5};
            byte[] dstB = {10, 2, 0, 7};
            String before = scrape(a);
            String during = null;
            for (int i = 0; i < 50; i++) {
                if (i == 25) {
                    during = scrape(a);
                }
                byte[] inner = InnerPackets.ipv4(srcA, dstB, 17, 20 + i * 25, i);
                hostA.send(ByteBuffer.wrap(inner), new InetSocketAddress("127.0.0.1", 20001));
                assertThat(receive(hostB)).as("packet %d at host B", i).isEqualTo(inner);
                byte[] back = InnerPackets.ipv4(dstB, srcA, 6, 40 + i, 1000 + i);
                hostB.send(ByteBuffer.wrap(back), new InetSocketAddress("127.0.0.2", 20002));
                assertThat(receive(hostA)).as("reply %d at host A", i).isEqualTo(back);
            }
            DataPlaneCounts.awaitGrowth(a, Map.of(), DataPlaneCounts.carried(50, 50));
            DataPlaneCounts.awaitGrowth(b, Map.of(), DataPlaneCounts.carried(50, 50));
            String after = scrape(a);
            Promtool.assertValid(during);
            Promtool.assertValid(after);
            String out = "keel_esp_packets_total{direction=\"out\"}";
            assertThat(sample(after, out) - sample(before, out)).as("A's protected packets, scraped").isEqualTo(50);
            assertThat(sample(during, out)).isBetween(sample(before, out), sample(after, out));
            assertThat(sample(after, "keel_esp_packets_total{direction=\"in\"}")).isEqualTo(50);
            String spi = String.format("%08x", saA.children().getFirst().outboundSpi());
            assertThat(sample(after, "keel_esp_sa_packets_total{child=\"lan\",connection=\"to-b\",direction="
                    + "\"out\",spi=\"" + spi + "\"}")).as("the SA's own series").isEqualTo(50);
            assertThat(sample(after, "keel_esp_bytes_total{direction=\"out\"}")).isPositive();
            assertThat(sample(after, "keel_ike_sa_established_total")).isEqualTo(1);
            assertThat(sample(after, "keel_ike_sa_setup_seconds_count")).isEqualTo(1);
            assertThat(after).contains("keel_sad_requests_total{code=\"OK\",method=\"LeaseSequence\"}",
                    "keel_sad_cluster_members 1.0", "keel_policy_connections 1.0", "jvm_memory_used_bytes{");
            String operations = java.nio.file.Files.readString(Path.of("..", "docs", "operations.md"));
            assertThat(after.lines().filter(l -> l.startsWith("# TYPE keel_")).map(l -> l.split(" ")[2]
                    .replaceAll("_max$", "")).filter(name -> !operations.contains("`" + name + "`")).toList())
                    .as("metrics served but not in docs/operations.md").isEmpty();
            adminApisListTheTunnel();

            // A packet no SPD entry covers (10.9.0.0/16 is in neither gateway's selectors) is discarded
            // (RFC 4301 §5.1), counted as NO_POLICY, and never leaves A: not encrypted, nothing at B.
            Map<String, Long> beforeA = DataPlaneCounts.of(a);
            Map<String, Long> beforeB = DataPlaneCounts.of(b);
            byte[] outsidePolicy = InnerPackets.ipv4(srcA, new byte[] {10, 9, 0, 1}, 17, 30, 7);
            hostA.send(ByteBuffer.wrap(outsidePolicy), new InetSocketAddress("127.0.0.1", 20001));
            DataPlaneCounts.awaitGrowth(a, beforeA,
                    Map.of("plaintext in", 1L, DataPlaneCounts.drop(ForwardDrop.NO_POLICY), 1L));
            assertThat(receive(hostB, 500)).as("the out-of-policy packet at host B").isNull();
            assertThat(DataPlaneCounts.of(b)).as("B's counts: nothing arrived").isEqualTo(beforeB);

            a.close().await(30, TimeUnit.SECONDS);
            long gone = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (!b.engine().ikeSas().isEmpty() && System.nanoTime() < gone) {
                Thread.sleep(20);
            }
            assertThat(b.engine().ikeSas()).as("B saw A's delete").isEmpty();
            assertThat(b.dataPlaneSas().installed()).as("B's data plane after the delete").isEmpty();
            b.close().await(30, TimeUnit.SECONDS);
            assertThat(blocked).as("Vert.x blocked-thread events").isEmpty();
        } finally {
            vertx.close().await(10, TimeUnit.SECONDS);
        }
    }

    /** What {@code node}'s Prometheus endpoint answers, over HTTP as Prometheus asks. */
    private static String scrape(GatewayNode node) throws Exception {
        try (HttpClient http = HttpClient.newHttpClient()) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(node.metricsUrl())).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            return r.body();
        }
    }

    /** The value of the sample {@code series} (name and labels as exposed) in {@code text}. */
    private static double sample(String text, String series) {
        return text.lines().filter(l -> l.startsWith(series + " ")).map(l -> Double.parseDouble(l.substring(
                series.length() + 1).split(" ")[0])).findFirst().orElseThrow(() -> new AssertionError(
                        "no sample " + series + " in the scrape"));
    }

    /**
     * The admin APIs (the demo files' plaintext loopback listeners) serve keel.v1.IkeService: each
     * gateway lists its end of the tunnel, the SPIs crossed, and the traffic its data plane reports
     * to the SAD (every second).
     */
    private static void adminApisListTheTunnel() throws Exception {
        ManagedChannel adminA = Grpc.newChannelBuilderForAddress("127.0.0.1", 7441,
                InsecureChannelCredentials.create()).build();
        ManagedChannel adminB = Grpc.newChannelBuilderForAddress("127.0.0.2", 7442,
                InsecureChannelCredentials.create()).build();
        try {
            IkeSaInfo listedA = list(adminA);
            IkeSaInfo listedB = list(adminB);
            assertThat(listedA.getConnection()).isEqualTo("to-b");
            assertThat(listedA.getState()).isEqualTo(IkeSaState.IKE_SA_STATE_ESTABLISHED);
            assertThat(listedA.getInitiator()).isTrue();
            assertThat(listedA.getInitiatorSpi()).isEqualTo(listedB.getInitiatorSpi());
            assertThat(listedA.getResponderSpi()).isEqualTo(listedB.getResponderSpi());
            assertThat(listedA.getLocalId()).isEqualTo(listedB.getRemoteId());
            assertThat(listedA.getChildren(0).getSpiIn()).isEqualTo(listedB.getChildren(0).getSpiOut());
            assertThat(listedA.getChildren(0).getSpiOut()).isEqualTo(listedB.getChildren(0).getSpiIn());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            ChildSaInfo lan = list(adminA).getChildren(0);
            while (lan.getPacketsIn() < 50 || lan.getPacketsOut() < 50) {
                assertThat(System.nanoTime()).as("A's traffic reported to the SAD: " + lan).isLessThan(deadline);
                Thread.sleep(100);
                lan = list(adminA).getChildren(0);
            }
            assertThat(lan.getBytesIn()).isPositive();
            assertThat(lan.getLastInMillis()).isPositive();
            StatsResponse stats = IkeServiceGrpc.newBlockingStub(adminA).withDeadlineAfter(20, TimeUnit.SECONDS)
                    .stats(StatsRequest.getDefaultInstance());
            assertThat(List.of(stats.getIkeSas(), stats.getChildSas(), stats.getClusterMembers()))
                    .containsExactly(1, 1, 1);
        } finally {
            adminA.shutdownNow();
            adminB.shutdownNow();
        }
    }

    private static IkeSaInfo list(ManagedChannel admin) {
        List<IkeSaInfo> all = IkeServiceGrpc.newBlockingStub(admin).withDeadlineAfter(20, TimeUnit.SECONDS)
                .listIkeSas(ListIkeSasRequest.getDefaultInstance()).getIkeSasList();
        assertThat(all).hasSize(1);
        return all.getFirst();
    }

    private static io.vertx.core.Future<GatewayNode> start(Vertx vertx, String file) throws Exception {
        Path path = EXAMPLES.resolve(file);
        ConfigResult policy = new ConfigLoader(Map.of("KEEL_DEMO_PSK", "correct horse battery staple")::get).loadFile(path);
        assertThat(policy).isInstanceOf(ConfigResult.Valid.class);
        PolicyConfig pc = ((ConfigResult.Valid) policy).config();
        var settings = GatewaySettingsReader.read(path);
        assertThat(settings).isInstanceOf(GatewaySettingsReader.Result.Valid.class);
        GatewaySettings gs = ((GatewaySettingsReader.Result.Valid) settings).settings();
        return GatewayNode.start(vertx, gs, pc, GatewayNode.openPlaintext(vertx, gs, pc));
    }

    private static DatagramChannel host(String address, int port) throws Exception {
        DatagramChannel ch = DatagramChannel.open();
        ch.setOption(StandardSocketOptions.SO_REUSEADDR, true);
        ch.bind(new InetSocketAddress(address, port));
        ch.configureBlocking(false);
        return ch;
    }

    private static byte[] receive(DatagramChannel ch) throws Exception {
        return receive(ch, 5_000);
    }

    /** The next datagram on {@code ch}, or null when none comes within {@code millis}. */
    private static byte[] receive(DatagramChannel ch, long millis) throws Exception {
        ByteBuffer buf = ByteBuffer.allocate(2048);
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (ch.receive(buf) == null) {
            if (System.nanoTime() > deadline) {
                return null;
            }
            Thread.sleep(1);
        }
        buf.flip();
        return Arrays.copyOf(buf.array(), buf.limit());
    }
}
