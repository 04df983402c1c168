package dev.keel.esp.acquire;

import dev.keel.core.net.IpAddress;
import dev.keel.core.packet.IpPacketInfo;
import dev.keel.core.spd.SpdEntry;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.LongAdder;

/**
 * Rate-limits acquires: at most one in flight per policy (SPD entry name); the slot re-arms after
 * {@code timeout} (the IKE exchange failed or was lost) or when an SA for the child arrives
 * ({@link #clear}). Called from any event loop: a packet that finds an acquire in flight costs one
 * map read and no allocation; only the packet that fires allocates the event, and the listener
 * runs on {@code executor}, off the loop.
 */
public final class AcquireLimiter {

    private final AcquireListener listener;
    private final Executor executor;
    private final long timeoutNanos;
    /** Policy name → nanoTime until which its acquire is in flight. */
    private final ConcurrentHashMap<String, Long> inFlight = new ConcurrentHashMap<>();
    private final LongAdder fired = new LongAdder();
    private final LongAdder suppressed = new LongAdder();

    public AcquireLimiter(AcquireListener listener, Executor executor, Duration timeout) {
        this.listener = listener;
        this.executor = executor;
        this.timeoutNanos = timeout.toNanos();
        if (timeoutNanos <= 0) {
            throw new IllegalArgumentException("acquire timeout must be positive, not " + timeout);
        }
    }

    /**
     * A packet parsed into {@code info} hit PROTECT entry {@code policy} without an SA: fires an
     * acquire unless one is in flight. Returns whether it fired.
     */
    public boolean onMiss(SpdEntry policy, IpPacketInfo info, byte[] packet) {
        String key = policy.name();
        long now = System.nanoTime();
        Long until = inFlight.get(key);
        if (until != null && until - now > 0) {
            suppressed.increment();
            return false;
        }
        Long next = now + timeoutNanos;
        boolean won = until == null ? inFlight.putIfAbsent(key, next) == null : inFlight.replace(key, until, next);
        if (!won) {
            suppressed.increment();
            return false;
        }
        fired.increment();
        boolean v6 = info.isIpv6();
        Acquire a = new Acquire(policy, IpAddress.fromBytes(packet, info.sourceOffset(), v6),
                IpAddress.fromBytes(packet, info.destinationOffset(), v6), info.protocol(), info.sourcePort(),
                info.destinationPort(), now);
        try {
            executor.execute(() -> listener.onAcquire(a));
        } catch (RuntimeException e) {
            inFlight.remove(key, next); // executor shut down: let a later packet try again
        }
        return true;
    }

    /** The child's SA arrived (or the IKE service gave up): the next miss may acquire at once. */
    public void clear(String policyName) {
        inFlight.remove(policyName);
    }

    /** Acquires sent to the listener. */
    public long fired() {
        return fired.sum();
    }

    /** Misses that found an acquire in flight. */
    public long suppressed() {
        return suppressed.sum();
    }
}
