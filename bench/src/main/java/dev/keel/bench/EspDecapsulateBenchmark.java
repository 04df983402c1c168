package dev.keel.bench;

import dev.keel.core.sa.IpsecMode;
import dev.keel.esp.packet.InnerPackets;
import dev.keel.esp.packet.Suites;
import dev.keel.core.packet.PacketBuffer;
import dev.keel.esp.packet.DecapOutcome;
import dev.keel.esp.packet.EncapOutcome;
import dev.keel.esp.packet.EspCounters;
import dev.keel.esp.packet.EspDecapsulator;
import dev.keel.esp.packet.EspEncapsulator;
import dev.keel.esp.sa.InboundSa;
import dev.keel.esp.sa.InboundSaTable;
import dev.keel.esp.sa.InnerPacketPolicy;
import dev.keel.esp.sa.OutboundSa;
import java.util.Arrays;
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
 * ESP decapsulation (RFC 4303 §3.4), tunnel mode, one thread: every op copies the next ESP
 * packet of a pre-built ring into a reused {@link PacketBuffer} (what a socket read does) and
 * decapsulates it in place: SPI lookup, ICV verification, decryption, padding and trailer
 * checks, inner-packet parse and policy.
 *
 * <p>The ring holds distinct packets with increasing sequence numbers (ESN on). It is replayed
 * round and round, so the inbound SA runs with anti-replay disabled (replay window 0); the
 * window's own cost is in {@link EspReplayWindowBenchmark}. The tear-down fails the run unless
 * every packet came out {@link DecapOutcome#DELIVERED}, so a REPLAYED or ICV_FAILURE short cut
 * can never pass for throughput.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@State(Scope.Thread)
@Threads(1)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class EspDecapsulateBenchmark {

    /** The SPI of the benchmark SA (outbound and inbound are the same SA, as on a peer). */
    private static final int SPI = 0x0c0ffee1;

    /** The ring's ESP bytes stay around 256 KiB, in L2, like the one hot buffer OpenSSL speed reuses. */
    private static final int RING_BYTES = 256 * 1024;

    @Param({"64", "512", "1400", "8192"})
    public int size;

    @Param({"AES128_GCM16", "AES256_GCM16", "CHACHA20_POLY1305", "AES128_CBC_SHA256", "AES256_CBC_SHA256",
            "AES256_CBC_SHA384", "AES256_CBC_SHA512", "NULL_SHA256"})
    public Suites suite;

    /** The AEAD engine: {@code auto} (AeadEngine's choice), {@code openssl} or {@code jca}; see EspBenchmarkEngine. */
    @Param({"auto"})
    public String engine;

    private byte[][] ring;
    private int next;
    private PacketBuffer pkt;
    private InboundSa sa;
    private EspCounters counters;
    private EspDecapsulator decap;
    private long failures;

    @Setup(Level.Trial)
    public void setUp() {
        EspBenchmarkEngine.select(engine);
        byte[] inner = InnerPackets.ipv4(17, size - 28, size);
        pkt = new PacketBuffer(size);
        ring = new byte[Math.clamp(RING_BYTES / size, 16, 1024)][];
        try (OutboundSa out = new OutboundSa(suite.spec(SPI, IpsecMode.TUNNEL, true, 0, 0), null)) {
            EspEncapsulator encap = new EspEncapsulator(new EspCounters());
            for (int i = 0; i < ring.length; i++) {
                pkt.set(inner, 0, inner.length);
                if (encap.encapsulate(out, pkt) != EncapOutcome.PROTECTED) {
                    throw new IllegalStateException("cannot build the ring: " + suite + "/" + size);
                }
                ring[i] = pkt.toByteArray();
            }
        }
        InboundSaTable table = new InboundSaTable();
        sa = new InboundSa(suite.spec(SPI, IpsecMode.TUNNEL, true, 0, 0), InnerPacketPolicy.ANY);
        table.put(sa);
        counters = new EspCounters();
        decap = new EspDecapsulator(table, counters);
        // The ring must round-trip exactly, or we would time a failure path.
        for (byte[] wire : ring) {
            pkt.set(wire, 0, wire.length);
            DecapOutcome o = decap.decapsulate(pkt);
            if (o != DecapOutcome.DELIVERED || !Arrays.equals(pkt.toByteArray(), inner)) {
                throw new IllegalStateException(suite + "/" + size + ": ring packet came out " + o);
            }
        }
        counters = new EspCounters();
        decap = new EspDecapsulator(table, counters);
    }

    @Benchmark
    public int decapsulate() {
        byte[] wire = ring[next];
        if (++next == ring.length) {
            next = 0;
        }
        pkt.set(wire, 0, wire.length);
        if (decap.decapsulate(pkt) != DecapOutcome.DELIVERED) {
            failures++;
        }
        return pkt.length();
    }

    /** Every measured packet must have been verified, decrypted and delivered. */
    @TearDown(Level.Trial)
    public void tearDown() {
        long delivered = counters.get(DecapOutcome.DELIVERED);
        sa.close();
        if (failures != 0 || delivered == 0) {
            throw new IllegalStateException(suite + "/" + size + ": " + failures + " packets not DELIVERED, "
                    + delivered + " delivered, inbound " + counters.inboundSnapshot());
        }
    }
}
