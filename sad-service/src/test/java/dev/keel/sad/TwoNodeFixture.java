package dev.keel.sad;

import dev.keel.proto.v1.SaServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Two embedded members (n1, n2) of a private cluster, each with an in-process gRPC server. */
final class TwoNodeFixture implements AutoCloseable {

    final SadNode n1;
    final SadNode n2;
    final ManagedChannel c1;
    final ManagedChannel c2;
    final SaServiceGrpc.SaServiceBlockingStub s1;
    final SaServiceGrpc.SaServiceBlockingStub s2;
    final Path dir;
    private final List<AutoCloseable> closeables = new ArrayList<>();

    TwoNodeFixture(long replayInitialMargin) throws Exception {
        this(replayInitialMargin, TestSupport.MAINTENANCE_INTERVAL_MILLIS);
    }

    /** @param maintenanceIntervalMillis the members' maintenance period (a long one keeps the periodic pass out of a test) */
    TwoNodeFixture(long replayInitialMargin, long maintenanceIntervalMillis) throws Exception {
        dir = Files.createTempDirectory("keel-sad-test");
        Path kek = TestSupport.kekFile(dir);
        String cluster = TestSupport.uniqueCluster();
        int p1 = TestSupport.freePort();
        int p2 = TestSupport.freePort();
        String name1 = "sad-" + cluster + "-1";
        String name2 = "sad-" + cluster + "-2";
        try {
            SadConfig.Builder b1 = TestSupport.config("n1", cluster, kek, p1, List.of(p1, p2));
            b1.replayInitialMargin = replayInitialMargin;
            b1.maintenanceIntervalMillis = maintenanceIntervalMillis;
            n1 = SadNode.start(b1.build(), InProcessServerBuilder.forName(name1).directExecutor());
            closeables.add(n1);
            SadConfig.Builder b2 = TestSupport.config("n2", cluster, kek, p2, List.of(p1, p2));
            b2.replayInitialMargin = replayInitialMargin;
            b2.maintenanceIntervalMillis = maintenanceIntervalMillis;
            n2 = SadNode.start(b2.build(), InProcessServerBuilder.forName(name2).directExecutor());
            closeables.add(n2);
            c1 = InProcessChannelBuilder.forName(name1).directExecutor().build();
            c2 = InProcessChannelBuilder.forName(name2).directExecutor().build();
        } catch (Exception e) {
            close();
            throw e;
        }
        s1 = SaServiceGrpc.newBlockingStub(c1).withDeadlineAfter(30, TimeUnit.SECONDS);
        s2 = SaServiceGrpc.newBlockingStub(c2).withDeadlineAfter(30, TimeUnit.SECONDS);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (n1.cluster().hazelcast().getCluster().getMembers().size() < 2 && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        if (n1.cluster().hazelcast().getCluster().getMembers().size() < 2) {
            close();
            throw new IllegalStateException("members did not form a cluster in 30 s");
        }
    }

    SaServiceGrpc.SaServiceBlockingStub s1() {
        return SaServiceGrpc.newBlockingStub(c1).withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    SaServiceGrpc.SaServiceBlockingStub s2() {
        return SaServiceGrpc.newBlockingStub(c2).withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    @Override
    public void close() {
        if (c1 != null) {
            c1.shutdownNow();
        }
        if (c2 != null) {
            c2.shutdownNow();
        }
        for (int i = closeables.size() - 1; i >= 0; i--) {
            try {
                closeables.get(i).close();
            } catch (Exception ignored) {
                // keep closing the rest
            }
        }
        try (var walk = java.nio.file.Files.walk(dir)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                java.nio.file.Files.deleteIfExists(p);
            }
        } catch (java.io.IOException ignored) {
            // a temp dir left behind is not worth failing a test over
        }
    }
}
