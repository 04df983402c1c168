package dev.keel.sad;

import com.google.protobuf.ByteString;
import dev.keel.proto.v1.CheckpointReplayRequest;
import dev.keel.proto.v1.CheckpointReplayResult;
import dev.keel.proto.v1.CheckpointReplaysRequest;
import dev.keel.proto.v1.ChildSaKeys;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.Direction;
import dev.keel.proto.v1.Endpoint;
import dev.keel.proto.v1.InstallChildSaRequest;
import dev.keel.proto.v1.IpsecMode;
import dev.keel.proto.v1.IpsecProtocol;
import dev.keel.proto.v1.Lifetime;
import dev.keel.proto.v1.SaServiceGrpc;
import dev.keel.proto.v1.TrafficSelector;
import dev.keel.sad.keys.KeyEncryptionKey;
import io.grpc.Status;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/** Shared fixtures: free loopback ports, unique cluster names, KEK files, SA requests. */
public final class TestSupport {

    private TestSupport() {}

    /** A port free right now on 127.0.0.1. */
    public static int freePort() {
        // Below the kernel's ephemeral range (32768-60999 by default): a port from that range can be
        // taken as the source port of an outgoing connection (one Hazelcast member dialling another)
        // between this check and the test's bind, which failed LeaseQuorumTest once in CI.
        for (int attempt = 0; attempt < 200; attempt++) {
            int port = FIRST_TEST_PORT + java.util.concurrent.ThreadLocalRandom.current().nextInt(TEST_PORTS);
            try (ServerSocket s = new ServerSocket()) {
                s.setReuseAddress(true);
                s.bind(new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), port), 1);
                return port;
            } catch (IOException e) {
                // taken: another
            }
        }
        throw new UncheckedIOException(new IOException("no free loopback port in " + FIRST_TEST_PORT + "-"
                + (FIRST_TEST_PORT + TEST_PORTS - 1) + " after 200 tries"));
    }

    /** The ports {@link #freePort} draws from: none of them an ephemeral (outgoing source) port. */
    private static final int FIRST_TEST_PORT = 20_000;
    private static final int TEST_PORTS = 12_000;

    /** A cluster name no other test JVM uses. */
    public static String uniqueCluster() {
        return "keel-test-" + UUID.randomUUID();
    }

    /** Writes a random KEK file into {@code dir}. */
    public static Path kekFile(Path dir) {
        byte[] k = new byte[KeyEncryptionKey.LENGTH];
        new SecureRandom().nextBytes(k);
        Path p = dir.resolve("kek.hex");
        try {
            KeyEncryptionKey.write(p, k);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return p;
    }

    /** The maintenance period of {@link #config}'s members. */
    public static final long MAINTENANCE_INTERVAL_MILLIS = 500;

    /** A member config on 127.0.0.1 with test-friendly timings. */
    public static SadConfig.Builder config(String node, String cluster, Path kek, int port, List<Integer> memberPorts) {
        SadConfig.Builder b = SadConfig.builder(node, kek);
        b.clusterName = cluster;
        b.bindHost = "127.0.0.1";
        b.hazelcastPort = port;
        b.members = memberPorts.stream().map(p -> "127.0.0.1:" + p).toList();
        b.grpcPort = 0;
        b.partitionCount = 31;
        b.mergeFirstRunDelaySeconds = 2;
        b.mergeNextRunDelaySeconds = 2;
        b.maintenanceIntervalMillis = MAINTENANCE_INTERVAL_MILLIS;
        return b;
    }

    public static Endpoint v4(int a, int b, int c, int d, int port) {
        return Endpoint.newBuilder().setAddress(ByteString.copyFrom(new byte[] {(byte) a, (byte) b, (byte) c, (byte) d}))
                .setPort(port).build();
    }

    public static TrafficSelector ts(int a, int b) {
        return TrafficSelector.newBuilder()
                .setStartAddress(ByteString.copyFrom(new byte[] {10, (byte) a, (byte) b, 0}))
                .setEndAddress(ByteString.copyFrom(new byte[] {10, (byte) a, (byte) b, (byte) 255}))
                .setStartPort(0).setEndPort(65535).build();
    }

    /** A valid AES-256-GCM-16 CHILD SA install request. */
    public static InstallChildSaRequest.Builder gcmSa(String id, int spi, Direction dir) {
        byte[] key = new byte[36];
        new SecureRandom().nextBytes(key);
        return InstallChildSaRequest.newBuilder()
                .setChildSa(ChildSaRecord.newBuilder()
                        .setId(id)
                        .setConnection("site-b")
                        .setChild("net")
                        .setIkeSaId("ike-1")
                        .setSpi(spi)
                        .setDirection(dir)
                        .setProtocol(IpsecProtocol.IPSEC_PROTOCOL_ESP)
                        .setMode(IpsecMode.IPSEC_MODE_TUNNEL)
                        .setLocal(v4(192, 0, 2, 1, 4500))
                        .setPeer(v4(198, 51, 100, 7, 4500))
                        .setEncryptionTransform(20)
                        .setEncryptionKeyLength(36)
                        .setEsn(true)
                        .setReplayWindow(1024)
                        .addLocalTs(ts(1, 0))
                        .addRemoteTs(ts(2, 0))
                        .setLifetime(Lifetime.newBuilder().setSoftSeconds(3000).setHardSeconds(3600)))
                .setKeys(ChildSaKeys.newBuilder().setEncryption(ByteString.copyFrom(key)));
    }

    /**
     * One replay checkpoint through CheckpointReplays: the item's result, or its refusal thrown as
     * the StatusRuntimeException a call of its own would have failed with.
     */
    public static CheckpointReplayResult checkpoint(SaServiceGrpc.SaServiceBlockingStub s, CheckpointReplayRequest req) {
        CheckpointReplayResult r = s.checkpointReplays(CheckpointReplaysRequest.newBuilder().addItems(req).build())
                .getResults(0);
        if (r.getCode() != 0) {
            throw Status.fromCodeValue(r.getCode()).withDescription(r.getMessage()).asRuntimeException();
        }
        return r;
    }

    /** One replay checkpoint recorded through {@code d}; throws its refusal. */
    public static void checkpoint(SaDatabase d, CheckpointReplayRequest req) throws Exception {
        SaDatabase.CheckpointOutcome o = d.checkpointReplays(List.of(req)).toCompletableFuture()
                .get(10, TimeUnit.SECONDS).getFirst();
        if (o.error() != null) {
            throw o.error();
        }
    }
}
