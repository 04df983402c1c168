package dev.keel.ike.service;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.proto.ChildKeyUnwrapper;
import dev.keel.ike.session.ChildSa;
import dev.keel.ike.session.IkeSa;
import dev.keel.policy.config.ConfigLoader;
import dev.keel.policy.config.ConfigResult;
import dev.keel.policy.grpc.PolicyGrpcService;
import dev.keel.policy.grpc.PolicyServer;
import dev.keel.policy.store.PolicyStore;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.ChildSaState;
import dev.keel.proto.v1.ClaimOwnershipRequest;
import dev.keel.proto.v1.IkeSaRecord;
import dev.keel.proto.v1.ListChildSasRequest;
import dev.keel.proto.v1.SaServiceGrpc;
import dev.keel.sad.SadConfig;
import dev.keel.sad.SadException;
import dev.keel.sad.SadNode;
import dev.keel.sad.keys.KeyEncryptionKey;
import io.grpc.ManagedChannel;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue 12 item 6's ike-service restart, in one JVM: ike-service A (the initiator, {@code start})
 * stores its IKE SA in sad-service; it dies as kill -9 leaves it (no Delete to the peer, its
 * records left in the SAD, its sockets, timers and gRPC channels gone at once); a new A with the
 * same settings takes the IKE SA over from the SAD. The peer's DPD, retransmitted while A was
 * down, is answered; its CHILD SA rekey and IKE SA rekey succeed and land in the SAD; nobody
 * establishes a new IKE SA (the peer sees no IKE_SA_INIT, and A initiates none for the connection
 * the taken-over IKE SA carries). Meanwhile the data plane moves the record to another
 * sad-service node (a worker's claim): A keeps the IKE SA and stores it for that node.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class IkeServiceRestartTest {

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
                dpd_delay: %s
                children:
                  lan:
                    local_ts: %s
                    remote_ts: %s
                    esp_proposals: aes256gcm16
                    start_action: %s
            """;

    private static final Map<String, byte[]> SECRETS = Map.of("psk",
            "ike-service restart test psk".getBytes(StandardCharsets.UTF_8));

    @ParameterizedTest(name = "after {0}")
    @ValueSource(strings = {"kill -9", "a stop"})
    void aRestartedIkeServiceCarriesItsIkeSaOnFromTheSad(String down, @TempDir Path dir) throws Exception {
        List<AutoCloseable> closing = new ArrayList<>();
        Vertx peerVertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1));
        try {
            byte[] kekBytes = new byte[KeyEncryptionKey.LENGTH];
            new SecureRandom().nextBytes(kekBytes);
            Path kekFile = dir.resolve("kek.hex");
            KeyEncryptionKey.write(kekFile, kekBytes);
            ChildKeyUnwrapper kek = ChildKeyUnwrapper.load(kekFile); // what --kek-file gives ike-service
            closing.add(kek);
            // two members: the data-plane nodes A's records may move between (sad1 serves A's calls)
            String cluster = "keel-ike-restart-" + UUID.randomUUID();
            List<Integer> hz = List.of(freePort(), freePort());
            String sadName = InProcessServerBuilder.generateName();
            SadNode sad = SadNode.start(member("sad1", cluster, kekFile, hz.get(0), hz),
                    InProcessServerBuilder.forName(sadName));
            closing.add(sad);
            closing.add(SadNode.start(member("sad2", cluster, kekFile, hz.get(1), hz),
                    InProcessServerBuilder.forName(InProcessServerBuilder.generateName())));
            IkeServiceTest.await(() -> sad.cluster().hazelcast().getCluster().getMembers().size() == 2, 30_000,
                    "two sad-service members");
            int port = IkeServiceTest.portPair();

            // the peer: a responder that checks liveness after 1 s of silence; it stores nothing
            String peerPolicy = policy(closing, "127.0.0.2", "127.0.0.1", "gwb", "gwa", "1s", "10.2.0.0/16",
                    "10.1.0.0/16", "none");
            ManagedChannel peerSad = channel(closing, sadName);
            IkeService peer = IkeService.start(peerVertx, settings("127.0.0.2", port, "gwb"),
                    channel(closing, peerPolicy), peerSad, SECRETS).await(30, TimeUnit.SECONDS);
            closing.add(peer);

            String aPolicy = policy(closing, "127.0.0.1", "127.0.0.2", "gwa", "gwb", "0s", "10.1.0.0/16",
                    "10.2.0.0/16", "start");
            Running a = Running.start(aPolicy, sadName, port, kek);
            IkeServiceTest.await(() -> a.service.installer().installed() == 1 && peer.installer().installed() == 1,
                    30_000, "the CHILD SA in the SAD from both sides");
            IkeSa peerSa = peer.engine().ikeSas().getFirst();
            String id = IkeSaRecords.id(peerSa.spiI(), peerSa.spiR());
            IkeServiceTest.await(() -> record(sad, id) != null, 10_000, "A's IKE SA record in the SAD");
            IkeSaRecord stored = record(sad, id);
            assertThat(stored.getIkeService()).isEqualTo("gwa");
            assertThat(stored.getOwnerNodeId()).isEqualTo("sad1"); // only members own SAs
            assertThat(sad.database().getIkeSa(id, true).hasKeys()).as("keys, wrapped").isTrue();
            IkeServiceTest.await(() -> recordExpects(sad, id) >= 1, 10_000,
                    "a DPD of the peer's answered and stored"); // the peer's first request has message ID 0

            if (down.equals("a stop")) { // SIGTERM: the IKE SA stays in the SAD, the peer is told nothing
                a.stop();
            } else {
                a.kill();
            }
            long killedAt = peerSa.timers().nowMillis();
            Thread.sleep(1_500); // the peer's DPD goes out meanwhile and is not answered
            assertThat(peerSa.lastInboundMillis()).as("nothing from A while it is down").isLessThan(killedAt + 100);

            Running a2 = Running.start(aPolicy, sadName, port, kek);
            closing.add(a2::kill);
            IkeServiceTest.await(() -> a2.service.takeovers().adopted() == 1, 15_000, "A's IKE SA taken over");
            IkeServiceTest.await(() -> peerSa.lastInboundMillis() > killedAt, 20_000,
                    "the peer's DPD answered by the restarted A");
            assertThat(peerSa.isAlive()).isTrue();

            // The data plane moves the record to the other node A serves (a worker's claim): A carries on
            // and stores the IKE SA's next exchanges for that node, not dropping it.
            SaServiceGrpc.newBlockingStub(peerSad).withDeadlineAfter(10, TimeUnit.SECONDS).claimOwnership(
                    ClaimOwnershipRequest.newBuilder().setIkeSaId(id).setNodeId("sad2").setExpectedOwnerNodeId("sad1")
                            .build());
            long expectedBefore = recordExpects(sad, id);

            // The peer rekeys the CHILD SA through the taken-over IKE SA: A installs the new pair in the SAD.
            ChildSa old = peerSa.children().getFirst();
            peer.engine().rekeyChild(peerSa, old.inboundSpi());
            IkeServiceTest.await(() -> a2.service.installer().installed() == 1 && peer.installer().installed() == 2,
                    20_000, "the rekeyed CHILD SA in the SAD from both sides");
            ChildSa fresh = peerSa.children().stream().filter(c -> c.inboundSpi() != old.inboundSpi()).findFirst()
                    .orElseThrow();
            String aInbound = ChildSaRecords.Ids.of("gwa", fresh.outboundSpi()).inbound();
            assertThat(sad.database().getChildSa(aInbound, false).getState()).isEqualTo(ChildSaState.CHILD_SA_STATE_ACTIVE);
            IkeServiceTest.await(() -> liveChildren(sad).size() == 4, 10_000,
                    "the replaced pair deleted on both sides, the new one live");
            assertThat(record(sad, id).getOwnerNodeId()).isEqualTo("sad2");
            assertThat(recordExpects(sad, id)).as("the rekey's exchanges stored for sad2")
                    .isGreaterThan(expectedBefore);
            assertThat(a2.service.takeovers().lost()).isZero();

            // And the IKE SA: the peer rekeys it; A stores the successor and deletes the old record.
            peer.engine().rekeyIke(peerSa);
            IkeServiceTest.await(() -> !peerSa.isAlive() && peer.engine().ikeSaCount() == 1, 20_000,
                    "the IKE SA rekeyed");
            IkeSa successor = peer.engine().ikeSas().getFirst();
            String successorId = IkeSaRecords.id(successor.spiI(), successor.spiR());
            IkeServiceTest.await(() -> record(sad, successorId) != null && record(sad, id) == null, 10_000,
                    "the successor's record stored by A, the old one deleted");
            assertThat(record(sad, successorId).getIkeService()).isEqualTo("gwa");

            assertThat(peer.engine().counters().establishedCount()).as("IKE SAs the peer established").isEqualTo(1);
            assertThat(a2.service.engine().counters().establishedCount()).as("IKE SAs the restarted A established")
                    .isZero();
            assertThat(a2.service.engine().ikeSaCount()).isEqualTo(1);
            assertThat(peer.engine().counters().failedCount()).isZero();
        } finally {
            for (int i = closing.size() - 1; i >= 0; i--) {
                try {
                    closing.get(i).close();
                } catch (Exception e) {
                    // keep closing
                }
            }
            peerVertx.close().await(10, TimeUnit.SECONDS);
        }
    }

    /** One life of ike-service A: its own event loops and gRPC channels, so that a kill ends all of it. */
    private record Running(Vertx vertx, ManagedChannel policy, ManagedChannel sad, IkeService service) {

        static Running start(String policyName, String sadName, int port, ChildKeyUnwrapper kek) throws Exception {
            Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1));
            ManagedChannel policy = InProcessChannelBuilder.forName(policyName).build();
            ManagedChannel sad = InProcessChannelBuilder.forName(sadName).build();
            IkeService s = IkeService.start(vertx, settings("127.0.0.1", port, "gwa"), policy, sad, SECRETS,
                    kek::unwrap).await(30, TimeUnit.SECONDS);
            return new Running(vertx, policy, sad, s);
        }

        /** What SIGTERM does (IkeServiceMain's shutdown hook): {@link IkeService#stop}, then the rest ends. */
        void stop() throws Exception {
            service.stop().await(10, TimeUnit.SECONDS);
            sad.shutdownNow();
            policy.shutdownNow();
            vertx.close().await(10, TimeUnit.SECONDS);
        }

        /** What kill -9 leaves: no Delete, no record removed; sockets, timers and calls end at once. */
        void kill() throws Exception {
            sad.shutdownNow();
            policy.shutdownNow();
            service.close();
            vertx.close().await(10, TimeUnit.SECONDS);
        }
    }

    private static SadConfig member(String node, String cluster, Path kek, int port, List<Integer> ports) {
        SadConfig.Builder b = SadConfig.builder(node, kek);
        b.clusterName = cluster;
        b.bindHost = "127.0.0.1";
        b.hazelcastPort = port;
        b.members = ports.stream().map(p -> "127.0.0.1:" + p).toList();
        b.partitionCount = 31;
        return b.build();
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static IkeService.Settings settings(String address, int port, String node) {
        return new IkeService.Settings(address, port, port + 1, port + 1, 1, node, "");
    }

    /** A policy-service serving one side's configuration; its in-process name. */
    private static String policy(List<AutoCloseable> closing, String local, String remote, String me, String peer,
            String dpd, String localTs, String remoteTs, String startAction) throws Exception {
        ConfigLoader loader = new ConfigLoader(Map.of("KEEL_TEST_PSK", "unused here, long enough")::get);
        ConfigResult r = loader.loadText(me + ".yaml",
                CONFIG.formatted(local, remote, me, peer, dpd, localTs, remoteTs, startAction));
        assertThat(r).as(r.toString()).isInstanceOf(ConfigResult.Valid.class);
        String name = InProcessServerBuilder.generateName();
        closing.add(new PolicyServer(InProcessServerBuilder.forName(name),
                new PolicyGrpcService(loader, new PolicyStore(((ConfigResult.Valid) r).config()))).start());
        return name;
    }

    private static ManagedChannel channel(List<AutoCloseable> closing, String name) {
        ManagedChannel c = InProcessChannelBuilder.forName(name).build();
        closing.add(c::shutdownNow);
        return c;
    }

    private static IkeSaRecord record(SadNode sad, String id) {
        try {
            return sad.database().getIkeSa(id, false);
        } catch (SadException e) {
            return null;
        }
    }

    /** The message ID the stored record expects on the peer's next request. */
    private static long recordExpects(SadNode sad, String id) {
        IkeSaRecord r = record(sad, id);
        return r == null ? 0 : Integer.toUnsignedLong(r.getNextExpectedMessageId());
    }

    private static Set<String> liveChildren(SadNode sad) {
        return sad.database().listChildSas(ListChildSasRequest.getDefaultInstance()).getChildSasList().stream()
                .filter(r -> r.getState() == ChildSaState.CHILD_SA_STATE_ACTIVE).map(ChildSaRecord::getId)
                .collect(Collectors.toSet());
    }
}
