package dev.keel.esp.forward;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.sa.IpsecMode;
import dev.keel.esp.packet.DecapOutcome;
import dev.keel.esp.packet.EspCounters;
import dev.keel.esp.packet.Suites;
import dev.keel.esp.sa.InboundSa;
import dev.keel.esp.sa.InnerPacketPolicy;
import dev.keel.esp.sa.ReplayWindow;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Packets above the accept limit wait for the checkpoint instead of being dropped, and leave only
 * through their window: in arrival order once it accepts them, never a duplicate, never one it
 * refuses; the wait and the hold are bounded.
 */
class HeldPacketsTest {

    private final EspCounters counters = new EspCounters();
    private final HeldPackets held = new HeldPackets(counters);
    private final List<Integer> out = new ArrayList<>();
    private final HeldPackets.Outlet outlet = (packet, length, to) -> out.add(packet[0] & 0xff);

    private static InboundSa sa(int spi) {
        return new InboundSa(Suites.AES128_GCM16.spec(spi, IpsecMode.TUNNEL, false), InnerPacketPolicy.ANY);
    }

    /** Offers packet {@code seq} (its one byte says which) as the decapsulator hands it over. */
    private boolean offer(InboundSa sa, long seq, long now) {
        byte[] b = {0, 0, (byte) seq, 0};
        return held.offer(sa, seq, b, 2, 1, now);
    }

    @Test
    void heldPacketsLeaveInOrderOnceTheLimitRisesAndNeverTwice() {
        InboundSa sa = sa(0x100);
        ReplayWindow w = sa.replayWindow();
        w.acceptUpTo(2);
        assertThat(w.accept(1)).isTrue();
        assertThat(w.accept(2)).isTrue();
        long now = System.nanoTime();
        for (long seq = 3; seq <= 6; seq++) {
            assertThat(w.accept(seq)).as("above the limit").isFalse();
            assertThat(offer(sa, seq, now)).isTrue();
        }
        assertThat(offer(sa, 4, now)).as("a duplicate verified while held is kept too").isTrue();

        held.release(now + 1, outlet);
        assertThat(out).as("nothing leaves while the limit stands").isEmpty();
        assertThat(held.size()).isEqualTo(5);

        w.acceptUpTo(4); // the checkpoint's answer raises the limit
        held.release(now + 2, outlet);
        assertThat(out).containsExactly(3, 4);
        assertThat(held.size()).as("the duplicate 4 dropped, 5 and 6 wait").isEqualTo(2);
        assertThat(counters.get(DecapOutcome.REPLAYED)).isEqualTo(1);

        w.acceptUpTo(100);
        held.release(now + 3, outlet);
        assertThat(out).containsExactly(3, 4, 5, 6);
        assertThat(held.size()).isZero();
        assertThat(counters.get(DecapOutcome.DELIVERED)).isEqualTo(4);
        assertThat(sa.drops()).isZero();
    }

    @Test
    void aPacketWaitsAtMostTheHoldTimeAndTheHoldIsBounded() {
        InboundSa sa = sa(0x200);
        sa.replayWindow().acceptUpTo(0);
        long now = System.nanoTime();
        assertThat(offer(sa, 1, now)).isTrue();
        held.release(now + TimeUnit.MILLISECONDS.toNanos(HeldPackets.MAX_HOLD_MILLIS), outlet);
        assertThat(out).isEmpty();
        assertThat(held.size()).isZero();
        assertThat(counters.get(DecapOutcome.CHECKPOINT_BEHIND)).as("given up on after the hold time").isEqualTo(1);
        assertThat(sa.drops()).isEqualTo(1);

        for (int i = 0; i < HeldPackets.SLOTS; i++) {
            assertThat(offer(sa, 10 + i, now)).isTrue();
        }
        assertThat(offer(sa, 10_000, now)).as("full").isFalse();
        assertThat(held.offer(sa, 20_000, new byte[HeldPackets.SLOT_BYTES + 1], 0, HeldPackets.SLOT_BYTES + 1, now))
                .as("larger than a slot").isFalse();
    }

    @Test
    void aPacketOfAnSaRemovedMeanwhileIsDropped() {
        InboundSa sa = sa(0x300);
        sa.replayWindow().acceptUpTo(0);
        long now = System.nanoTime();
        offer(sa, 1, now);
        sa.close();
        sa.replayWindow().acceptUpTo(10);
        held.release(now + 1, outlet);
        assertThat(out).isEmpty();
        assertThat(counters.get(DecapOutcome.CHECKPOINT_BEHIND)).isEqualTo(1);
    }

    @Test
    void holdingAndReleasingAllocatesNothingOnceTheSlotsExist() {
        InboundSa sa = sa(0x400);
        ReplayWindow w = sa.replayWindow();
        HeldPackets.Outlet discard = (packet, length, to) -> { };
        byte[] pkt = new byte[1400];
        long seq = 0;
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long before = 0;
        for (int round = 0; round < 3_000; round++) {
            if (round == 1_000) {
                before = mx.getCurrentThreadAllocatedBytes();
            }
            long now = System.nanoTime();
            for (int i = 0; i < 8; i++) {
                held.offer(sa, ++seq, pkt, 0, pkt.length, now);
            }
            w.acceptUpTo(seq);
            held.release(now, discard);
        }
        assertThat(mx.getCurrentThreadAllocatedBytes() - before).as("bytes for 16,000 packets held and released")
                .isLessThan(1_000);
        assertThat(counters.get(DecapOutcome.DELIVERED)).isEqualTo(seq);
    }
}
