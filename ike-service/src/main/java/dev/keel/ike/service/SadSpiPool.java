package dev.keel.ike.service;

import dev.keel.ike.session.RandomSpiAllocator;
import dev.keel.ike.session.SpiAllocator;
import dev.keel.proto.v1.AllocateSpiRequest;
import dev.keel.proto.v1.SaServiceGrpc;
import io.grpc.Channel;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Inbound SPIs unique across the cluster (issue 12 item 4; docs/sad.md, "SPIs"): reserved
 * in sad-service with AllocateSpi, a batch at a time, ahead of need, so that a setup takes one
 * from memory on the event loop and never waits for a remote call (DESIGN §3). When fewer than
 * half a batch are left, one refill goes out (one at a time). Each SPI is reserved for an hour and
 * handed out within 50 minutes of its reservation, so the SAD still holds it for the install that
 * binds it; older ones are dropped (their reservations run out on their own).
 *
 * <p>When the pool is empty (sad-service unreachable, or setups outrunning the refills) a setup
 * gets a random SPI as before, counted in {@link #fallbacks()} and logged at most once a minute:
 * the SAD's install still refuses an SPI bound to another SA, so a collision fails that CHILD SA
 * instead of sharing an SPI. Released and taken-over SPIs need nothing here: the SAD unbinds an
 * SPI once its SA's tombstone is purged and keeps the binding of an SA that changes owner.
 */
public final class SadSpiPool implements SpiAllocator, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SadSpiPool.class);
    /** SPIs asked for per AllocateSpi. */
    static final int BATCH = 256;
    /** How long a reservation holds (AllocateSpi's maximum). */
    static final Duration RESERVATION = Duration.ofHours(1);
    /** An SPI reserved longer ago than this is not handed out: its reservation may end before the install. */
    static final Duration HAND_OUT_WITHIN = Duration.ofMinutes(50);

    private record Reserved(int spi, long reservedAtNanos) {
    }

    private final SaServiceGrpc.SaServiceBlockingStub sad;
    private final SpiAllocator fallback;
    private final LongSupplier clock;
    private final ConcurrentLinkedQueue<Reserved> pool = new ConcurrentLinkedQueue<>();
    private final AtomicInteger size = new AtomicInteger();
    private final AtomicBoolean refilling = new AtomicBoolean();
    private final ExecutorService calls = Executors.newThreadPerTaskExecutor(
            Thread.ofVirtual().name("keel-spi-pool-", 0).factory());
    private final LongAdder reserved = new LongAdder();
    private final LongAdder handedOut = new LongAdder();
    private final LongAdder fallbacks = new LongAdder();
    private final LongAdder expired = new LongAdder();
    private final LongAdder failedRefills = new LongAdder();
    private final AtomicLong lastWarning = new AtomicLong(System.nanoTime() - TimeUnit.MINUTES.toNanos(2));

    /** A pool fed by the sad-service behind {@code saService}; nothing is reserved before {@link #start()}. */
    public SadSpiPool(Channel saService) {
        this(saService, new RandomSpiAllocator(new SecureRandom()), System::nanoTime);
    }

    SadSpiPool(Channel saService, SpiAllocator fallback, LongSupplier clock) {
        this.sad = SaServiceGrpc.newBlockingStub(saService);
        this.fallback = fallback;
        this.clock = clock;
    }

    /** Reserves the first batch; the stage completes when it is in the pool (or failed: then refills retry). */
    public CompletionStage<Void> start() {
        return refill();
    }

    @Override
    public int allocate() {
        long now = clock.getAsLong();
        try {
            for (Reserved r = pool.poll(); r != null; r = pool.poll()) {
                size.decrementAndGet();
                if (now - r.reservedAtNanos() <= HAND_OUT_WITHIN.toNanos()) {
                    handedOut.increment();
                    return r.spi();
                }
                expired.increment();
            }
        } finally {
            if (size.get() < BATCH / 2) {
                refill();
            }
        }
        fallbacks.increment();
        long last = lastWarning.get();
        if (now - last > TimeUnit.MINUTES.toNanos(1) && lastWarning.compareAndSet(last, now)) {
            LOG.warn("no SPI reserved in sad-service left ({} random SPIs so far, {} refills failed):"
                    + " a random one, which the install refuses if another SA has it", fallbacks.sum(),
                    failedRefills.sum());
        }
        return fallback.allocate();
    }

    /** Asks for a batch unless a refill is under way; the stage completes when it is done. */
    private CompletionStage<Void> refill() {
        if (!refilling.compareAndSet(false, true)) {
            return CompletableFuture.completedFuture(null);
        }
        CompletableFuture<Void> done = new CompletableFuture<>();
        try {
            calls.execute(() -> {
                try {
                    long at = clock.getAsLong();
                    var response = sad.withDeadlineAfter(10, TimeUnit.SECONDS).allocateSpi(AllocateSpiRequest
                            .newBuilder().setCount(BATCH).setReservationSeconds((int) RESERVATION.toSeconds()).build());
                    for (int spi : response.getSpisList()) {
                        pool.add(new Reserved(spi, at));
                    }
                    size.addAndGet(response.getSpisCount());
                    reserved.add(response.getSpisCount());
                } catch (RuntimeException e) {
                    failedRefills.increment();
                    LOG.debug("AllocateSpi for the SPI pool failed: {}", e.toString());
                } finally {
                    refilling.set(false);
                    done.complete(null);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            refilling.set(false); // closed
            done.complete(null);
        }
        return done;
    }

    @Override
    public void release(int spi) {
        // The SAD unbinds an SPI once its SA's tombstone is gone; one never installed runs out of reservation.
    }

    @Override
    public void reserve(int spi) {
        // A taken-over SA keeps its SPI's binding in the SAD.
    }

    /** SPIs in the pool now. */
    public int available() {
        return size.get();
    }

    /** SPIs reserved in sad-service so far. */
    public long reserved() {
        return reserved.sum();
    }

    /** SPIs handed out from the pool. */
    public long handedOut() {
        return handedOut.sum();
    }

    /** Random SPIs handed out because the pool was empty. */
    public long fallbacks() {
        return fallbacks.sum();
    }

    /** Pooled SPIs dropped because their reservation had grown too old. */
    public long expired() {
        return expired.sum();
    }

    @Override
    public void close() {
        calls.shutdownNow();
    }
}
