package dev.keel.rpc;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

/**
 * One server call as a service's {@code *ImplBase} method sees it when a test calls the method
 * directly (no channel, no transport): records what the method answers and checks it as a client
 * would see it. The fuzz targets of the gRPC services use it (docs/security.md, "Fuzzing"): every
 * call must end, with {@code onCompleted} or a precise status with a description, and nothing may
 * be sent after the end.
 */
public final class RecordingCall<T> extends ServerCallStreamObserver<T> {

    /** The statuses a bad request may be answered with: each says what the client got wrong. */
    public static final Set<Status.Code> CLIENT_ERRORS = EnumSet.of(Status.Code.INVALID_ARGUMENT,
            Status.Code.NOT_FOUND, Status.Code.ALREADY_EXISTS, Status.Code.FAILED_PRECONDITION,
            Status.Code.OUT_OF_RANGE, Status.Code.PERMISSION_DENIED, Status.Code.RESOURCE_EXHAUSTED);

    /** Counted down at the first message or the end. */
    private final CountDownLatch answered = new CountDownLatch(1);
    private final CountDownLatch endLatch = new CountDownLatch(1);
    private volatile Runnable onCancel;
    private volatile boolean cancelled;
    private volatile boolean ended;
    private volatile Throwable error;
    private volatile int messages;
    private volatile T last;
    /** The first thing the method did wrong (sent after the end, ended twice), or null. */
    private volatile String misuse;

    /** A call to hand to a bidirectional-streaming method (which returns its request observer). */
    public RecordingCall() {
    }

    /**
     * Calls {@code method} (a service's {@code *ImplBase} method) with {@code request} and a new
     * call, as the server would: anything the method throws is a fault (gRPC would answer
     * UNKNOWN), so it fails the target here.
     */
    public static <Q, T> RecordingCall<T> invoke(BiConsumer<Q, RecordingCall<T>> method, Q request) {
        RecordingCall<T> call = new RecordingCall<>();
        try {
            method.accept(request, call);
        } catch (RuntimeException e) {
            throw new AssertionError("the method threw instead of answering (a client gets UNKNOWN): " + e, e);
        }
        return call;
    }

    @Override
    public synchronized void onNext(T value) {
        assertThat(value).as("a message sent").isNotNull();
        if (ended && misuse == null) {
            misuse = "onNext after the call ended";
        }
        messages++;
        last = value;
        answered.countDown();
    }

    @Override
    public synchronized void onError(Throwable t) {
        if (!ended) {
            error = t; // before end(): a waiting thread reads it once the end is counted down
        }
        end("onError");
        answered.countDown();
    }

    @Override
    public synchronized void onCompleted() {
        end("onCompleted");
        answered.countDown();
    }

    private void end(String how) {
        if (ended && misuse == null) {
            misuse = how + " after the call ended";
        }
        ended = true;
        endLatch.countDown();
    }

    /**
     * Waits at most {@code wait} for the call to end, then checks how: completed, or failed with
     * a StatusRuntimeException / StatusException whose code is one of {@code allowed} and whose
     * description is not blank.
     *
     * @return the status the call ended with (OK when completed)
     */
    public Status awaitEnd(Duration wait, Set<Status.Code> allowed) throws InterruptedException {
        assertThat(ended || endLatch.await(wait.toNanos(), TimeUnit.NANOSECONDS))
                .as("the call ended within %s", wait).isTrue();
        return checkEnd(allowed);
    }

    /**
     * For a server-streaming call that runs until the client cancels: waits at most {@code wait}
     * for a first message or the end, checks an end as {@link #awaitEnd} does, then cancels the
     * call as a client going away would.
     */
    public Status awaitFirstThenCancel(Duration wait, Set<Status.Code> allowed) throws InterruptedException {
        assertThat(answered.await(wait.toNanos(), TimeUnit.NANOSECONDS))
                .as("a first message or the end within %s", wait).isTrue();
        Status status = ended ? checkEnd(allowed) : Status.OK;
        cancel();
        return status;
    }

    /** The client cancels: runs the cancel handler the method set, as gRPC does. */
    public void cancel() {
        cancelled = true;
        Runnable r = onCancel;
        if (r != null && !ended) {
            r.run();
        }
    }

    private Status checkEnd(Set<Status.Code> allowed) {
        assertThat(misuse).as("what the method sent").isNull();
        Throwable t = error;
        if (t == null) {
            return Status.OK;
        }
        assertThat(t).as("the error a client gets")
                .isInstanceOfAny(StatusRuntimeException.class, StatusException.class);
        Status s = Status.fromThrowable(t);
        assertThat(s.getCode()).as("the status of %s", s).isIn(allowed);
        assertThat(s.getDescription()).as("the description of %s", s).isNotBlank();
        return s;
    }

    /** Messages sent so far. */
    public int messages() {
        return messages;
    }

    /** The last message sent, or null. */
    public T last() {
        return last;
    }

    /** Whether the call ended (completed or failed). */
    public boolean ended() {
        return ended;
    }

    @Override
    public boolean isCancelled() {
        return cancelled;
    }

    @Override
    public void setOnCancelHandler(Runnable onCancelHandler) {
        this.onCancel = onCancelHandler;
    }

    @Override
    public void setOnCloseHandler(Runnable onCloseHandler) {
        // nothing to close: there is no transport
    }

    @Override
    public void setCompression(String compression) {
    }

    @Override
    public boolean isReady() {
        return true;
    }

    @Override
    public void setOnReadyHandler(Runnable onReadyHandler) {
    }

    @Override
    public void disableAutoInboundFlowControl() {
    }

    @Override
    public void request(int count) {
    }

    @Override
    public void setMessageCompression(boolean enable) {
    }
}
