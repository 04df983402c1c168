package dev.keel.sad;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.keel.proto.v1.AllocateSpiRequest;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.ClaimOwnershipRequest;
import dev.keel.proto.v1.DeleteChildSaRequest;
import dev.keel.proto.v1.Direction;
import dev.keel.proto.v1.GetChildSaRequest;
import dev.keel.proto.v1.GetIkeSaRequest;
import dev.keel.proto.v1.IkeSaKeys;
import dev.keel.proto.v1.IkeSaRecord;
import dev.keel.proto.v1.InstallIkeSaRequest;
import dev.keel.proto.v1.OwnershipReason;
import dev.keel.proto.v1.SaEvent;
import dev.keel.proto.v1.SaEventType;
import dev.keel.proto.v1.SaServiceGrpc;
import dev.keel.proto.v1.WatchRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * What a gateway asks of the SAD when packets reach it for SAs another node owns (docs/ha.md,
 * "Packets at the node that does not own their SA"): the inbound CHILD SA an SPI is bound to,
 * ClaimOwnership of an IKE SA record with the expected owner, and the Watch telling the previous
 * owner it lost the IKE SA.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class OwnershipClaimsTest {

    private TwoNodeFixture f;

    @BeforeAll
    void start() throws Exception {
        f = new TwoNodeFixture(1_000);
    }

    @AfterAll
    void stop() {
        if (f != null) {
            f.close();
        }
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
    void anInboundSpiFindsItsChildSaFromEveryMember() {
        ChildSaRecord in = f.s1().installChildSa(TestSupport.gcmSa("by-spi-in", 0x7100_0001, Direction.DIRECTION_INBOUND)
                .build()).getChildSa();
        f.s1().installChildSa(TestSupport.gcmSa("by-spi-out", 0x7100_0002, Direction.DIRECTION_OUTBOUND).build());
        assertThat(f.s2().getChildSa(GetChildSaRequest.newBuilder().setInboundSpi(0x7100_0001).build()).getChildSa()
                .getId()).isEqualTo(in.getId());
        // an outbound SA's SPI is the peer's and binds nothing; a free, a reserved and a released SPI find nothing
        assertThat(code(() -> f.s2().getChildSa(GetChildSaRequest.newBuilder().setInboundSpi(0x7100_0002).build())))
                .isEqualTo(Status.Code.NOT_FOUND);
        assertThat(code(() -> f.s2().getChildSa(GetChildSaRequest.newBuilder().setInboundSpi(0x7100_0003).build())))
                .isEqualTo(Status.Code.NOT_FOUND);
        int reserved = f.s1().allocateSpi(AllocateSpiRequest.getDefaultInstance()).getSpi();
        assertThat(code(() -> f.s2().getChildSa(GetChildSaRequest.newBuilder().setInboundSpi(reserved).build())))
                .isEqualTo(Status.Code.NOT_FOUND);
        assertThat(code(() -> f.s2().getChildSa(GetChildSaRequest.newBuilder().setId("by-spi-in")
                .setInboundSpi(0x7100_0001).build()))).as("id and SPI").isEqualTo(Status.Code.INVALID_ARGUMENT);
        f.s1().deleteChildSa(DeleteChildSaRequest.newBuilder().setId("by-spi-in").build());
        assertThat(code(() -> f.s2().getChildSa(GetChildSaRequest.newBuilder().setInboundSpi(0x7100_0001).build())))
                .isEqualTo(Status.Code.NOT_FOUND);
    }

    @Test
    void anIkeSaMovesOnlyFromTheOwnerTheClaimNames() throws Exception {
        IkeSaRecord ike = IkeSaRecord.newBuilder().setId("ike-claim").setConnection("site-b").setInitiatorSpi(0x55L)
                .setResponderSpi(0x66L).setLocal(TestSupport.v4(192, 0, 2, 1, 4500))
                .setPeer(TestSupport.v4(198, 51, 100, 7, 4500)).setNextRequestMessageId(5).setNextExpectedMessageId(3)
                .build();
        f.s1().installIkeSa(InstallIkeSaRequest.newBuilder().setIkeSa(ike)
                .setKeys(IkeSaKeys.newBuilder().setSkD(ByteString.copyFrom(new byte[32]))).build());
        try (TestWatcher n1Watch = new TestWatcher(SaServiceGrpc.newStub(f.c1),
                WatchRequest.newBuilder().setOwnerNodeId("n1").build())) {
            n1Watch.await(e -> e.getType() == SaEventType.SA_EVENT_TYPE_SNAPSHOT_END);

            assertThat(code(() -> f.s2().claimOwnership(ClaimOwnershipRequest.newBuilder().setIkeSaId("ike-claim")
                    .build()))).as("a live owner, not named").isEqualTo(Status.Code.FAILED_PRECONDITION);
            assertThat(code(() -> f.s2().claimOwnership(ClaimOwnershipRequest.newBuilder().setIkeSaId("ike-claim")
                    .setExpectedOwnerNodeId("n2").build()))).as("the wrong owner named").isEqualTo(
                            Status.Code.FAILED_PRECONDITION);
            assertThat(code(() -> f.s2().claimOwnership(ClaimOwnershipRequest.newBuilder().setIkeSaId("ike-claim")
                    .setSaId("x").setExpectedOwnerNodeId("n1").build()))).isEqualTo(Status.Code.INVALID_ARGUMENT);
            assertThat(code(() -> f.s2().claimOwnership(ClaimOwnershipRequest.newBuilder().setIkeSaId("ike-none")
                    .setExpectedOwnerNodeId("n1").build()))).isEqualTo(Status.Code.NOT_FOUND);

            IkeSaRecord moved = f.s2().claimOwnership(ClaimOwnershipRequest.newBuilder().setIkeSaId("ike-claim")
                    .setExpectedOwnerNodeId("n1").build()).getIkeSa();
            assertThat(moved.getOwnerNodeId()).isEqualTo("n2");
            assertThat(moved.getOwnerEpoch()).isEqualTo(2);
            assertThat(moved.getOwnerReason()).isEqualTo(OwnershipReason.OWNERSHIP_REASON_CLAIM);
            assertThat(moved.getNextRequestMessageId()).isEqualTo(5);
            assertThat(moved.hasKeys()).isFalse();
            assertThat(f.s2().getIkeSa(GetIkeSaRequest.newBuilder().setId("ike-claim").setIncludeWrappedKeys(true)
                    .build()).getIkeSa().getKeys().getSkD().size()).as("keys kept").isEqualTo(40);

            // the previous owner hears of it on its own filtered stream, and its writes are refused
            // (the install's own PUT may reach the stream after the snapshot: wait for the one of the claim)
            SaEvent lost = n1Watch.await(e -> e.getType() == SaEventType.SA_EVENT_TYPE_IKE_SA_PUT
                    && e.getIkeSa().getId().equals("ike-claim") && e.getIkeSa().getOwnerEpoch() == 2);
            assertThat(lost.getIkeSa().getOwnerNodeId()).isEqualTo("n2");
            assertThat(lost.getOwnership().getPreviousOwnerNodeId()).isEqualTo("n1");
            assertThat(lost.getOwnership().getReason()).isEqualTo(OwnershipReason.OWNERSHIP_REASON_CLAIM);
            assertThat(code(() -> f.s1().installIkeSa(InstallIkeSaRequest.newBuilder().setIkeSa(ike.toBuilder()
                    .setNextRequestMessageId(6)).build()))).isEqualTo(Status.Code.FAILED_PRECONDITION);

            // a racing claim that still names n1 loses cleanly: nothing changes
            assertThat(code(() -> f.s1().claimOwnership(ClaimOwnershipRequest.newBuilder().setIkeSaId("ike-claim")
                    .setNodeId("n1").setExpectedOwnerNodeId("n1").build()))).isEqualTo(Status.Code.FAILED_PRECONDITION);
            assertThat(f.s1().getIkeSa(GetIkeSaRequest.newBuilder().setId("ike-claim").build()).getIkeSa()
                    .getOwnerEpoch()).isEqualTo(2);
            // and back, naming the owner: the epoch rises again
            assertThat(f.s1().claimOwnership(ClaimOwnershipRequest.newBuilder().setIkeSaId("ike-claim")
                    .setExpectedOwnerNodeId("n2").build()).getIkeSa().getOwnerEpoch()).isEqualTo(3);
        }
    }
}
