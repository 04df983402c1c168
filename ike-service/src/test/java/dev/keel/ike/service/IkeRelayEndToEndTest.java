package dev.keel.ike.service;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.ike.net.IkeRelayService;
import dev.keel.ike.session.IkeSa;
import dev.keel.policy.config.ConfigLoader;
import dev.keel.policy.config.ConfigResult;
import dev.keel.policy.grpc.PolicyGrpcService;
import dev.keel.policy.grpc.PolicyServer;
import dev.keel.policy.store.PolicyStore;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.Direction;
import dev.keel.proto.v1.ListChildSasRequest;
import dev.keel.sad.SadConfig;
import dev.keel.sad.SadNode;
import dev.keel.sad.keys.KeyEncryptionKey;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.internal.threadchecker.BlockedThreadEvent;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * IKE across processes, in one JVM: ike-service B runs in relay mode and binds no UDP port; an
 * esp-worker's outer side ({@link RelayWorker}: the data plane on B's NAT-T port, a plain IKE
 * socket on B's IKE port) relays to it over the IkeRelay stream. ike-service A, on its own sockets,
 * initiates to B's address: the IKE SA and its CHILD SA come up through the worker's sockets, and
 * A only ever hears from the worker's address and ports.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class IkeRelayEndToEndTest {

    private static final String CONFIG = """
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
            """;

    @Test
    void aPeerBringsUpIkeAndChildSasThroughTheWorkersSockets() throws Exception {
        Path dir = Files.createTempDirectory("keel-ike-relay");
        List<AutoCloseable> closing = new ArrayList<>();
        ConcurrentLinkedQueue<BlockedThreadEvent> blocked = new ConcurrentLinkedQueue<>();
        Vertx vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true).setEventLoopPoolSize(2)
                .setBlockedThreadCheckInterval(50).setBlockedThreadCheckIntervalUnit(TimeUnit.MILLISECONDS)
                .setMaxEventLoopExecuteTime(500).setMaxEventLoopExecuteTimeUnit(TimeUnit.MILLISECONDS));
        ((VertxInternal) vertx).blockedThreadChecker().setThreadBlockedHandler(blocked::add);
        try {
            byte[] kek = new byte[KeyEncryptionKey.LENGTH];
            new SecureRandom().nextBytes(kek);
            Path kekFile = dir.resolve("kek.hex");
            KeyEncryptionKey.write(kekFile, kek);
            int hz;
            try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                hz = s.getLocalPort();
            }
            SadConfig.Builder b = SadConfig.builder("sad1", kekFile);
            b.clusterName = "keel-ike-relay-test-" + UUID.randomUUID();
            b.hazelcastPort = hz;
            b.members = List.of("127.0.0.1:" + hz);
            b.partitionCount = 31;
            String sadName = InProcessServerBuilder.generateName();
            SadNode sad = SadNode.start(b.build(), InProcessServerBuilder.forName(sadName));
            closing.add(sad);
            ManagedChannel sadChannel = InProcessChannelBuilder.forName(sadName).build();
            closing.add(sadChannel::shutdownNow);

            int port = portPair();
            Map<String, byte[]> secrets = Map.of("psk", "ike-service test psk".getBytes(StandardCharsets.UTF_8));
            // B: relay mode, reached only through the worker that owns 127.0.0.2:port and :port+1
            IkeService serviceB = start(vertx, closing, "127.0.0.2", "127.0.0.1", "gwb", "gwa", "10.2.0.0/16",
                    "10.1.0.0/16", "none", port, sadChannel, secrets, true);
            assertThat(serviceB.relay()).isNotNull();
            String relayName = InProcessServerBuilder.generateName();
            Server relayServer = InProcessServerBuilder.forName(relayName).addService(serviceB.relay()).build().start();
            closing.add(relayServer::shutdownNow);
            ManagedChannel relayChannel = InProcessChannelBuilder.forName(relayName).build();
            closing.add(relayChannel::shutdownNow);
            // the worker's id is its sad-service node id: B installs the CHILD SA for the node its IKE came through
            RelayWorker worker = RelayWorker.start(vertx, "sad1", "127.0.0.2", port, port + 1, relayChannel, sadChannel);
            closing.add(worker);
            await(worker.relay::attached, 10_000, "worker attached to ike-service B");

            IkeService serviceA = start(vertx, closing, "127.0.0.1", "127.0.0.2", "gwa", "gwb", "10.1.0.0/16",
                    "10.2.0.0/16", "start", port, sadChannel, secrets, false);

            await(() -> serviceA.installer().installed() == 1 && serviceB.installer().installed() == 1, 30_000,
                    "both pairs installed in the SAD");
            List<ChildSaRecord> all = sad.database().listChildSas(ListChildSasRequest.getDefaultInstance())
                    .getChildSasList().stream().map(r -> sad.database().getChildSa(r.getId(), false)).toList();
            assertThat(all).hasSize(4);
            ChildSaRecord outA = all.stream().filter(r -> r.getId().startsWith("child-gwa-")
                    && r.getDirection() == Direction.DIRECTION_OUTBOUND).findFirst().orElseThrow();
            ChildSaRecord inB = all.stream().filter(r -> r.getId().startsWith("child-gwb-")
                    && r.getDirection() == Direction.DIRECTION_INBOUND).findFirst().orElseThrow();
            assertThat(outA.getSpi()).isEqualTo(inB.getSpi());
            assertThat(inB.getOwnerNodeId()).as("B's pair is owned by the worker's node").isEqualTo("sad1");

            // A's IKE SA floated to NAT-T and talks to the worker's NAT-T socket: one address, one port
            IkeSa atA = serviceA.engine().ikeSas().getFirst();
            assertThat(atA.endpoints().remote()).isEqualTo(new InetSocketAddress("127.0.0.2", port + 1));
            // every message B sent went out through the worker, every one it got came in through it
            IkeRelayService relay = serviceB.relay();
            assertThat(relay.received()).isEqualTo(worker.relay.relayed()).isGreaterThanOrEqualTo(2);
            assertThat(relay.sent()).isEqualTo(worker.relay.answered()).isGreaterThanOrEqualTo(2);
            for (IkeRelayService.Drop d : IkeRelayService.Drop.values()) {
                assertThat(relay.drops(d)).as("relay drops " + d).isZero();
            }
            for (var d : dev.keel.esp.net.IkeRelayClient.Drop.values()) {
                assertThat(worker.relay.drops(d)).as("worker drops " + d).isZero();
            }

            // a DPD-like exchange after the setup, initiated by B through the relay, is answered
            long sentBefore = relay.sent();
            serviceB.engine().terminate(serviceB.engine().ikeSas().getFirst());
            await(() -> serviceA.engine().ikeSaCount() == 0, 10_000, "A saw B's delete through the worker");
            assertThat(relay.sent()).isGreaterThan(sentBefore);
            assertThat(blocked).as("Vert.x blocked-thread events").isEmpty();
        } finally {
            for (int i = closing.size() - 1; i >= 0; i--) {
                try {
                    closing.get(i).close();
                } catch (Exception e) {
                    // keep closing
                }
            }
            vertx.close().await(10, TimeUnit.SECONDS);
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static IkeService start(Vertx vertx, List<AutoCloseable> closing, String local, String remote, String me,
            String peer, String localTs, String remoteTs, String startAction, int port, ManagedChannel sad,
            Map<String, byte[]> secrets, boolean relay) throws Exception {
        ConfigLoader loader = new ConfigLoader(Map.of("KEEL_TEST_PSK", "unused here, long enough")::get);
        ConfigResult r = loader.loadText(me + ".yaml",
                CONFIG.formatted(local, remote, me, peer, localTs, remoteTs, startAction));
        assertThat(r).isInstanceOf(ConfigResult.Valid.class);
        String name = InProcessServerBuilder.generateName();
        PolicyServer policy = new PolicyServer(InProcessServerBuilder.forName(name),
                new PolicyGrpcService(loader, new PolicyStore(((ConfigResult.Valid) r).config()))).start();
        closing.add(policy);
        ManagedChannel channel = InProcessChannelBuilder.forName(name).build();
        closing.add(channel::shutdownNow);
        IkeService s = IkeService.start(vertx, new IkeService.Settings(local, port, port + 1, port + 1, 1, me,
                "", relay), channel, sad, secrets).await(30, TimeUnit.SECONDS);
        closing.add(s);
        return s;
    }

    static int portPair() {
        Random random = new Random();
        for (int attempt = 0; attempt < 200; attempt++) {
            int p = 20_000 + random.nextInt(30_000);
            List<DatagramSocket> held = new ArrayList<>();
            try {
                for (String a : List.of("127.0.0.1", "127.0.0.2")) {
                    held.add(new DatagramSocket(new InetSocketAddress(a, p)));
                    held.add(new DatagramSocket(new InetSocketAddress(a, p + 1)));
                }
                return p;
            } catch (java.net.SocketException busy) {
                // another
            } finally {
                held.forEach(DatagramSocket::close);
            }
        }
        throw new IllegalStateException("no free UDP port pair");
    }

    static void await(BooleanSupplier condition, long millis, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as(what + " within " + millis + " ms").isLessThan(deadline);
            Thread.sleep(10);
        }
    }
}
