package dev.keel.esp.packet;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.packet.BigEndian;
import dev.keel.core.packet.PacketBuffer;
import dev.keel.core.sa.IpsecMode;
import dev.keel.esp.sa.InboundSa;
import dev.keel.esp.sa.InboundSaTable;
import dev.keel.esp.sa.InnerPacketPolicy;
import dev.keel.esp.sa.OutboundSa;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Truncated, oversized and random input to decapsulation: always a reason, never an exception. */
class EspHostileInputTest {

    private static final int SPI = 0x41424344;

    @ParameterizedTest
    @EnumSource(Suites.class)
    void everyTruncationIsDropped(Suites suite) {
        Fixture f = new Fixture(suite, IpsecMode.TUNNEL);
        byte[] wire = f.protect(InnerPackets.ipv4(6, 100, 1));
        for (int len = 0; len < wire.length; len++) {
            DecapOutcome o = f.receive(wire, len);
            assertThat(o).as("truncated to %d of %d", len, wire.length).isNotEqualTo(DecapOutcome.DELIVERED);
        }
    }

    @ParameterizedTest
    @EnumSource(Suites.class)
    void trailingBytesAreDropped(Suites suite) {
        Fixture f = new Fixture(suite, IpsecMode.TRANSPORT);
        byte[] wire = f.protect(InnerPackets.ipv4(17, 100, 1));
        for (int extra : new int[] {1, 4, 16, 1000}) {
            byte[] longer = java.util.Arrays.copyOf(wire, wire.length + extra);
            assertThat(f.receive(longer, longer.length)).isIn(DecapOutcome.ICV_FAILURE, DecapOutcome.MALFORMED);
        }
    }

    @ParameterizedTest
    @EnumSource(Suites.class)
    void randomBytesWithAKnownSpiAreDropped(Suites suite) {
        for (IpsecMode mode : IpsecMode.values()) {
            Fixture f = new Fixture(suite, mode);
            Random r = new Random(suite.ordinal() * 31L + mode.ordinal());
            for (int i = 0; i < 2_000; i++) {
                byte[] junk = new byte[r.nextInt(1600)];
                r.nextBytes(junk);
                if (junk.length >= 4 && r.nextBoolean()) {
                    BigEndian.putInt(junk, 0, SPI);
                }
                DecapOutcome o = f.receive(junk, junk.length);
                assertThat(o).isNotIn(DecapOutcome.DELIVERED, DecapOutcome.DUMMY);
            }
            long total = 0;
            for (DecapOutcome o : DecapOutcome.values()) {
                total += f.counters.get(o);
            }
            assertThat(total).as("every packet counted").isEqualTo(2_000);
        }
    }

    private static final class Fixture {
        final EspCounters counters = new EspCounters();
        final InboundSaTable table = new InboundSaTable();
        final OutboundSa out;
        final EspEncapsulator encap = new EspEncapsulator(counters);
        final EspDecapsulator decap = new EspDecapsulator(table, counters);

        Fixture(Suites suite, IpsecMode mode) {
            out = new OutboundSa(suite.spec(SPI, mode, false), null);
            table.put(new InboundSa(suite.spec(SPI, mode, false), InnerPacketPolicy.ANY));
        }

        byte[] protect(byte[] inner) {
            PacketBuffer pkt = new PacketBuffer(2048).set(inner, 0, inner.length);
            assertThat(encap.encapsulate(out, pkt)).isEqualTo(EncapOutcome.PROTECTED);
            return pkt.toByteArray();
        }

        DecapOutcome receive(byte[] wire, int len) {
            PacketBuffer pkt = new PacketBuffer(4096).set(wire, 0, len);
            pkt.endpoints(InnerPackets.V4_A, InnerPackets.V4_B, 4500, 4500);
            return decap.decapsulate(pkt);
        }
    }
}
