package dev.keel.esp.feed;

import dev.keel.esp.net.Backoff;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import org.slf4j.Logger;

/**
 * One watch subscription kept open: at most one live call (each open is an attempt; responses of
 * an older attempt are ignored), reconnect with back-off after the stream ends, restart and close.
 * Subclasses open the call and apply what it delivers, all under this object's lock.
 */
abstract class ResumableWatch<Req> implements AutoCloseable {

    private final Logger log;
    private final String what;
    private final ScheduledExecutorService scheduler;
    private final Backoff backoff;
    private final LongAdder connects = new LongAdder();

    private int attempt;
    private ClientCallStreamObserver<Req> call;
    private boolean closed;

    ResumableWatch(Logger log, String what, ScheduledExecutorService scheduler, Duration minBackoff,
            Duration maxBackoff) {
        this.log = log;
        this.what = what;
        this.scheduler = scheduler;
        this.backoff = new Backoff(minBackoff, maxBackoff);
    }

    /** Opens the call for attempt {@code mine}, with an observer from {@link #observer}. */
    abstract void open(int mine);

    /** The last revision applied, for the reconnect log line. */
    public abstract long revision();

    final synchronized void connect() {
        if (closed) {
            return;
        }
        int mine = ++attempt;
        connects.increment();
        open(mine);
    }

    /** An observer for attempt {@code mine} that hands responses to {@code apply} while it is current. */
    final <Resp> ClientResponseObserver<Req, Resp> observer(int mine, Consumer<Resp> apply) {
        return new ClientResponseObserver<>() {
            @Override
            public void beforeStart(ClientCallStreamObserver<Req> c) {
                synchronized (ResumableWatch.this) {
                    if (mine == attempt) {
                        call = c;
                    }
                }
            }

            @Override
            public void onNext(Resp r) {
                synchronized (ResumableWatch.this) {
                    if (mine != attempt || closed) {
                        return;
                    }
                    backoff.reset();
                    apply.accept(r);
                }
            }

            @Override
            public void onError(Throwable t) {
                ended(mine, Status.fromThrowable(t).getCode().toString());
            }

            @Override
            public void onCompleted() {
                ended(mine, "completed");
            }
        };
    }

    private synchronized void ended(int mine, String why) {
        if (mine != attempt || closed) {
            return;
        }
        call = null;
        long delay = backoff.nextDelayMillis();
        log.info("{} watch ended ({}); reconnecting in {} ms from revision {}", what, why, delay, revision());
        scheduler.schedule(this::connect, delay, TimeUnit.MILLISECONDS);
    }

    /** Cancels the live call (if any); its end reconnects with back-off like any other end. */
    final synchronized void cancelCall(String why) {
        if (call != null) {
            call.cancel(why, null);
        }
    }

    /** Drops the current stream and reconnects at once, resuming from the last revision. */
    public final synchronized void restart() {
        ClientCallStreamObserver<Req> c = call;
        attempt++;
        call = null;
        if (c != null) {
            c.cancel("restart", null);
        }
        scheduler.execute(this::connect);
    }

    /** Streams opened (first connect and every reconnect). */
    public final long connects() {
        return connects.sum();
    }

    @Override
    public final synchronized void close() {
        closed = true;
        if (call != null) {
            call.cancel("closed", null);
            call = null;
        }
    }
}
