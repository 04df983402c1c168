package dev.keel.esp.sa;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.sa.IpsecMode;
import dev.keel.esp.packet.Suites;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Sequence numbers from leased blocks (DESIGN §4): refill at half, drop when empty, never repeat. */
@Timeout(30)
class LeasedOutboundSaTest {

    private static final InetSocketAddress PEER = new InetSocketAddress("127.0.0.9", 4500);

    private static EspSaSpec spec(boolean esn) {
        return Suites.AES128_GCM16.spec(0x1234, IpsecMode.TUNNEL, esn);
    }

    @Test
    void takesNumbersFromBlocksAndAsksForTheNextAtHalf() {
        AtomicInteger requests = new AtomicInteger();
        OutboundSa sa = OutboundSa.leased("sa-1", spec(false), PEER, s -> requests.incrementAndGet(), null);
        assertThat(requests).hasValue(1); // asked at once
        assertThat(sa.nextSequence()).isZero(); // nothing leased yet: drop, no number invented
        assertThat(requests).hasValue(1); // still in flight: not asked again
        assertThat(sa.offerLease(1, 11)).isTrue();
        for (long want = 1; want <= 5; want++) {
            assertThat(sa.nextSequence()).isEqualTo(want);
        }
        assertThat(requests).hasValue(1);
        assertThat(sa.nextSequence()).isEqualTo(6); // start + size/2: the refill request goes out
        assertThat(requests).hasValue(2);
        assertThat(sa.offerLease(21, 31)).isTrue(); // numbers 11..20 went to someone else's retry: skipped
        for (long want = 7; want <= 10; want++) {
            assertThat(sa.nextSequence()).isEqualTo(want);
        }
        assertThat(sa.nextSequence()).isEqualTo(21);
        assertThat(sa.isExhausted()).isFalse();
        assertThat(sa.peer()).isEqualTo(PEER);
    }

    @Test
    void dropsWhenTheBlockRunsOutAndRefusesBlocksThatWouldRepeat() {
        List<OutboundSa> asked = new ArrayList<>();
        OutboundSa sa = OutboundSa.leased("sa-2", spec(false), PEER, asked::add, null);
        sa.offerLease(100, 104);
        assertThat(List.of(sa.nextSequence(), sa.nextSequence(), sa.nextSequence(), sa.nextSequence()))
                .containsExactly(100L, 101L, 102L, 103L);
        assertThat(sa.nextSequence()).isZero();
        assertThat(sa.nextSequence()).isZero();
        assertThat(sa.offerLease(102, 200)).isFalse(); // overlaps numbers already leased
        assertThat(sa.offerLease(0, 5)).isFalse();
        assertThat(sa.offerLease(300, 300)).isFalse(); // empty
        assertThat(sa.nextSequence()).isZero();
        assertThat(sa.offerLease(104, 110)).isTrue();
        assertThat(sa.nextSequence()).isEqualTo(104);
    }

    @Test
    void sequenceSpaceExhaustedNotifiesOnce() {
        AtomicInteger exhausted = new AtomicInteger();
        OutboundSa sa = OutboundSa.leased("sa-3", spec(false), PEER, s -> { }, s -> exhausted.incrementAndGet());
        // A 32-bit SA's block is clipped at 2^32 - 1 (RFC 4303 §3.3.3: no wrap).
        assertThat(sa.offerLease(0xffff_fffeL, 0x1_0000_0010L)).isTrue();
        assertThat(sa.nextSequence()).isEqualTo(0xffff_fffeL);
        assertThat(sa.nextSequence()).isEqualTo(0xffff_ffffL);
        assertThat(sa.nextSequence()).isZero();
        sa.markSequenceSpaceExhausted();
        sa.markSequenceSpaceExhausted();
        assertThat(exhausted).hasValue(1);
        assertThat(sa.isExhausted()).isTrue();
        assertThat(sa.nextSequence()).isZero();
    }

    /** Four threads take numbers while a fifth grants blocks late and sometimes skips: no number twice. */
    @Test
    void concurrentTakersNeverShareANumber() throws Exception {
        ConcurrentLinkedQueue<OutboundSa> requests = new ConcurrentLinkedQueue<>();
        OutboundSa sa = OutboundSa.leased("sa-4", spec(true), PEER, requests::add, null);
        int threads = 4;
        int perThread = 50_000;
        List<long[]> taken = new ArrayList<>();
        CountDownLatch done = new CountDownLatch(threads);
        AtomicLong drops = new AtomicLong();
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            long[] mine = new long[perThread];
            taken.add(mine);
            ts.add(Thread.ofPlatform().start(() -> {
                for (int i = 0; i < perThread; i++) {
                    long s = sa.nextSequence();
                    mine[i] = s;
                    if (s == 0) {
                        drops.incrementAndGet();
                    }
                }
                done.countDown();
            }));
        }
        long next = 1;
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(7);
        Set<Long> granted = new HashSet<>();
        while (done.getCount() > 0) {
            if (requests.poll() != null) {
                next += rnd.nextInt(3) == 0 ? rnd.nextInt(50) : 0; // a lost reply's block is skipped
                int size = 64 + rnd.nextInt(512);
                assertThat(sa.offerLease(next, next + size)).isTrue();
                for (long s = next; s < next + size; s++) {
                    granted.add(s);
                }
                next += size;
            } else {
                Thread.onSpinWait();
            }
            done.await(0, TimeUnit.MILLISECONDS);
        }
        for (Thread t : ts) {
            t.join();
        }
        Set<Long> seen = new HashSet<>();
        for (long[] mine : taken) {
            long last = 0;
            for (long s : mine) {
                // plain checks: AssertJ per number costs minutes on a loaded 2-core machine
                if (s != 0) {
                    if (!seen.add(s) || !granted.contains(s) || s <= last) {
                        throw new AssertionError("number " + s + " used twice, never granted, or not increasing after "
                                + last);
                    }
                    last = s;
                }
            }
        }
        assertThat(seen.size() + drops.get()).isEqualTo((long) threads * perThread);
        assertThat(seen).isNotEmpty();
    }
}
