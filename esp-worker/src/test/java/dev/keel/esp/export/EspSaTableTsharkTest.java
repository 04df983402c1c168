package dev.keel.esp.export;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.transform.EncryptionTransform;
import dev.keel.core.transform.IntegrityTransform;
import dev.keel.esp.wire.PcapWriter;
import dev.keel.esp.wire.Tshark;
import dev.keel.esp.wire.Tshark.ChecksumStatus;
import dev.keel.esp.wire.Tshark.EspFrame;
import dev.keel.esp.wire.Tshark.IcvStatus;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Proves the tshark harness, the pcap writer and the exported {@code esp_sa} line together:
 * an ESP-in-UDP packet built by hand with javax.crypto is decrypted and verified by tshark
 * using only the line {@link EspSaTable#format} wrote; one flipped ciphertext bit turns the
 * verdict to bad. Skipped where tshark is missing (failed under KEEL_REQUIRE_SYSTEM_TESTS=1).
 */
class EspSaTableTsharkTest {

    private static final HexFormat HEX = HexFormat.of();
    private static final byte[] GCM128_KEY_AND_SALT = HEX.parseHex("000102030405060708090a0b0c0d0e0f" + "cafebabe");

    private static Tshark tshark;

    @TempDir
    Path dir;

    @BeforeAll
    static void findTshark() {
        tshark = Tshark.assumeInstalled();
    }

    static Stream<Arguments> outerAddresses() {
        return Stream.of(
                Arguments.of("192.0.2.1", "192.0.2.2"),
                Arguments.of("2001:db8::1", "2001:db8::2"));
    }

    @ParameterizedTest(name = "AES-GCM-128 (RFC 4106), outer {0} -> {1}")
    @MethodSource("outerAddresses")
    void tsharkVerifiesAndDecryptsAesGcm128AndRejectsAFlippedBit(String src, String dst) throws Exception {
        EspSaKeys sa = new EspSaKeys(HandBuiltEsp.address(src), HandBuiltEsp.address(dst), 0x0000c0de,
                EncryptionTransform.AES_GCM_16, GCM128_KEY_AND_SALT, IntegrityTransform.NONE, new byte[0]);
        assertRoundTrip(sa, 7);
    }

    static Stream<Arguments> otherSuites() {
        byte[] k16 = HEX.parseHex("8899aabbccddeeff0011223344556677");
        byte[] k32 = HEX.parseHex("8899aabbccddeeff0011223344556677" + "0123456789abcdef0123456789abcdef");
        return Stream.of(
                Arguments.of(EncryptionTransform.AES_GCM_8, concat(k16, "01020304"), IntegrityTransform.NONE),
                Arguments.of(EncryptionTransform.AES_GCM_12, concat(k32, "01020304"), IntegrityTransform.NONE),
                Arguments.of(EncryptionTransform.AES_GCM_16, concat(k32, "01020304"), IntegrityTransform.NONE),
                Arguments.of(EncryptionTransform.AES_CBC, k16, IntegrityTransform.HMAC_SHA1_96),
                Arguments.of(EncryptionTransform.AES_CBC, k32, IntegrityTransform.HMAC_SHA2_256_128),
                Arguments.of(EncryptionTransform.AES_CBC, k16, IntegrityTransform.HMAC_SHA2_384_192),
                Arguments.of(EncryptionTransform.AES_CBC, k32, IntegrityTransform.HMAC_SHA2_512_256),
                Arguments.of(EncryptionTransform.NULL, new byte[0], IntegrityTransform.HMAC_SHA2_256_128));
    }

    /** Every Wireshark name Keel writes (but ChaCha20, which tshark 4.0 lacks) is one tshark accepts and uses. */
    @ParameterizedTest(name = "{0} + {2}")
    @MethodSource("otherSuites")
    void tsharkAcceptsTheExportedNameOfEverySuite(EncryptionTransform e, byte[] key, IntegrityTransform i)
            throws Exception {
        byte[] integKey = new byte[i.keyLength()];
        for (int n = 0; n < integKey.length; n++) {
            integKey[n] = (byte) (0x40 + n);
        }
        EspSaKeys sa = new EspSaKeys(HandBuiltEsp.address("198.51.100.7"), HandBuiltEsp.address("203.0.113.9"),
                0xfedc0001, e, key, i, integKey);
        assertRoundTrip(sa, 1);
    }

    @Test
    void withoutAMatchingSaTsharkStillFindsNatTEspButReportsNoVerdict() throws Exception {
        EspSaKeys sa = new EspSaKeys(HandBuiltEsp.address("192.0.2.1"), HandBuiltEsp.address("192.0.2.2"), 0x1234,
                EncryptionTransform.AES_GCM_16, GCM128_KEY_AND_SALT, IntegrityTransform.NONE, new byte[0]);
        byte[] esp = HandBuiltEsp.encapsulate(sa, 3, HandBuiltEsp.innerPing(ping()));
        Path pcap = PcapWriter.writeAll(dir.resolve("nosa.pcap"), PcapWriter.espInUdp(sa.source(), sa.destination(), esp));

        // No "decode as": UDP 4500 is dissected as ESP-in-UDP (RFC 3948) by default.
        List<EspFrame> frames = tshark.dissectEsp(pcap, List.of());

        assertThat(frames).singleElement().satisfies(f -> {
            assertThat(f.spi()).isEqualTo(0x1234);
            assertThat(f.sequence()).isEqualTo(3);
            assertThat(f.icv()).isEqualTo(IcvStatus.UNCHECKED);
            assertThat(f.wasDecrypted()).isFalse();
        });
    }

    private void assertRoundTrip(EspSaKeys sa, int seq) throws Exception {
        byte[] inner = HandBuiltEsp.innerPing(ping());
        byte[] esp = HandBuiltEsp.encapsulate(sa, seq, inner);
        byte[] good = PcapWriter.espInUdp(sa.source(), sa.destination(), esp);
        byte[] bad = PcapWriter.espInUdp(sa.source(), sa.destination(), HandBuiltEsp.flipCiphertextBit(sa, esp));
        Path pcap = PcapWriter.writeAll(dir.resolve("esp.pcap"), good, bad);

        List<EspFrame> frames = tshark.dissectEsp(pcap, List.of(EspSaTable.format(sa)));

        assertThat(frames).hasSize(2);
        EspFrame ok = frames.get(0);
        assertThat(ok.udpSourcePort()).isEqualTo(4500);
        assertThat(ok.udpDestinationPort()).isEqualTo(4500);
        assertThat(ok.udpChecksum()).isEqualTo(ChecksumStatus.GOOD);
        if (sa.ipv6()) {
            assertThat(ok.ipv6Sources()).containsExactly(EspSaTable.address(sa.source()));
            assertThat(ok.ipv6Destinations()).containsExactly(EspSaTable.address(sa.destination()));
            assertThat(ok.ipChecksums()).containsOnly(ChecksumStatus.GOOD); // the inner IPv4 header
        } else {
            assertThat(ok.ipSources()).first().isEqualTo(sa.source().getHostAddress());
            assertThat(ok.ipDestinations()).first().isEqualTo(sa.destination().getHostAddress());
            assertThat(ok.ipChecksums()).first().isEqualTo(ChecksumStatus.GOOD);
        }
        assertThat(ok.spi()).isEqualTo(sa.spi() & 0xffffffffL);
        assertThat(ok.sequence()).isEqualTo(seq);
        assertThat(ok.icv()).as("ICV verdict of the intact packet").isEqualTo(IcvStatus.GOOD);
        assertThat(ok.inner()).as("decrypted inner packet").isEqualTo(inner);
        assertThat(ok.nextHeader()).isEqualTo(4);
        assertThat(ok.padLength()).isEqualTo(ok.decrypted().length - inner.length - 2);

        EspFrame flipped = frames.get(1);
        assertThat(flipped.spi()).isEqualTo(sa.spi() & 0xffffffffL);
        assertThat(flipped.icv()).as("ICV verdict after one flipped ciphertext bit").isEqualTo(IcvStatus.BAD);
    }

    private static byte[] ping() {
        return "keel esp_sa export".getBytes(StandardCharsets.US_ASCII);
    }

    private static byte[] concat(byte[] key, String saltHex) {
        byte[] salt = HEX.parseHex(saltHex);
        byte[] out = new byte[key.length + salt.length];
        System.arraycopy(key, 0, out, 0, key.length);
        System.arraycopy(salt, 0, out, key.length, salt.length);
        return out;
    }
}
