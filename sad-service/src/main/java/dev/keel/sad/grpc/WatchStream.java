package dev.keel.sad.grpc;

import dev.keel.proto.v1.SaEvent;
import dev.keel.proto.v1.WatchRequest;
import dev.keel.proto.v1.WatchResponse;
import dev.keel.sad.Validation;
import dev.keel.sad.watch.SaEventHub;
import dev.keel.sad.watch.Subscription;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One Watch call: drains its {@link Subscription} into the gRPC stream while the transport is
 * ready (flow control), in batches, on one drain at a time. A client too slow to keep up is
 * ended with RESOURCE_EXHAUSTED and resumes from its last revision.
 */
final class WatchStream {

    private static final int BATCH = 256;

    private final ServerCallStreamObserver<WatchResponse> out;
    private final Subscription sub;
    private final SaEventHub hub;
    private final Executor executor;
    private final AtomicBoolean scheduled = new AtomicBoolean();
    private volatile boolean first = true;
    private volatile boolean done;

    private WatchStream(ServerCallStreamObserver<WatchResponse> out, Subscription sub, SaEventHub hub,
            Executor executor) {
        this.out = out;
        this.sub = sub;
        this.hub = hub;
        this.executor = executor;
    }

    static void start(WatchRequest req, StreamObserver<WatchResponse> observer, SaEventHub hub, Executor executor) {
        Validation.optionalNode("owner_node_id", req.getOwnerNodeId());
        ServerCallStreamObserver<WatchResponse> out = (ServerCallStreamObserver<WatchResponse>) observer;
        Subscription sub = new Subscription(req, 1 << 16);
        WatchStream w = new WatchStream(out, sub, hub, executor);
        sub.onAvailable(w::schedule);
        out.setOnReadyHandler(w::schedule);
        out.setOnCancelHandler(w::finish);
        hub.subscribe(req, sub);
        w.schedule();
    }

    private void schedule() {
        if (!done && scheduled.compareAndSet(false, true)) {
            executor.execute(this::drain);
        }
    }

    private void drain() {
        try {
            while (!done && out.isReady()) {
                if (sub.overflowed()) {
                    done = true;
                    hub.unsubscribe(sub);
                    out.onError(Status.RESOURCE_EXHAUSTED.withDescription(
                            "watch client fell too far behind; reconnect with stream_id and the last revision")
                            .asRuntimeException());
                    return;
                }
                List<SaEvent> batch = sub.poll(BATCH);
                if (batch.isEmpty()) {
                    break;
                }
                WatchResponse.Builder r = WatchResponse.newBuilder().setStreamId(sub.streamId()).addAllEvents(batch);
                if (first) {
                    r.setResumed(sub.resumed());
                    first = false;
                }
                out.onNext(r.build());
            }
        } catch (RuntimeException e) {
            finish();
            return;
        } finally {
            scheduled.set(false);
        }
        if (!done && !sub.isEmpty() && out.isReady()) {
            schedule();
        }
    }

    private void finish() {
        done = true;
        hub.unsubscribe(sub);
    }
}
