package dev.keel.sad;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.Direction;
import dev.keel.proto.v1.LeaseSequenceRequest;
import dev.keel.proto.v1.LeaseSequenceResponse;
import dev.keel.sad.store.Records;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.Timeout;

/**
 * The lease quorum closes the split-brain double lease: a two-gateway pair plus a witness (a
 * Hazelcast lite member holding no data), split into {gateway A} and {gateway B, witness} in the
 * style of {@link SplitBrainMergeTest} (join lists that do not name each other). Both sides hold
 * the same outbound SA and both believe they own it; only the side with the quorum may lease.
 * After the merge every lease ever granted is disjoint from every other.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class LeaseQuorumTest {

    @Test
    void onlyTheSideWithTheQuorumLeasesAndNoTwoGrantsOverlapAfterTheMerge(@TempDir Path dir) throws Exception {
        Path kek = TestSupport.kekFile(dir);
        String cluster = TestSupport.uniqueCluster();
        int pa = TestSupport.freePort();
        int pb = TestSupport.freePort();
        int pw = TestSupport.freePort();
        SadConfig.Builder ca = TestSupport.config("qa", cluster, kek, pa, List.of(pa));
        SadConfig.Builder cb = TestSupport.config("qb", cluster, kek, pb, List.of(pb, pw));
        SadConfig.Builder cw = TestSupport.config("qw", cluster, kek, pw, List.of(pb, pw));
        cw.witness = true;
        for (SadConfig.Builder c : List.of(ca, cb, cw)) {
            c.leaseQuorum = 2; // a majority of the three: gateway A, gateway B, the witness
        }
        List<LeaseSequenceResponse> granted = new ArrayList<>();
        try (SadNode b = SadNode.start(cb.build(), null);
                SadNode w = SadNode.start(cw.build(), null);
                SadNode a = SadNode.start(ca.build(), null)) {
            awaitMembers(b, 2);
            assertThat(a.cluster().memberCount()).isEqualTo(1);
            assertThat(w.cluster().liveMembers()).as("a witness owns nothing").doesNotContainValue("qw");

            // The same SA on both sides, each side's gateway its owner.
            a.database().installChildSa(TestSupport.gcmSa("q-out", 0xB000, Direction.DIRECTION_OUTBOUND).build());
            b.database().installChildSa(TestSupport.gcmSa("q-out", 0xB000, Direction.DIRECTION_OUTBOUND).build());

            // Side A (1 of 3) refuses; side B (2 of 3) grants.
            assertThatThrownBy(() -> lease(a, 1000)).isInstanceOfSatisfying(SadException.class, e -> {
                assertThat(e.kind()).isEqualTo(SadException.Kind.UNAVAILABLE);
                assertThat(e.getMessage()).contains("no lease quorum").contains("1 of the 2");
            });
            granted.add(lease(b, 1000));
            granted.add(lease(b, 500));
            assertThat(get(a).getLeaseHighWater()).as("side A's counter did not move").isEqualTo(1);

            // Heal: A learns the others' addresses and merges into the larger side.
            a.cluster().hazelcast().getConfig().getAdvancedNetworkConfig().getJoin().getTcpIpConfig()
                    .addMember("127.0.0.1:" + pb).addMember("127.0.0.1:" + pw);
            b.cluster().hazelcast().getConfig().getAdvancedNetworkConfig().getJoin().getTcpIpConfig()
                    .addMember("127.0.0.1:" + pa);
            awaitMembers(a, 3);
            awaitMembers(b, 3);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            ChildSaRecord merged = get(b);
            while (System.nanoTime() < deadline && (merged.getLeaseHighWater() != 1501 || get(a) == null
                    || get(a).getLeaseHighWater() != 1501)) {
                Thread.sleep(100);
                merged = get(b);
            }
            assertThat(merged.getLeaseHighWater()).isEqualTo(1501);

            // With all three members any owner may lease again, above everything granted before.
            merged = get(b);
            SadNode owner = merged.getOwnerNodeId().equals("qa") ? a : b;
            granted.add(lease(owner, 100));
        }
        granted.sort(Comparator.comparingLong(LeaseSequenceResponse::getStart));
        for (int i = 1; i < granted.size(); i++) {
            assertThat(granted.get(i).getStart()).as("lease %d starts after lease %d ends", i, i - 1)
                    .isGreaterThanOrEqualTo(granted.get(i - 1).getEnd());
        }
        assertThat(granted.getLast().getStart()).isEqualTo(1501);
    }

    @Test
    void quorumDefaultsToAMajorityOfThreeOrMoreListedMembers() {
        Path kek = Path.of("unused.hex");
        SadConfig.Builder three = SadConfig.builder("n", kek);
        three.members = List.of("10.0.0.1:5701", "10.0.0.2:5701", "10.0.0.3:5701");
        assertThat(three.build().leaseQuorum()).isEqualTo(2);
        SadConfig.Builder five = SadConfig.builder("n", kek);
        five.members = List.of("a:1", "b:1", "c:1", "d:1", "e:1");
        assertThat(five.build().leaseQuorum()).isEqualTo(3);
        SadConfig.Builder pair = SadConfig.builder("n", kek);
        pair.members = List.of("10.0.0.1:5701", "10.0.0.2:5701");
        assertThat(pair.build().leaseQuorum()).as("a pair alone has no majority after a loss: off").isZero();
        assertThat(SadConfig.fromArgs(new String[] {"--node-id", "n", "--kek-file", "k", "--lease-quorum", "2",
                "--witness", "true"})).satisfies(c -> {
                    assertThat(c.leaseQuorum()).isEqualTo(2);
                    assertThat(c.witness()).isTrue();
                });
    }

    private static LeaseSequenceResponse lease(SadNode n, int count) throws Exception {
        try {
            return n.database().leaseSequence(LeaseSequenceRequest.newBuilder().setSaId("q-out").setCount(count)
                    .build()).toCompletableFuture().get(10, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : e;
        }
    }

    private static ChildSaRecord get(SadNode n) {
        byte[] v = n.cluster().childSas().get("q-out");
        return v == null ? null : Records.parseChild(v);
    }

    private static void awaitMembers(SadNode n, int count) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline && n.cluster().memberCount() < count) {
            Thread.sleep(100);
        }
        assertThat(n.cluster().memberCount()).isEqualTo(count);
    }
}
