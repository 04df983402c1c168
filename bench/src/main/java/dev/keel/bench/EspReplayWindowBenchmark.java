package dev.keel.bench;

import dev.keel.esp.sa.ReplayWindow;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What the anti-replay window adds per inbound packet, which {@link EspDecapsulateBenchmark}
 * leaves out (its ring is replayed, so its SA runs without a window): ESN inference, the check
 * before the ICV and the update after it, for in-order sequence numbers.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@State(Scope.Thread)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class EspReplayWindowBenchmark {

    @Param({"128", "4096"})
    public int window;

    private ReplayWindow replay;
    private long seq;

    @Setup(Level.Iteration)
    public void setUp() {
        replay = new ReplayWindow(window);
        seq = 0;
    }

    @Benchmark
    public boolean inOrder() {
        long s = replay.inferEsn((int) ++seq);
        return replay.check(s) && replay.accept(s);
    }
}
