package dev.keel.esp.feed;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * Install before use (docs/ha.md): waits until a CHILD SA pair is usable in this data plane
 * ({@link SaTables#pairUsable}, and whatever else the caller adds) by looking again on a scheduler
 * of its own, never on an event loop. The gateway holds its IKE response on it; a fed worker
 * answers ike-service's question with it.
 */
public final class UsableWait {

    private UsableWait() {
    }

    /**
     * Completes with true once {@code usable} holds, asked at once and then every {@code
     * periodMicros} on {@code scheduler}; with false at {@code giveUpNanos} ({@link System#nanoTime})
     * or when the scheduler is shut down.
     */
    public static CompletableFuture<Boolean> until(ScheduledExecutorService scheduler, BooleanSupplier usable,
            long giveUpNanos, long periodMicros) {
        CompletableFuture<Boolean> done = new CompletableFuture<>();
        Runnable[] check = new Runnable[1];
        check[0] = () -> {
            if (usable.getAsBoolean()) {
                done.complete(true);
            } else if (System.nanoTime() - giveUpNanos < 0) {
                try {
                    scheduler.schedule(check[0], periodMicros, TimeUnit.MICROSECONDS);
                } catch (RejectedExecutionException e) {
                    done.complete(false); // closing
                }
            } else {
                done.complete(false);
            }
        };
        try {
            scheduler.execute(check[0]);
        } catch (RejectedExecutionException e) {
            done.complete(false); // closing
        }
        return done;
    }
}
