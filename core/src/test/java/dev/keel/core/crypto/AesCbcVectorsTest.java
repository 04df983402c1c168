package dev.keel.core.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.core.transform.EncryptionTransform;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** RFC 3602 §4 test vectors, Cases #1 to #4 (AES-128-CBC). */
class AesCbcVectorsTest {

    private static final HexFormat HEX = HexFormat.of();

    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of("RFC 3602 §4 Case #1: 16 bytes (1 block)", "06a9214036b8a15b512e03d534120006",
                        "3dafba429d9eb430b422da802c9fac41", hex("Single block msg"),
                        "e353779c1079aeb82708942dbe77181a"),
                Arguments.of("RFC 3602 §4 Case #2: 32 bytes (2 blocks)", "c286696d887c9aa0611bbb3e2025a45a",
                        "562e17996d093d28ddb3ba695a2e6f58",
                        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
                        "d296cd94c2cccf8a3a863028b5e1dc0a7586602d253cfff91b8266bea6d61ab1"),
                Arguments.of("RFC 3602 §4 Case #3: 48 bytes (3 blocks)", "6c3ea0477630ce21a2ce334aa746c2cd",
                        "c782dc4c098c66cbd9cd27d825682c81", hex("This is a 48-byte message (exactly 3 AES blocks)"),
                        "d0a02b3836451753d493665d33f0e8862dea54cdb293abc7506939276772f8d5"
                                + "021c19216bad525c8579695d83ba2684"),
                Arguments.of("RFC 3602 §4 Case #4: 64 bytes (4 blocks)", "56e47a38c5598974bc46903dba290349",
                        "8ce82eefbea0da3c44699ed7db51b7d9",
                        "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
                                + "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf",
                        "c30e32ffedc0774e6aff6af0869f71aa0f3af07a9a31a9c684db207eb0ef8e4e"
                                + "35907aa632c3ffdf868bb7b29d3d46ad83ce9f9a102ee99d49a53e87f4c3da55"));
    }

    private static String hex(String ascii) {
        return HEX.formatHex(ascii.getBytes(StandardCharsets.US_ASCII));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void encryptMatchesRfcAndDecryptRecoversPlaintext(String name, String key, String ivHex, String plain,
            String cipher) {
        byte[] iv = HEX.parseHex(ivHex);
        byte[] p = HEX.parseHex(plain);
        byte[] c = HEX.parseHex(cipher);
        byte[] buf = new byte[5 + p.length + 3];
        System.arraycopy(p, 0, buf, 5, p.length);
        try (NormalCipher aes = PacketCiphers.normal(EncryptionTransform.AES_CBC, HEX.parseHex(key))) {
            assertThat(aes.ivLength()).isEqualTo(16);
            assertThat(aes.blockSize()).isEqualTo(16);
            // Twice on one instance: the chaining state must reset between packets.
            for (int round = 0; round < 2; round++) {
                aes.encrypt(iv, 0, buf, 5, p.length);
                assertThat(Arrays.copyOfRange(buf, 5, 5 + c.length)).isEqualTo(c);
                assertThat(aes.decrypt(iv, 0, buf, 5, c.length)).isTrue();
                assertThat(Arrays.copyOfRange(buf, 5, 5 + p.length)).isEqualTo(p);
            }
        }
        assertThat(buf[0]).isZero();
        assertThat(buf[buf.length - 1]).isZero();
        assertThat(iv).isEqualTo(HEX.parseHex(ivHex));
    }

    @Test
    void ivMayPrecedeTheDataInTheSameBuffer() {
        // ESP layout: IV immediately followed by the ciphertext (RFC 3602 §3), all in one array.
        byte[] iv = HEX.parseHex("562e17996d093d28ddb3ba695a2e6f58");
        byte[] p = HEX.parseHex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
        byte[] packet = new byte[16 + 32];
        System.arraycopy(iv, 0, packet, 0, 16);
        System.arraycopy(p, 0, packet, 16, 32);
        try (NormalCipher aes = PacketCiphers.normal(EncryptionTransform.AES_CBC,
                HEX.parseHex("c286696d887c9aa0611bbb3e2025a45a"))) {
            aes.encrypt(packet, 0, packet, 16, 32);
            assertThat(Arrays.copyOfRange(packet, 16, 48)).isEqualTo(
                    HEX.parseHex("d296cd94c2cccf8a3a863028b5e1dc0a7586602d253cfff91b8266bea6d61ab1"));
            assertThat(aes.decrypt(packet, 0, packet, 16, 32)).isTrue();
            assertThat(Arrays.copyOfRange(packet, 16, 48)).isEqualTo(p);
        }
    }

    @Test
    void encryptRejectsPartialBlocks() {
        try (NormalCipher aes = PacketCiphers.normal(EncryptionTransform.AES_CBC, new byte[32])) {
            assertThatThrownBy(() -> aes.encrypt(new byte[16], 0, new byte[40], 0, 20))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }
}
