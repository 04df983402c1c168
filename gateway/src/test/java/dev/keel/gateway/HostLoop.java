package dev.keel.gateway;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.time.Duration;

/**
 * A thread beside the gateways of a loopback test, standing for a host on a virtual wire: one
 * that reads every packet the host receives, or one that acts (sends) at a steady pace. It stops
 * when closed, or at the first I/O error.
 */
final class HostLoop implements AutoCloseable {

    /**
     * What a receiving loop does with each packet: {@code packet} is ready to read, {@code nanoTime}
     * when it came; an I/O error (answering it, say) stops the loop.
     */
    interface Arrival {
        void packet(ByteBuffer packet, long nanoTime) throws IOException;
    }

    /** What a paced loop does on its {@code tick}-th turn (0, 1, 2, ...). */
    interface Tick {
        void run(long tick) throws IOException;
    }

    private final Thread thread;
    private volatile boolean closed;
    private volatile long slips;
    private volatile long slippedNanos;

    private HostLoop(String name, Body body) {
        this.thread = Thread.ofPlatform().daemon().name(name).start(() -> {
            try {
                body.run(this);
            } catch (IOException | InterruptedException e) {
                // stopped: closed, or the host's socket failed
            }
        });
    }

    /** The loop itself, which ends once {@code self} is closed. */
    private interface Body {
        void run(HostLoop self) throws IOException, InterruptedException;
    }

    /** Hands each packet {@code host} (non-blocking) receives to {@code arrival}. */
    static HostLoop receiving(String name, DatagramChannel host, Arrival arrival) {
        return new HostLoop(name, self -> {
            ByteBuffer buf = ByteBuffer.allocate(2048);
            while (!self.closed) {
                buf.clear();
                if (host.receive(buf) == null) {
                    Thread.sleep(1);
                    continue;
                }
                buf.flip();
                arrival.packet(buf, System.nanoTime());
            }
        });
    }

    /** Runs {@code tick} every {@code period}, on a fixed schedule: a late turn is followed by the next one at once. */
    static HostLoop paced(String name, Duration period, Tick tick) {
        return paced(name, period, true, tick);
    }

    /**
     * Runs {@code tick} every {@code period}. With {@code catchUp}, on a fixed schedule (a late
     * turn is followed by the next one at once); without, a turn more than a period late moves the
     * schedule on instead ({@link #slipped}): a host starved of CPU sends late, not in a burst.
     */
    static HostLoop paced(String name, Duration period, boolean catchUp, Tick tick) {
        return new HostLoop(name, self -> {
            long p = period.toNanos();
            long next = System.nanoTime();
            for (long i = 0; !self.closed; i++) {
                tick.run(i);
                next += p;
                long wait = next - System.nanoTime();
                if (wait > 0) {
                    Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                } else if (!catchUp && -wait > p) {
                    self.slips++;
                    self.slippedNanos += -wait;
                    next = System.nanoTime();
                }
            }
        });
    }

    /** How often a paced loop without catch-up moved its schedule on, and by how many ms in all. */
    String slipped() {
        return slips + " times, " + slippedNanos / 1_000_000 + " ms in all";
    }

    @Override
    public void close() throws InterruptedException {
        closed = true;
        thread.join(2_000);
    }
}
