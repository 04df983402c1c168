package dev.keel.esp.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
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
import dev.keel.esp.sa.EspCipherSuite;
import dev.keel.esp.sa.InboundSa;
import dev.keel.esp.sa.InboundSaTable;
import dev.keel.esp.sa.InnerPacketPolicy;
import dev.keel.esp.sa.OutboundSa;
import java.util.Arrays;

/**
 * ESP decapsulation (RFC 4303 §3.4) with a real SA of every suite Keel offers ({@link Suites}), in
 * tunnel and transport mode. {@link #decapsulateReceived}: raw bytes under a known SPI end in one
 * counted outcome, and MALFORMED only for a length the suite cannot produce (the decapsulator turns
 * an unexpected exception into MALFORMED; here that would fail). {@link #decapsulateSealed}: the
 * fuzzer's inner packet protected by the matching outbound SA always verifies, and a delivered
 * tunnel-mode packet is what went in, up to the length its IP header names.
 */
class EspDecapsulationFuzzTest {

    private static final int SPI = 0x4b45454c;

    @FuzzTest(maxDuration = "15s")
    void decapsulateReceived(FuzzedDataProvider data) {
        Suites suite = data.pickValue(Suites.values());
        IpsecMode mode = data.pickValue(IpsecMode.values());
        boolean esn = data.consumeBoolean();
        byte[] wire = data.consumeRemainingAsBytes();
        if (wire.length >= 4) {
            BigEndian.putInt(wire, 0, SPI); // the SA's SPI, so the packet gets past the lookup
        }
        EspCounters counters = new EspCounters();
        // closed as a deleted SA is: its OpenSSL contexts are native memory, which the Cleaner alone frees
        // too late when nothing fills the heap (10 million inputs reached 13 GB of RSS)
        try (InboundSa sa = new InboundSa(suite.spec(SPI, mode, esn), InnerPacketPolicy.ANY)) {
            DecapOutcome outcome = decapsulate(sa, counters, wire);

            assertThat(Arrays.stream(DecapOutcome.values()).mapToLong(counters::get).sum()).as("counted once").isOne();
            if (outcome == DecapOutcome.MALFORMED) {
                EspCipherSuite s = sa.suite();
                int ctLen = wire.length - 8 - s.ivLength() - s.icvLength();
                assertThat(ctLen % s.alignment()).as("MALFORMED only for a misaligned length").isNotZero();
            }
        }
    }

    @FuzzTest(maxDuration = "15s")
    void decapsulateSealed(FuzzedDataProvider data) {
        Suites suite = data.pickValue(Suites.values());
        IpsecMode mode = data.pickValue(IpsecMode.values());
        byte[] inner = data.consumeRemainingAsBytes();
        if (inner.length > 2048) {
            return;
        }
        EspCounters counters = new EspCounters();
        PacketBuffer pkt = new PacketBuffer(4096);
        pkt.set(inner, 0, inner.length);
        pkt.endpoints(InnerPackets.V4_A, InnerPackets.V4_B, 4500, 4500);
        try (OutboundSa out = new OutboundSa(suite.spec(SPI, mode, false), null);
                InboundSa sa = new InboundSa(suite.spec(SPI, mode, false), InnerPacketPolicy.ANY)) {
            if (new EspEncapsulator(counters).encapsulate(out, pkt) != EncapOutcome.PROTECTED) {
                return; // not an IP packet Keel would send: the encapsulator refused it with a reason
            }
            sealedAndOpened(mode, inner, pkt.toByteArray(), sa, counters);
        }
    }

    private static void sealedAndOpened(IpsecMode mode, byte[] inner, byte[] wire, InboundSa sa, EspCounters counters) {
        PacketBuffer received = new PacketBuffer(4096).set(wire, 0, wire.length);
        received.endpoints(InnerPackets.V4_A, InnerPackets.V4_B, 4500, 4500);
        InboundSaTable table = new InboundSaTable();
        table.put(sa);
        DecapOutcome outcome = new EspDecapsulator(table, counters).decapsulate(received);

        if (mode == IpsecMode.TRANSPORT && outcome == DecapOutcome.DUMMY) {
            return; // an upper layer of 59 (IPv6 No Next Header) is, in ESP's trailer, a dummy packet (RFC 4303 §2.6)
        }
        assertThat(outcome).as("a packet the matching SA sealed").isIn(DecapOutcome.DELIVERED,
                DecapOutcome.BAD_NEXT_HEADER, DecapOutcome.POLICY_MISMATCH);
        if (outcome == DecapOutcome.DELIVERED && mode == IpsecMode.TUNNEL) {
            // the encapsulator sends the packet its IP header's length names; bytes after it are not sent
            byte[] delivered = received.toByteArray();
            assertThat(delivered).isEqualTo(Arrays.copyOf(inner, delivered.length));
        }
    }

    private static DecapOutcome decapsulate(InboundSa sa, EspCounters counters, byte[] wire) {
        InboundSaTable table = new InboundSaTable();
        table.put(sa);
        PacketBuffer pkt = new PacketBuffer(4096).set(wire, 0, Math.min(wire.length, 4096));
        pkt.endpoints(InnerPackets.V4_A, InnerPackets.V4_B, 4500, 4500);
        return new EspDecapsulator(table, counters).decapsulate(pkt);
    }
}
