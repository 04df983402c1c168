package dev.keel.esp.net;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.esp.net.UnknownSpiReports.Outcome;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The worker's reports of ESP with an unknown SPI: one per SPI per period, a rate for everything
 * together, every packet counted by what became of its report.
 */
@Timeout(60)
class UnknownSpiReportsTest {

    private static final InetSocketAddress PEER = new InetSocketAddress("198.51.100.7", 4500);

    @Test
    void aFloodOfRandomSpisIsReportedAtTheRateAndTheRestCounted() throws Exception {
        UnknownSpiReports.Limits limits = new UnknownSpiReports.Limits(Duration.ofMillis(500), 200, 20);
        AtomicInteger reported = new AtomicInteger();
        UnknownSpiReports r = new UnknownSpiReports((spi, sender) -> reported.incrementAndGet() >= 0, limits);
        long start = System.nanoTime();
        long end = start + Duration.ofMillis(1_000).toNanos();
        AtomicLong sent = new AtomicLong();
        List<Thread> loops = new ArrayList<>();
        for (int t = 0; t < 4; t++) { // four event loops at once
            SplittableRandom random = new SplittableRandom(t);
            loops.add(Thread.ofPlatform().start(() -> {
                long n = 0;
                while (System.nanoTime() < end) {
                    r.onUnknownSpi(random.nextInt(), PEER);
                    n++;
                }
                sent.addAndGet(n);
            }));
        }
        for (Thread t : loops) {
            t.join();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        long bound = (long) (limits.burst() + limits.perSecond() * seconds) + 1;
        System.out.printf("%d packets with random SPIs in %.2f s from 4 threads: %d reports (bound %d), rate %d,"
                + " repeated %d%n", sent.get(), seconds, reported.get(), bound, r.count(Outcome.RATE),
                r.count(Outcome.REPEATED));
        assertThat(reported.get()).isPositive().isLessThanOrEqualTo((int) bound);
        assertThat(r.count(Outcome.REPORTED)).isEqualTo(reported.get());
        assertThat(r.count(Outcome.REPORTED) + r.count(Outcome.RATE) + r.count(Outcome.REPEATED)
                + r.count(Outcome.NOT_QUEUED)).as("every packet counted once").isEqualTo(sent.get());
        assertThat(r.count(Outcome.RATE)).isGreaterThan(sent.get() / 2);
    }

    @Test
    void oneSpiIsReportedOncePerPeriod() {
        long[] now = {1_000_000_000L};
        List<Integer> reports = new CopyOnWriteArrayList<>();
        UnknownSpiReports r = new UnknownSpiReports((spi, sender) -> reports.add(spi),
                UnknownSpiReports.Limits.DEFAULTS, () -> now[0]);
        for (int i = 0; i < 1_000; i++) {
            r.onUnknownSpi(0x0a0b_0c0d, PEER);
            now[0] += 400_000; // 0.4 ms apart: 400 ms in all
        }
        assertThat(reports).containsExactly(0x0a0b_0c0d);
        assertThat(r.count(Outcome.REPEATED)).isEqualTo(999);
        now[0] += 100_000_000; // 500 ms after the first
        r.onUnknownSpi(0x0a0b_0c0d, PEER);
        r.onUnknownSpi(0x0e0e_0e0e, PEER); // another SPI meanwhile: its own report
        assertThat(reports).containsExactly(0x0a0b_0c0d, 0x0a0b_0c0d, 0x0e0e_0e0e);
    }

    @Test
    void aReportTheRelayCannotTakeIsCountedNotQueued() {
        UnknownSpiReports r = new UnknownSpiReports((spi, sender) -> false, UnknownSpiReports.Limits.DEFAULTS);
        r.onUnknownSpi(1, PEER);
        r.onUnknownSpi(1, PEER);
        assertThat(r.count(Outcome.NOT_QUEUED)).isEqualTo(1);
        assertThat(r.count(Outcome.REPEATED)).isEqualTo(1);
        assertThat(r.count(Outcome.REPORTED)).isZero();
    }
}
