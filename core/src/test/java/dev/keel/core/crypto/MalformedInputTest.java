package dev.keel.core.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.core.transform.EncryptionTransform;
import dev.keel.core.transform.IntegrityTransform;
import java.util.Arrays;
import java.util.Random;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Hostile input for every cipher: truncated packets, flipped bits in ciphertext / AAD / ICV / IV and
 * the wrong key make open() return -1 (verify() false) without throwing, and a failed open never
 * leaves plaintext, whole or in part, in the buffer.
 */
class MalformedInputTest {

    private static final int LEN = 100;

    static Stream<Arguments> aeads() {
        return transforms().flatMap(a -> Engines.all().map(e -> Arguments.of(a.get()[0], a.get()[1], e)));
    }

    private static Stream<Arguments> transforms() {
        return Stream.of(
                Arguments.of(EncryptionTransform.AES_GCM_16, 16),
                Arguments.of(EncryptionTransform.AES_GCM_16, 24),
                Arguments.of(EncryptionTransform.AES_GCM_16, 32),
                Arguments.of(EncryptionTransform.AES_GCM_12, 16),
                Arguments.of(EncryptionTransform.AES_GCM_12, 32),
                Arguments.of(EncryptionTransform.AES_GCM_8, 16),
                Arguments.of(EncryptionTransform.AES_GCM_8, 32),
                Arguments.of(EncryptionTransform.CHACHA20_POLY1305, 32));
    }

    /** A sealed packet and everything needed to open it. */
    private record Sealed(AeadEngine engine, EncryptionTransform t, byte[] keyAndSalt, byte[] aad, byte[] iv,
            byte[] plain, byte[] sealed) {

        AeadCipher cipher() {
            return Engines.aead(engine, t, keyAndSalt);
        }
    }

    private static Sealed seal(EncryptionTransform t, int keyLength, AeadEngine engine) {
        Random r = new Random(keyLength * 31L + t.id());
        byte[] keyAndSalt = new byte[keyLength + 4];
        byte[] aad = new byte[8];
        byte[] iv = new byte[8];
        byte[] plain = new byte[LEN];
        r.nextBytes(keyAndSalt);
        r.nextBytes(aad);
        r.nextBytes(iv);
        r.nextBytes(plain);
        byte[] buf = Arrays.copyOf(plain, LEN + t.icvLength());
        try (AeadCipher c = Engines.aead(engine, t, keyAndSalt)) {
            c.seal(aad, aad.length, iv, 0, buf, 0, LEN);
        }
        return new Sealed(engine, t, keyAndSalt, aad, iv, plain, buf);
    }

    /** Opens a tampered copy and checks the failure contract. */
    private static void assertRejected(Sealed s, Consumer<Sealed> tamper, int len) {
        Sealed copy = new Sealed(s.engine, s.t, s.keyAndSalt.clone(), s.aad.clone(), s.iv.clone(), s.plain,
                s.sealed.clone());
        tamper.accept(copy);
        try (AeadCipher c = copy.cipher()) {
            int[] result = new int[1];
            assertThatCode(() -> result[0] = c.open(copy.aad, copy.aad.length, copy.iv, 0, copy.sealed, 0, len))
                    .doesNotThrowAnyException();
            assertThat(result[0]).isEqualTo(-1);
        }
        assertNoPlaintext(copy.sealed, s.plain);
    }

    /** No 16-byte block (nor the whole) of the plaintext may be left where it would have been. */
    private static void assertNoPlaintext(byte[] buf, byte[] plain) {
        for (int off = 0; off + 16 <= plain.length; off += 16) {
            assertThat(Arrays.copyOfRange(buf, off, off + 16))
                    .as("plaintext block at %d", off)
                    .isNotEqualTo(Arrays.copyOfRange(plain, off, off + 16));
        }
    }

    @ParameterizedTest(name = "{0} {1}-byte key on {2}")
    @MethodSource("aeads")
    void untamperedPacketOpens(EncryptionTransform t, int keyLength, AeadEngine engine) {
        Sealed s = seal(t, keyLength, engine);
        byte[] buf = s.sealed.clone();
        try (AeadCipher c = s.cipher()) {
            assertThat(c.open(s.aad, s.aad.length, s.iv, 0, buf, 0, buf.length)).isEqualTo(LEN);
        }
        assertThat(Arrays.copyOf(buf, LEN)).isEqualTo(s.plain);
    }

    @ParameterizedTest(name = "{0} {1}-byte key on {2}")
    @MethodSource("aeads")
    void truncatedPacketsAreRejected(EncryptionTransform t, int keyLength, AeadEngine engine) {
        Sealed s = seal(t, keyLength, engine);
        for (int len : new int[] {0, 1, t.icvLength() - 1, t.icvLength(), t.icvLength() + 1, s.sealed.length - 1}) {
            assertRejected(s, x -> { }, len);
        }
    }

    @ParameterizedTest(name = "{0} {1}-byte key on {2}")
    @MethodSource("aeads")
    void flippedBitsAnywhereAreRejected(EncryptionTransform t, int keyLength, AeadEngine engine) {
        Sealed s = seal(t, keyLength, engine);
        int full = s.sealed.length;
        for (int i : new int[] {0, 17, LEN - 1}) {
            assertRejected(s, x -> x.sealed[i] ^= 0x01, full);  // ciphertext
        }
        for (int i = LEN; i < full; i++) {
            int at = i;
            assertRejected(s, x -> x.sealed[at] ^= (byte) 0x80, full);  // ICV
        }
        for (int i = 0; i < 8; i++) {
            int at = i;
            assertRejected(s, x -> x.aad[at] ^= 0x04, full);  // AAD (SPI, sequence number)
            assertRejected(s, x -> x.iv[at] ^= 0x10, full);  // explicit IV
        }
        assertRejected(s, x -> x.keyAndSalt[0] ^= 0x01, full);  // wrong key
        assertRejected(s, x -> x.keyAndSalt[x.keyAndSalt.length - 1] ^= 0x01, full);  // wrong salt
    }

    @ParameterizedTest
    @MethodSource("dev.keel.core.crypto.Engines#all")
    void aadLengthMatters(AeadEngine engine) {
        Sealed s = seal(EncryptionTransform.AES_GCM_16, 16, engine);
        byte[] buf = s.sealed.clone();
        try (AeadCipher c = s.cipher()) {
            assertThat(c.open(s.aad, 4, s.iv, 0, buf, 0, buf.length)).isEqualTo(-1);
        }
    }

    /**
     * A forged tag: -1, and the region holds zeros (SunJCE GCM, which decrypts before it checks)
     * or the untouched ciphertext (SunJCE ChaCha20-Poly1305, which checks first; OpenSSL, which
     * decrypts into its own scratch), never plaintext.
     */
    @ParameterizedTest
    @MethodSource("dev.keel.core.crypto.Engines#all")
    void forgedTagReturnsMinusOneAndLeavesZerosOrCiphertext(AeadEngine engine) {
        for (EncryptionTransform t : new EncryptionTransform[] {EncryptionTransform.AES_GCM_16,
                EncryptionTransform.AES_GCM_8, EncryptionTransform.CHACHA20_POLY1305}) {
            Sealed s = seal(t, 32, engine);
            byte[] buf = s.sealed.clone();
            buf[LEN] ^= 1;
            try (AeadCipher c = s.cipher()) {
                assertThat(c.open(s.aad, 8, s.iv, 0, buf, 0, buf.length)).isEqualTo(-1);
            }
            boolean zeroes = engine == AeadEngine.JCA && t != EncryptionTransform.CHACHA20_POLY1305;
            if (zeroes) {
                assertThat(Arrays.copyOf(buf, LEN)).as(t + " on " + engine).containsOnly(0);
            } else {
                assertThat(Arrays.copyOf(buf, LEN)).as(t + " on " + engine).isEqualTo(Arrays.copyOf(s.sealed, LEN));
            }
            assertNoPlaintext(buf, s.plain);
        }
    }

    @Test
    void cbcDecryptRejectsPartialBlocksWithoutThrowing() {
        try (NormalCipher c = PacketCiphers.normal(EncryptionTransform.AES_CBC, new byte[16])) {
            byte[] buf = new byte[64];
            for (int len : new int[] {1, 15, 17, 63}) {
                assertThat(c.decrypt(new byte[16], 0, buf, 0, len)).isFalse();
            }
            assertThat(c.decrypt(new byte[16], 0, buf, 0, 0)).isTrue();
        }
    }

    @Test
    void hmacRejectsAnyFlippedBitInDataTrailerOrIcv() {
        for (IntegrityTransform t : new IntegrityTransform[] {IntegrityTransform.HMAC_SHA1_96,
                IntegrityTransform.HMAC_SHA2_256_128, IntegrityTransform.HMAC_SHA2_384_192,
                IntegrityTransform.HMAC_SHA2_512_256}) {
            byte[] key = new byte[t.keyLength()];
            new Random(t.id()).nextBytes(key);
            byte[] data = new byte[77];
            byte[] trailer = {0, 0, 0, 1};
            byte[] icv = new byte[t.icvLength()];
            try (IntegrityMac mac = PacketCiphers.integrity(t, key)) {
                mac.compute(data, 0, data.length, trailer, 4, icv, 0);
                assertThat(mac.verify(data, 0, data.length, trailer, 4, icv, 0)).isTrue();
                data[40] ^= 1;
                assertThat(mac.verify(data, 0, data.length, trailer, 4, icv, 0)).isFalse();
                data[40] ^= 1;
                trailer[3] ^= 1;
                assertThat(mac.verify(data, 0, data.length, trailer, 4, icv, 0)).isFalse();
                trailer[3] ^= 1;
                assertThat(mac.verify(data, 0, data.length, trailer, 0, icv, 0)).isFalse();
                for (int i = 0; i < icv.length; i++) {
                    icv[i] ^= 1;
                    assertThat(mac.verify(data, 0, data.length, trailer, 4, icv, 0)).isFalse();
                    icv[i] ^= 1;
                }
                assertThat(mac.verify(data, 0, 0, trailer, 0, icv, 0)).isFalse();
            }
            key[0] ^= 1;
            try (IntegrityMac wrong = PacketCiphers.integrity(t, key)) {
                assertThat(wrong.verify(data, 0, data.length, trailer, 4, icv, 0)).isFalse();
            }
        }
    }

    @Test
    void factoryRejectsBadKeyLengthsWithoutPrintingKeys() {
        byte[] k = new byte[21];
        Arrays.fill(k, (byte) 0x7e);
        for (EncryptionTransform t : new EncryptionTransform[] {EncryptionTransform.AES_GCM_16,
                EncryptionTransform.CHACHA20_POLY1305}) {
            assertThatThrownBy(() -> PacketCiphers.aead(t, k))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(t.ianaName())
                    .hasMessageNotContaining("7e")
                    .hasMessageNotContaining("126");
        }
        assertThatThrownBy(() -> PacketCiphers.aead(EncryptionTransform.AES_GCM_16, new byte[32]))
                .isInstanceOf(IllegalArgumentException.class);  // 28 + salt: no such AES key
        assertThatThrownBy(() -> PacketCiphers.aead(EncryptionTransform.AES_CBC, new byte[20]))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> PacketCiphers.normal(EncryptionTransform.AES_CBC, k))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageNotContaining("7e");
        assertThatThrownBy(() -> PacketCiphers.normal(EncryptionTransform.AES_GCM_16, new byte[16]))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> PacketCiphers.integrity(IntegrityTransform.NONE, new byte[0]))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> PacketCiphers.aead(EncryptionTransform.AES_GCM_16, null))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @ParameterizedTest
    @MethodSource("dev.keel.core.crypto.Engines#all")
    void closedCiphersRefuseWorkAndToStringHidesKeys(AeadEngine engine) {
        byte[] key = new byte[36];
        Arrays.fill(key, (byte) 0x41);
        AeadCipher c = Engines.aead(engine, EncryptionTransform.AES_GCM_16, key);
        assertThat(c.toString()).doesNotContain("41").doesNotContain("AAAA");
        c.close();
        c.close();
        assertThatThrownBy(() -> c.seal(new byte[0], 0, new byte[8], 0, new byte[32], 0, 16))
                .isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> c.open(new byte[0], 0, new byte[8], 0, new byte[32], 0, 32))
                .isInstanceOf(IllegalStateException.class);
    }

    /** Lengths and offsets outside the arrays throw before anything is copied or handed to native code. */
    @ParameterizedTest
    @MethodSource("dev.keel.core.crypto.Engines#all")
    void badIndicesThrowIndexOutOfBounds(AeadEngine engine) {
        try (AeadCipher c = Engines.aead(engine, EncryptionTransform.AES_GCM_16, new byte[20])) {
            byte[] buf = new byte[64];
            byte[] aad = new byte[8];
            byte[] iv = new byte[8];
            for (int[] bad : new int[][] {{0, 49}, {1, 48}, {-1, 16}, {0, -1}, {60, 8}, {Integer.MAX_VALUE, 16},
                    {16, Integer.MAX_VALUE - 20}}) {
                assertThatThrownBy(() -> c.seal(aad, 8, iv, 0, buf, bad[0], bad[1]))
                        .isInstanceOf(IndexOutOfBoundsException.class);
            }
            for (int[] bad : new int[][] {{0, 65}, {-1, 16}, {0, -1}, {60, 8}, {Integer.MAX_VALUE, 16}}) {
                assertThatThrownBy(() -> c.open(aad, 8, iv, 0, buf, bad[0], bad[1]))
                        .isInstanceOf(IndexOutOfBoundsException.class);
            }
            assertThatThrownBy(() -> c.seal(aad, 9, iv, 0, buf, 0, 16)).isInstanceOf(IndexOutOfBoundsException.class);
            assertThatThrownBy(() -> c.open(aad, -1, iv, 0, buf, 0, 32)).isInstanceOf(IndexOutOfBoundsException.class);
            assertThatThrownBy(() -> c.seal(aad, 8, iv, 1, buf, 0, 16)).isInstanceOf(IndexOutOfBoundsException.class);
            assertThatThrownBy(() -> c.open(aad, 8, new byte[7], 0, buf, 0, 32))
                    .isInstanceOf(IndexOutOfBoundsException.class);
            // the cipher is still usable afterwards
            iv[0] = 1;
            assertThat(c.seal(aad, 8, iv, 0, buf, 0, 16)).isEqualTo(32);
            assertThat(c.open(aad, 8, iv, 0, buf, 0, 32)).isEqualTo(16);
        }
    }

    @ParameterizedTest
    @MethodSource("dev.keel.core.crypto.Engines#all")
    void sealRefusesToReuseTheLastIv(AeadEngine engine) {
        try (AeadCipher c = Engines.aead(engine, EncryptionTransform.AES_GCM_16, new byte[20])) {
            byte[] iv = new byte[8];
            c.seal(new byte[0], 0, iv, 0, new byte[32], 0, 16);
            assertThatThrownBy(() -> c.seal(new byte[0], 0, iv, 0, new byte[32], 0, 16))
                    .isInstanceOf(IllegalStateException.class);
        }
    }
}
