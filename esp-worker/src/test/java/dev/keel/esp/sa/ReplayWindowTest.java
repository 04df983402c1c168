package dev.keel.esp.sa;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ReplayWindowTest {

    @Test
    void acceptsInOrderAndRejectsDuplicates() {
        ReplayWindow w = new ReplayWindow(64);
        for (long s = 1; s <= 200; s++) {
            assertThat(w.check(s)).isTrue();
            assertThat(w.accept(s)).isTrue();
            assertThat(w.check(s)).isFalse();
        }
        assertThat(w.top()).isEqualTo(200);
    }

    @Test
    void nothingAboveTheAcceptLimitIsAcceptedAndTheSignalRunsOnceAtItsEdge() {
        ReplayWindow w = new ReplayWindow(64);
        assertThat(w.acceptLimit()).as("no limit without a checkpointer").isEqualTo(-1L);
        java.util.concurrent.atomic.AtomicInteger signals = new java.util.concurrent.atomic.AtomicInteger();
        w.acceptUpTo(10);
        w.signalAt(5, signals::incrementAndGet);
        for (long s = 1; s <= 4; s++) {
            assertThat(w.accept(s)).isTrue();
        }
        assertThat(signals).hasValue(0);
        assertThat(w.accept(7)).isTrue();
        assertThat(signals).as("the edge passed 5").hasValue(1);
        assertThat(w.accept(6)).isTrue();
        assertThat(w.accept(10)).isTrue();
        assertThat(signals).as("once per arming").hasValue(1);
        assertThat(w.check(11)).as("check alone does not know the limit").isTrue();
        assertThat(w.accept(11)).isFalse();
        assertThat(w.aboveLimit(11)).isTrue();
        assertThat(w.aboveLimit(9)).isFalse();
        assertThat(w.top()).isEqualTo(10);
        assertThat(w.highestVerified()).as("how far the peer got: refused, but verified").isEqualTo(11);
        // A refusal runs the signal too: the checkpointer must size the next margin for the peer.
        w.signalAt(50, signals::incrementAndGet);
        assertThat(w.accept(30)).isFalse();
        assertThat(signals).hasValue(2);
        assertThat(w.highestVerified()).isEqualTo(30);
        w.acceptUpTo(40);
        assertThat(w.accept(30)).isTrue();
    }

    @Test
    void beginCheckpointLowersTheLimitToEdgePlusMarginAndArmsTheSignal() {
        ReplayWindow w = new ReplayWindow(64);
        w.acceptUpTo(1_000);
        w.accept(100);
        java.util.concurrent.atomic.AtomicInteger signals = new java.util.concurrent.atomic.AtomicInteger();
        assertThat(w.beginCheckpoint(0, 20, 10, signals::incrementAndGet)).as("the edge recorded").isEqualTo(100);
        assertThat(w.acceptLimit()).isEqualTo(120);
        assertThat(w.beginCheckpoint(100, 5_000, 10, signals::incrementAndGet)).isEqualTo(100);
        assertThat(w.acceptLimit()).as("only ever lowered here; raised when recorded").isEqualTo(120);
        assertThat(w.accept(110)).isTrue();
        assertThat(signals).hasValue(1);
        assertThat(w.accept(121)).isFalse();
        assertThat(w.beginCheckpoint(111, 50, 10, signals::incrementAndGet))
                .as("an edge above the window's when the caller needs one").isEqualTo(111);
        assertThat(w.acceptLimit()).as("still only lowered").isEqualTo(120);
    }

    @Test
    void theLimitAndTheEdgeUseAll64BitsOfEsn() {
        ReplayWindow w = new ReplayWindow(64, -100L); // 2^64 - 100
        assertThat(ReplayWindow.addSaturating(-100L, 1_000)).as("saturates, never wraps").isEqualTo(-1L);
        assertThat(w.beginCheckpoint(0, 1_000, 500, () -> { })).isEqualTo(-100L);
        assertThat(w.acceptLimit()).isEqualTo(-1L);
        assertThat(w.accept(-50L)).isTrue();
        w.acceptUpTo(-40L);
        assertThat(w.accept(-39L)).isFalse();
        assertThat(w.accept(-40L)).isTrue();
        assertThat(ReplayWindow.addSaturating(1L << 32, 5)).isEqualTo((1L << 32) + 5);
    }

    @Test
    void restartAboveMovesTheEdgeUpOrMarksTheNumbersUpToTheFloor() {
        ReplayWindow w = new ReplayWindow(64);
        w.accept(500);
        w.restartAbove(300); // below the window: nothing changes
        assertThat(w.top()).isEqualTo(500);
        assertThat(w.check(499)).isTrue();
        w.restartAbove(480); // inside it: what another owner may have taken counts as seen
        assertThat(w.top()).isEqualTo(500);
        assertThat(w.check(437)).isFalse();
        assertThat(w.check(480)).isFalse();
        assertThat(w.check(481)).isTrue();
        assertThat(w.check(499)).isTrue();
        ReplayWindow young = new ReplayWindow(64);
        young.accept(10);
        young.restartAbove(5); // a right edge still below the window's size
        assertThat(young.check(5)).isFalse();
        assertThat(young.check(1)).isFalse();
        assertThat(young.check(6)).isTrue();
        w.restartAbove(2_000);
        assertThat(w.top()).isEqualTo(2_000);
        assertThat(w.check(1_999)).isFalse();
        assertThat(w.check(499)).isFalse();
        assertThat(w.check(2_001)).isTrue();
    }

    @Test
    void zeroIsNeverValid() {
        // RFC 4303 §3.3.3: the first packet sent on an SA has sequence number 1.
        assertThat(new ReplayWindow(32).check(0)).isFalse();
    }

    @Test
    void windowEdgeIsExact() {
        ReplayWindow w = new ReplayWindow(4096);
        w.accept(10_000);
        assertThat(w.check(10_000 - 4095)).as("oldest number inside the window").isTrue();
        assertThat(w.check(10_000 - 4096)).as("first number outside").isFalse();
        assertThat(w.accept(5905)).isTrue();
        assertThat(w.accept(5905)).isFalse();
    }

    @Test
    void checkDoesNotMoveTheWindow() {
        // Two-phase: a packet whose ICV fails must not shift the window (RFC 4303 §3.4.3).
        ReplayWindow w = new ReplayWindow(32);
        w.accept(5);
        assertThat(w.check(1_000_000)).isTrue();
        assertThat(w.top()).isEqualTo(5);
        assertThat(w.check(4)).isTrue();
    }

    @Test
    void hugeJumpClearsEverything() {
        ReplayWindow w = new ReplayWindow(128);
        for (long s = 1; s <= 128; s++) {
            w.accept(s);
        }
        w.accept(1L << 40);
        assertThat(w.check((1L << 40) - 1)).isTrue();
        assertThat(w.check((1L << 40) - 127)).isTrue();
        assertThat(w.check((1L << 40) - 128)).isFalse();
    }

    @Test
    void restartPointRejectsEverythingAtOrBelowIt() {
        ReplayWindow w = new ReplayWindow(64, 1_000);
        assertThat(w.check(1_000)).isFalse();
        assertThat(w.check(990)).isFalse();
        assertThat(w.check(1_001)).isTrue();
        w.accept(1_010);
        assertThat(w.check(1_005)).isTrue();
        assertThat(w.check(1_000)).isFalse();
    }

    @Test
    void sizeIsBounded() {
        assertThatThrownBy(() -> new ReplayWindow(31)).hasMessageContaining("31");
        assertThatThrownBy(() -> new ReplayWindow(ReplayWindow.MAX_SIZE + 1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void esnCaseASameBlock() {
        // RFC 4303 Appendix A2.2, case A: the window lies within one 2^32 block.
        ReplayWindow w = new ReplayWindow(64, (3L << 32) + 1000);
        assertThat(w.inferEsn(999)).isEqualTo((3L << 32) + 999);
        assertThat(w.inferEsn(1001)).isEqualTo((3L << 32) + 1001);
        assertThat(w.inferEsn(5)).as("below the window: the counter wrapped").isEqualTo((4L << 32) + 5);
    }

    @Test
    void esnCaseBWindowSpansBoundary() {
        ReplayWindow w = new ReplayWindow(64, (1L << 32) + 10);
        assertThat(w.inferEsn(5)).isEqualTo((1L << 32) + 5);
        assertThat(w.inferEsn(0xFFFFFFF0)).as("late packet from the previous block").isEqualTo(0xFFFFFFF0L);
        assertThat(w.inferEsn(500)).isEqualTo((1L << 32) + 500);
    }

    @Test
    void esnAtStartHasNoPreviousBlock() {
        ReplayWindow w = new ReplayWindow(64);
        assertThat(w.inferEsn(0xFFFFFFF0)).isEqualTo(0xFFFFFFF0L);
        assertThat(w.inferEsn(1)).isEqualTo(1);
    }

    /** The window against a plain model: a set of accepted numbers and the highest one. */
    @Test
    void matchesReferenceModel() {
        Random random = new Random(4303);
        for (int run = 0; run < 300; run++) {
            int size = 32 + random.nextInt(4096 - 32 + 1);
            ReplayWindow w = new ReplayWindow(size);
            Set<Long> seen = new HashSet<>();
            long top = 0;
            int arrivals = random.nextInt(400);
            long spread = 1 + random.nextInt(20_000);
            for (int i = 0; i < arrivals; i++) {
                long seq = (long) (random.nextDouble() * spread);
                boolean fresh = seq != 0 && (seq > top || (top - seq < size && !seen.contains(seq)));
                assertThat(w.check(seq)).as("run %d: check %d top %d size %d", run, seq, top, size).isEqualTo(fresh);
                assertThat(w.accept(seq)).isEqualTo(fresh);
                if (fresh) {
                    seen.add(seq);
                    top = Math.max(top, seq);
                }
            }
            assertThat(w.top()).isEqualTo(top);
        }
    }

    /** With ESN, a sender counting up across 2^32 boundaries is reconstructed exactly. */
    @Test
    void esnInferenceFollowsACountingSender() {
        Random random = new Random(6479);
        for (int run = 0; run < 100; run++) {
            int size = 32 + random.nextInt(4096 - 32 + 1);
            // start near a 2^32 boundary half of the time, so the counter crosses it
            long block = 1 + random.nextInt(3);
            long start = random.nextBoolean() ? (block << 32) - random.nextInt(2 * size) : 1 + (random.nextLong() >>> 30);
            int reorder = random.nextInt(32);
            ReplayWindow w = new ReplayWindow(size, start - 1);
            for (long seq = start; seq < start + 3L * size; seq++) {
                // each packet may lag behind its predecessors by up to `reorder` positions
                long s = Math.max(start, seq - (seq % (reorder + 1)));
                assertThat(w.inferEsn((int) s)).as("run %d seq %d", run, s).isEqualTo(s);
                if (w.check(s)) {
                    w.accept(s);
                }
            }
        }
    }

    /** Two threads racing to accept the same numbers: each number is accepted exactly once. */
    @Test
    void concurrentAcceptsNeverAcceptANumberTwice() throws Exception {
        for (int run = 0; run < 20; run++) {
            ReplayWindow w = new ReplayWindow(4096);
            java.util.concurrent.atomic.AtomicInteger accepted = new java.util.concurrent.atomic.AtomicInteger();
            java.util.concurrent.CountDownLatch start = new java.util.concurrent.CountDownLatch(1);
            Runnable racer = () -> {
                try {
                    start.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                for (long seq = 1; seq <= 20_000; seq++) {
                    if (w.check(seq) && w.accept(seq)) {
                        accepted.incrementAndGet();
                    }
                }
            };
            Thread a = new Thread(racer);
            Thread b = new Thread(racer);
            a.start();
            b.start();
            start.countDown();
            a.join(10_000);
            b.join(10_000);
            assertThat(a.isAlive() || b.isAlive()).isFalse();
            // Both walk 1..20000 in order: every number is fresh for whoever gets there first.
            assertThat(accepted).as("run %d", run).hasValue(20_000);
            assertThat(w.top()).isEqualTo(20_000);
        }
    }
}
