package dev.keel.sad;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.proto.v1.Direction;
import dev.keel.proto.v1.InstallChildSaRequest;
import dev.keel.sad.store.OwnedByMember;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The batched install (asynchronous IdentifiedDataSerializable processors, every item at once) keeps what a single install guarantees:
 * every record and every SPI binding is on its primary and its backup before the batch answers, so
 * the crash of either member right after the answer loses nothing; an id that already existed
 * leaves no SPI bound; the SPI map still refuses a second binding of an SPI.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class BatchInstallTest {

    @Test
    void batchSurvivesTheCrashOfEitherMemberAndKeepsSpisUnique() throws Exception {
        for (int crash = 1; crash <= 2; crash++) {
            try (TwoNodeFixture f = new TwoNodeFixture(262_144)) {
                SaDatabase db = f.n1.database();
                awaitClusterSafe(f.n1);
                db.installChildSa(TestSupport.gcmSa("taken", 0x5000_0000, Direction.DIRECTION_OUTBOUND).build());
                List<InstallChildSaRequest> batch = new ArrayList<>();
                int count = 600;
                for (int i = 0; i < count; i++) {
                    batch.add(TestSupport.gcmSa("b-" + i, 0x4000_0000 + i,
                            i % 2 == 0 ? Direction.DIRECTION_INBOUND : Direction.DIRECTION_OUTBOUND).build());
                }
                // Refusals: an existing id with a fresh inbound SPI (that SPI must end up free), an
                // SPI bound before the batch, the same SPI twice in the batch.
                batch.add(TestSupport.gcmSa("taken", 0x5000_0001, Direction.DIRECTION_INBOUND).build());
                batch.add(TestSupport.gcmSa("steals-b-0", 0x4000_0000, Direction.DIRECTION_INBOUND).build());
                List<SaDatabase.InstallOutcome> first = db.installChildSas(batch).toCompletableFuture()
                        .get(60, TimeUnit.SECONDS);
                for (int i = 0; i < count; i++) {
                    assertThat(first.get(i).error()).as("item %d", i).isNull();
                    assertThat(first.get(i).record().hasKeys()).isFalse();
                }
                assertThat(first.get(count).error()).hasMessageContaining("child SA taken already exists");
                assertThat(first.get(count + 1).error()).hasMessageContaining("is bound to child SA b-0");
                List<SaDatabase.InstallOutcome> again = db.installChildSas(List.of(
                                TestSupport.gcmSa("steals-again", 0x4000_0002, Direction.DIRECTION_INBOUND).build(),
                                TestSupport.gcmSa("free-spi", 0x5000_0001, Direction.DIRECTION_INBOUND).build()))
                        .toCompletableFuture().get(60, TimeUnit.SECONDS);
                assertThat(again.get(0).error()).hasMessageContaining("is bound to child SA b-2");
                assertThat(again.get(1).error()).as("the SPI of the refused duplicate was released").isNull();

                // Crash one member (no hand-over): the survivor must hold everything from backups.
                // Wait until no migration is running (a crash mid-migration may lose a replica).
                awaitClusterSafe(f.n1);
                SadNode dead = crash == 1 ? f.n1 : f.n2;
                SadNode survivor = crash == 1 ? f.n2 : f.n1;
                dead.cluster().hazelcast().getLifecycleService().terminate();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (survivor.cluster().hazelcast().getCluster().getMembers().size() > 1
                        && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                Set<String> ids = new HashSet<>(survivor.cluster().childSas().keySet());
                for (int i = 0; i < count; i++) {
                    assertThat(ids).as("crash of member %d", crash).contains("b-" + i);
                }
                assertThat(ids).contains("taken", "free-spi").doesNotContain("steals-b-0", "steals-again");
                for (int i = 0; i < count; i += 2) {
                    assertThat(survivor.cluster().spis().get(0x4000_0000 + i)).isEqualTo("b-" + i);
                }
                assertThat(survivor.cluster().spis().get(0x5000_0001)).isEqualTo("free-spi");
                assertThat(survivor.cluster().childSas().keySet(new OwnedByMember("nobody"))).isEmpty();
            }
        }
    }

    private static void awaitClusterSafe(SadNode n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!n.cluster().hazelcast().getPartitionService().isClusterSafe()) {
            assertThat(System.nanoTime()).as("cluster safe within 60 s").isLessThan(deadline);
            Thread.sleep(50);
        }
    }
}
