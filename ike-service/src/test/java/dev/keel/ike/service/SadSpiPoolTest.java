package dev.keel.ike.service;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.ike.session.SpiAllocator;
import dev.keel.proto.v1.AllocateSpiRequest;
import dev.keel.proto.v1.AllocateSpiResponse;
import dev.keel.proto.v1.SaServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link SadSpiPool} against a sad-service stand-in that counts the AllocateSpi calls and hands
 * out consecutive SPIs: batches ahead of need, one refill at a time when half a batch is left,
 * no SPI twice, old reservations dropped, a random SPI (counted) when the pool is empty.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class SadSpiPoolTest {

    private final List<AllocateSpiRequest> calls = new CopyOnWriteArrayList<>();
    private final AtomicInteger next = new AtomicInteger(1_000);
    private final AtomicBoolean failing = new AtomicBoolean();
    private final AtomicLong now = new AtomicLong(0);
    private final AtomicInteger fallbackSpi = new AtomicInteger(900_000);
    private Server server;
    private ManagedChannel channel;
    private SadSpiPool pool;

    @BeforeEach
    void sadService() throws Exception {
        String name = InProcessServerBuilder.generateName();
        server = InProcessServerBuilder.forName(name).addService(new SaServiceGrpc.SaServiceImplBase() {
            @Override
            public void allocateSpi(AllocateSpiRequest req, StreamObserver<AllocateSpiResponse> out) {
                calls.add(req);
                if (failing.get()) {
                    out.onError(Status.UNAVAILABLE.withDescription("sad-service down").asRuntimeException());
                    return;
                }
                AllocateSpiResponse.Builder r = AllocateSpiResponse.newBuilder();
                for (int i = 0; i < req.getCount(); i++) {
                    r.addSpis(next.getAndIncrement());
                }
                out.onNext(r.setSpi(r.getSpis(0)).build());
                out.onCompleted();
            }
        }).build().start();
        channel = InProcessChannelBuilder.forName(name).build();
        SpiAllocator fallback = new SpiAllocator() {
            @Override
            public int allocate() {
                return fallbackSpi.getAndIncrement();
            }

            @Override
            public void release(int spi) {
            }

            @Override
            public void reserve(int spi) {
            }
        };
        pool = new SadSpiPool(channel, fallback, now::get);
    }

    @AfterEach
    void close() {
        pool.close();
        channel.shutdownNow();
        server.shutdownNow();
    }

    @Test
    void setupsTakeReservedSpisAndTheRefillGoesAheadOfNeed() throws Exception {
        pool.start().toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertThat(calls).hasSize(1);
        assertThat(calls.getFirst().getCount()).isEqualTo(SadSpiPool.BATCH);
        assertThat(calls.getFirst().getReservationSeconds()).isEqualTo(3600);
        assertThat(pool.available()).isEqualTo(SadSpiPool.BATCH);

        Set<Integer> handed = new HashSet<>();
        for (int i = 0; i < SadSpiPool.BATCH / 2; i++) {
            handed.add(pool.allocate());
        }
        assertThat(calls).as("half a batch left: not yet").hasSize(1);
        handed.add(pool.allocate());
        awaitCalls(2);
        int inPool = SadSpiPool.BATCH + SadSpiPool.BATCH / 2 - 1;
        awaitAvailable(inPool);
        for (int i = 0; i < inPool; i++) {
            handed.add(pool.allocate());
        }
        awaitCalls(3); // below half a batch again on the way
        assertThat(handed).as("no SPI twice").hasSize(2 * SadSpiPool.BATCH);
        assertThat(pool.fallbacks()).isZero();
        assertThat(pool.handedOut()).isEqualTo(handed.size());
    }

    @Test
    void reservationsTooOldAreDroppedAndAnEmptyPoolFallsBackToARandomSpi() throws Exception {
        pool.start().toCompletableFuture().get(10, TimeUnit.SECONDS);
        failing.set(true); // refills fail from now on
        now.addAndGet(Duration.ofMinutes(51).toNanos());
        int spi = pool.allocate();
        assertThat(spi).as("every pooled SPI is too old to hand out: a random one").isEqualTo(900_000);
        assertThat(pool.expired()).isEqualTo(SadSpiPool.BATCH);
        assertThat(pool.fallbacks()).isEqualTo(1);
        awaitCalls(2);

        failing.set(false);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        List<Integer> later = new ArrayList<>();
        while (pool.available() == 0 && System.nanoTime() < deadline) {
            later.add(pool.allocate()); // each empty allocation asks again: the pool recovers
            Thread.sleep(10);
        }
        assertThat(pool.available()).as("refilled once sad-service answers").isPositive();
        assertThat(pool.allocate()).isGreaterThanOrEqualTo(1_000).isLessThan(900_000);
    }

    private void awaitCalls(int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (calls.size() < n && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertThat(calls).hasSize(n);
    }

    private void awaitAvailable(int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (pool.available() != n && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertThat(pool.available()).isEqualTo(n);
    }
}
