package dev.keel.bench;

import dev.keel.core.sa.IpsecMode;
import dev.keel.esp.packet.InnerPackets;
import dev.keel.esp.packet.Suites;
import dev.keel.core.packet.PacketBuffer;
import dev.keel.esp.packet.EncapOutcome;
import dev.keel.esp.packet.EspCounters;
import dev.keel.esp.packet.EspEncapsulator;
import dev.keel.esp.sa.OutboundSa;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * ESP encapsulation (RFC 4303 §3.3), tunnel mode, one thread: the inner IPv4/UDP packet of
 * {@code size} bytes is copied into a reused {@link PacketBuffer} (what a TUN read does; the
 * {@code System.arraycopy} is part of every packet's cost here) and protected in place.
 *
 * <p>The SA has ESN on, so its 64-bit counter never runs out however long the run. Throughput
 * is packets/s; the run script multiplies by {@code size} for MB/s of inner bytes.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@State(Scope.Thread)
@Threads(1)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class EspEncapsulateBenchmark {

    /** The SPI of the benchmark SA (outbound and inbound are the same SA, as on a peer). */
    private static final int SPI = 0x0c0ffee1;

    @Param({"64", "512", "1400", "8192"})
    public int size;

    @Param({"AES128_GCM16", "AES256_GCM16", "CHACHA20_POLY1305", "AES128_CBC_SHA256", "AES256_CBC_SHA256",
            "AES256_CBC_SHA384", "AES256_CBC_SHA512", "NULL_SHA256"})
    public Suites suite;

    /** The AEAD engine: {@code auto} (AeadEngine's choice), {@code openssl} or {@code jca}; see EspBenchmarkEngine. */
    @Param({"auto"})
    public String engine;

    private byte[] inner;
    private PacketBuffer pkt;
    private OutboundSa sa;
    private EspCounters counters;
    private EspEncapsulator encap;
    private long failures;

    @Setup(Level.Trial)
    public void setUp() {
        EspBenchmarkEngine.select(engine);
        inner = InnerPackets.ipv4(17, size - 28, size);
        pkt = new PacketBuffer(size);
        sa = new OutboundSa(suite.spec(SPI, IpsecMode.TUNNEL, true, 0, 0), null);
        counters = new EspCounters();
        encap = new EspEncapsulator(counters);
    }

    @Benchmark
    public int encapsulate() {
        pkt.set(inner, 0, inner.length);
        if (encap.encapsulate(sa, pkt) != EncapOutcome.PROTECTED) {
            failures++;
        }
        return pkt.length();
    }

    /** A run in which any packet failed to encapsulate measured something else: fail it. */
    @TearDown(Level.Trial)
    public void tearDown() {
        long protectedCount = counters.get(EncapOutcome.PROTECTED);
        sa.close();
        if (failures != 0 || protectedCount == 0) {
            throw new IllegalStateException(suite + "/" + size + ": " + failures + " packets not PROTECTED, "
                    + protectedCount + " protected, outbound " + counters.outboundSnapshot());
        }
    }
}
