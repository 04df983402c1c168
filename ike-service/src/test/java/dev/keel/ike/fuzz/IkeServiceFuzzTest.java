package dev.keel.ike.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import dev.keel.ike.admin.ChildSaUsage;
import dev.keel.ike.admin.IkeAdminService;
import dev.keel.ike.admin.LogControl;
import dev.keel.ike.session.TwoIkePeers;
import dev.keel.proto.v1.InitiateRequest;
import dev.keel.proto.v1.ListCertsRequest;
import dev.keel.proto.v1.ListIkeSasRequest;
import dev.keel.proto.v1.RekeyRequest;
import dev.keel.proto.v1.SetLogLevelsRequest;
import dev.keel.proto.v1.SetLogLevelsResponse;
import dev.keel.proto.v1.StatsRequest;
import dev.keel.proto.v1.TerminateRequest;
import dev.keel.proto.v1.WatchLogRequest;
import dev.keel.rpc.FuzzedCall;
import dev.keel.rpc.RecordingCall;
import io.grpc.Status;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Set;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.AfterAll;

/**
 * Every IkeService RPC into the real {@link IkeAdminService} over a real IKE engine: alice of
 * {@link TwoIkePeers} (her connection "to-bob" with child "net", an IKE SA with bob established
 * through real exchanges). The first byte picks the RPC, the rest is its request, parsed as gRPC
 * would (an unparsable message never reaches the service). Each call ends, completed or with a
 * precise status and a description: a client error, or for Initiate and Rekey the outcomes
 * ike.proto documents (DEADLINE_EXCEEDED, UNAVAILABLE, ABORTED); never UNKNOWN or INTERNAL. A
 * WatchLog runs until cancelled. The service still terminates and initiates "to-bob" afterwards.
 */
class IkeServiceFuzzTest {

    /** Longer than the service's own longest wait (an Initiate's or a Rekey's 30 s). */
    private static final Duration WAIT = Duration.ofSeconds(40);
    /** A known-good Terminate and Initiate, which also put the IKE SA back, every this many executions. */
    private static final int CHECK_EVERY = 500;
    private static final String IKE = "aes256gcm16-prfsha256-x25519";
    private static final String ESP = "aes256gcm16";

    private static final TwoIkePeers PEERS;
    private static final IkeAdminService SERVICE;
    /** The log levels before the fuzzer changed any: put back after each SetLogLevels. */
    private static final SetLogLevelsResponse LEVELS;
    private static int executions;

    static {
        PEERS = new TwoIkePeers();
        PEERS.configurePsk(IKE, IKE, ESP, ESP, "s3cret-s3cret", "s3cret-s3cret", "10.2.0.0/16", "10.2.0.0/16");
        SERVICE = new IkeAdminService(PEERS.alice, ChildSaUsage.NONE, "", () -> 1, LogControl.NODE);
        RecordingCall<SetLogLevelsResponse> levels = RecordingCall.invoke(SERVICE::setLogLevels,
                SetLogLevelsRequest.getDefaultInstance());
        LEVELS = levels.last();
        try {
            up();
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    @AfterAll
    static void stopPeers() throws Exception {
        PEERS.close();
    }

    /** The RPCs, in the order of the first byte (modulo their count). */
    enum Rpc { LIST_IKE_SAS, LIST_CERTS, INITIATE, TERMINATE, REKEY, STATS, WATCH_LOG, SET_LOG_LEVELS }

    @FuzzTest(maxDuration = "15s")
    void call(byte[] bytes) throws Exception {
        FuzzedCall<Rpc> call = FuzzedCall.of(bytes, Rpc.class);
        if (call == null) {
            return;
        }
        byte[] b = call.request();
        try {
            switch (call.rpc()) {
                case LIST_IKE_SAS -> unary(ListIkeSasRequest.parseFrom(b), SERVICE::listIkeSas, RecordingCall.CLIENT_ERRORS);
                case LIST_CERTS -> unary(ListCertsRequest.parseFrom(b), SERVICE::listCerts, Set.of());
                case INITIATE -> unary(InitiateRequest.parseFrom(b), SERVICE::initiate, withAttemptOutcomes());
                case TERMINATE -> unary(TerminateRequest.parseFrom(b), SERVICE::terminate, RecordingCall.CLIENT_ERRORS);
                case REKEY -> unary(RekeyRequest.parseFrom(b), SERVICE::rekey, withAttemptOutcomes());
                case STATS -> unary(StatsRequest.parseFrom(b), SERVICE::stats, Set.of());
                case WATCH_LOG -> watchLog(WatchLogRequest.parseFrom(b));
                case SET_LOG_LEVELS -> setLogLevels(SetLogLevelsRequest.parseFrom(b));
            }
        } catch (InvalidProtocolBufferException e) {
            return; // gRPC's own answer: the call never reaches the service
        }
        if (++executions % CHECK_EVERY == 0) {
            stillServes();
        }
    }

    /** The client errors, and how an attempt on the wire may end (ike.proto, Initiate; Rekeying). */
    private static Set<Status.Code> withAttemptOutcomes() {
        Set<Status.Code> s = EnumSet.copyOf(RecordingCall.CLIENT_ERRORS);
        s.addAll(EnumSet.of(Status.Code.DEADLINE_EXCEEDED, Status.Code.UNAVAILABLE, Status.Code.ABORTED));
        return s;
    }

    private static <Q extends Message, R> Status unary(Q req, BiConsumer<Q, RecordingCall<R>> method,
            Set<Status.Code> allowed) throws InterruptedException {
        return RecordingCall.invoke(method, req).awaitEnd(WAIT, allowed);
    }

    private static void watchLog(WatchLogRequest req) throws InterruptedException {
        RecordingCall<?> call = RecordingCall.invoke(SERVICE::watchLog, req);
        if (call.ended()) {
            call.awaitEnd(WAIT, EnumSet.of(Status.Code.INVALID_ARGUMENT));
        } else {
            call.cancel();
        }
    }

    private static void setLogLevels(SetLogLevelsRequest req) throws InterruptedException {
        unary(req, SERVICE::setLogLevels, EnumSet.of(Status.Code.INVALID_ARGUMENT));
        // Back to the levels the run started with: TRACE everywhere would cost most of the time.
        unary(SetLogLevelsRequest.newBuilder().addAllLevels(LEVELS.getLevelsList()).build(), SERVICE::setLogLevels,
                Set.of());
    }

    /** "to-bob" up with its child "net", as IkeAdminServiceTest brings it up. */
    private static void up() throws InterruptedException {
        RecordingCall<?> call = RecordingCall.invoke(SERVICE::initiate,
                InitiateRequest.newBuilder().setConnection("to-bob").setChild("net").build());
        assertThat(call.awaitEnd(WAIT, Set.of()).isOk()).isTrue();
        assertThat(call.messages()).as("log lines of the attempt").isPositive();
    }

    /** Every IKE SA of "to-bob" terminated, then one initiated again: the engine still does both. */
    private static void stillServes() throws InterruptedException {
        RecordingCall<?> down = RecordingCall.invoke(SERVICE::terminate,
                TerminateRequest.newBuilder().setIke("to-bob").build());
        Status s = down.awaitEnd(WAIT, EnumSet.of(Status.Code.NOT_FOUND, Status.Code.FAILED_PRECONDITION));
        assertThat(s.getCode() == Status.Code.OK || PEERS.alice.ikeSas().isEmpty())
                .as("terminated, or nothing was there to terminate: %s", s).isTrue();
        up();
    }
}
