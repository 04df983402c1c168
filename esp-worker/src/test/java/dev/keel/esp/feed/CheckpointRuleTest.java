package dev.keel.esp.feed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The margin rule of docs/ha.md, "Inbound replay floor after a takeover". */
class CheckpointRuleTest {

    private static final CheckpointRule RULE = CheckpointRule.defaults();
    private static final long T = RULE.interval().toNanos();

    @Test
    void defaultsAreTheDocumentedOnes() {
        assertThat(RULE.packets()).isEqualTo(131_072);
        assertThat(RULE.maxMargin()).isEqualTo(262_144);
        assertThat(RULE.interval()).isEqualTo(Duration.ofMillis(200));
        assertThat(RULE.safety()).isEqualTo(3.0);
        assertThat(RULE.burstMemory()).isEqualTo(Duration.ofSeconds(1));
    }

    @Test
    void aSteadyFlowGetsSafetyIntervalsOfItsRateSoATakeoverCostsItAtMostSixTenthsOfASecond() {
        // One checkpoint per interval: the edge moved rate x T since the last one.
        for (long pps : new long[] {100, 10_000, 100_000}) {
            long perInterval = pps / 5;
            long m = RULE.margin(perInterval, T, 3 * perInterval, 0);
            assertThat(m).as("%d pps", pps).isEqualTo(3 * perInterval);
            assertThat((double) m / pps).as("seconds of traffic at %d pps", pps).isLessThanOrEqualTo(0.6);
            assertThat(CheckpointRule.signalDistance(m)).as("the edge signal is not what triggers it")
                    .isGreaterThan(perInterval);
        }
        // Above 2N / (s T) = 437 kpps the margin is capped at 2N: less than 0.6 s of traffic.
        assertThat(RULE.margin(200_000, T, 262_144, 0)).isEqualTo(262_144);
    }

    @Test
    void anIdleSaKeepsItsBurstAndAPingGetsOne() {
        assertThat(RULE.margin(0, 5 * T, 60, 0)).isEqualTo(1);
        assertThat(RULE.margin(0, 5 * T, 60, 12.2)).isEqualTo(13);
        // A ping a second: one number per checkpoint, more than an interval apart.
        assertThat(RULE.margin(1, 5 * T, 1, 1)).isEqualTo(1);
        assertThat(RULE.margin(1, 4 * T, 1, 1)).isEqualTo(1);
    }

    @Test
    void halfTheMarginUsedWithinAnIntervalDoublesIt() {
        assertThat(RULE.margin(32, T / 100, 64, 0)).isEqualTo(128);
        assertThat(RULE.margin(31, T / 100, 64, 0)).as("rate term only").isEqualTo(93);
        assertThat(RULE.margin(32, 2 * T, 64, 0)).as("slower than an interval: no doubling").isEqualTo(48);
        assertThat(RULE.margin(200_000, T / 100, 200_000, 0)).as("capped").isEqualTo(262_144);
    }

    @Test
    void burstsAreRememberedWithAHalfLife() {
        assertThat(RULE.decay(1_000, 0)).isEqualTo(1_000);
        assertThat(RULE.decay(1_000, Duration.ofSeconds(1).toNanos())).isEqualTo(500);
        assertThat(RULE.decay(1_000, Duration.ofSeconds(10).toNanos())).isLessThan(1);
    }

    @Test
    void theMarginIsAlwaysBetweenOneAndTwoN() {
        SplittableRandom rnd = new SplittableRandom(4303);
        for (int i = 0; i < 200_000; i++) {
            long advance = switch (rnd.nextInt(4)) {
                case 0 -> 0;
                case 1 -> rnd.nextInt(1_000);
                case 2 -> rnd.nextLong(); // anything, the unsigned top half included
                default -> rnd.nextInt(1 << 30);
            };
            long elapsed = rnd.nextInt(3) == 0 ? 0 : rnd.nextLong(Long.MAX_VALUE);
            long previous = 1 + rnd.nextLong(1L << 32);
            double burst = rnd.nextInt(2) == 0 ? 0 : rnd.nextDouble() * (1L << 40);
            long m = RULE.margin(advance, elapsed, previous, burst);
            assertThat(m).isBetween(1L, RULE.maxMargin());
            assertThat(CheckpointRule.signalDistance(m)).isBetween(1L, m);
        }
    }

    @Test
    void badSettingsAreRefused() {
        Duration t = Duration.ofMillis(200);
        Duration h = Duration.ofSeconds(10);
        assertThatThrownBy(() -> new CheckpointRule(0, t, 3, h)).hasMessageContaining("packets 0");
        assertThatThrownBy(() -> new CheckpointRule((1L << 31) + 1, t, 3, h)).hasMessageContaining("outside 1..2147483648");
        assertThatThrownBy(() -> new CheckpointRule(100, Duration.ZERO, 3, h)).hasMessageContaining("interval");
        assertThatThrownBy(() -> new CheckpointRule(100, t, 0.5, h)).hasMessageContaining("safety 0.5");
        assertThatThrownBy(() -> new CheckpointRule(100, t, Double.NaN, h)).hasMessageContaining("safety NaN");
        assertThatThrownBy(() -> new CheckpointRule(100, t, 3, Duration.ZERO)).hasMessageContaining("burst memory");
    }
}
