package dev.keel.bench;

import dev.keel.core.packet.BigEndian;
import dev.keel.core.packet.PacketBuffer;
import dev.keel.core.sa.IpsecMode;
import dev.keel.esp.packet.DecapOutcome;
import dev.keel.esp.packet.EncapOutcome;
import dev.keel.esp.packet.EspCounters;
import dev.keel.esp.packet.EspDecapsulator;
import dev.keel.esp.packet.EspEncapsulator;
import dev.keel.esp.packet.InnerPackets;
import dev.keel.esp.packet.Suites;
import dev.keel.esp.sa.InboundSa;
import dev.keel.esp.sa.InboundSaTable;
import dev.keel.esp.sa.InnerPacketPolicy;
import dev.keel.esp.sa.OutboundSa;
import dev.keel.ike.service.ClaimGate;
import java.util.SplittableRandom;
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
 * What one packet of an ESP flood costs the receiving event loop, by the reason it is dropped,
 * beside a valid packet's decapsulation (issue 16; {@code EspFloodTest} floods a gateway with the
 * same three kinds). One op copies the next packet of a ring into a reused {@link PacketBuffer}
 * (what a socket read does) and decapsulates it; the tear-down fails the run unless every packet
 * came out as its kind says, so no kind can pass for another.
 *
 * <ul>
 *   <li>{@code DELIVERED}: distinct valid packets, as {@link EspDecapsulateBenchmark} (replay window
 *       off, since the ring is replayed round and round);
 *   <li>{@code UNKNOWN_SPI}: random SPIs; also what the gateway does next on the loop for each, ask
 *       its {@link ClaimGate} (defaults) whether that SPI may cost a SAD look-up (docs/ha.md);
 *   <li>{@code ICV_FAILURE}: the SA's SPI, sequence numbers ahead of the window, random bytes: the
 *       only check that can reject them is the ICV, so the whole packet is authenticated;
 *   <li>{@code REPLAYED}: the SA's SPI, sequence numbers below its 1,024-packet window (RFC 4303
 *       §3.4.3: rejected before the ICV).
 * </ul>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@State(Scope.Thread)
@Threads(1)
@Fork(1)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
public class EspDropPathBenchmark {

    private static final int SPI = 0x0c0ffee1;
    private static final int RING = 1024;
    private static final int WINDOW = 1024;
    /** Valid packets the window has taken before the measured ones: it stands at this sequence number. */
    private static final int ACCEPTED = 4 * WINDOW;

    /** The inner packet's size; the ESP packet adds header, IV, padding and ICV (964 here is 1,000 bytes of ESP with GCM). */
    @Param({"64", "964"})
    public int size;

    @Param({"AES256_GCM16", "AES128_CBC_SHA256"})
    public Suites suite;

    @Param({"DELIVERED", "UNKNOWN_SPI", "ICV_FAILURE", "REPLAYED"})
    public DecapOutcome kind;

    private byte[][] ring;
    private int next;
    private PacketBuffer pkt;
    private InboundSa sa;
    private EspCounters counters;
    private EspDecapsulator decap;
    private ClaimGate gate;
    private long gated;

    @Setup(Level.Trial)
    public void setUp() {
        byte[] inner = InnerPackets.ipv4(17, size - 28, size);
        pkt = new PacketBuffer(size + 128);
        byte[][] valid = new byte[ACCEPTED + RING][];
        try (OutboundSa out = new OutboundSa(suite.spec(SPI, IpsecMode.TUNNEL, false), null)) {
            EspEncapsulator encap = new EspEncapsulator(new EspCounters());
            for (int i = 0; i < valid.length; i++) {
                pkt.set(inner, 0, inner.length);
                if (encap.encapsulate(out, pkt) != EncapOutcome.PROTECTED) {
                    throw new IllegalStateException("cannot build the ring: " + suite + "/" + size);
                }
                valid[i] = pkt.toByteArray();
            }
        }
        boolean window = kind != DecapOutcome.DELIVERED;
        InboundSaTable table = new InboundSaTable();
        sa = new InboundSa(suite.spec(SPI, IpsecMode.TUNNEL, false, 0, window ? WINDOW : 0), InnerPacketPolicy.ANY);
        table.put(sa);
        counters = new EspCounters();
        decap = new EspDecapsulator(table, counters);
        if (window) { // the window moves to ACCEPTED, as a tunnel's traffic moved it
            for (int i = 0; i < ACCEPTED; i++) {
                pkt.set(valid[i], 0, valid[i].length);
                if (decap.decapsulate(pkt) != DecapOutcome.DELIVERED) {
                    throw new IllegalStateException(suite + "/" + size + ": valid packet " + i + " not delivered");
                }
            }
        }
        SplittableRandom random = new SplittableRandom(16);
        ring = new byte[RING][];
        for (int i = 0; i < RING; i++) {
            byte[] p = valid[ACCEPTED + i].clone();
            switch (kind) {
                case UNKNOWN_SPI -> BigEndian.putInt(p, 0, 0x1000_0000 | random.nextInt(0x7000_0000));
                case ICV_FAILURE -> {
                    for (int j = 8; j < p.length; j++) {
                        p[j] = (byte) random.nextInt();
                    }
                    BigEndian.putInt(p, 4, 0x8000_0000 | random.nextInt());
                }
                case REPLAYED -> BigEndian.putInt(p, 4, 1 + random.nextInt(ACCEPTED - WINDOW));
                case DELIVERED -> { }
                default -> throw new IllegalArgumentException("not a flood kind: " + kind);
            }
            ring[i] = p;
        }
        counters = new EspCounters();
        decap = new EspDecapsulator(table, counters);
        gate = new ClaimGate(ClaimGate.Limits.DEFAULTS);
    }

    @Benchmark
    public int decapsulate() {
        byte[] wire = ring[next];
        if (++next == RING) {
            next = 0;
        }
        pkt.set(wire, 0, wire.length);
        if (decap.decapsulate(pkt) == DecapOutcome.UNKNOWN_SPI
                && gate.admit(BigEndian.getInt(wire, 0) & 0xffff_ffffL) == ClaimGate.Verdict.ADMITTED) {
            gate.release();
            gated++;
        }
        return pkt.length();
    }

    /** Every measured packet must have ended as its kind. */
    @TearDown(Level.Trial)
    public void tearDown() {
        long total = counters.inboundSnapshot().values().stream().mapToLong(Long::longValue).sum();
        long right = counters.get(kind);
        sa.close();
        if (total == 0 || right != total) {
            throw new IllegalStateException(suite + "/" + size + "/" + kind + ": " + right + " of " + total
                    + " came out " + kind + ", inbound " + counters.inboundSnapshot());
        }
    }

    /**
     * The same ops timed by this thread's CPU time instead of the wall clock (JMH's figures): on a
     * machine whose cores other work keeps busy, a thread's descheduled time inflates wall-clock
     * ns/op several fold, its CPU time much less. Prints ns of CPU per packet for every kind, size
     * and suite, in rounds that alternate the kinds, and the best round of each (least disturbed).
     *
     * <p>{@code java -cp bench/target/benchmarks.jar dev.keel.bench.EspDropPathBenchmark [packets] [rounds]}
     */
    public static void main(String[] args) {
        int packets = args.length > 0 ? Integer.parseInt(args[0]) : 2_000_000;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        java.lang.management.ThreadMXBean cpu = java.lang.management.ManagementFactory.getThreadMXBean();
        for (Suites suite : new Suites[] {Suites.AES256_GCM16, Suites.AES128_CBC_SHA256}) {
            for (int size : new int[] {64, 964}) {
                DecapOutcome[] kinds = {DecapOutcome.DELIVERED, DecapOutcome.UNKNOWN_SPI, DecapOutcome.ICV_FAILURE,
                        DecapOutcome.REPLAYED};
                EspDropPathBenchmark[] b = new EspDropPathBenchmark[kinds.length];
                double[] best = new double[kinds.length];
                java.util.Arrays.fill(best, Double.MAX_VALUE);
                for (int k = 0; k < kinds.length; k++) {
                    b[k] = new EspDropPathBenchmark();
                    b[k].suite = suite;
                    b[k].size = size;
                    b[k].kind = kinds[k];
                    b[k].setUp();
                    for (int i = 0; i < packets / 4; i++) { // warm-up: compiled before it counts
                        b[k].decapsulate();
                    }
                }
                for (int r = 0; r < rounds; r++) {
                    for (int k = 0; k < kinds.length; k++) {
                        long t0 = cpu.getCurrentThreadCpuTime();
                        for (int i = 0; i < packets; i++) {
                            b[k].decapsulate();
                        }
                        best[k] = Math.min(best[k], (cpu.getCurrentThreadCpuTime() - t0) / (double) packets);
                    }
                }
                StringBuilder line = new StringBuilder(String.format(java.util.Locale.ROOT, "%-18s %4d B inner:",
                        suite, size));
                for (int k = 0; k < kinds.length; k++) {
                    b[k].tearDown();
                    line.append(String.format(java.util.Locale.ROOT, "  %s %.0f ns", kinds[k], best[k]));
                }
                System.out.println(line);
            }
        }
    }
}
