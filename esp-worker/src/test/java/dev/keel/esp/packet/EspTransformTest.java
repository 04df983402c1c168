package dev.keel.esp.packet;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.crypto.IntegrityMac;
import dev.keel.core.crypto.PacketCiphers;
import dev.keel.core.packet.BigEndian;
import dev.keel.core.packet.PacketBuffer;
import dev.keel.core.sa.IpsecMode;
import dev.keel.esp.sa.EspSaSpec;
import dev.keel.esp.sa.InboundSa;
import dev.keel.esp.sa.InboundSaTable;
import dev.keel.esp.sa.InnerPacketPolicy;
import dev.keel.esp.sa.OutboundSa;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/** ESP encapsulation and decapsulation (RFC 4303) for every suite, mode and address family. */
class EspTransformTest {

    private static final int SPI = 0x0c0ffee1;

    private final EspCounters counters = new EspCounters();
    private final InboundSaTable table = new InboundSaTable();
    private final EspEncapsulator encap = new EspEncapsulator(counters);
    private final EspDecapsulator decap = new EspDecapsulator(table, counters);

    static Stream<Arguments> matrix() {
        List<Arguments> out = new ArrayList<>();
        for (Suites s : Suites.values()) {
            for (IpsecMode mode : IpsecMode.values()) {
                for (boolean v6 : new boolean[] {false, true}) {
                    for (boolean esn : new boolean[] {false, true}) {
                        out.add(Arguments.of(s, mode, v6, esn));
                    }
                }
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1} ipv6={2} esn={3}")
    @MethodSource("matrix")
    void roundTripsEveryProtocolAndSize(Suites suite, IpsecMode mode, boolean v6, boolean esn) {
        OutboundSa out = new OutboundSa(suite.spec(SPI, mode, esn), null);
        table.put(new InboundSa(suite.spec(SPI, mode, esn), InnerPacketPolicy.ANY));
        int[] protocols = v6 ? new int[] {58, 6, 17} : new int[] {1, 6, 17};
        int n = 0;
        for (int protocol : protocols) {
            for (int size : new int[] {0, 1, 2, 3, 15, 16, 17, 64, 255, 256, 1400}) {
                byte[] inner = v6 ? InnerPackets.ipv6(protocol, size, n) : InnerPackets.ipv4(protocol, size, n);
                PacketBuffer pkt = new PacketBuffer(2048).set(inner, 0, inner.length);
                outerEndpoints(pkt, v6);
                assertThat(encap.encapsulate(out, pkt)).isEqualTo(EncapOutcome.PROTECTED);
                byte[] wire = pkt.toByteArray();
                assertWellFormed(wire, suite, ++n);

                assertThat(decap.decapsulate(pkt)).isEqualTo(DecapOutcome.DELIVERED);
                byte[] plain = pkt.toByteArray();
                if (mode == IpsecMode.TUNNEL) {
                    assertThat(plain).isEqualTo(inner);
                } else {
                    assertTransportEquivalent(plain, inner, v6);
                }
            }
        }
        assertThat(counters.get(DecapOutcome.DELIVERED)).isEqualTo(n);
        assertThat(out.packets()).isEqualTo(n);
    }

    /** The ESP layout of RFC 4303 §2: header, IV, ciphertext aligned to the suite, ICV. */
    private static void assertWellFormed(byte[] wire, Suites suite, long seq) {
        assertThat(BigEndian.getInt(wire, 0)).isEqualTo(SPI);
        assertThat(BigEndian.getInt(wire, 4)).isEqualTo((int) seq);
        int iv = suite.encryption.ivLength();
        int icv = suite.encryption.isAead() ? suite.encryption.icvLength() : suite.integrity.icvLength();
        int ct = wire.length - 8 - iv - icv;
        assertThat(ct % Math.max(4, suite.encryption.blockSize())).isZero();
        if (suite.encryption.isAead()) {
            // RFC 4106 §3.1: the explicit IV is the 64-bit sequence number here.
            assertThat(Arrays.copyOfRange(wire, 8, 16)).isEqualTo(new byte[] {0, 0, 0, 0,
                    (byte) (seq >>> 24), (byte) (seq >>> 16), (byte) (seq >>> 8), (byte) seq});
        }
    }

    private static void assertTransportEquivalent(byte[] plain, byte[] inner, boolean v6) {
        int hdr = v6 ? 40 : 20;
        assertThat(plain).hasSameSizeAs(inner);
        assertThat(Arrays.copyOfRange(plain, hdr, plain.length)).isEqualTo(Arrays.copyOfRange(inner, hdr, inner.length));
        int proto = v6 ? 6 : 9;
        assertThat(plain[proto]).isEqualTo(inner[proto]);
        int addr = v6 ? 8 : 12;
        assertThat(Arrays.copyOfRange(plain, addr, hdr)).isEqualTo(Arrays.copyOfRange(inner, addr, hdr));
        if (!v6) {
            assertThat(dev.keel.core.packet.Checksums.ipv4Header(plain, 0, 20)).isZero();
        }
    }

    private static void outerEndpoints(PacketBuffer pkt, boolean v6) {
        // Transport mode: the outer addresses are the inner ones (RFC 4303 §3.1.1).
        if (v6) {
            pkt.endpoints(InnerPackets.V6_A, InnerPackets.V6_B, 4500, 4500);
        } else {
            pkt.endpoints(InnerPackets.V4_A, InnerPackets.V4_B, 4500, 4500);
        }
    }

    private byte[] protect(OutboundSa out, byte[] inner) {
        PacketBuffer pkt = new PacketBuffer(2048).set(inner, 0, inner.length);
        assertThat(encap.encapsulate(out, pkt)).isEqualTo(EncapOutcome.PROTECTED);
        return pkt.toByteArray();
    }

    private DecapOutcome receive(byte[] wire) {
        PacketBuffer pkt = new PacketBuffer(4096).set(wire, 0, wire.length);
        outerEndpoints(pkt, false);
        return decap.decapsulate(pkt);
    }

    @ParameterizedTest
    @EnumSource(Suites.class)
    void everyTamperedByteFailsTheIcv(Suites suite) {
        OutboundSa out = new OutboundSa(suite.spec(SPI, IpsecMode.TUNNEL, false), null);
        table.put(new InboundSa(suite.spec(SPI, IpsecMode.TUNNEL, false), InnerPacketPolicy.ANY));
        byte[] wire = protect(out, InnerPackets.ipv4(17, 40, 1));
        for (int i = 4; i < wire.length; i++) {
            byte[] bad = wire.clone();
            bad[i] ^= 0x01;
            // Sequence number 1 with its last bit flipped is 0, which is never valid.
            DecapOutcome expected = i == 7 ? DecapOutcome.REPLAYED : DecapOutcome.ICV_FAILURE;
            assertThat(receive(bad)).as("bit flipped at byte %d", i).isEqualTo(expected);
        }
        assertThat(receive(wire)).isEqualTo(DecapOutcome.DELIVERED);
        assertThat(counters.get(DecapOutcome.ICV_FAILURE)).isEqualTo(wire.length - 5);
    }

    @ParameterizedTest
    @EnumSource(Suites.class)
    void replaysAreDroppedAndReorderingInsideTheWindowIsNot(Suites suite) {
        OutboundSa out = new OutboundSa(suite.spec(SPI, IpsecMode.TUNNEL, false), null);
        table.put(new InboundSa(suite.spec(SPI, IpsecMode.TUNNEL, false), InnerPacketPolicy.ANY));
        List<byte[]> sent = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            sent.add(protect(out, InnerPackets.ipv4(1, 32, i)));
        }
        assertThat(receive(sent.get(199))).isEqualTo(DecapOutcome.DELIVERED);
        assertThat(receive(sent.get(150))).as("inside the 128-packet window").isEqualTo(DecapOutcome.DELIVERED);
        assertThat(receive(sent.get(150))).isEqualTo(DecapOutcome.REPLAYED);
        assertThat(receive(sent.get(50))).as("left of the window").isEqualTo(DecapOutcome.REPLAYED);
        assertThat(receive(sent.get(199))).isEqualTo(DecapOutcome.REPLAYED);
    }

    @Test
    void forgedPacketDoesNotAdvanceTheWindow() {
        Suites suite = Suites.AES128_GCM16;
        OutboundSa out = new OutboundSa(suite.spec(SPI, IpsecMode.TUNNEL, false), null);
        InboundSa in = new InboundSa(suite.spec(SPI, IpsecMode.TUNNEL, false), InnerPacketPolicy.ANY);
        table.put(in);
        byte[] first = protect(out, InnerPackets.ipv4(1, 8, 1));
        byte[] forged = first.clone();
        forged[4] = 0x7f; // a far-future sequence number with a tag that cannot verify
        assertThat(receive(forged)).isEqualTo(DecapOutcome.ICV_FAILURE);
        assertThat(in.replayWindow().top()).isZero();
        assertThat(receive(first)).isEqualTo(DecapOutcome.DELIVERED);
    }

    @Test
    void badPaddingAndBadNextHeaderAreDetectedAfterVerification() {
        // NULL encryption shows the trailer, and re-MACing with the SA's key forges a valid ICV.
        Suites suite = Suites.NULL_SHA256;
        EspSaSpec spec = suite.spec(SPI, IpsecMode.TUNNEL, false);
        OutboundSa out = new OutboundSa(suite.spec(SPI, IpsecMode.TUNNEL, false), null);
        table.put(new InboundSa(spec, InnerPacketPolicy.ANY));
        try (IntegrityMac mac = PacketCiphers.integrity(suite.integrity, suite.integrityKey(SPI))) {
            byte[] wire = protect(out, InnerPackets.ipv4(1, 9, 1)); // 37 bytes + 1 pad + 2 = 40
            int icv = mac.icvLength();
            int trailer = wire.length - icv - 2;
            assertThat(wire[trailer]).as("pad length").isEqualTo((byte) 1);
            assertThat(wire[trailer - 1]).as("first pad byte").isEqualTo((byte) 1);

            byte[] badPad = wire.clone();
            badPad[trailer - 1] = 0;
            remac(mac, badPad);
            assertThat(receive(badPad)).isEqualTo(DecapOutcome.BAD_PADDING);

            byte[] padTooLong = protect(out, InnerPackets.ipv4(1, 9, 2));
            padTooLong[trailer] = (byte) 200;
            remac(mac, padTooLong);
            assertThat(receive(padTooLong)).isEqualTo(DecapOutcome.BAD_PADDING);

            byte[] badNext = protect(out, InnerPackets.ipv4(1, 9, 3));
            badNext[trailer + 1] = 6; // TCP in a tunnel-mode SA
            remac(mac, badNext);
            assertThat(receive(badNext)).isEqualTo(DecapOutcome.BAD_NEXT_HEADER);

            byte[] wrongFamily = protect(out, InnerPackets.ipv4(1, 9, 4));
            wrongFamily[trailer + 1] = 41; // says IPv6, carries IPv4
            remac(mac, wrongFamily);
            assertThat(receive(wrongFamily)).isEqualTo(DecapOutcome.BAD_NEXT_HEADER);
        }
    }

    private static void remac(IntegrityMac mac, byte[] wire) {
        int covered = wire.length - mac.icvLength();
        mac.compute(wire, 0, covered, new byte[0], 0, wire, covered);
    }

    @ParameterizedTest
    @EnumSource(Suites.class)
    void tfcPaddingHidesTheLengthAndIsRemoved(Suites suite) {
        OutboundSa out = new OutboundSa(suite.spec(SPI, IpsecMode.TUNNEL, false, 1000), null);
        table.put(new InboundSa(suite.spec(SPI, IpsecMode.TUNNEL, false), InnerPacketPolicy.ANY));
        byte[] small = InnerPackets.ipv4(17, 10, 1);
        byte[] wire = protect(out, small);
        assertThat(wire.length).isGreaterThan(1000);
        PacketBuffer pkt = new PacketBuffer(2048).set(wire, 0, wire.length);
        assertThat(decap.decapsulate(pkt)).isEqualTo(DecapOutcome.DELIVERED);
        assertThat(pkt.toByteArray()).isEqualTo(small);
    }

    @ParameterizedTest
    @EnumSource(Suites.class)
    void dummyPacketsVerifyAndVanish(Suites suite) {
        OutboundSa out = new OutboundSa(suite.spec(SPI, IpsecMode.TUNNEL, false), null);
        table.put(new InboundSa(suite.spec(SPI, IpsecMode.TUNNEL, false), InnerPacketPolicy.ANY));
        PacketBuffer pkt = new PacketBuffer(2048);
        assertThat(encap.encapsulateDummy(out, pkt, 300)).isEqualTo(EncapOutcome.PROTECTED);
        assertThat(decap.decapsulate(pkt)).isEqualTo(DecapOutcome.DUMMY);
        assertThat(counters.get(DecapOutcome.DUMMY)).isEqualTo(1);
    }

    @Test
    void withoutEsnTheCounterStopsAtTwoToTheThirtyTwoMinusOne() {
        Suites suite = Suites.AES256_GCM16;
        AtomicInteger rekeySignals = new AtomicInteger();
        OutboundSa out = new OutboundSa(suite.spec(SPI, IpsecMode.TUNNEL, false), 0xFFFF_FFFEL,
                sa -> rekeySignals.incrementAndGet());
        table.put(new InboundSa(suite.spec(SPI, IpsecMode.TUNNEL, false), InnerPacketPolicy.ANY));
        byte[] inner = InnerPackets.ipv4(1, 8, 1);
        assertThat(receive(protect(out, inner))).isEqualTo(DecapOutcome.DELIVERED);
        assertThat(receive(protect(out, inner))).isEqualTo(DecapOutcome.DELIVERED);
        for (int i = 0; i < 3; i++) {
            PacketBuffer pkt = new PacketBuffer(2048).set(inner, 0, inner.length);
            assertThat(encap.encapsulate(out, pkt)).isEqualTo(EncapOutcome.SEQUENCE_EXHAUSTED);
        }
        assertThat(out.isExhausted()).isTrue();
        assertThat(rekeySignals).hasValue(1);
    }

    @ParameterizedTest
    @EnumSource(Suites.class)
    void withEsnTheCounterCrossesTwoToTheThirtyTwo(Suites suite) {
        OutboundSa out = new OutboundSa(suite.spec(SPI, IpsecMode.TUNNEL, true), 0xFFFF_FFF0L, null);
        InboundSa in = new InboundSa(suite.spec(SPI, IpsecMode.TUNNEL, true), InnerPacketPolicy.ANY, 0xFFFF_FFEFL);
        table.put(in);
        byte[] inner = InnerPackets.ipv4(1, 8, 1);
        for (int i = 0; i < 40; i++) {
            assertThat(receive(protect(out, inner))).isEqualTo(DecapOutcome.DELIVERED);
        }
        assertThat(in.replayWindow().top()).isEqualTo(0xFFFF_FFF0L + 39);
        assertThat(out.isExhausted()).isFalse();
    }

    @Test
    void innerPacketsOutsideTheSelectorsAreDropped() {
        Suites suite = Suites.AES128_GCM16;
        OutboundSa out = new OutboundSa(suite.spec(SPI, IpsecMode.TUNNEL, false), null);
        table.put(new InboundSa(suite.spec(SPI, IpsecMode.TUNNEL, false), (buf, info) -> info.protocol() == 1));
        assertThat(receive(protect(out, InnerPackets.ipv4(1, 8, 1)))).isEqualTo(DecapOutcome.DELIVERED);
        assertThat(receive(protect(out, InnerPackets.ipv4(17, 8, 2)))).isEqualTo(DecapOutcome.POLICY_MISMATCH);
    }

    @Test
    void unknownSpiAndDeletedSas() {
        Suites suite = Suites.AES128_GCM16;
        OutboundSa out = new OutboundSa(suite.spec(SPI, IpsecMode.TUNNEL, false), null);
        InboundSa in = new InboundSa(suite.spec(SPI, IpsecMode.TUNNEL, false), InnerPacketPolicy.ANY);
        byte[] wire = protect(out, InnerPackets.ipv4(1, 8, 1));
        assertThat(receive(wire)).isEqualTo(DecapOutcome.UNKNOWN_SPI);
        table.put(in);
        in.close();
        assertThat(receive(wire)).isEqualTo(DecapOutcome.UNKNOWN_SPI);
        out.close();
        PacketBuffer pkt = new PacketBuffer(2048).set(InnerPackets.ipv4(1, 8, 1), 0, 36);
        assertThat(encap.encapsulate(out, pkt)).isEqualTo(EncapOutcome.SA_DELETED);
    }

    @Test
    void closingAnSaZeroizesItsKeys() {
        EspSaSpec spec = Suites.AES256_CBC_SHA512.spec(SPI, IpsecMode.TUNNEL, false);
        OutboundSa out = new OutboundSa(spec, null);
        out.close();
        assertThat(spec.encryptionKey()).containsOnly(0);
        assertThat(spec.integrityKey()).containsOnly(0);
        assertThat(spec.toString()).doesNotContain(Arrays.toString(Suites.AES256_CBC_SHA512.encryptionKey(SPI)));
    }

    @Test
    void nonIpPlaintextIsRefused() {
        OutboundSa out = new OutboundSa(Suites.AES128_GCM16.spec(SPI, IpsecMode.TUNNEL, false), null);
        byte[] junk = {0x10, 2, 3, 4};
        PacketBuffer pkt = new PacketBuffer(2048).set(junk, 0, junk.length);
        assertThat(encap.encapsulate(out, pkt)).isEqualTo(EncapOutcome.INVALID_INNER_PACKET);
        assertThat(counters.get(EncapOutcome.INVALID_INNER_PACKET)).isEqualTo(1);
    }
}
