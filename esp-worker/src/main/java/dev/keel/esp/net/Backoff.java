package dev.keel.esp.net;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/** Exponential reconnect back-off with jitter, reset after a stream delivers something. */
public final class Backoff {

    private final long minMillis;
    private final long maxMillis;
    private long nextMillis;

    public Backoff(Duration min, Duration max) {
        this.minMillis = Math.max(1, min.toMillis());
        this.maxMillis = Math.max(minMillis, max.toMillis());
        this.nextMillis = minMillis;
    }

    /** The delay before the next attempt; doubles up to the maximum. */
    public synchronized long nextDelayMillis() {
        long d = nextMillis;
        nextMillis = Math.min(maxMillis, nextMillis * 2);
        // Up to 20% jitter so many workers do not reconnect in lockstep.
        return d + ThreadLocalRandom.current().nextLong(d / 5 + 1);
    }

    public synchronized void reset() {
        nextMillis = minMillis;
    }
}
