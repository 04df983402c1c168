package dev.keel.ike.service;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The three bounds of {@link ClaimGate}, on a clock the test moves. */
class ClaimGateTest {

    private final AtomicLong now = new AtomicLong(1_000_000_000L);

    private ClaimGate gate(int outstanding, int perSecond, int burst) {
        return new ClaimGate(new ClaimGate.Limits(Duration.ofSeconds(1), outstanding, perSecond, burst), now::get);
    }

    private void advanceMillis(long ms) {
        now.addAndGet(TimeUnit.MILLISECONDS.toNanos(ms));
    }

    @Test
    void oneLookUpPerSpiPerSecond() {
        ClaimGate g = gate(64, 1_000, 64);
        assertThat(g.admit(0x1234)).isEqualTo(ClaimGate.Verdict.ADMITTED);
        g.release();
        advanceMillis(999);
        assertThat(g.admit(0x1234)).isEqualTo(ClaimGate.Verdict.REPEATED);
        assertThat(g.admit(0x1235)).as("another SPI").isEqualTo(ClaimGate.Verdict.ADMITTED);
        g.release();
        advanceMillis(1);
        assertThat(g.admit(0x1234)).isEqualTo(ClaimGate.Verdict.ADMITTED);
        g.release();
        assertThat(g.outstanding()).isZero();
    }

    @Test
    void atMostOutstandingLookUpsUnderWay() {
        ClaimGate g = gate(3, 1_000, 64);
        for (int spi = 1; spi <= 3; spi++) {
            assertThat(g.admit(spi)).isEqualTo(ClaimGate.Verdict.ADMITTED);
        }
        assertThat(g.admit(4)).isEqualTo(ClaimGate.Verdict.BUSY);
        g.release();
        assertThat(g.admit(4)).as("a refused SPI is not remembered: its next packet tries again")
                .isEqualTo(ClaimGate.Verdict.ADMITTED);
        assertThat(g.outstanding()).isEqualTo(3);
    }

    @Test
    void theRateIsABucketOfBurstSizeRefilledAtTheRate() {
        ClaimGate g = gate(1_000, 100, 10);
        int admitted = 0;
        for (int spi = 1; spi <= 50; spi++) {
            if (g.admit(spi) == ClaimGate.Verdict.ADMITTED) {
                admitted++;
                g.release();
            }
        }
        assertThat(admitted).as("a burst").isEqualTo(10);
        assertThat(g.admit(51)).isEqualTo(ClaimGate.Verdict.RATE);
        advanceMillis(100); // 10 ms per look-up at 100 a second
        admitted = 0;
        for (int spi = 100; spi < 150; spi++) {
            if (g.admit(spi) == ClaimGate.Verdict.ADMITTED) {
                admitted++;
                g.release();
            }
        }
        assertThat(admitted).isEqualTo(10);
        assertThat(g.outstanding()).isZero();
    }

    @Test
    void anIkeSpiPairIsOneKey() {
        ClaimGate g = gate(64, 1_000, 64);
        assertThat(g.admit(ClaimGate.ikeKey(0x1122334455667788L, 0x99aabbccddeeff00L)))
                .isEqualTo(ClaimGate.Verdict.ADMITTED);
        assertThat(g.admit(ClaimGate.ikeKey(0x1122334455667788L, 0x99aabbccddeeff00L)))
                .isEqualTo(ClaimGate.Verdict.REPEATED);
        assertThat(g.admit(ClaimGate.ikeKey(0x1122334455667788L, 0x99aabbccddeeff01L)))
                .as("another responder SPI").isEqualTo(ClaimGate.Verdict.ADMITTED);
    }
}
