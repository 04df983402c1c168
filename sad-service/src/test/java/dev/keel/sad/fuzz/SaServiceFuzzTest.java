package dev.keel.sad.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import dev.keel.proto.v1.AllocateSpiRequest;
import dev.keel.proto.v1.CheckpointReplaysRequest;
import dev.keel.proto.v1.ClaimOwnershipRequest;
import dev.keel.proto.v1.DeleteChildSaRequest;
import dev.keel.proto.v1.DeleteIkeSaRequest;
import dev.keel.proto.v1.Direction;
import dev.keel.proto.v1.GetChildSaRequest;
import dev.keel.proto.v1.GetIkeSaRequest;
import dev.keel.proto.v1.InstallChildSaRequest;
import dev.keel.proto.v1.InstallChildSasRequest;
import dev.keel.proto.v1.InstallIkeSaRequest;
import dev.keel.proto.v1.IkeSaRecord;
import dev.keel.proto.v1.LeaseSequenceRequest;
import dev.keel.proto.v1.ListChildSasRequest;
import dev.keel.proto.v1.ReportUsageRequest;
import dev.keel.proto.v1.UpdateChildSaRequest;
import dev.keel.proto.v1.WatchRequest;
import dev.keel.rpc.FuzzedCall;
import dev.keel.rpc.RecordingCall;
import dev.keel.sad.SadConfig;
import dev.keel.sad.SadNode;
import dev.keel.sad.TestSupport;
import dev.keel.sad.grpc.SaGrpcService;
import io.grpc.Status;
import io.grpc.inprocess.InProcessServerBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;

/**
 * Every SaService RPC into the real {@link SaGrpcService} over a one-member sad-service cluster
 * (an embedded Hazelcast member on loopback with a cluster name of its own): the first byte picks
 * the RPC, the rest is its request, parsed as gRPC would (an unparsable message never reaches the
 * service). Each call ends, completed or with a precise client-error status and a description
 * (never UNKNOWN, INTERNAL, DATA_LOSS, nor UNAVAILABLE on a healthy member); a Watch runs until
 * cancelled; the service still installs, reads and deletes a known-good SA afterwards.
 */
class SaServiceFuzzTest {

    private static final Duration WAIT = Duration.ofSeconds(10);
    /** A known-good round trip, then the maps emptied and the fixtures put back, every this many executions. */
    private static final int CHECK_EVERY = 5000;
    /** The CHILD SA and IKE SA every execution finds (the seeds name them). */
    static final String CHILD = "exists";
    static final String IKE = "ike-1";

    private static final Path DIR;
    private static final SadNode NODE;
    private static final SaGrpcService SERVICE;
    private static int executions;
    private static int known;

    static {
        try {
            DIR = Files.createTempDirectory("keel-sad-fuzz");
            String cluster = TestSupport.uniqueCluster();
            int port = TestSupport.freePort();
            SadConfig.Builder b = TestSupport.config("n1", cluster, TestSupport.kekFile(DIR), port, List.of(port));
            b.maintenanceIntervalMillis = 3_600_000; // no periodic pass changing the state under the fuzzer
            NODE = SadNode.start(b.build(), InProcessServerBuilder.forName("sad-fuzz-" + cluster).directExecutor());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        // Watch drains on the calling thread: what a call sends is seen before the call returns.
        SERVICE = new SaGrpcService(NODE.database(), NODE.events(), Runnable::run);
        try {
            fixtures();
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    @AfterAll
    static void stopMember() throws IOException {
        NODE.close();
        try (Stream<Path> walk = Files.walk(DIR)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** The RPCs, in the order of the first byte (modulo their count). */
    enum Rpc {
        ALLOCATE_SPI, INSTALL_CHILD_SA, INSTALL_CHILD_SAS, UPDATE_CHILD_SA, DELETE_CHILD_SA, INSTALL_IKE_SA,
        DELETE_IKE_SA, GET_CHILD_SA, GET_IKE_SA, LIST_CHILD_SAS, WATCH, LEASE_SEQUENCE, CHECKPOINT_REPLAYS,
        REPORT_USAGE, CLAIM_OWNERSHIP
    }

    @FuzzTest(maxDuration = "15s")
    void call(byte[] bytes) throws Exception {
        FuzzedCall<Rpc> call = FuzzedCall.of(bytes, Rpc.class);
        if (call == null) {
            return;
        }
        byte[] b = call.request();
        try {
            switch (call.rpc()) {
                case ALLOCATE_SPI -> unary(AllocateSpiRequest.parseFrom(b), SERVICE::allocateSpi);
                case INSTALL_CHILD_SA -> unary(InstallChildSaRequest.parseFrom(b), SERVICE::installChildSa);
                case INSTALL_CHILD_SAS -> unary(InstallChildSasRequest.parseFrom(b), SERVICE::installChildSas);
                case UPDATE_CHILD_SA -> unary(UpdateChildSaRequest.parseFrom(b), SERVICE::updateChildSa);
                case DELETE_CHILD_SA -> unary(DeleteChildSaRequest.parseFrom(b), SERVICE::deleteChildSa);
                case INSTALL_IKE_SA -> unary(InstallIkeSaRequest.parseFrom(b), SERVICE::installIkeSa);
                case DELETE_IKE_SA -> unary(DeleteIkeSaRequest.parseFrom(b), SERVICE::deleteIkeSa);
                case GET_CHILD_SA -> unary(GetChildSaRequest.parseFrom(b), SERVICE::getChildSa);
                case GET_IKE_SA -> unary(GetIkeSaRequest.parseFrom(b), SERVICE::getIkeSa);
                case LIST_CHILD_SAS -> unary(ListChildSasRequest.parseFrom(b), SERVICE::listChildSas);
                case WATCH -> watch(WatchRequest.parseFrom(b));
                case LEASE_SEQUENCE -> lease(LeaseSequenceRequest.parseFrom(b));
                case CHECKPOINT_REPLAYS -> unary(CheckpointReplaysRequest.parseFrom(b), SERVICE::checkpointReplays);
                case REPORT_USAGE -> unary(ReportUsageRequest.parseFrom(b), SERVICE::reportUsage);
                case CLAIM_OWNERSHIP -> unary(ClaimOwnershipRequest.parseFrom(b), SERVICE::claimOwnership);
            }
        } catch (InvalidProtocolBufferException e) {
            return; // gRPC's own answer: the call never reaches the service
        }
        if (++executions % CHECK_EVERY == 0) {
            stillServes();
            NODE.cluster().childSas().clear();
            NODE.cluster().ikeSas().clear();
            NODE.cluster().spis().clear();
            fixtures();
        }
    }

    private static <Q extends Message, R> void unary(Q req, BiConsumer<Q, RecordingCall<R>> method)
            throws InterruptedException {
        RecordingCall.invoke(method, req).awaitEnd(WAIT, RecordingCall.CLIENT_ERRORS);
    }

    /**
     * LeaseSequence may also answer UNAVAILABLE for a grant that took the backup timeout or longer
     * (its numbers are skipped: docs/sad.md, "Split brain"), which a loaded machine can cause.
     */
    private static void lease(LeaseSequenceRequest req) throws InterruptedException {
        Set<Status.Code> allowed = EnumSet.copyOf(RecordingCall.CLIENT_ERRORS);
        allowed.add(Status.Code.UNAVAILABLE);
        Status s = RecordingCall.invoke(SERVICE::leaseSequence, req).awaitEnd(WAIT, allowed);
        if (s.getCode() == Status.Code.UNAVAILABLE) {
            assertThat(s.getDescription()).as("the only UNAVAILABLE a one-member cluster gives").contains(" took ");
        }
    }

    private static void watch(WatchRequest req) throws InterruptedException {
        int before = NODE.events().subscriberCount();
        RecordingCall<?> call = RecordingCall.invoke(SERVICE::watch, req);
        if (call.ended()) {
            call.awaitEnd(WAIT, RecordingCall.CLIENT_ERRORS);
        } else {
            call.cancel();
        }
        assertThat(NODE.events().subscriberCount()).as("subscribers once the Watch ended or was cancelled")
                .isEqualTo(before);
    }

    /** The CHILD SA and IKE SA the seeds name, as sad-service's own tests install them. */
    private static void fixtures() throws InterruptedException {
        unary(TestSupport.gcmSa(CHILD, 0x9000, Direction.DIRECTION_INBOUND).build(), SERVICE::installChildSa);
        unary(InstallIkeSaRequest.newBuilder().setIkeSa(ikeSa(IKE)).build(), SERVICE::installIkeSa);
    }

    /** The IKE SA of SaServiceComponentTest's upsert test, under {@code id}. */
    static IkeSaRecord ikeSa(String id) {
        return IkeSaRecord.newBuilder().setId(id).setConnection("site-b").setInitiatorSpi(0x1122L)
                .setResponderSpi(0x3344L).setLocal(TestSupport.v4(192, 0, 2, 1, 500))
                .setPeer(TestSupport.v4(198, 51, 100, 7, 500)).setNextRequestMessageId(5).setNextExpectedMessageId(3)
                .build();
    }

    /** A new SA is installed, read back and deleted: the member still serves after what came before. */
    private static void stillServes() throws InterruptedException {
        String id = "known-good-" + ++known;
        var install = RecordingCall.invoke(SERVICE::installChildSa,
                TestSupport.gcmSa(id, 0x10000 + known, Direction.DIRECTION_OUTBOUND).build());
        assertThat(install.awaitEnd(WAIT, Set.of()).isOk()).isTrue();
        var get = RecordingCall.invoke(SERVICE::getChildSa, GetChildSaRequest.newBuilder().setId(id).build());
        assertThat(get.awaitEnd(WAIT, Set.of()).isOk()).isTrue();
        assertThat(get.last().getChildSa().getId()).isEqualTo(id);
        var delete = RecordingCall.invoke(SERVICE::deleteChildSa, DeleteChildSaRequest.newBuilder().setId(id).build());
        assertThat(delete.awaitEnd(WAIT, Set.of()).isOk()).isTrue();
    }
}
