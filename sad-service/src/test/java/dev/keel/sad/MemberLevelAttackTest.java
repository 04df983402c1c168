package dev.keel.sad;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import com.hazelcast.client.HazelcastClient;
import com.hazelcast.client.config.ClientConfig;
import com.hazelcast.config.Config;
import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.EntryProcessor;
import com.hazelcast.map.IMap;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.ClaimOwnershipRequest;
import dev.keel.proto.v1.Direction;
import dev.keel.proto.v1.GetChildSaRequest;
import dev.keel.proto.v1.LeaseSequenceRequest;
import dev.keel.proto.v1.LeaseSequenceResponse;
import dev.keel.proto.v1.SaEvent;
import dev.keel.proto.v1.SaEventType;
import dev.keel.proto.v1.SaServiceGrpc;
import dev.keel.proto.v1.WatchRequest;
import dev.keel.sad.cluster.SadCluster;
import dev.keel.sad.store.Records;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.Serial;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * What a process that reaches the Hazelcast port without the KEK can do to the SAD
 * (docs/sad.md, "What a member-level attacker can and cannot do"): it joins as a member (a lite
 * member, with the cluster name as read off the wire) and writes records straight into the
 * CHILD SA map. Each rewritten record class (lease high-water mark lowered, selectors, peer,
 * wrapped keys swapped, a valid record moved under another key) must be refused wherever the
 * SAD would use it: leases, reads, key unwrap, Watch, takeover, claim. It cannot connect as a
 * client, and Java deserialization of a class outside the allow-list is refused.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class MemberLevelAttackTest {

    private TwoNodeFixture f;
    private HazelcastInstance rogue;

    @BeforeAll
    void start() throws Exception {
        f = new TwoNodeFixture(1_000);
        rogue = rogueMember(f.n1);
        assertThat(f.n1.cluster().hazelcast().getCluster().getMembers()).as("the rogue joined").hasSize(3);
    }

    @AfterAll
    void stop() {
        if (rogue != null) {
            rogue.getLifecycleService().terminate();
        }
        if (f != null) {
            f.close();
        }
    }

    /**
     * A Hazelcast lite member of {@code victim}'s cluster that does not hold the KEK: it knows the
     * cluster name (the join messages carry it in clear) and the member address, nothing else.
     */
    static HazelcastInstance rogueMember(SadNode victim) {
        HazelcastInstance hz = victim.cluster().hazelcast();
        Config c = new Config();
        c.setClusterName(hz.getConfig().getClusterName());
        c.setLiteMember(true);
        c.setProperty("hazelcast.logging.type", "jdk");
        c.setProperty("hazelcast.phone.home.enabled", "false");
        c.setProperty("hazelcast.partition.count", hz.getConfig().getProperty("hazelcast.partition.count"));
        c.setProperty("hazelcast.wait.seconds.before.join", "1");
        c.setProperty("hazelcast.heartbeat.interval.seconds", "1"); // the members drop a member silent for 3 s
        c.getNetworkConfig().setPort(TestSupport.freePort()).setPortAutoIncrement(false);
        c.getNetworkConfig().getInterfaces().setEnabled(true).addInterface("127.0.0.1");
        c.getNetworkConfig().getJoin().getMulticastConfig().setEnabled(false);
        c.getNetworkConfig().getJoin().getAutoDetectionConfig().setEnabled(false);
        c.getNetworkConfig().getJoin().getTcpIpConfig().setEnabled(true)
                .addMember("127.0.0.1:" + victim.cluster().config().hazelcastPort());
        HazelcastInstance r = Hazelcast.newHazelcastInstance(c);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (r.getPartitionService().getPartition("any").getOwner() == null && System.nanoTime() < deadline) {
            try {
                Thread.sleep(50); // until the rogue has the partition table (it holds no partitions)
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return r;
    }

    private IMap<String, byte[]> rogueChildSas() {
        return rogue.getMap(SadCluster.CHILD_SAS);
    }

    /** What the rogue does: read a record, change it as it likes, write it back (the stored tag, if any, kept). */
    private void tamper(String id, UnaryOperator<ChildSaRecord.Builder> change) {
        ChildSaRecord r = Records.parseChild(rogueChildSas().get(id));
        rogueChildSas().put(id, change.apply(r.toBuilder()).build().toByteArray());
    }

    private ChildSaRecord install(String id, int spi, Direction dir) {
        return f.s1().installChildSa(TestSupport.gcmSa(id, spi, dir).build()).getChildSa();
    }

    private static Status.Code code(Runnable r) {
        try {
            r.run();
        } catch (StatusRuntimeException e) {
            return e.getStatus().getCode();
        }
        return Status.Code.OK;
    }

    private Status.Code get(String id) {
        return code(() -> f.s1().getChildSa(GetChildSaRequest.newBuilder().setId(id).build()));
    }

    @Test
    void aLoweredLeaseHighWaterMarkIsRefusedAndNoSequenceNumberIsHandedOutTwice() {
        install("atk-lease", 0x5101, Direction.DIRECTION_OUTBOUND);
        LeaseSequenceResponse first = f.s1().leaseSequence(LeaseSequenceRequest.newBuilder().setSaId("atk-lease")
                .setCount(1_000).build());
        assertThat(first.getStart()).isEqualTo(1);

        tamper("atk-lease", b -> b.setLeaseHighWater(1));

        assertThat(code(() -> f.s1().leaseSequence(LeaseSequenceRequest.newBuilder().setSaId("atk-lease")
                .setCount(1_000).build()))).as("a lease on the rewritten record").isEqualTo(Status.Code.DATA_LOSS);
        assertThat(code(() -> f.s2().leaseSequence(LeaseSequenceRequest.newBuilder().setSaId("atk-lease")
                .setNodeId("n1").setCount(1).build()))).as("through the other member too").isEqualTo(Status.Code.DATA_LOSS);
        assertThat(get("atk-lease")).isEqualTo(Status.Code.DATA_LOSS);
    }

    @Test
    void rewrittenSelectorsAndPeerAreNeitherReadNorWatchedNorUsed() throws Exception {
        install("atk-ts", 0x5201, Direction.DIRECTION_INBOUND);
        install("atk-peer", 0x5202, Direction.DIRECTION_OUTBOUND);
        install("atk-marker", 0x5203, Direction.DIRECTION_OUTBOUND);
        install("atk-intact", 0x5204, Direction.DIRECTION_OUTBOUND);
        SaServiceGrpc.SaServiceStub async = SaServiceGrpc.newStub(f.c1);
        try (TestWatcher w = new TestWatcher(async, WatchRequest.newBuilder().setIncludeWrappedKeys(true).build())) {
            w.await(e -> e.getType() == SaEventType.SA_EVENT_TYPE_SNAPSHOT_END);
            // A rewrite that moves the generation, so that it is a change the Watch stream publishes.
            tamper("atk-ts", b -> b.setRemoteTs(0, TestSupport.ts(99, 0)).setGeneration(b.getGeneration() + 1));
            tamper("atk-peer", b -> b.setPeer(TestSupport.v4(203, 0, 113, 66, 4500)).setGeneration(b.getGeneration() + 1));
            // A legitimate change after them: once its event is here, theirs would have been too.
            f.s1().deleteChildSa(dev.keel.proto.v1.DeleteChildSaRequest.newBuilder().setId("atk-marker").build());
            List<SaEvent> seen = new ArrayList<>();
            w.await(e -> {
                seen.add(e);
                return e.getChildSa().getId().equals("atk-marker");
            });
            assertThat(seen).as("no event carries a rewritten record")
                    .noneMatch(e -> e.getChildSa().getId().equals("atk-ts") || e.getChildSa().getId().equals("atk-peer"));
        }
        assertThat(get("atk-ts")).isEqualTo(Status.Code.DATA_LOSS);
        assertThat(get("atk-peer")).isEqualTo(Status.Code.DATA_LOSS);
        assertThat(code(() -> f.s1().leaseSequence(LeaseSequenceRequest.newBuilder().setSaId("atk-peer").setCount(1)
                .build()))).isEqualTo(Status.Code.DATA_LOSS);
        // A new Watch's snapshot leaves them out; a list leaves them out.
        try (TestWatcher w = new TestWatcher(async, WatchRequest.getDefaultInstance())) {
            List<SaEvent> snapshot = new ArrayList<>();
            w.await(e -> {
                snapshot.add(e);
                return e.getType() == SaEventType.SA_EVENT_TYPE_SNAPSHOT_END;
            });
            assertThat(snapshot).extracting(e -> e.getChildSa().getId()).doesNotContain("atk-ts", "atk-peer")
                    .contains("atk-intact");
        }
        assertThat(f.s1().listChildSas(dev.keel.proto.v1.ListChildSasRequest.newBuilder().setPageSize(1000).build())
                .getChildSasList()).extracting(ChildSaRecord::getId).doesNotContain("atk-ts", "atk-peer");
    }

    @Test
    void aWrappedKeySwappedFromAnotherRecordIsNeverUnwrapped() {
        install("atk-key-a", 0x5301, Direction.DIRECTION_OUTBOUND);
        install("atk-key-b", 0x5302, Direction.DIRECTION_OUTBOUND);
        ByteString otherKey = Records.parseChild(rogueChildSas().get("atk-key-b")).getKeys().getEncryption();

        tamper("atk-key-a", b -> b.setKeys(b.getKeys().toBuilder().setEncryption(otherKey)));

        assertThatThrownBy(() -> f.n1.database().childKeys("atk-key-a")).isInstanceOfSatisfying(SadException.class,
                e -> assertThat(e.kind()).isEqualTo(SadException.Kind.DATA_LOSS));
        assertThat(f.n1.database().childKeys("atk-key-b").isZeroized()).as("the other SA is untouched").isFalse();
    }

    @Test
    void aValidRecordMovedUnderAnotherKeyIsRefused() {
        install("atk-move-a", 0x5401, Direction.DIRECTION_OUTBOUND);
        install("atk-move-b", 0x5402, Direction.DIRECTION_OUTBOUND);

        rogueChildSas().put("atk-move-a", rogueChildSas().get("atk-move-b")); // bytes, tag and all

        assertThat(get("atk-move-a")).isEqualTo(Status.Code.DATA_LOSS);
        assertThat(get("atk-move-b")).isEqualTo(Status.Code.OK);
    }

    @Test
    void aHazelcastClientCannotConnect() {
        ClientConfig c = new ClientConfig();
        c.setClusterName(f.n1.cluster().hazelcast().getConfig().getClusterName());
        c.getNetworkConfig().addAddress("127.0.0.1:" + f.n1.cluster().config().hazelcastPort());
        c.getConnectionStrategyConfig().getConnectionRetryConfig().setClusterConnectTimeoutMillis(3_000);
        c.setProperty("hazelcast.logging.type", "jdk");
        assertThatThrownBy(() -> HazelcastClient.newHazelcastClient(c).shutdown())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("Unable to connect");
    }

    @Test
    void theMemberPortListensOnTheConfiguredAddressOnly() throws Exception {
        int port = f.n1.cluster().config().hazelcastPort();
        new java.net.Socket("127.0.0.1", port).close();
        assertThatThrownBy(() -> new java.net.Socket("127.0.0.2", port).close()).as("another address of the host")
                .isInstanceOf(java.net.ConnectException.class);
    }

    /** Set when a {@link Gadget} is deserialized: what a deserialization gadget chain would start from. */
    static final AtomicBoolean GADGET_RAN = new AtomicBoolean();

    /** An entry processor of a class no member should ever deserialize. */
    static final class Gadget implements EntryProcessor<String, byte[], Object>, Serializable {
        @Serial
        private static final long serialVersionUID = 1L;

        @Serial
        private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
            in.defaultReadObject();
            GADGET_RAN.set(true);
        }

        @Override
        public Object process(Map.Entry<String, byte[]> entry) {
            return null;
        }
    }

    @Test
    void javaDeserializationOfAClassOutsideTheAllowListIsRefused() {
        GADGET_RAN.set(false);
        assertThatThrownBy(() -> rogueChildSas().executeOnKey("atk-gadget", new Gadget()))
                .hasMessageContaining("is not allowed");
        assertThat(GADGET_RAN).as("the gadget's readObject never ran on a member").isFalse();
    }

    @Test
    void aRewrittenRecordIsNotTakenOverNorClaimed() throws Exception {
        try (TwoNodeFixture g = new TwoNodeFixture(1_000)) {
            HazelcastInstance r = rogueMember(g.n1);
            try {
                // Owned by n2; the rogue lowers its replay checkpoint, so that a takeover would put the new
                // owner's replay floor below packets n2 already accepted.
                g.s2().installChildSa(TestSupport.gcmSa("atk-takeover", 0x5501, Direction.DIRECTION_INBOUND).build());
                TestSupport.checkpoint(g.s2(), dev.keel.proto.v1.CheckpointReplayRequest.newBuilder().setSaId("atk-takeover")
                        .setRightEdge(50_000).setMargin(64).build());
                g.s2().installChildSa(TestSupport.gcmSa("atk-takeover-ok", 0x5502, Direction.DIRECTION_INBOUND).build());
                IMap<String, byte[]> map = r.getMap(SadCluster.CHILD_SAS);
                ChildSaRecord before = Records.parseChild(map.get("atk-takeover"));
                map.put("atk-takeover", before.toBuilder().setReplayCheckpoint(0).build().toByteArray());

                g.n2.close();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (g.n1.keeper().takeoversDone() == 0 && System.nanoTime() < deadline) {
                    Thread.sleep(50);
                }
                assertThat(g.n1.keeper().takeoversDone()).isPositive();
                ChildSaRecord ok = Records.parseChild(map.get("atk-takeover-ok"));
                assertThat(ok.getOwnerNodeId()).as("an intact record is taken over").isEqualTo("n1");
                ChildSaRecord refused = Records.parseChild(map.get("atk-takeover"));
                assertThat(refused.getOwnerNodeId()).as("the rewritten one is left alone").isEqualTo("n2");
                assertThat(refused.getReplayFloor()).isZero();
                assertThat(code(() -> g.s1().claimOwnership(ClaimOwnershipRequest.newBuilder()
                        .setSaId("atk-takeover").setNodeId("n1").build()))).isEqualTo(Status.Code.DATA_LOSS);
            } finally {
                r.getLifecycleService().terminate();
            }
        }
    }
}
