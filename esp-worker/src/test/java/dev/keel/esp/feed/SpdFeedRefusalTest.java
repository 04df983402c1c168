package dev.keel.esp.feed;

import static dev.keel.esp.feed.Fixtures.await;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.keel.proto.v1.PolicyAction;
import dev.keel.proto.v1.PolicyEvent;
import dev.keel.proto.v1.PolicyServiceGrpc;
import dev.keel.proto.v1.PolicySnapshot;
import dev.keel.proto.v1.PolicyWatchRequest;
import dev.keel.proto.v1.SpdEntry;
import dev.keel.proto.v1.TrafficSelector;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A hostile or broken policy stream: a bad SPD is refused whole, the old one stays, the feed resyncs. */
@Timeout(30)
class SpdFeedRefusalTest {

    private static TrafficSelector ts(int a) {
        return TrafficSelector.newBuilder().setStartAddress(ByteString.copyFrom(new byte[] {10, (byte) a, 0, 0}))
                .setEndAddress(ByteString.copyFrom(new byte[] {10, (byte) a, -1, -1})).setEndPort(65535).build();
    }

    @Test
    void aBadSnapshotIsRefusedAndTheFeedAsksForANewOne() throws Exception {
        SpdEntry good = SpdEntry.newBuilder().setName("ok").setLocal(ts(1)).setRemote(ts(2))
                .setAction(PolicyAction.POLICY_ACTION_BYPASS).build();
        SpdEntry bad = SpdEntry.newBuilder().setName("bad").setLocal(ts(1)).setRemote(ts(3))
                .setAction(PolicyAction.POLICY_ACTION_PROTECT).build(); // PROTECT naming no child
        SpdEntry badAddress = good.toBuilder().setLocal(good.getLocal().toBuilder()
                .setEndAddress(ByteString.copyFrom(new byte[5]))).build();
        List<PolicyWatchRequest> requests = new CopyOnWriteArrayList<>();
        PolicyServiceGrpc.PolicyServiceImplBase fake = new PolicyServiceGrpc.PolicyServiceImplBase() {
            @Override
            public void watch(PolicyWatchRequest req, StreamObserver<PolicyEvent> out) {
                requests.add(req);
                int n = requests.size();
                List<SpdEntry> spd = switch (n) {
                    case 1 -> List.of(good);
                    case 2 -> List.of(good, bad);
                    case 3 -> List.of(badAddress);
                    default -> List.of(good, good.toBuilder().setName("ok2").setRemote(ts(4)).build());
                };
                out.onNext(PolicyEvent.newBuilder().setEpoch(9).setRevision(n)
                        .setSnapshot(PolicySnapshot.newBuilder().addAllSpd(spd)).build());
                if (n < 4) {
                    out.onCompleted(); // the feed reconnects
                }
            }
        };
        String name = InProcessServerBuilder.generateName();
        Server server = InProcessServerBuilder.forName(name).addService(fake).build().start();
        ManagedChannel ch = InProcessChannelBuilder.forName(name).build();
        ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
        SpdTable table = new SpdTable();
        SpdFeed feed = new SpdFeed(ch, table, scheduler, Duration.ofMillis(10), Duration.ofMillis(50)).start();
        try {
            await(() -> table.revision() == 4, 10_000, () -> "revision " + table.revision() + ", requests " + requests);
            assertThat(feed.rejected()).isEqualTo(2);
            assertThat(table.current().size()).isEqualTo(2);
            // After the first good snapshot the feed resumes from it; after a refusal it asks for a snapshot.
            assertThat(requests.get(1).getSinceRevision()).isEqualTo(1);
            assertThat(requests.get(2).getSinceRevision()).isZero();
            assertThat(requests.get(3).getSinceRevision()).isZero();
        } finally {
            feed.close();
            ch.shutdownNow();
            server.shutdownNow();
            scheduler.shutdownNow();
        }
    }
}
