package dev.keel.sad;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.google.protobuf.ByteString;
import dev.keel.proto.v1.AllocateSpiRequest;
import dev.keel.proto.v1.CheckpointReplayRequest;
import dev.keel.proto.v1.ClaimOwnershipRequest;
import dev.keel.proto.v1.DeleteChildSaRequest;
import dev.keel.proto.v1.Direction;
import dev.keel.proto.v1.Endpoint;
import dev.keel.proto.v1.GetChildSaRequest;
import dev.keel.proto.v1.InstallChildSaRequest;
import dev.keel.proto.v1.InstallIkeSaRequest;
import dev.keel.proto.v1.IkeSaRecord;
import dev.keel.proto.v1.IpsecMode;
import dev.keel.proto.v1.LeaseSequenceRequest;
import dev.keel.proto.v1.Lifetime;
import dev.keel.proto.v1.ListChildSasRequest;
import dev.keel.proto.v1.TrafficSelector;
import dev.keel.proto.v1.UpdateChildSaRequest;
import dev.keel.proto.v1.ChildSaState;
import dev.keel.proto.v1.SaServiceGrpc;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.function.Consumer;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/** Every class of bad call gets a precise status and a message naming the field. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(60)
class MalformedRequestsTest {

    private TwoNodeFixture f;

    @BeforeAll
    void start() throws Exception {
        f = new TwoNodeFixture(100);
        f.s1().installChildSa(TestSupport.gcmSa("exists", 0x9000, Direction.DIRECTION_OUTBOUND).build());
    }

    @AfterAll
    void stop() {
        if (f != null) {
            f.close();
        }
    }

    private void expect(Status.Code code, String messagePart, Function<SaServiceGrpc.SaServiceBlockingStub, ?> call) {
        try {
            call.apply(f.s1());
        } catch (StatusRuntimeException e) {
            assertThat(e.getStatus().getCode()).as(e.getStatus().toString()).isEqualTo(code);
            assertThat(e.getStatus().getDescription()).contains(messagePart);
            return;
        }
        fail("expected " + code + " containing '" + messagePart + "'");
    }

    private void badInstall(String messagePart, Consumer<InstallChildSaRequest.Builder> change) {
        InstallChildSaRequest.Builder b = TestSupport.gcmSa("bad-install", 0x9100, Direction.DIRECTION_OUTBOUND);
        change.accept(b);
        expect(Status.Code.INVALID_ARGUMENT, messagePart, s -> s.installChildSa(b.build()));
    }

    @Test
    void installValidationNamesTheField() {
        expect(Status.Code.INVALID_ARGUMENT, "child_sa: is required",
                s -> s.installChildSa(InstallChildSaRequest.getDefaultInstance()));
        badInstall("child_sa.id: must be 1..128", b -> b.getChildSaBuilder().setId("bad id!"));
        badInstall("child_sa.connection: must not be empty", b -> b.getChildSaBuilder().setConnection(""));
        badInstall("child_sa.spi: 255 is reserved", b -> b.getChildSaBuilder().setSpi(255));
        badInstall("child_sa.direction", b -> b.getChildSaBuilder().setDirection(Direction.DIRECTION_UNSPECIFIED));
        badInstall("child_sa.mode", b -> b.getChildSaBuilder().setMode(IpsecMode.IPSEC_MODE_UNSPECIFIED));
        badInstall("child_sa.local.address: 5 bytes, want 4 (IPv4) or 16 (IPv6)", b -> b.getChildSaBuilder()
                .setLocal(Endpoint.newBuilder().setAddress(ByteString.copyFrom(new byte[5]))));
        badInstall("child_sa.peer: is required", b -> b.getChildSaBuilder().clearPeer());
        badInstall("child_sa.peer.port: 70000", b -> b.getChildSaBuilder().setPeer(TestSupport.v4(1, 2, 3, 4, 70000)));
        badInstall("child_sa.peer.address: address family differs", b -> b.getChildSaBuilder()
                .setPeer(Endpoint.newBuilder().setAddress(ByteString.copyFrom(new byte[16]))));
        badInstall("child_sa.encryption_transform: 99 is not", b -> b.getChildSaBuilder().setEncryptionTransform(99));
        badInstall("child_sa.encryption_key_length: 21 bytes is not valid for ENCR_AES_GCM_16",
                b -> b.getChildSaBuilder().setEncryptionKeyLength(21));
        badInstall("child_sa.integrity_transform: must be 0 (NONE) with AEAD",
                b -> b.getChildSaBuilder().setIntegrityTransform(12).setIntegrityKeyLength(32));
        badInstall("child_sa.integrity_transform: is required with ENCR_AES_CBC",
                b -> b.getChildSaBuilder().setEncryptionTransform(12).setEncryptionKeyLength(16));
        badInstall("keys.encryption: 35 bytes, want encryption_key_length 36",
                b -> b.getKeysBuilder().setEncryption(ByteString.copyFrom(new byte[35])));
        badInstall("child_sa.replay_window", b -> b.getChildSaBuilder().setDirection(Direction.DIRECTION_INBOUND)
                .setReplayWindow(1 << 20));
        badInstall("child_sa.replay_window: 16 is neither 0 (no replay protection) nor 32..65536",
                b -> b.getChildSaBuilder().setDirection(Direction.DIRECTION_INBOUND).setReplayWindow(16));
        badInstall("child_sa.local_ts: at least one", b -> b.getChildSaBuilder().clearLocalTs());
        badInstall("child_sa.remote_ts[0].end_address: is below start_address", b -> b.getChildSaBuilder()
                .setRemoteTs(0, TrafficSelector.newBuilder().setStartAddress(ByteString.copyFrom(new byte[] {10, 0, 0, 9}))
                        .setEndAddress(ByteString.copyFrom(new byte[] {10, 0, 0, 1})).setEndPort(65535)));
        badInstall("child_sa.lifetime.soft_seconds: must be below hard_seconds",
                b -> b.getChildSaBuilder().setLifetime(Lifetime.newBuilder().setSoftSeconds(10).setHardSeconds(10)));
        badInstall("owner_node_id: 'bad node' is not a node id", b -> b.setOwnerNodeId("bad node"));
    }

    @Test
    void selectorsAndEndpointsAreReadAsEveryOtherServiceReadsThem() {
        // A uint32 above 2^31 is a negative Java int: a signed "> 65535" check let this port through.
        badInstall("child_sa.peer.port: 4294967295 is not in 0..65535",
                b -> b.getChildSaBuilder().setPeer(TestSupport.v4(198, 51, 100, 7, -1)));
        // Ports without a protocol: stored before, then refused by esp-worker's reading of the record.
        badInstall("child_sa.local_ts[0]: a port restriction needs a protocol with ports", b -> b.getChildSaBuilder()
                .setLocalTs(0, TestSupport.ts(1, 1).toBuilder().setStartPort(80).setEndPort(80)));
        // OPAQUE ports (65535-0, RFC 4301 §4.4.1) are a selector the other services accept; refused before.
        var opaque = TestSupport.gcmSa("opaque-ports", 0x9300, Direction.DIRECTION_OUTBOUND);
        opaque.getChildSaBuilder().setRemoteTs(0, TestSupport.ts(2, 1).toBuilder().setStartPort(65535).setEndPort(0));
        assertThat(f.s1().installChildSa(opaque.build()).getChildSa().getRemoteTs(0).getStartPort()).isEqualTo(65535);
    }

    @Test
    void conflictsAndMissingThings() {
        expect(Status.Code.ALREADY_EXISTS, "child_sa.id: child SA exists already exists",
                s -> s.installChildSa(TestSupport.gcmSa("exists", 0x9001, Direction.DIRECTION_OUTBOUND).build()));
        expect(Status.Code.FAILED_PRECONDITION, "owner_node_id: node 'n9' is not a cluster member",
                s -> s.installChildSa(TestSupport.gcmSa("other", 0x9002, Direction.DIRECTION_OUTBOUND)
                        .setOwnerNodeId("n9").build()));
        expect(Status.Code.NOT_FOUND, "child SA nope does not exist",
                s -> s.getChildSa(GetChildSaRequest.newBuilder().setId("nope").build()));
        expect(Status.Code.NOT_FOUND, "child SA nope does not exist",
                s -> s.leaseSequence(LeaseSequenceRequest.newBuilder().setSaId("nope").setCount(1).build()));
        expect(Status.Code.NOT_FOUND, "does not exist",
                s -> s.deleteChildSa(DeleteChildSaRequest.newBuilder().setId("nope").build()));
        expect(Status.Code.NOT_FOUND, "does not exist",
                s -> s.claimOwnership(ClaimOwnershipRequest.newBuilder().setSaId("nope").build()));
        expect(Status.Code.FAILED_PRECONDITION, "is outbound; cannot checkpoint replay",
                s -> TestSupport.checkpoint(s, CheckpointReplayRequest.newBuilder().setSaId("exists").setRightEdge(5)
                        .setMargin(1).build()));
        expect(Status.Code.FAILED_PRECONDITION, "owned by node 'n1', not 'n2'",
                s -> s.leaseSequence(LeaseSequenceRequest.newBuilder().setSaId("exists").setNodeId("n2").setCount(1).build()));
    }

    @Test
    void otherCallsValidateTheirFields() {
        expect(Status.Code.INVALID_ARGUMENT, "count: 0 is not in 1..1048576",
                s -> s.leaseSequence(LeaseSequenceRequest.newBuilder().setSaId("exists").build()));
        expect(Status.Code.INVALID_ARGUMENT, "count: 2000000 is not in 1..1048576",
                s -> s.leaseSequence(LeaseSequenceRequest.newBuilder().setSaId("exists").setCount(2_000_000).build()));
        expect(Status.Code.INVALID_ARGUMENT, "sa_id: must not be empty",
                s -> s.leaseSequence(LeaseSequenceRequest.newBuilder().setCount(1).build()));
        expect(Status.Code.INVALID_ARGUMENT, "margin: 0 is not in 1..4294967296",
                s -> TestSupport.checkpoint(s, CheckpointReplayRequest.newBuilder().setSaId("exists").setRightEdge(5).build()));
        expect(Status.Code.INVALID_ARGUMENT, "margin: 4294967297 is not in 1..4294967296",
                s -> TestSupport.checkpoint(s, CheckpointReplayRequest.newBuilder().setSaId("exists").setRightEdge(5)
                        .setMargin((1L << 32) + 1).build()));
        expect(Status.Code.INVALID_ARGUMENT, "reservation_seconds: 4000 exceeds 3600",
                s -> s.allocateSpi(AllocateSpiRequest.newBuilder().setReservationSeconds(4000).build()));
        expect(Status.Code.INVALID_ARGUMENT, "count: 2000 exceeds 1024",
                s -> s.allocateSpi(AllocateSpiRequest.newBuilder().setCount(2000).build()));
        expect(Status.Code.INVALID_ARGUMENT, "page_size: 5000 exceeds 1000",
                s -> s.listChildSas(ListChildSasRequest.newBuilder().setPageSize(5000).build()));
        // A uint32 from 2^31 on is a negative Java int: it passed "> 1000" and failed in Hazelcast (INTERNAL).
        expect(Status.Code.INVALID_ARGUMENT, "page_size: 4294967295 exceeds 1000",
                s -> s.listChildSas(ListChildSasRequest.newBuilder().setPageSize(-1).build()));
        expect(Status.Code.INVALID_ARGUMENT, "page_token: not a token from ListChildSas",
                s -> s.listChildSas(ListChildSasRequest.newBuilder().setPageToken("!!!").build()));
        expect(Status.Code.INVALID_ARGUMENT, "peer_address: 3 bytes",
                s -> s.listChildSas(ListChildSasRequest.newBuilder().setPeerAddress(ByteString.copyFrom(new byte[3])).build()));
        expect(Status.Code.INVALID_ARGUMENT, "state: CHILD_SA_STATE_DELETED cannot be set by UpdateChildSa",
                s -> s.updateChildSa(UpdateChildSaRequest.newBuilder().setId("exists")
                        .setState(ChildSaState.CHILD_SA_STATE_DELETED).build()));
        expect(Status.Code.INVALID_ARGUMENT, "ike_sa.initiator_spi: must not be 0",
                s -> s.installIkeSa(InstallIkeSaRequest.newBuilder().setIkeSa(IkeSaRecord.newBuilder().setId("i")
                        .setConnection("c").setLocal(TestSupport.v4(1, 1, 1, 1, 500))
                        .setPeer(TestSupport.v4(2, 2, 2, 2, 500))).build()));
        expect(Status.Code.INVALID_ARGUMENT, "ike_sa.ike_service: 'ike 1' is not a node id",
                s -> s.installIkeSa(InstallIkeSaRequest.newBuilder().setIkeSa(IkeSaRecord.newBuilder().setId("i")
                        .setConnection("c").setInitiatorSpi(1).setLocal(TestSupport.v4(1, 1, 1, 1, 500))
                        .setPeer(TestSupport.v4(2, 2, 2, 2, 500)).setIkeService("ike 1")).build()));
        // The service keeps serving after all of this.
        assertThat(f.s1().getChildSa(GetChildSaRequest.newBuilder().setId("exists").build()).getChildSa().getId())
                .isEqualTo("exists");
    }
}
