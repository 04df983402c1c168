package dev.keel.sad;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import dev.keel.proto.v1.AllocateSpiRequest;
import dev.keel.proto.v1.AllocateSpiResponse;
import dev.keel.proto.v1.CheckpointReplayRequest;
import dev.keel.proto.v1.CheckpointReplayResult;
import dev.keel.proto.v1.CheckpointReplaysRequest;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.ChildSaState;
import dev.keel.proto.v1.ClaimOwnershipRequest;
import dev.keel.proto.v1.DeleteChildSaRequest;
import dev.keel.proto.v1.DeleteIkeSaRequest;
import dev.keel.proto.v1.Direction;
import dev.keel.proto.v1.GetChildSaRequest;
import dev.keel.proto.v1.GetIkeSaRequest;
import dev.keel.proto.v1.IkeSaKeys;
import dev.keel.proto.v1.IkeSaRecord;
import dev.keel.proto.v1.ChildSaKeys;
import dev.keel.proto.v1.InstallChildSaRequest;
import dev.keel.proto.v1.InstallChildSaResult;
import dev.keel.proto.v1.InstallChildSasRequest;
import dev.keel.proto.v1.InstallIkeSaRequest;
import dev.keel.proto.v1.LeaseSequenceRequest;
import dev.keel.proto.v1.LeaseSequenceResponse;
import dev.keel.proto.v1.Lifetime;
import dev.keel.proto.v1.LifetimeLimit;
import dev.keel.proto.v1.ListChildSasRequest;
import dev.keel.proto.v1.ListChildSasResponse;
import dev.keel.proto.v1.OwnershipReason;
import dev.keel.proto.v1.ReportUsageRequest;
import dev.keel.proto.v1.SaEvent;
import dev.keel.proto.v1.SaEventType;
import dev.keel.proto.v1.SaServiceGrpc;
import dev.keel.proto.v1.UpdateChildSaRequest;
import dev.keel.proto.v1.WatchRequest;
import dev.keel.sad.cluster.SadCluster;
import dev.keel.sad.keys.ChildSaKeyMaterial;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/** SaService over in-process gRPC on two embedded members. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SaServiceComponentTest {

    private static final long INITIAL_MARGIN = 1_000;
    private TwoNodeFixture f;

    @BeforeAll
    void start() throws Exception {
        f = new TwoNodeFixture(INITIAL_MARGIN);
    }

    @AfterAll
    void stop() {
        if (f != null) {
            f.close();
        }
    }

    private ChildSaRecord install(InstallChildSaRequest.Builder req) {
        return f.s1().installChildSa(req.build()).getChildSa();
    }

    private static Status.Code code(Runnable r) {
        try {
            r.run();
        } catch (StatusRuntimeException e) {
            return e.getStatus().getCode();
        }
        return Status.Code.OK;
    }

    @Test
    void installGeneratesIdStoresOnlyWrappedKeysAndGetsBack() {
        InstallChildSaRequest.Builder req = TestSupport.gcmSa("", 0x1000, Direction.DIRECTION_OUTBOUND);
        byte[] plain = req.getKeys().getEncryption().toByteArray();
        ChildSaRecord r = install(req);
        assertThat(r.getId()).matches("sa-[0-9a-f]{16}");
        assertThat(r.hasKeys()).as("responses carry no keys by default").isFalse();
        assertThat(r.getOwnerNodeId()).isEqualTo("n1");
        assertThat(r.getLeaseHighWater()).isEqualTo(1);
        assertThat(r.getState()).isEqualTo(ChildSaState.CHILD_SA_STATE_ACTIVE);

        ChildSaRecord withKeys = f.s2().getChildSa(GetChildSaRequest.newBuilder().setId(r.getId())
                .setIncludeWrappedKeys(true).build()).getChildSa();
        assertThat(withKeys.getKeys().getEncryption().size()).isEqualTo(48); // RFC 5649: 36 bytes padded to 40, plus the 8-byte AIV
        assertThat(withKeys.getKeys().getKekId()).isNotZero();

        byte[] stored = f.n2.cluster().childSas().get(r.getId());
        assertThat(indexOf(stored, plain)).as("plaintext key in the Hazelcast record").isEqualTo(-1);
        try (ChildSaKeyMaterial k = f.n1.database().childKeys(r.getId())) {
            assertThat(k.encryption()).isEqualTo(plain);
        }
        assertThatThrownBy(() -> f.n2.database().childKeys(r.getId()))
                .isInstanceOf(SadException.class).hasMessageContaining("only the owner unwraps");
    }

    @Test
    void batchInstallGivesEachItemItsOwnOutcome() {
        install(TestSupport.gcmSa("batch-taken", 0x1100, Direction.DIRECTION_OUTBOUND));
        InstallChildSasRequest batch = InstallChildSasRequest.newBuilder()
                .addItems(TestSupport.gcmSa("batch-in", 0x1101, Direction.DIRECTION_INBOUND))
                .addItems(TestSupport.gcmSa("batch-taken", 0x1102, Direction.DIRECTION_OUTBOUND))
                .addItems(TestSupport.gcmSa("batch-bad", 0x1103, Direction.DIRECTION_OUTBOUND)
                        .setKeys(ChildSaKeys.newBuilder().setEncryption(ByteString.copyFrom(new byte[3]))))
                .addItems(TestSupport.gcmSa("batch-spi", 0x1101, Direction.DIRECTION_INBOUND))
                .addItems(TestSupport.gcmSa("batch-out", 0x1104, Direction.DIRECTION_OUTBOUND))
                .build();
        List<InstallChildSaResult> results = f.s1().installChildSas(batch).getResultsList();
        assertThat(results).hasSize(5);
        assertThat(results.get(0).getCode()).isZero();
        assertThat(results.get(0).getChildSa().getId()).isEqualTo("batch-in");
        assertThat(results.get(0).getChildSa().hasKeys()).isFalse();
        assertThat(results.get(1).getCode()).isEqualTo(Status.Code.ALREADY_EXISTS.value());
        assertThat(results.get(1).getMessage()).startsWith("items[1]: ").contains("already exists");
        assertThat(results.get(2).getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT.value());
        assertThat(results.get(2).getMessage()).contains("keys.encryption");
        // Items run concurrently and the SPI map serializes the two binds of SPI 0x1101: either may
        // win, exactly one must.
        assertThat(List.of(results.get(0).getCode(), results.get(3).getCode())).containsOnlyOnce(0);
        assertThat(results.get(4).getCode()).isZero();
        assertThat(f.s2().getChildSa(GetChildSaRequest.newBuilder().setId("batch-out").build()).getChildSa()
                .getOwnerNodeId()).isEqualTo("n1");
        assertThat(code(() -> f.s1().installChildSas(InstallChildSasRequest.getDefaultInstance())))
                .isEqualTo(Status.Code.INVALID_ARGUMENT);
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    @Test
    void spiAllocationIsUniqueBindsAndIsReleasedOnDelete() throws Exception {
        List<Integer> spis = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            spis.add((i % 2 == 0 ? f.s1() : f.s2()).allocateSpi(AllocateSpiRequest.getDefaultInstance()).getSpi());
        }
        // A pool's batch: as many as asked, reserved in the cluster like single ones.
        AllocateSpiResponse batch = f.s2().allocateSpi(AllocateSpiRequest.newBuilder().setCount(300).build());
        assertThat(batch.getSpisList()).hasSize(300).startsWith(batch.getSpi());
        assertThat(batch.getSpisList()).allSatisfy(s -> assertThat(f.n1.cluster().spis().get(s)).isNotNull());
        spis.addAll(batch.getSpisList());
        assertThat(spis).doesNotHaveDuplicates();
        assertThat(spis).allSatisfy(s -> assertThat(Integer.toUnsignedLong(s)).isGreaterThanOrEqualTo(256));
        assertThat(f.s1().allocateSpi(AllocateSpiRequest.getDefaultInstance()).getSpisList()).as("one by default")
                .hasSize(1);

        int spi = f.s1().allocateSpi(AllocateSpiRequest.newBuilder().setReservationSeconds(1).build()).getSpi();
        int unbound = f.s2().allocateSpi(AllocateSpiRequest.newBuilder().setReservationSeconds(1).build()).getSpi();
        assertThat(f.n1.cluster().spis().get(unbound)).as("reserved").isEqualTo("");
        ChildSaRecord in = install(TestSupport.gcmSa("spi-a", spi, Direction.DIRECTION_INBOUND));
        assertThatThrownBy(() -> install(TestSupport.gcmSa("spi-b", spi, Direction.DIRECTION_INBOUND)))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.ALREADY_EXISTS);
                    assertThat(e.getStatus().getDescription()).contains("child_sa.spi").contains("spi-a");
                });
        Thread.sleep(1_600); // the 1 s reservation would have expired; the binding must not
        assertThat(f.n2.cluster().spis().get(spi)).isEqualTo("spi-a");
        assertThat(f.n2.cluster().spis().get(unbound)).as("a reservation runs out").isNull();
        f.s2().deleteChildSa(DeleteChildSaRequest.newBuilder().setId(in.getId()).build());
        // Not handed out again while the tombstone lives (the IKE service names records by SPI):
        // bound to it until two maintenance periods after its retention ends.
        assertThat(f.n1.cluster().spis().get(spi)).as("bound to the tombstone").isEqualTo("spi-a");
        assertThat(f.n2.cluster().spis().getEntryView(spi).getTtl()).isEqualTo(601_000);
        assertThatThrownBy(() -> install(TestSupport.gcmSa("spi-b", spi, Direction.DIRECTION_INBOUND)))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.ALREADY_EXISTS);
                    assertThat(e.getStatus().getDescription()).contains("spi-a");
                });
    }

    @Test
    void concurrentLeasesAreDisjointAndContiguous() throws Exception {
        String id = install(TestSupport.gcmSa("lease-1", 0x2000, Direction.DIRECTION_OUTBOUND)).getId();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<long[]> leases = Collections.synchronizedList(new ArrayList<>());
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                fs.add(pool.submit(() -> {
                    for (int i = 0; i < 150; i++) {
                        LeaseSequenceResponse r = f.s1().leaseSequence(LeaseSequenceRequest.newBuilder()
                                .setSaId(id).setCount(1 + i % 7).build());
                        leases.add(new long[] {r.getStart(), r.getEnd()});
                    }
                    return null;
                }));
            }
            for (Future<?> x : fs) {
                x.get(30, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        List<long[]> sorted = new ArrayList<>(leases);
        sorted.sort((a, b) -> Long.compare(a[0], b[0]));
        assertThat(sorted).hasSize(600);
        assertThat(sorted.getFirst()[0]).isEqualTo(1);
        for (int i = 1; i < sorted.size(); i++) {
            assertThat(sorted.get(i)[0]).as("lease %d starts where the previous ended", i).isEqualTo(sorted.get(i - 1)[1]);
        }
        long hwm = f.s2().getChildSa(GetChildSaRequest.newBuilder().setId(id).build()).getChildSa().getLeaseHighWater();
        assertThat(hwm).isEqualTo(sorted.getLast()[1]);

        // Only the owner leases; only outbound SAs lease.
        assertThatThrownBy(() -> f.s2().leaseSequence(LeaseSequenceRequest.newBuilder().setSaId(id).setCount(1).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
                    assertThat(e.getStatus().getDescription()).contains("owned by node 'n1', not 'n2'");
                });
    }

    private CheckpointReplayResult checkpoint(String sa, long rightEdge, long margin) {
        return TestSupport.checkpoint(f.s1(), CheckpointReplayRequest.newBuilder().setSaId(sa).setRightEdge(rightEdge)
                .setMargin(margin).build());
    }

    @Test
    void checkpointsMoveForwardOnlyAndPlannedClaimRaisesFloorToCheckpointPlusMargin() {
        ChildSaRecord installed = install(TestSupport.gcmSa("claim-in", 0x3000, Direction.DIRECTION_INBOUND));
        String in = installed.getId();
        String out = install(TestSupport.gcmSa("claim-out", 0x3001, Direction.DIRECTION_OUTBOUND)).getId();
        assertThat(installed.getReplayMargin()).as("replay-initial-margin").isEqualTo(INITIAL_MARGIN);
        assertThat(checkpoint(in, 500, 80)).isEqualTo(CheckpointReplayResult.newBuilder().setCheckpoint(500)
                .setMargin(80).build());
        // Pairs a data plane sent earlier (lower edge; same edge with a larger margin) change nothing.
        assertThat(checkpoint(in, 400, 10).getCheckpoint()).isEqualTo(500);
        assertThat(checkpoint(in, 500, 90).getMargin()).isEqualTo(80);
        // The same edge with a smaller margin is newer (an idle SA's margin shrinks).
        assertThat(checkpoint(in, 500, 64).getMargin()).isEqualTo(64);
        assertThat(code(() -> checkpoint(out, 1, 1))).isEqualTo(Status.Code.FAILED_PRECONDITION);
        assertThat(code(() -> f.s1().leaseSequence(LeaseSequenceRequest.newBuilder().setSaId(in).setCount(1).build())))
                .isEqualTo(Status.Code.FAILED_PRECONDITION);
        long hwm = f.s1().leaseSequence(LeaseSequenceRequest.newBuilder().setSaId(out).setCount(100).build()).getEnd();

        // A live owner keeps its SAs unless the claimant names it.
        assertThat(code(() -> f.s2().claimOwnership(ClaimOwnershipRequest.newBuilder().setSaId(in).build())))
                .isEqualTo(Status.Code.FAILED_PRECONDITION);
        ChildSaRecord moved = f.s2().claimOwnership(ClaimOwnershipRequest.newBuilder().setSaId(in)
                .setExpectedOwnerNodeId("n1").build()).getChildSa();
        assertThat(moved.getOwnerNodeId()).isEqualTo("n2");
        assertThat(moved.getOwnerEpoch()).isEqualTo(2);
        assertThat(moved.getOwnerReason()).isEqualTo(OwnershipReason.OWNERSHIP_REASON_CLAIM);
        assertThat(moved.getReplayFloor()).as("checkpoint + margin: above all the old owner accepted").isEqualTo(564);
        assertThat(moved.getReplayCheckpoint()).as("the new owner's checkpoint starts at its floor").isEqualTo(564);
        assertThat(moved.getReplayMargin()).as("with the takeover margin: four times the old owner's").isEqualTo(256);
        assertThat(code(() -> checkpoint(in, 600, 64))).as("the old owner can no longer record").isEqualTo(
                Status.Code.FAILED_PRECONDITION);

        f.s2().claimOwnership(ClaimOwnershipRequest.newBuilder().setSaId(out).setExpectedOwnerNodeId("n1").build());
        assertThat(code(() -> f.s1().leaseSequence(LeaseSequenceRequest.newBuilder().setSaId(out).setCount(1).build())))
                .isEqualTo(Status.Code.FAILED_PRECONDITION);
        assertThat(f.s2().leaseSequence(LeaseSequenceRequest.newBuilder().setSaId(out).setCount(1).build()).getStart())
                .as("the new owner starts at the high-water mark").isEqualTo(hwm);
    }

    private static CheckpointReplayRequest pair(String sa, long rightEdge, long margin) {
        return CheckpointReplayRequest.newBuilder().setSaId(sa).setRightEdge(rightEdge).setMargin(margin).build();
    }

    /**
     * One data plane's checkpoints in one call: each item is applied or refused on its own, so an
     * SA deleted or moved to another node meanwhile fails only its own item.
     */
    @Test
    void batchCheckpointGivesEachItemItsOwnOutcome() {
        String a = install(TestSupport.gcmSa("cps-a", 0x3100, Direction.DIRECTION_INBOUND)).getId();
        String b = install(TestSupport.gcmSa("cps-b", 0x3101, Direction.DIRECTION_INBOUND)).getId();
        String gone = install(TestSupport.gcmSa("cps-gone", 0x3102, Direction.DIRECTION_INBOUND)).getId();
        String moved = install(TestSupport.gcmSa("cps-moved", 0x3103, Direction.DIRECTION_INBOUND)).getId();
        String out = install(TestSupport.gcmSa("cps-out", 0x3104, Direction.DIRECTION_OUTBOUND)).getId();
        f.s2().deleteChildSa(DeleteChildSaRequest.newBuilder().setId(gone).build());
        f.s2().claimOwnership(ClaimOwnershipRequest.newBuilder().setSaId(moved).setExpectedOwnerNodeId("n1").build());

        List<CheckpointReplayResult> r = f.s1().checkpointReplays(CheckpointReplaysRequest.newBuilder()
                .addItems(pair(a, 500, 80))
                .addItems(pair(gone, 10, 5))
                .addItems(pair(moved, 5000, 64))
                .addItems(pair(out, 1, 1))
                .addItems(pair("cps-none", 1, 1))
                .addItems(pair(a, 700, 64))
                .addItems(pair(b, 5, 0))
                .addItems(pair(b, 900, 32))
                .build()).getResultsList();
        assertThat(r).hasSize(8);
        assertThat(r.get(0)).isEqualTo(CheckpointReplayResult.newBuilder().setCheckpoint(500).setMargin(80).build());
        assertThat(r.get(1).getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION.value());
        assertThat(r.get(1).getMessage()).isEqualTo("items[1]: child SA cps-gone is deleted");
        assertThat(r.get(2).getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION.value());
        assertThat(r.get(2).getMessage()).startsWith("items[2]: ").contains("owned by node 'n2', not 'n1'");
        assertThat(r.get(3).getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION.value());
        assertThat(r.get(3).getMessage()).contains("is outbound");
        assertThat(r.get(4).getCode()).isEqualTo(Status.Code.NOT_FOUND.value());
        assertThat(r.get(5).getCode()).as("a second pair of one SA in one batch").isEqualTo(Status.Code.INVALID_ARGUMENT.value());
        assertThat(r.get(5).getMessage()).isEqualTo("items[5]: sa_id: child SA cps-a is also items[0] of this batch");
        assertThat(r.get(6).getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT.value());
        assertThat(r.get(6).getMessage()).startsWith("items[6]: margin: 0 is not in 1..");
        assertThat(r.get(7)).as("after b's refused item, its next one").isEqualTo(
                CheckpointReplayResult.newBuilder().setCheckpoint(900).setMargin(32).build());

        // What was applied is stored; refused items changed nothing; the same order rule as ever.
        ChildSaRecord ra = f.s2().getChildSa(GetChildSaRequest.newBuilder().setId(a).build()).getChildSa();
        assertThat(List.of(ra.getReplayCheckpoint(), ra.getReplayMargin())).containsExactly(500L, 80L);
        ChildSaRecord rm = f.s2().getChildSa(GetChildSaRequest.newBuilder().setId(moved).build()).getChildSa();
        assertThat(rm.getReplayCheckpoint()).as("the old owner's item did not move n2's record").isLessThan(5000);
        assertThat(f.s1().checkpointReplays(CheckpointReplaysRequest.newBuilder().addItems(pair(a, 400, 10))
                .addItems(pair(b, 900, 16)).build()).getResultsList()).containsExactly(
                CheckpointReplayResult.newBuilder().setCheckpoint(500).setMargin(80).build(),
                CheckpointReplayResult.newBuilder().setCheckpoint(900).setMargin(16).build());

        assertThat(code(() -> f.s1().checkpointReplays(CheckpointReplaysRequest.getDefaultInstance())))
                .isEqualTo(Status.Code.INVALID_ARGUMENT);
        CheckpointReplaysRequest.Builder tooMany = CheckpointReplaysRequest.newBuilder();
        for (int i = 0; i <= 4096; i++) {
            tooMany.addItems(pair("cps-" + i, 1, 1));
        }
        assertThat(code(() -> f.s1().checkpointReplays(tooMany.build()))).isEqualTo(Status.Code.INVALID_ARGUMENT);
    }

    @Test
    void deleteMakesTombstoneAndZeroizesHeldKeys() {
        String id = install(TestSupport.gcmSa("del-1", 0x4000, Direction.DIRECTION_OUTBOUND)).getId();
        ChildSaKeyMaterial keys = f.n1.database().childKeys(id);
        assertThat(keys.isZeroized()).isFalse();
        ChildSaRecord t = f.s2().deleteChildSa(DeleteChildSaRequest.newBuilder().setId(id).build()).getChildSa();
        assertThat(t.getState()).isEqualTo(ChildSaState.CHILD_SA_STATE_DELETED);
        assertThat(t.hasKeys()).isFalse();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!keys.isZeroized() && System.nanoTime() < deadline) {
            Thread.onSpinWait(); // n1 zeroizes when the deletion event reaches it
        }
        assertThat(keys.isZeroized()).as("owner's keys zeroized after a delete through another node").isTrue();
        assertThat(f.s1().getChildSa(GetChildSaRequest.newBuilder().setId(id).setIncludeWrappedKeys(true).build())
                .getChildSa().hasKeys()).isFalse();
        assertThat(code(() -> f.s1().leaseSequence(LeaseSequenceRequest.newBuilder().setSaId(id).setCount(1).build())))
                .isEqualTo(Status.Code.FAILED_PRECONDITION);
        // Deleting again answers the tombstone (IKE retries deletes).
        assertThat(f.s1().deleteChildSa(DeleteChildSaRequest.newBuilder().setId(id).build()).getChildSa().getState())
                .isEqualTo(ChildSaState.CHILD_SA_STATE_DELETED);
    }

    @Test
    void listPagesInIdOrderWithFilters() {
        for (int i = 0; i < 25; i++) {
            InstallChildSaRequest.Builder req = TestSupport.gcmSa(String.format("list-%03d", i), 0x5000 + i,
                    Direction.DIRECTION_OUTBOUND);
            req.getChildSaBuilder().setConnection(i % 5 == 0 ? "list-five" : "list-other");
            install(req);
        }
        List<String> ids = new ArrayList<>();
        String token = "";
        for (int page = 0; page < 10; page++) {
            ListChildSasResponse r = f.s2().listChildSas(ListChildSasRequest.newBuilder().setConnection("list-other")
                    .setPageSize(7).setPageToken(token).build());
            r.getChildSasList().forEach(c -> ids.add(c.getId()));
            assertThat(r.getChildSasList()).allSatisfy(c -> assertThat(c.hasKeys()).isFalse());
            token = r.getNextPageToken();
            if (token.isEmpty()) {
                break;
            }
        }
        assertThat(ids).hasSize(20).isSorted().doesNotHaveDuplicates();
        assertThat(f.s1().listChildSas(ListChildSasRequest.newBuilder().setConnection("list-five").setOwnerNodeId("n1")
                .setPeerAddress(ByteString.copyFrom(new byte[] {(byte) 198, 51, 100, 7})).build()).getChildSasCount())
                .isEqualTo(5);
        assertThat(f.s1().listChildSas(ListChildSasRequest.newBuilder().setConnection("list-five").setOwnerNodeId("n2")
                .build()).getChildSasCount()).isZero();
    }

    @Test
    void updateChangesEndpointsAndStateForwardOnly() {
        ChildSaRecord r = install(TestSupport.gcmSa("upd-1", 0x6000, Direction.DIRECTION_OUTBOUND));
        ChildSaRecord u = f.s2().updateChildSa(UpdateChildSaRequest.newBuilder().setId(r.getId())
                .setPeer(TestSupport.v4(203, 0, 113, 9, 41000)).setState(ChildSaState.CHILD_SA_STATE_REKEYED)
                .setExpectedGeneration(r.getGeneration()).build()).getChildSa();
        assertThat(u.getPeer().getPort()).isEqualTo(41000);
        assertThat(u.getGeneration()).isEqualTo(r.getGeneration() + 1);
        assertThat(code(() -> f.s2().updateChildSa(UpdateChildSaRequest.newBuilder().setId(r.getId())
                .setExpectedGeneration(r.getGeneration()).setPeer(TestSupport.v4(1, 2, 3, 4, 5)).build())))
                .as("stale expected_generation").isEqualTo(Status.Code.FAILED_PRECONDITION);
        assertThat(code(() -> f.s2().updateChildSa(UpdateChildSaRequest.newBuilder().setId(r.getId())
                .setState(ChildSaState.CHILD_SA_STATE_ACTIVE).build()))).isEqualTo(Status.Code.FAILED_PRECONDITION);
    }

    @Test
    void ikeSaUpsertKeepsMessageIdsMonotonicAndKeys() {
        IkeSaRecord ike = IkeSaRecord.newBuilder().setId("ike-upsert").setConnection("site-b").setInitiatorSpi(0x1122L)
                .setResponderSpi(0x3344L).setLocal(TestSupport.v4(192, 0, 2, 1, 500))
                .setPeer(TestSupport.v4(198, 51, 100, 7, 500)).setNextRequestMessageId(5).setNextExpectedMessageId(3)
                .build();
        IkeSaRecord a = f.s1().installIkeSa(InstallIkeSaRequest.newBuilder().setIkeSa(ike)
                .setKeys(IkeSaKeys.newBuilder().setSkD(ByteString.copyFrom(new byte[32]))).build()).getIkeSa();
        assertThat(a.hasKeys()).isFalse();
        // any member serves the owner's write; a write naming another owner is refused (only the owner replaces it)
        IkeSaRecord b = f.s2().installIkeSa(InstallIkeSaRequest.newBuilder().setIkeSa(ike.toBuilder().setOwnerNodeId("n1")
                .setNextRequestMessageId(4).setNextExpectedMessageId(9)).build()).getIkeSa();
        assertThat(b.getNextRequestMessageId()).isEqualTo(5);
        assertThat(b.getNextExpectedMessageId()).isEqualTo(9);
        assertThat(b.getOwnerNodeId()).isEqualTo("n1");
        assertThat(code(() -> f.s2().installIkeSa(InstallIkeSaRequest.newBuilder().setIkeSa(ike.toBuilder()
                .setNextRequestMessageId(12)).build()))).isEqualTo(Status.Code.FAILED_PRECONDITION);
        assertThat(f.s1().getIkeSa(GetIkeSaRequest.newBuilder().setId("ike-upsert").setIncludeWrappedKeys(true).build())
                .getIkeSa().getKeys().getSkD().size()).isEqualTo(40);
        f.s1().deleteIkeSa(DeleteIkeSaRequest.newBuilder().setId("ike-upsert").build());
        assertThat(code(() -> f.s1().getIkeSa(GetIkeSaRequest.newBuilder().setId("ike-upsert").build())))
                .isEqualTo(Status.Code.NOT_FOUND);
    }

    @Test
    void usageReportsRecordTheLastUseWhenPacketsMove() {
        install(TestSupport.gcmSa("used-1", 0x7100, Direction.DIRECTION_INBOUND));
        assertThat(f.s1().getChildSa(GetChildSaRequest.newBuilder().setId("used-1").build()).getChildSa()
                .getLastUsedAtMs()).as("no traffic yet").isZero();
        long before = System.currentTimeMillis();
        ChildSaRecord used = f.s1().reportUsage(ReportUsageRequest.newBuilder().setSaId("used-1").setBytes(300)
                .setPackets(3).build()).getChildSa();
        assertThat(used.getLastUsedAtMs()).isBetween(before, System.currentTimeMillis());
        // The same totals again (no packet since): the last use stays where it was.
        ChildSaRecord idle = f.s1().reportUsage(ReportUsageRequest.newBuilder().setSaId("used-1").setBytes(300)
                .setPackets(3).build()).getChildSa();
        assertThat(idle.getLastUsedAtMs()).isEqualTo(used.getLastUsedAtMs());
        assertThat(f.s2().getChildSa(GetChildSaRequest.newBuilder().setId("used-1").build()).getChildSa()
                .getLastUsedAtMs()).as("every member reads it").isEqualTo(used.getLastUsedAtMs());
    }

    @Test
    void watchSendsSnapshotThenChangesAndResumesWithoutGap() throws Exception {
        SaServiceGrpc.SaServiceStub async = SaServiceGrpc.newStub(f.c1);
        String streamId;
        long last;
        try (TestWatcher w = new TestWatcher(async, WatchRequest.getDefaultInstance())) {
            w.await(e -> e.getType() == SaEventType.SA_EVENT_TYPE_SNAPSHOT_END);
            assertThat(w.responses.getFirst().getResumed()).isFalse();
            InstallChildSaRequest.Builder req = TestSupport.gcmSa("watch-1", 0x7000, Direction.DIRECTION_OUTBOUND);
            req.getChildSaBuilder().setLifetime(Lifetime.newBuilder().setSoftBytes(1_000).setHardBytes(2_000));
            install(req);
            SaEvent put = w.await(e -> e.getType() == SaEventType.SA_EVENT_TYPE_CHILD_SA_PUT
                    && e.getChildSa().getId().equals("watch-1"));
            assertThat(put.getChildSa().hasKeys()).isFalse();
            f.s1().reportUsage(ReportUsageRequest.newBuilder().setSaId("watch-1").setBytes(1_500).setPackets(3).build());
            SaEvent soft = w.await(e -> e.getType() == SaEventType.SA_EVENT_TYPE_LIFETIME_EXPIRED);
            assertThat(soft.getLifetime().getHard()).isFalse();
            assertThat(soft.getLifetime().getLimit()).isEqualTo(LifetimeLimit.LIFETIME_LIMIT_BYTES);
            // Leases move only counters: no event.
            f.s1().leaseSequence(LeaseSequenceRequest.newBuilder().setSaId("watch-1").setCount(10).build());
            ChildSaRecord hard = f.s1().reportUsage(ReportUsageRequest.newBuilder().setSaId("watch-1").setBytes(2_000)
                    .build()).getChildSa();
            assertThat(hard.getState()).isEqualTo(ChildSaState.CHILD_SA_STATE_EXPIRED);
            SaEvent hardEvent = w.await(e -> e.getType() == SaEventType.SA_EVENT_TYPE_LIFETIME_EXPIRED);
            assertThat(hardEvent.getLifetime().getHard()).isTrue();
            assertThat(hardEvent.getRevision()).isEqualTo(soft.getRevision() + 1);
            streamId = w.streamId;
            last = w.lastRevision;
        }
        install(TestSupport.gcmSa("watch-2", 0x7001, Direction.DIRECTION_OUTBOUND));
        try (TestWatcher w = new TestWatcher(async, WatchRequest.newBuilder().setStreamId(streamId).setAfterRevision(last).build())) {
            SaEvent next = w.await(e -> true);
            assertThat(w.responses.getFirst().getResumed()).isTrue();
            assertThat(next.getRevision()).isEqualTo(last + 1);
            assertThat(next.getType()).isEqualTo(SaEventType.SA_EVENT_TYPE_CHILD_SA_PUT);
            assertThat(next.getChildSa().getId()).isEqualTo("watch-2");
        }
        // Another member's stream id (or a forgotten revision) gets a snapshot instead.
        try (TestWatcher w = new TestWatcher(SaServiceGrpc.newStub(f.c2),
                WatchRequest.newBuilder().setStreamId(streamId).setAfterRevision(last).build())) {
            w.await(e -> e.getType() == SaEventType.SA_EVENT_TYPE_SNAPSHOT_END);
            assertThat(w.responses.getFirst().getResumed()).isFalse();
            assertThat(w.responses.getFirst().getStreamId()).startsWith("n2/");
        }
    }

    @Test
    void timeLifetimesExpireByTheMaintenanceScan() throws Exception {
        try (TestWatcher w = new TestWatcher(SaServiceGrpc.newStub(f.c2),
                WatchRequest.newBuilder().setOwnerNodeId("n1").build())) {
            w.await(e -> e.getType() == SaEventType.SA_EVENT_TYPE_SNAPSHOT_END);
            InstallChildSaRequest.Builder req = TestSupport.gcmSa("life-1", 0x8000, Direction.DIRECTION_OUTBOUND);
            req.getChildSaBuilder().setLifetime(Lifetime.newBuilder().setSoftSeconds(1).setHardSeconds(2));
            install(req);
            SaEvent soft = w.await(e -> e.getType() == SaEventType.SA_EVENT_TYPE_LIFETIME_EXPIRED
                    && e.getChildSa().getId().equals("life-1"));
            assertThat(soft.getLifetime().getHard()).isFalse();
            assertThat(soft.getLifetime().getLimit()).isEqualTo(LifetimeLimit.LIFETIME_LIMIT_TIME);
            SaEvent hard = w.await(e -> e.getType() == SaEventType.SA_EVENT_TYPE_LIFETIME_EXPIRED
                    && e.getChildSa().getId().equals("life-1"));
            assertThat(hard.getLifetime().getHard()).isTrue();
            assertThat(hard.getChildSa().getHardExpiry().getAtMs() - hard.getChildSa().getCreatedAtMs())
                    .isBetween(2_000L, 4_000L);
        }
    }

    @Test
    void healthAndReflectionAreServed() {
        HealthCheckResponse h = HealthGrpc.newBlockingStub(f.c1).withDeadlineAfter(10, TimeUnit.SECONDS)
                .check(HealthCheckRequest.newBuilder().setService("keel.v1.SaService").build());
        assertThat(h.getStatus()).isEqualTo(HealthCheckResponse.ServingStatus.SERVING);

        BlockingQueue<ServerReflectionResponse> got = new ArrayBlockingQueue<>(4);
        StreamObserver<ServerReflectionRequest> req = ServerReflectionGrpc.newStub(f.c1)
                .serverReflectionInfo(new StreamObserver<>() {
                    @Override
                    public void onNext(ServerReflectionResponse r) {
                        got.add(r);
                    }

                    @Override
                    public void onError(Throwable t) {}

                    @Override
                    public void onCompleted() {}
                });
        req.onNext(ServerReflectionRequest.newBuilder().setListServices("").build());
        req.onCompleted();
        ServerReflectionResponse r;
        try {
            r = got.poll(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
        assertThat(r).isNotNull();
        List<String> names = new ArrayList<>();
        for (Iterator<?> it = r.getListServicesResponse().getServiceList().iterator(); it.hasNext(); ) {
            names.add(((io.grpc.reflection.v1.ServiceResponse) it.next()).getName());
        }
        assertThat(names).contains("keel.v1.SaService", "grpc.health.v1.Health");
    }

    @Test
    void clusterMapsHaveOneSynchronousBackup() {
        for (String map : List.of(SadCluster.CHILD_SAS, SadCluster.IKE_SAS, SadCluster.SPIS)) {
            var c = f.n1.cluster().hazelcast().getConfig().getMapConfig(map);
            assertThat(c.getBackupCount()).isEqualTo(1);
            assertThat(c.getAsyncBackupCount()).isZero();
        }
    }
}
