package dev.keel.ike.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.keel.ike.net.IkeRelayService;
import dev.keel.proto.v1.RelayFrame;
import dev.keel.rpc.RecordingCall;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Set;

/**
 * keel.v1.IkeRelay's Relay stream into the real {@link IkeRelayService}, in-process (no socket):
 * up to eight RelayFrames (2-byte length framing), each parsed as gRPC would; an unparsable one
 * ends the call as gRPC does (the server sees a cancel). The service never throws out of the
 * stream; a refused hello ends the call with INVALID_ARGUMENT or PERMISSION_DENIED and a
 * description, nothing is sent after the end, and once the worker half-closes or is cancelled the
 * call is over and no worker stays attached.
 */
class IkeRelayFuzzTest {

    private static final InetAddress OUTER = InetAddress.ofLiteral("192.0.2.10");
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final Set<Status.Code> REFUSALS = EnumSet.of(Status.Code.INVALID_ARGUMENT,
            Status.Code.PERMISSION_DENIED);
    private static final IkeRelayService RELAY = new IkeRelayService("ike1", OUTER, 500, 4500, 1_000);

    static {
        RELAY.receiver((port, peer, buf, off, len) -> { });
    }

    @FuzzTest(maxDuration = "15s")
    void relay(byte[] bytes) throws InterruptedException {
        RecordingCall<RelayFrame> call = new RecordingCall<>();
        StreamObserver<RelayFrame> worker;
        try {
            worker = RELAY.relay(call);
        } catch (RuntimeException e) {
            throw new AssertionError("relay threw instead of answering: " + e, e);
        }
        ByteBuffer in = ByteBuffer.wrap(bytes);
        for (int i = 0; i < 8 && in.remaining() >= 2 && !call.ended(); i++) {
            int length = Math.min(Short.toUnsignedInt(in.getShort()), in.remaining());
            byte[] frame = new byte[length];
            in.get(frame);
            RelayFrame f;
            try {
                f = RelayFrame.parseFrom(frame);
            } catch (InvalidProtocolBufferException e) {
                call.cancel(); // gRPC closes the call on a message it cannot parse
                break;
            }
            try {
                worker.onNext(f);
            } catch (RuntimeException e) {
                throw new AssertionError("the relay threw on a frame: " + e, e);
            }
        }
        if (!call.ended() && !call.isCancelled()) {
            try {
                worker.onCompleted(); // the worker half-closes
            } catch (RuntimeException e) {
                throw new AssertionError("the relay threw on the half-close: " + e, e);
            }
            assertThat(call.awaitEnd(WAIT, REFUSALS).isOk()).as("a half-closed relay completes").isTrue();
        } else if (call.ended()) {
            call.awaitEnd(WAIT, REFUSALS);
        }
        assertThat(RELAY.workers()).as("workers attached once the call is over").isZero();
    }
}
