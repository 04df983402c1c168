package dev.keel.ike.session;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.internal.VertxInternal;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.time.Duration;

/** An {@link IkeSaExecutor} on one Vert.x event-loop context: IKE SAs spread over the loops. */
public final class VertxIkeSaExecutor implements IkeSaExecutor {

    private final Context context;

    /** Runs on {@code context}. */
    public VertxIkeSaExecutor(Context context) {
        this.context = context;
    }

    /**
     * Executors on {@code loops} event-loop contexts of {@code vertx}, handed out in turn, so that
     * IKE SAs spread over the loops (each IKE SA stays on one).
     */
    public static Supplier<IkeSaExecutor> roundRobin(Vertx vertx, int loops) {
        List<IkeSaExecutor> all = new ArrayList<>();
        for (int i = 0; i < loops; i++) {
            all.add(new VertxIkeSaExecutor(((VertxInternal) vertx).createEventLoopContext()));
        }
        AtomicInteger next = new AtomicInteger();
        return () -> all.get(Math.floorMod(next.getAndIncrement(), all.size()));
    }

    @Override
    public void execute(Runnable action) {
        context.runOnContext(v -> action.run());
    }

    @Override
    public Cancellable schedule(Duration delay, Runnable action) {
        long ms = Math.max(1, delay.toMillis());
        if (Vertx.currentContext() == context) {
            long id = context.owner().setTimer(ms, t -> action.run());
            return () -> context.owner().cancelTimer(id);
        }
        // a timer set off this context would fire on another one: hop first
        long[] id = new long[1];
        context.runOnContext(v -> id[0] = context.owner().setTimer(ms, t -> action.run()));
        return () -> context.runOnContext(v -> context.owner().cancelTimer(id[0]));
    }

    @Override
    public long nowMillis() {
        return System.nanoTime() / 1_000_000;
    }
}
