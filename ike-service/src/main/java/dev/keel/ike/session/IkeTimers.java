package dev.keel.ike.session;

import java.time.Duration;

/**
 * Timers for one IKE SA, all firing on the thread that owns that IKE SA (its Vert.x context in
 * production, the test's own thread with a manual clock in tests).
 */
public interface IkeTimers {

    /** Runs {@code action} once after {@code delay} unless cancelled first. */
    Cancellable schedule(Duration delay, Runnable action);

    /** Runs {@code action} on the IKE SA's thread soon (from another thread: a completed future's callback). */
    default void execute(Runnable action) {
        schedule(Duration.ZERO, action);
    }

    /** Milliseconds on a monotonic clock. */
    long nowMillis();

    /**
     * Wall-clock time, Unix epoch milliseconds: deadlines another node carries on after a takeover
     * (docs/ha.md) are kept in it, since monotonic clocks differ between nodes.
     */
    default long epochMillis() {
        return System.currentTimeMillis();
    }

    /** A scheduled action that can still be cancelled. */
    @FunctionalInterface
    interface Cancellable {
        /** Cancels the action; harmless when it already ran or was cancelled. */
        void cancel();
    }
}
