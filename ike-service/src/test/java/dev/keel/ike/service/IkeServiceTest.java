package dev.keel.ike.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import dev.keel.policy.config.ConfigLoader;
import dev.keel.policy.config.ConfigResult;
import dev.keel.policy.grpc.PolicyGrpcService;
import dev.keel.policy.grpc.PolicyServer;
import dev.keel.policy.store.PolicyStore;
import dev.keel.ike.admin.LogControl;
import dev.keel.proto.v1.CertInfo;
import dev.keel.proto.v1.ChildSaInfo;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.IkeServiceGrpc;
import dev.keel.proto.v1.ListCertsRequest;
import dev.keel.proto.v1.ListIkeSasRequest;
import dev.keel.proto.v1.ReportUsageRequest;
import dev.keel.proto.v1.ChildSaState;
import dev.keel.proto.v1.Direction;
import dev.keel.proto.v1.ListChildSasRequest;
import dev.keel.sad.SadConfig;
import dev.keel.sad.SadNode;
import dev.keel.sad.keys.KeyEncryptionKey;
import io.grpc.ManagedChannel;
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
import javax.crypto.Cipher;
import javax.crypto.spec.SecretKeySpec;
import dev.keel.ike.session.TestPki;
import org.junit.jupiter.api.Timeout;
import dev.keel.rpc.MetricsEndpoint;
import dev.keel.rpc.Promtool;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Two standalone ike-services on loopback, each following its own policy-service over gRPC and
 * installing into one sad-service member (as two data-plane owners): A's {@code start} child
 * comes up from the Watch stream alone, both pairs land in the SAD with keys wrapped under the
 * KEK (the JDK's RFC 5649 unwrap recovers them, A's outbound key is B's inbound key), A's admin
 * API lists the CHILD SA with the traffic reported to the SAD and its certificates, and deleting
 * the IKE SA leaves tombstones.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class IkeServiceTest {

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

    /** The same with certificates: policy-service sends the chain and CAs, each service reads its key here. */
    private static final String PUBKEY_CONFIG = """
            secrets:
              key: {file: %7$s/%3$s.key}
            connections:
              peer:
                local_addrs: %1$s
                remote_addrs: %2$s
                local:  {auth: pubkey, id: %3$s.example, secret: key, certs: [%7$s/%3$s.crt]}
                remote: {auth: pubkey, id: %4$s.example, cacerts: [%7$s/ca.crt]}
                proposals: aes256gcm16-prfsha256-x25519
                children:
                  lan:
                    local_ts: %5$s
                    remote_ts: %6$s
                    esp_proposals: aes256gcm16
                    start_action: %8$s
            """;

    @ParameterizedTest(name = "auth {0}")
    @ValueSource(strings = {"psk", "pubkey"})
    void connectionsFromPolicyServiceChildSasIntoTheSad(String auth) throws Exception {
        Path dir = Files.createTempDirectory("keel-ike-service");
        List<AutoCloseable> closing = new ArrayList<>();
        ConcurrentLinkedQueue<BlockedThreadEvent> blocked = new ConcurrentLinkedQueue<>();
        Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(2)
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
            b.clusterName = "keel-ike-test-" + UUID.randomUUID();
            b.hazelcastPort = hz;
            b.members = List.of("127.0.0.1:" + hz);
            b.partitionCount = 31;
            String sadName = InProcessServerBuilder.generateName();
            SadNode sad = SadNode.start(b.build(), InProcessServerBuilder.forName(sadName));
            closing.add(sad);
            ManagedChannel sadChannel = InProcessChannelBuilder.forName(sadName).build();
            closing.add(sadChannel::shutdownNow);

            int port = portPair();
            Map<String, Map<String, byte[]>> secretsOf = new java.util.HashMap<>();
            for (String me : List.of("gwa", "gwb")) {
                secretsOf.put(me, Map.of("psk", "ike-service test psk".getBytes(StandardCharsets.UTF_8)));
            }
            if (auth.equals("pubkey")) {
                TestPki.Issued ca = TestPki.rootCa("CN=Keel ike-service Test CA");
                Files.writeString(dir.resolve("ca.crt"), pem("CERTIFICATE", ca.cert().getEncoded()));
                for (String me : List.of("gwa", "gwb")) {
                    TestPki.Issued ee = TestPki.endEntity(ca, "CN=" + me + ".example", me + ".example",
                            TestPki.KeyType.ECDSA_P256);
                    Files.writeString(dir.resolve(me + ".crt"), pem("CERTIFICATE", ee.cert().getEncoded()));
                    String key = pem("PRIVATE KEY", ee.keys().getPrivate().getEncoded());
                    Files.writeString(dir.resolve(me + ".key"), key); // policy-service checks it matches the cert
                    secretsOf.put(me, Map.of("key", key.getBytes(StandardCharsets.US_ASCII))); // ike-service's --key
                }
            }
            String config = auth.equals("psk") ? CONFIG : PUBKEY_CONFIG.replace("%7$s", dir.toString());
            IkeService serviceB = start(vertx, closing, config, "127.0.0.2", "127.0.0.1", "gwb", "gwa", "10.2.0.0/16",
                    "10.1.0.0/16", "none", port, sadChannel, secretsOf.get("gwb"), null);
            PrometheusMeterRegistry metricsA = MetricsEndpoint.newRegistry();
            IkeService serviceA = start(vertx, closing, config, "127.0.0.1", "127.0.0.2", "gwa", "gwb", "10.1.0.0/16",
                    "10.2.0.0/16", "start", port, sadChannel, secretsOf.get("gwa"), metricsA);

            await(() -> serviceA.installer().installed() == 1 && serviceB.installer().installed() == 1, 30_000,
                    "both pairs installed in the SAD");
            List<ChildSaRecord> all = sad.database().listChildSas(ListChildSasRequest.getDefaultInstance())
                    .getChildSasList().stream().map(r -> sad.database().getChildSa(r.getId(), true)).toList();
            assertThat(all).hasSize(4);
            // The owner is the serving member (only members own SAs); the ids name the installing service.
            assertThat(all).extracting(ChildSaRecord::getOwnerNodeId).containsOnly("sad1");
            ChildSaRecord outA = all.stream().filter(r -> r.getId().startsWith("child-gwa-")
                    && r.getDirection() == Direction.DIRECTION_OUTBOUND).findFirst().orElseThrow();
            ChildSaRecord inB = all.stream().filter(r -> r.getId().startsWith("child-gwb-")
                    && r.getDirection() == Direction.DIRECTION_INBOUND).findFirst().orElseThrow();
            assertThat(outA.getSpi()).isEqualTo(inB.getSpi());
            // Every inbound SPI came from a batch reserved in the SAD, none at random.
            assertThat(serviceA.spis().handedOut() + serviceB.spis().handedOut()).isEqualTo(2);
            assertThat(serviceA.spis().fallbacks() + serviceB.spis().fallbacks()).isZero();
            assertThat(outA.getPeer().getPort()).as("ESP in UDP to the peer's NAT-T port").isEqualTo(port + 1);
            byte[] keyA = unwrap(kek, outA.getKeys().getEncryption().toByteArray());
            assertThat(keyA).hasSize(36).isEqualTo(unwrap(kek, inB.getKeys().getEncryption().toByteArray()));
            // The service's meters read the engine's and the installer's counters.
            assertThat(metricsA.get("keel.ike.child.sa.installs").tag("result", "installed").functionCounter().count())
                    .isEqualTo(1);
            assertThat(metricsA.get("keel.ike.sa.established").functionCounter().count()).isEqualTo(1);
            assertThat(metricsA.get("keel.ike.sa.setup").timer().count()).isEqualTo(1);
            assertThat(metricsA.get("keel.ike.spi.pool.available").gauge().value())
                    .isEqualTo(serviceA.spis().available());
            Promtool.assertValid(metricsA.scrape());

            // A's admin API: CHILD SA traffic as the data plane reports it to the SAD; the certificates of A's connection
            ChildSaRecord inA = all.stream().filter(r -> r.getId().startsWith("child-gwa-")
                    && r.getDirection() == Direction.DIRECTION_INBOUND).findFirst().orElseThrow();
            sad.database().reportUsage(ReportUsageRequest.newBuilder().setSaId(inA.getId()).setBytes(4_200)
                    .setPackets(42).build()).toCompletableFuture().get(10, TimeUnit.SECONDS);
            String adminName = InProcessServerBuilder.generateName();
            io.grpc.Server adminA = InProcessServerBuilder.forName(adminName)
                    .addService(serviceA.adminService(LogControl.NODE)).build().start();
            closing.add(adminA::shutdownNow);
            ManagedChannel adminChannel = InProcessChannelBuilder.forName(adminName).build();
            closing.add(adminChannel::shutdownNow);
            var admin = IkeServiceGrpc.newBlockingStub(adminChannel).withDeadlineAfter(20, TimeUnit.SECONDS);
            ChildSaInfo lan = admin.listIkeSas(ListIkeSasRequest.getDefaultInstance()).getIkeSas(0).getChildren(0);
            assertThat(lan.getSpiIn()).isEqualTo(inA.getSpi());
            assertThat(List.of(lan.getBytesIn(), lan.getPacketsIn())).containsExactly(4_200L, 42L);
            assertThat(lan.getLastInMillis()).isPositive();
            assertThat(List.of(lan.getBytesOut(), lan.getPacketsOut(), lan.getLastOutMillis()))
                    .containsExactly(0L, 0L, 0L);
            List<CertInfo> certs = admin.listCerts(ListCertsRequest.getDefaultInstance()).getCertsList();
            if (auth.equals("pubkey")) {
                assertThat(certs).extracting(CertInfo::getKind, CertInfo::getSubject, CertInfo::getHasPrivateKey)
                        .containsExactly(tuple(CertInfo.Kind.KIND_END_ENTITY, "CN=gwa.example", true),
                                tuple(CertInfo.Kind.KIND_CA, "CN=Keel ike-service Test CA", false));
                assertThat(certs.getFirst().getSubjectAltNamesList()).contains("DNS:gwa.example");
                assertThat(certs.getFirst().getPublicKey()).isEqualTo("ECDSA P-256");
                assertThat(certs.getFirst().getSerial()).matches("[0-9a-f]{2}(:[0-9a-f]{2})*");
                assertThat(certs).allSatisfy(c -> assertThat(c.getConnectionsList()).containsExactly("peer"));
            } else {
                assertThat(certs).isEmpty();
            }

            serviceA.engine().terminate(serviceA.engine().ikeSas().getFirst());
            await(() -> all.stream().allMatch(r -> sad.database().getChildSa(r.getId(), false).getState()
                    == ChildSaState.CHILD_SA_STATE_DELETED), 10_000, "every record a tombstone after the delete");
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

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + java.util.Base64.getMimeEncoder(64, new byte[] {'\n'})
                .encodeToString(der) + "\n-----END " + type + "-----\n";
    }

    private static IkeService start(Vertx vertx, List<AutoCloseable> closing, String config, String local,
            String remote, String me, String peer, String localTs, String remoteTs, String startAction, int port,
            ManagedChannel sad, Map<String, byte[]> secrets, MeterRegistry metrics) throws Exception {
        ConfigLoader loader = new ConfigLoader(Map.of("KEEL_TEST_PSK", "unused here, long enough")::get);
        ConfigResult r = loader.loadText(me + ".yaml", config.contains("%8$s")
                ? config.formatted(local, remote, me, peer, localTs, remoteTs, "", startAction)
                : config.formatted(local, remote, me, peer, localTs, remoteTs, startAction));
        assertThat(r).as(r.toString()).isInstanceOf(ConfigResult.Valid.class);
        String name = InProcessServerBuilder.generateName();
        PolicyServer policy = new PolicyServer(InProcessServerBuilder.forName(name),
                new PolicyGrpcService(loader, new PolicyStore(((ConfigResult.Valid) r).config()))).start();
        closing.add(policy);
        ManagedChannel channel = InProcessChannelBuilder.forName(name).build();
        closing.add(channel::shutdownNow);
        IkeService s = IkeService.start(vertx, new IkeService.Settings(local, port, port + 1, port + 1, 1, me,
                ""), channel, sad, secrets, null, metrics).await(30, TimeUnit.SECONDS);
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

    private static byte[] unwrap(byte[] kek, byte[] wrapped) throws Exception {
        Cipher c = Cipher.getInstance("AES/KWP/NoPadding");
        c.init(Cipher.DECRYPT_MODE, new SecretKeySpec(kek, "AES"));
        return c.doFinal(wrapped);
    }

    static void await(BooleanSupplier condition, long millis, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as(what + " within " + millis + " ms").isLessThan(deadline);
            Thread.sleep(10);
        }
    }
}
