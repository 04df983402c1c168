package dev.keel.esp.packet;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.packet.BigEndian;
import dev.keel.core.packet.Checksums;
import dev.keel.core.packet.PacketBuffer;
import dev.keel.core.sa.IpsecMode;
import dev.keel.core.transform.IntegrityTransform;
import dev.keel.esp.sa.EspSaSpec;
import dev.keel.esp.sa.InboundSa;
import dev.keel.esp.sa.InboundSaTable;
import dev.keel.esp.sa.InnerPacketPolicy;
import dev.keel.esp.sa.OutboundSa;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * AH (RFC 4302) encapsulation and checking for every integrity algorithm, mode and address
 * family. Each ICV is also recomputed here with {@link javax.crypto.Mac} over a copy whose mutable
 * fields the test zeroes itself (RFC 4302 Appendix A), so the codec is not its own judge.
 */
class AhTransformTest {

    private static final int SPI = 0x0a0b0c0d;
    static final byte[] LOCAL_V4 = {(byte) 192, 0, 2, 1};
    static final byte[] PEER_V4 = {(byte) 192, 0, 2, 2};
    static final byte[] LOCAL_V6 = InnerPackets.hex("20010db8ffff00000000000000000001");
    static final byte[] PEER_V6 = InnerPackets.hex("20010db8ffff00000000000000000002");

    private final EspCounters counters = new EspCounters();
    private final InboundSaTable table = new InboundSaTable();
    private final AhEncapsulator encap = new AhEncapsulator(counters);
    private final AhDecapsulator decap = new AhDecapsulator(table, counters);

    static final IntegrityTransform[] ALGORITHMS = {IntegrityTransform.HMAC_SHA1_96,
        IntegrityTransform.HMAC_SHA2_256_128, IntegrityTransform.HMAC_SHA2_384_192, IntegrityTransform.HMAC_SHA2_512_256};

    static EspSaSpec spec(IntegrityTransform t, IpsecMode mode, boolean esn) {
        return EspSaSpec.ah(SPI, mode, t, key(t), esn, 128);
    }

    static byte[] key(IntegrityTransform t) {
        byte[] k = new byte[t.keyLength()];
        new Random(t.ordinal()).nextBytes(k);
        return k;
    }

    static Stream<Arguments> matrix() {
        List<Arguments> out = new ArrayList<>();
        for (IntegrityTransform t : ALGORITHMS) {
            for (IpsecMode mode : IpsecMode.values()) {
                for (boolean v6 : new boolean[] {false, true}) {
                    for (boolean esn : new boolean[] {false, true}) {
                        out.add(Arguments.of(t, mode, v6, esn));
                    }
                }
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1} ipv6={2} esn={3}")
    @MethodSource("matrix")
    void roundTripsAndTheIcvIsWhatRfc4302Says(IntegrityTransform t, IpsecMode mode, boolean v6, boolean esn)
            throws Exception {
        OutboundSa out = new OutboundSa(spec(t, mode, esn), null);
        table.put(new InboundSa(spec(t, mode, esn), InnerPacketPolicy.ANY));
        int n = 0;
        for (int size : new int[] {0, 1, 3, 64, 1400}) {
            byte[] inner = v6 ? InnerPackets.ipv6(17, size, n) : InnerPackets.ipv4(17, size, n);
            PacketBuffer pkt = new PacketBuffer(2048).set(inner, 0, inner.length);
            assertThat(encap.encapsulate(out, pkt, v6 ? LOCAL_V6 : LOCAL_V4, v6 ? PEER_V6 : PEER_V4))
                    .isEqualTo(EncapOutcome.PROTECTED);
            byte[] wire = pkt.toByteArray();
            int hdr = v6 ? 40 : 20;
            int ahLen = (wire[hdr + 1] + 2) * 4;
            // RFC 4302 §2.6: 12 bytes + ICV, padded to 32 bits (IPv4) or 64 bits (IPv6).
            int expectedAh = 12 + t.icvLength();
            expectedAh += v6 ? (8 - expectedAh % 8) % 8 : 0;
            assertThat(ahLen).isEqualTo(expectedAh);
            assertThat(wire[v6 ? 6 : 9]).isEqualTo((byte) 51);
            assertThat(wire[hdr] & 0xff).isEqualTo(mode == IpsecMode.TUNNEL ? (v6 ? 41 : 4) : 17);
            assertThat(BigEndian.getInt(wire, hdr + 4)).isEqualTo(SPI);
            assertThat(BigEndian.getInt(wire, hdr + 8)).isEqualTo(n + 1);
            if (!v6) {
                assertThat(Checksums.ipv4Header(wire, 0, 20)).as("IPv4 header checksum").isZero();
            }
            assertThat(Arrays.copyOfRange(wire, hdr + 12, hdr + 12 + t.icvLength()))
                    .isEqualTo(independentIcv(t, key(t), wire, esn ? 0 : -1));

            // Routers change the mutable fields; the ICV still holds (RFC 4302 §3.3.3.1).
            changeMutableFields(wire, v6);
            pkt = new PacketBuffer(2048).set(wire, 0, wire.length);
            assertThat(decap.decapsulate(pkt)).isEqualTo(DecapOutcome.DELIVERED);
            byte[] got = pkt.toByteArray();
            if (mode == IpsecMode.TUNNEL) {
                assertThat(got).isEqualTo(inner);
            } else {
                assertThat(Arrays.copyOfRange(got, hdr, got.length)).isEqualTo(Arrays.copyOfRange(inner, hdr, inner.length));
                assertThat(Arrays.copyOfRange(got, v6 ? 8 : 12, v6 ? 40 : 20))
                        .isEqualTo(v6 ? concat(LOCAL_V6, PEER_V6) : concat(LOCAL_V4, PEER_V4));
            }
            n++;
        }
        assertThat(counters.get(DecapOutcome.DELIVERED)).isEqualTo(n);
    }

    @Test
    void aTamperedImmutableByteFailsTheIcvAndIsCountedAndTheWindowStaysOpen() {
        for (boolean v6 : new boolean[] {false, true}) {
            EspCounters c = new EspCounters();
            InboundSaTable tbl = new InboundSaTable();
            AhDecapsulator d = new AhDecapsulator(tbl, c);
            OutboundSa out = new OutboundSa(spec(IntegrityTransform.HMAC_SHA2_256_128, IpsecMode.TUNNEL, false), null);
            tbl.put(new InboundSa(spec(IntegrityTransform.HMAC_SHA2_256_128, IpsecMode.TUNNEL, false), InnerPacketPolicy.ANY));
            byte[] wire = protect(out, v6, 100);
            int hdr = v6 ? 40 : 20;
            // An immutable header byte (IPv4 identification / IPv6 source), the payload, the SPI-covered AH fields.
            int[] positions = v6 ? new int[] {8, 4, hdr + 20, wire.length - 1} : new int[] {4, 12, hdr + 20, wire.length - 1};
            for (int pos : positions) {
                byte[] bad = wire.clone();
                bad[pos] ^= 0x01;
                if (pos == 4 && v6) {
                    continue; // the payload length: truncation, not an ICV question
                }
                assertThat(d.decapsulate(new PacketBuffer(2048).set(bad, 0, bad.length)))
                        .as("ipv6=%s byte %d", v6, pos).isEqualTo(DecapOutcome.ICV_FAILURE);
            }
            assertThat(d.decapsulate(new PacketBuffer(2048).set(wire, 0, wire.length))).isEqualTo(DecapOutcome.DELIVERED);
            assertThat(d.decapsulate(new PacketBuffer(2048).set(wire, 0, wire.length))).isEqualTo(DecapOutcome.REPLAYED);
            assertThat(c.get(DecapOutcome.ICV_FAILURE)).isEqualTo(v6 ? 3 : 4);
            assertThat(c.get(DecapOutcome.REPLAYED)).isEqualTo(1);
        }
    }

    @Test
    void anEspSaIsNotAnAhSaAndTheOtherWayRound() {
        OutboundSa ah = new OutboundSa(spec(IntegrityTransform.HMAC_SHA2_256_128, IpsecMode.TUNNEL, false), null);
        table.put(new InboundSa(Suites.NULL_SHA256.spec(SPI, IpsecMode.TUNNEL, false), InnerPacketPolicy.ANY));
        byte[] wire = protect(ah, false, 10);
        assertThat(decap.decapsulate(new PacketBuffer(2048).set(wire, 0, wire.length))).isEqualTo(DecapOutcome.UNKNOWN_SPI);

        InboundSaTable t2 = new InboundSaTable();
        t2.put(new InboundSa(spec(IntegrityTransform.HMAC_SHA2_256_128, IpsecMode.TUNNEL, false), InnerPacketPolicy.ANY));
        OutboundSa esp = new OutboundSa(Suites.NULL_SHA256.spec(SPI, IpsecMode.TUNNEL, false), null);
        byte[] inner = InnerPackets.ipv4(17, 10, 1);
        PacketBuffer pkt = new PacketBuffer(2048).set(inner, 0, inner.length);
        assertThat(new EspEncapsulator(counters).encapsulate(esp, pkt)).isEqualTo(EncapOutcome.PROTECTED);
        assertThat(new EspDecapsulator(t2, counters).decapsulate(pkt)).isEqualTo(DecapOutcome.UNKNOWN_SPI);
    }

    @Test
    void ipv4OptionsAreCoveredWhenImmutableAndZeroedWhenMutable() throws Exception {
        IntegrityTransform t = IntegrityTransform.HMAC_SHA2_256_128;
        table.put(new InboundSa(spec(t, IpsecMode.TUNNEL, false), InnerPacketPolicy.ANY));
        // Record Route (7, mutable: zeroed) then Router Alert (148, immutable: covered), then EOL padding.
        byte[] options = {7, 7, 4, 0, 0, 0, 0, (byte) 148, 4, 0, 0, 0};
        byte[] inner = InnerPackets.ipv4(17, 20, 3);
        byte[] wire = signedIpv4WithOptions(t, options, inner, 1);
        wire[20 + 3] = 9; // a router records its address in the Record Route option
        wire[20 + 2] = 8;
        fixIpv4Checksum(wire);
        assertThat(decap.decapsulate(new PacketBuffer(2048).set(wire, 0, wire.length))).isEqualTo(DecapOutcome.DELIVERED);

        byte[] second = signedIpv4WithOptions(t, options, inner, 2);
        second[20 + 7 + 3] = 1; // the Router Alert value is covered
        fixIpv4Checksum(second);
        assertThat(decap.decapsulate(new PacketBuffer(2048).set(second, 0, second.length)))
                .isEqualTo(DecapOutcome.ICV_FAILURE);

        byte[] malformed = signedIpv4WithOptions(t, options, inner, 3);
        malformed[20 + 1] = 40; // Record Route's length runs past the header
        assertThat(decap.decapsulate(new PacketBuffer(2048).set(malformed, 0, malformed.length)))
                .isEqualTo(DecapOutcome.MALFORMED);
    }

    @Test
    void ipv6OptionDataThatMayChangeEnRouteIsZeroed() throws Exception {
        IntegrityTransform t = IntegrityTransform.HMAC_SHA2_512_256;
        table.put(new InboundSa(spec(t, IpsecMode.TUNNEL, false), InnerPacketPolicy.ANY));
        byte[] inner = InnerPackets.ipv6(17, 20, 4);
        // Hop-by-hop (16 bytes): option 0x3e (bit 0x20 set: may change en route) with 4 data bytes,
        // option 0x1e (may not) with 2, then Pad1s.
        byte[] hbh = {51, 1, 0x3e, 4, 1, 2, 3, 4, 0x1e, 2, 7, 7, 0, 0, 0, 0};
        int ahLen = AhMutableFields.ahLength(t.icvLength(), true);
        byte[] wire = new byte[40 + 16 + ahLen + inner.length];
        wire[0] = 0x60;
        BigEndian.putU16(wire, 4, wire.length - 40);
        wire[6] = 0; // hop-by-hop
        wire[7] = 64;
        System.arraycopy(LOCAL_V6, 0, wire, 8, 16);
        System.arraycopy(PEER_V6, 0, wire, 24, 16);
        System.arraycopy(hbh, 0, wire, 40, 16);
        int ah = 56;
        wire[ah] = 41;
        wire[ah + 1] = (byte) (ahLen / 4 - 2);
        BigEndian.putInt(wire, ah + 4, SPI);
        BigEndian.putInt(wire, ah + 8, 1);
        System.arraycopy(inner, 0, wire, ah + ahLen, inner.length);
        System.arraycopy(independentIcv(t, key(t), wire, -1), 0, wire, ah + 12, t.icvLength());
        wire[40 + 4] = 9; // en route
        wire[3] = 0x55; // flow label
        byte[] tampered = wire.clone();
        assertThat(decap.decapsulate(new PacketBuffer(2048).set(wire, 0, wire.length))).isEqualTo(DecapOutcome.DELIVERED);
        BigEndian.putInt(tampered, ah + 8, 2);
        Arrays.fill(tampered, ah + 12, ah + 12 + t.icvLength(), (byte) 0);
        System.arraycopy(independentIcv(t, key(t), tampered, -1), 0, tampered, ah + 12, t.icvLength());
        tampered[40 + 10] = 8; // data of the option that may not change
        assertThat(decap.decapsulate(new PacketBuffer(2048).set(tampered, 0, tampered.length)))
                .isEqualTo(DecapOutcome.ICV_FAILURE);
    }

    @Test
    void esnHighBitsAreCoveredButNotSent() throws Exception {
        IntegrityTransform t = IntegrityTransform.HMAC_SHA2_256_128;
        OutboundSa out = new OutboundSa(spec(t, IpsecMode.TUNNEL, true), 0x1_0000_0005L, null);
        byte[] wire = protect(out, false, 30);
        assertThat(BigEndian.getInt(wire, 20 + 8)).isEqualTo(5);
        assertThat(Arrays.copyOfRange(wire, 32, 32 + 16)).isEqualTo(independentIcv(t, key(t), wire, 1))
                .isNotEqualTo(independentIcv(t, key(t), wire, 0));
    }

    @Test
    void hostileInputIsCountedNeverThrown() {
        table.put(new InboundSa(spec(IntegrityTransform.HMAC_SHA2_256_128, IpsecMode.TUNNEL, false), InnerPacketPolicy.ANY));
        OutboundSa out = new OutboundSa(spec(IntegrityTransform.HMAC_SHA2_256_128, IpsecMode.TUNNEL, false), null);
        byte[] wire = protect(out, true, 40);
        Random r = new Random(7);
        int delivered = 0;
        for (int i = 0; i < 5000; i++) {
            byte[] bad = Arrays.copyOf(wire, r.nextInt(wire.length + 1));
            if (bad.length > 0) {
                bad[r.nextInt(bad.length)] = (byte) r.nextInt();
            }
            DecapOutcome o = decap.decapsulate(new PacketBuffer(2048).set(bad, 0, bad.length));
            if (o == DecapOutcome.DELIVERED) {
                delivered++; // a change to a mutable field (hop limit, flow label) or no change at all
            }
        }
        // All copies carry sequence number 1: the window lets at most one through.
        assertThat(delivered).isLessThanOrEqualTo(1);
        long counted = 0;
        for (DecapOutcome o : DecapOutcome.values()) {
            counted += counters.get(o);
        }
        assertThat(counted).isEqualTo(5000);
        assertThat(counters.get(DecapOutcome.ICV_FAILURE)).isPositive();
        assertThat(counters.get(DecapOutcome.REPLAYED) + counters.get(DecapOutcome.ICV_FAILURE)
                + counters.get(DecapOutcome.TRUNCATED) + counters.get(DecapOutcome.MALFORMED)
                + counters.get(DecapOutcome.UNKNOWN_SPI) + delivered).isEqualTo(5000);
    }

    private byte[] protect(OutboundSa out, boolean v6, int size) {
        byte[] inner = v6 ? InnerPackets.ipv6(17, size, size) : InnerPackets.ipv4(17, size, size);
        PacketBuffer pkt = new PacketBuffer(2048).set(inner, 0, inner.length);
        assertThat(encap.encapsulate(out, pkt, v6 ? LOCAL_V6 : LOCAL_V4, v6 ? PEER_V6 : PEER_V4))
                .isEqualTo(EncapOutcome.PROTECTED);
        return pkt.toByteArray();
    }

    /** An IPv4 AH tunnel packet with {@code options} in its header, signed here (not by the codec). */
    private static byte[] signedIpv4WithOptions(IntegrityTransform t, byte[] options, byte[] inner, int seq)
            throws Exception {
        int ihl = 20 + options.length;
        int ahLen = AhMutableFields.ahLength(t.icvLength(), false);
        byte[] wire = new byte[ihl + ahLen + inner.length];
        wire[0] = (byte) (0x40 | ihl / 4);
        BigEndian.putU16(wire, 2, wire.length);
        BigEndian.putU16(wire, 4, 0x1234);
        wire[8] = 64;
        wire[9] = 51;
        System.arraycopy(LOCAL_V4, 0, wire, 12, 4);
        System.arraycopy(PEER_V4, 0, wire, 16, 4);
        System.arraycopy(options, 0, wire, 20, options.length);
        wire[ihl] = 4;
        wire[ihl + 1] = (byte) (ahLen / 4 - 2);
        BigEndian.putInt(wire, ihl + 4, SPI);
        BigEndian.putInt(wire, ihl + 8, seq);
        System.arraycopy(inner, 0, wire, ihl + ahLen, inner.length);
        System.arraycopy(independentIcv(t, key(t), wire, -1), 0, wire, ihl + 12, t.icvLength());
        fixIpv4Checksum(wire);
        return wire;
    }

    private static void fixIpv4Checksum(byte[] wire) {
        int ihl = (wire[0] & 0x0f) * 4;
        BigEndian.putU16(wire, 10, 0);
        BigEndian.putU16(wire, 10, Checksums.ipv4Header(wire, 0, ihl));
    }

    private static void changeMutableFields(byte[] wire, boolean v6) {
        if (v6) {
            wire[0] = 0x6b; // traffic class
            wire[1] = (byte) 0xa1; // flow label
            wire[3] = 0x42;
            wire[7] = 17; // hop limit
        } else {
            wire[1] = (byte) 0xb8; // DSCP EF + ECN
            wire[6] = 0x40; // DF
            wire[8] = 3; // TTL
            fixIpv4Checksum(wire);
        }
    }

    /**
     * The ICV of an AH packet as RFC 4302 §3.3.3 and Appendix A define it, written apart from the
     * codec: mutable base-header fields zeroed, IPv4 options other than NOP/EOL/Router Alert and
     * the security options zeroed, IPv6 hop-by-hop option data with the 0x20 bit zeroed, the ICV
     * field zeroed, the ESN high bits ({@code esnHigh} >= 0) appended.
     */
    static byte[] independentIcv(IntegrityTransform t, byte[] key, byte[] packet, long esnHigh) throws Exception {
        byte[] p = packet.clone();
        int ah;
        if ((p[0] & 0xf0) == 0x40) {
            int ihl = (p[0] & 0x0f) * 4;
            p[1] = 0;
            p[6] = 0;
            p[7] = 0;
            p[8] = 0;
            p[10] = 0;
            p[11] = 0;
            for (int i = 20; i < ihl;) {
                int type = p[i] & 0xff;
                if (type == 0) {
                    break;
                }
                if (type == 1) {
                    i++;
                    continue;
                }
                int len = p[i + 1] & 0xff;
                if (type != 130 && type != 133 && type != 134 && type != 148 && type != 149) {
                    Arrays.fill(p, i, i + len, (byte) 0);
                }
                i += len;
            }
            ah = ihl;
        } else {
            p[0] = 0x60;
            p[1] = 0;
            p[2] = 0;
            p[3] = 0;
            p[7] = 0;
            int next = p[6] & 0xff;
            ah = 40;
            while (next != 51) {
                int len = ((p[ah + 1] & 0xff) + 1) * 8;
                for (int i = ah + 2; i < ah + len;) {
                    if (p[i] == 0) {
                        i++;
                        continue;
                    }
                    int olen = p[i + 1] & 0xff;
                    if ((p[i] & 0x20) != 0) {
                        Arrays.fill(p, i + 2, i + 2 + olen, (byte) 0);
                    }
                    i += 2 + olen;
                }
                next = p[ah] & 0xff;
                ah += len;
            }
        }
        int ahLen = ((p[ah + 1] & 0xff) + 2) * 4;
        Arrays.fill(p, ah + 12, ah + ahLen, (byte) 0);
        String alg = switch (t) {
            case HMAC_SHA1_96 -> "HmacSHA1";
            case HMAC_SHA2_256_128 -> "HmacSHA256";
            case HMAC_SHA2_384_192 -> "HmacSHA384";
            case HMAC_SHA2_512_256 -> "HmacSHA512";
            default -> throw new IllegalArgumentException(t.toString());
        };
        Mac mac = Mac.getInstance(alg);
        mac.init(new SecretKeySpec(key, alg));
        mac.update(p);
        if (esnHigh >= 0) {
            byte[] hi = new byte[4];
            BigEndian.putInt(hi, 0, (int) esnHigh);
            mac.update(hi);
        }
        return Arrays.copyOf(mac.doFinal(), t.icvLength());
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
