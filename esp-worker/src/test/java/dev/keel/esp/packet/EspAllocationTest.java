package dev.keel.esp.packet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;

import dev.keel.core.crypto.AeadEngine;
import dev.keel.core.packet.PacketBuffer;
import dev.keel.core.sa.IpsecMode;
import dev.keel.esp.sa.InboundSa;
import dev.keel.esp.sa.InboundSaTable;
import dev.keel.esp.sa.OutboundSa;
import dev.keel.esp.sa.ReplayWindow;
import dev.keel.esp.sa.SelectorPolicy;
import dev.keel.core.ts.TrafficSelectors;
import dev.keel.esp.wire.SystemTests;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The packet path allocates nothing (DESIGN.md §3): a full encapsulate + decapsulate round,
 * selector check included, allocates no bytes in steady state for every suite. AEAD suites get
 * there on the OpenSSL engine ({@link AeadEngine}); on the JCA fallback SunJCE's Cipher.init
 * builds an engine per packet, so they are skipped there with the reason, or fail when
 * {@code KEEL_REQUIRE_SYSTEM_TESTS=1} (CI, which has libcrypto).
 */
class EspAllocationTest {

    private static final int WARMUP = 20_000;
    private static final int MEASURED = 10_000;

    private static void skipUnlessAllocationFree(Suites suite) {
        if (suite.encryption.isAead() && AeadEngine.selected() != AeadEngine.OPENSSL) {
            String reason = suite + " runs on " + AeadEngine.selected() + " (" + AeadEngine.selectionReason()
                    + "), which allocates per packet";
            if (SystemTests.required()) {
                fail(reason + " and " + SystemTests.REQUIRE_ENV + "=1 forbids skipping");
            }
            Assumptions.abort("skipped: " + reason + " (set " + SystemTests.REQUIRE_ENV + "=1 to fail instead)");
        }
    }

    @ParameterizedTest
    @EnumSource(Suites.class)
    void steadyStateAllocation(Suites suite) {
        skipUnlessAllocationFree(suite);
        int spi = 0x5000;
        EspCounters counters = new EspCounters();
        InboundSaTable table = new InboundSaTable();
        EspEncapsulator encap = new EspEncapsulator(counters);
        EspDecapsulator decap = new EspDecapsulator(table, counters);
        OutboundSa out = new OutboundSa(suite.spec(spi, IpsecMode.TUNNEL, true), null);
        table.put(new InboundSa(suite.spec(spi, IpsecMode.TUNNEL, true),
                new SelectorPolicy(TrafficSelectors.parseList("10.2.0.0/16"), TrafficSelectors.parseList("10.1.0.0/16"))));
        byte[] inner = InnerPackets.ipv4(17, 1372, 1);
        PacketBuffer pkt = new PacketBuffer(2048);

        run(encap, decap, out, pkt, inner, WARMUP);
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long before = mx.getCurrentThreadAllocatedBytes();
        run(encap, decap, out, pkt, inner, MEASURED);
        long perPacket = (mx.getCurrentThreadAllocatedBytes() - before) / MEASURED;

        System.out.printf("%s: %d bytes allocated per encapsulate+decapsulate of 1400 B%n", suite, perPacket);
        assertThat(perPacket).as("bytes per packet").isZero();
        assertThat(counters.get(DecapOutcome.DELIVERED)).isEqualTo(WARMUP + MEASURED);
    }

    /**
     * An inbound window bound by replay checkpoints (docs/ha.md): every other packet is above its
     * accept limit and refused, and each refusal runs the checkpointer's signal. Neither the
     * refusal, nor the signal, nor moving the limit allocates.
     */
    @ParameterizedTest
    @EnumSource(value = Suites.class, names = {"AES128_GCM16", "AES256_CBC_SHA256"})
    void aWindowBoundByCheckpointsAllocatesNothingWhenItRefusesAndSignals(Suites suite) {
        skipUnlessAllocationFree(suite);
        int spi = 0x5001;
        EspCounters counters = new EspCounters();
        InboundSaTable table = new InboundSaTable();
        EspEncapsulator encap = new EspEncapsulator(counters);
        EspDecapsulator decap = new EspDecapsulator(table, counters);
        OutboundSa out = new OutboundSa(suite.spec(spi, IpsecMode.TUNNEL, true), null);
        InboundSa in = new InboundSa(suite.spec(spi, IpsecMode.TUNNEL, true), dev.keel.esp.sa.InnerPacketPolicy.ANY);
        table.put(in);
        ReplayWindow w = in.replayWindow();
        long[] signals = {0};
        Runnable signal = () -> signals[0]++;
        byte[] inner = InnerPackets.ipv4(17, 1372, 1);
        PacketBuffer pkt = new PacketBuffer(2048);

        Runnable round = () -> {
            for (int i = 0; i < MEASURED; i++) {
                long seq = out.peekNextSequence();
                w.acceptUpTo(i % 2 == 0 ? seq : seq - 1);
                w.signalAt(seq, signal);
                pkt.set(inner, 0, inner.length);
                DecapOutcome want = i % 2 == 0 ? DecapOutcome.DELIVERED : DecapOutcome.HELD;
                if (encap.encapsulate(out, pkt) != EncapOutcome.PROTECTED || decap.decapsulate(pkt) != want) {
                    throw new AssertionError("packet " + i + " was not " + want);
                }
            }
        };
        round.run();
        round.run();
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long before = mx.getCurrentThreadAllocatedBytes();
        round.run();
        long perPacket = (mx.getCurrentThreadAllocatedBytes() - before) / MEASURED;
        assertThat(perPacket).as("bytes per packet").isZero();
        assertThat(counters.get(DecapOutcome.HELD)).isEqualTo(3 * MEASURED / 2);
        assertThat(signals[0]).as("every packet signalled: half accepted at, half refused above the limit")
                .isEqualTo(3L * MEASURED);
        assertThat(in.drops()).as("a held packet is not a drop until the forwarder gives up on it").isZero();
    }

    private static void run(EspEncapsulator encap, EspDecapsulator decap, OutboundSa out, PacketBuffer pkt,
            byte[] inner, int n) {
        for (int i = 0; i < n; i++) {
            pkt.set(inner, 0, inner.length);
            if (encap.encapsulate(out, pkt) != EncapOutcome.PROTECTED || decap.decapsulate(pkt) != DecapOutcome.DELIVERED) {
                throw new AssertionError("packet " + i + " did not round-trip");
            }
        }
    }
}
