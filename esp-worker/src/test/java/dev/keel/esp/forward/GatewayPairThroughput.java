package dev.keel.esp.forward;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * A quick throughput figure for the gateway pair on loopback, not a benchmark (JMH and the
 * end-to-end scripts live in bench/): 1400-byte inner packets pushed through A -> B over the
 * virtual wires, with AES-128-GCM and with the crypto-free relay over the same path as the
 * ceiling. Runs only with {@code -Dkeel.bench=true}; prints packets/s and Gbit/s of inner
 * packets. The sender keeps at most {@code keel.bench.window} packets in flight so loopback
 * socket buffers never overflow.
 */
@EnabledIfSystemProperty(named = "keel.bench", matches = "true")
@Timeout(300)
class GatewayPairThroughput {

    private static final int SIZE = Integer.getInteger("keel.bench.size", 1400);
    private static final long COUNT = Long.getLong("keel.bench.count", 300_000);
    private static final int WINDOW = Integer.getInteger("keel.bench.window", 1024);
    private static final int LOOPS = Integer.getInteger("keel.bench.loops", 2);

    @Test
    void relayThenEsp() throws Exception {
        double relay = run(ForwardMode.RELAY);
        double esp = run(ForwardMode.ESP);
        System.out.printf("ESP / relay = %.2f%n", esp / relay);
    }

    private static double run(ForwardMode mode) throws Exception {
        try (TwoGateways pair = new TwoGateways(mode, LOOPS, Duration.ZERO)) {
            byte[][] packets = new byte[256][];
            for (int i = 0; i < packets.length; i++) {
                packets[i] = TwoGateways.packet(i, SIZE);
            }
            // Warm-up, then the measured run.
            pair.pump(COUNT / 5, WINDOW, 10_000, seq -> packets[(int) (seq & 255)], (n, got) -> null);
            long nanos = pair.pump(COUNT, WINDOW, 10_000, seq -> packets[(int) (seq & 255)],
                    (n, got) -> got.remaining() == SIZE ? null : "size " + got.remaining());
            double pps = COUNT / (nanos / 1e9);
            System.out.printf("%-5s %d B x %d, %d loop(s): %,.0f packets/s, %.3f Gbit/s (inner)%n",
                    mode, SIZE, COUNT, LOOPS, pps, pps * SIZE * 8 / 1e9);
            assertThat(pair.blocked).isEmpty();
            return pps;
        }
    }
}
