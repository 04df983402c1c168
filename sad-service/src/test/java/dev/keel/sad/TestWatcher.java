package dev.keel.sad;

import dev.keel.proto.v1.SaEvent;
import dev.keel.proto.v1.SaServiceGrpc;
import dev.keel.proto.v1.WatchRequest;
import dev.keel.proto.v1.WatchResponse;
import io.grpc.Context;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/** Collects a Watch stream into a queue. */
final class TestWatcher implements StreamObserver<WatchResponse>, AutoCloseable {
    final BlockingQueue<SaEvent> events = new ArrayBlockingQueue<>(100_000);
    final List<WatchResponse> responses = Collections.synchronizedList(new ArrayList<>());
    final Context.CancellableContext ctx = Context.current().withCancellation();
    final CountDownLatch done = new CountDownLatch(1);
    volatile String streamId = "";
    volatile long lastRevision;

    TestWatcher(SaServiceGrpc.SaServiceStub stub, WatchRequest req) {
        ctx.run(() -> stub.watch(req, this));
    }

    @Override
    public void onNext(WatchResponse r) {
        responses.add(r);
        streamId = r.getStreamId();
        for (SaEvent e : r.getEventsList()) {
            lastRevision = e.getRevision();
            events.add(e);
        }
    }

    @Override
    public void onError(Throwable t) {
        done.countDown();
    }

    @Override
    public void onCompleted() {
        done.countDown();
    }

    /** The first event matching {@code p} within 10 s; the events before it are consumed. */
    SaEvent await(Predicate<SaEvent> p) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            SaEvent e = events.poll(100, TimeUnit.MILLISECONDS);
            if (e != null && p.test(e)) {
                return e;
            }
        }
        throw new AssertionError("no matching watch event in 10 s");
    }

    @Override
    public void close() {
        ctx.cancel(null);
    }
}
