package dev.keel.esp.packet;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.packet.PacketBuffer;
import dev.keel.core.sa.IpsecMode;
import dev.keel.core.transform.EncryptionTransform;
import dev.keel.esp.export.EspSaKeys;
import dev.keel.esp.export.EspSaTable;
import dev.keel.esp.sa.EspSaSpec;
import dev.keel.esp.sa.OutboundSa;
import dev.keel.esp.wire.PcapWriter;
import dev.keel.esp.wire.Tshark;
import dev.keel.esp.wire.Tshark.EspFrame;
import dev.keel.esp.wire.Tshark.IcvStatus;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Proves Keel's ESP wire format against implementations nobody here wrote. Packets from
 * {@link EspEncapsulator} for every suite, tunnel and transport mode, IPv4 and IPv6, go into
 * one pcap as ESP-in-UDP (RFC 3948); tshark, given only the exported {@code esp_sa} lines,
 * must report every ICV good and decode inner packets equal to those sent.
 *
 * <p>Where tshark 4.0 cannot judge — it has no ChaCha20-Poly1305 ESP and no extended sequence
 * numbers — an RFC-direct receiver on Bouncy Castle's primitives ({@link IndependentEsp})
 * verifies instead, and for ESN tshark must see the ICV as bad: proof that the unsent high
 * sequence bits really are covered.
 */
class EspWiresharkTest {

    private static final int PACKETS_PER_SA = 3;

    @TempDir
    Path dir;

    private record Sent(EspSaSpec spec, EspSaKeys keys, long seq, byte[] inner, byte[] expectedContained, byte[] esp) {
    }

    @Test
    void tsharkVerifiesAndDecodesEverySuiteModeAndFamily() throws Exception {
        Tshark tshark = Tshark.assumeInstalled();
        List<Sent> sent = new ArrayList<>();
        List<String> saLines = new ArrayList<>();
        int spi = 0x10000;
        for (Suites suite : Suites.values()) {
            if (suite.encryption == EncryptionTransform.CHACHA20_POLY1305) {
                continue; // not in tshark 4.0's esp_sa table; covered below
            }
            for (IpsecMode mode : IpsecMode.values()) {
                for (boolean v6 : new boolean[] {false, true}) {
                    EspSaKeys keys = protect(suite, ++spi, mode, v6, false, 1, sent);
                    saLines.add(EspSaTable.format(keys));
                }
            }
        }
        Path pcap = writePcap(sent);

        List<EspFrame> frames = tshark.dissectEsp(pcap, saLines);

        assertThat(frames).hasSize(sent.size());
        for (int i = 0; i < frames.size(); i++) {
            EspFrame f = frames.get(i);
            Sent s = sent.get(i);
            String what = s.spec() + " packet " + s.seq();
            assertThat(f.spi()).as(what).isEqualTo(s.spec().spi() & 0xffffffffL);
            assertThat(f.sequence()).as(what).isEqualTo(s.seq());
            assertThat(f.icv()).as("tshark's ICV verdict for " + what).isEqualTo(IcvStatus.GOOD);
            assertThat(f.inner()).as("inner packet tshark decrypted for " + what).isEqualTo(s.expectedContained());
        }
    }

    @Test
    void withEsnTsharkDecryptsButCannotVerifyAndAnIndependentReceiverDoes() throws Exception {
        Tshark tshark = Tshark.assumeInstalled();
        List<Sent> sent = new ArrayList<>();
        List<String> saLines = new ArrayList<>();
        int spi = 0x20000;
        for (Suites suite : Suites.values()) {
            for (IpsecMode mode : IpsecMode.values()) {
                // Sequence numbers past 2^32, so the high half the ICV covers is non-zero.
                EspSaKeys keys = protect(suite, ++spi, mode, false, true, (1L << 32) + 5, sent);
                if (suite.encryption != EncryptionTransform.CHACHA20_POLY1305) {
                    saLines.add(EspSaTable.format(keys));
                }
            }
        }
        for (Sent s : sent) {
            assertIndependentlyVerified(s);
        }
        List<Sent> forTshark = sent.stream()
                .filter(s -> s.spec().encryption() != EncryptionTransform.CHACHA20_POLY1305).toList();
        List<EspFrame> frames = tshark.dissectEsp(writePcap(forTshark), saLines);
        assertThat(frames).hasSize(forTshark.size());
        for (int i = 0; i < frames.size(); i++) {
            Sent s = forTshark.get(i);
            EspFrame f = frames.get(i);
            assertThat(f.sequence()).as("low 32 bits on the wire").isEqualTo(s.seq() & 0xffffffffL);
            // tshark 4.0 computes the ICV without the high bits: it must disagree with ours.
            assertThat(f.icv()).as("tshark without ESN support, " + s.spec()).isEqualTo(IcvStatus.BAD);
            if (s.spec().encryption() == EncryptionTransform.AES_CBC || s.spec().encryption() == EncryptionTransform.NULL) {
                // CBC and NULL decryption does not depend on the sequence number.
                assertThat(f.inner()).as("inner packet, " + s.spec()).isEqualTo(s.expectedContained());
            }
        }
    }

    @Test
    void chaCha20Poly1305IsVerifiedByAnIndependentReceiver() {
        List<Sent> sent = new ArrayList<>();
        int spi = 0x30000;
        for (IpsecMode mode : IpsecMode.values()) {
            for (boolean v6 : new boolean[] {false, true}) {
                protect(Suites.CHACHA20_POLY1305, ++spi, mode, v6, false, 1, sent);
            }
        }
        sent.forEach(EspWiresharkTest::assertIndependentlyVerified);
    }

    private static void assertIndependentlyVerified(Sent s) {
        EspSaSpec spec = s.spec();
        byte[] plain = IndependentEsp.open(s.esp(), s.seq(), spec.esn(), spec.encryption(), s.keys().encryptionKey(),
                spec.integrity(), s.keys().integrityKey());
        assertThat(plain).as("independent ICV check of " + spec).isNotNull();
        int padLength = plain[plain.length - 2] & 0xff;
        assertThat(Arrays.copyOf(plain, plain.length - 2 - padLength)).isEqualTo(s.expectedContained());
        int nextHeader = plain[plain.length - 1] & 0xff;
        boolean v6 = (s.inner()[0] >>> 4) == 6;
        int expected = spec.mode() == IpsecMode.TUNNEL ? (v6 ? 41 : 4) : s.inner()[v6 ? 6 : 9];
        assertThat(nextHeader).isEqualTo(expected);
    }

    /** Encapsulates a few packets of each protocol on a fresh SA; returns the SA's exported keys. */
    private static EspSaKeys protect(Suites suite, int spi, IpsecMode mode, boolean v6, boolean esn, long firstSeq,
            List<Sent> sent) {
        EspSaSpec spec = suite.spec(spi, mode, esn);
        // The SA wipes its spec's keys when it closes; export a copy for tshark.
        EspSaKeys keys = EspSaKeys.of(suite.spec(spi, mode, esn), outer(mode, v6, true), outer(mode, v6, false));
        EspEncapsulator encap = new EspEncapsulator(new EspCounters());
        try (OutboundSa sa = new OutboundSa(spec, firstSeq, null)) {
            int[] protocols = v6 ? new int[] {58, 6, 17} : new int[] {1, 6, 17};
            for (int n = 0; n < PACKETS_PER_SA; n++) {
                int protocol = protocols[n % protocols.length];
                byte[] inner = v6 ? InnerPackets.ipv6(protocol, 37 * n + 11, spi + n)
                        : InnerPackets.ipv4(protocol, 37 * n + 11, spi + n);
                PacketBuffer pkt = new PacketBuffer(2048).set(inner, 0, inner.length);
                long seq = sa.peekNextSequence();
                assertThat(encap.encapsulate(sa, pkt)).isEqualTo(EncapOutcome.PROTECTED);
                int header = v6 ? 40 : 20;
                byte[] contained = mode == IpsecMode.TUNNEL ? inner : Arrays.copyOfRange(inner, header, inner.length);
                sent.add(new Sent(spec, keys, seq, inner, contained, pkt.toByteArray()));
            }
        }
        return keys;
    }

    private Path writePcap(List<Sent> sent) throws Exception {
        byte[][] packets = new byte[sent.size()][];
        for (int i = 0; i < packets.length; i++) {
            Sent s = sent.get(i);
            packets[i] = PcapWriter.espInUdp(s.keys().source(), s.keys().destination(), s.esp());
        }
        return PcapWriter.writeAll(dir.resolve("keel-esp.pcap"), packets);
    }

    /** Tunnel mode: two gateways; transport mode: the hosts themselves (RFC 4303 §3.1.1). */
    private static InetAddress outer(IpsecMode mode, boolean v6, boolean source) {
        try {
            if (mode == IpsecMode.TRANSPORT) {
                byte[] a = v6 ? (source ? InnerPackets.V6_A : InnerPackets.V6_B) : (source ? InnerPackets.V4_A : InnerPackets.V4_B);
                return InetAddress.getByAddress(a);
            }
            return InetAddress.getByName(v6 ? (source ? "2001:db8:ffff::1" : "2001:db8:ffff::2")
                    : (source ? "192.0.2.1" : "192.0.2.2"));
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }
}
