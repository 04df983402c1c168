package dev.keel.core.crypto;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.transform.EncryptionTransform;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * OpenSSL against the JCA (SunJCE; Bouncy Castle for ENCR_AES_GCM_8), which serves as the oracle:
 * seeded random keys, IVs, AAD of 8 and 12 bytes (ESP without and with ESN) and payloads of 0 to
 * 2000 bytes at random offsets; what one engine seals the other opens to the same plaintext, and
 * both seal to the same bytes.
 */
class AeadEngineCrossCheckTest {

    private static final int ROUNDS = 300;

    static Stream<Arguments> suites() {
        return Stream.of(
                Arguments.of(EncryptionTransform.AES_GCM_16, 16),
                Arguments.of(EncryptionTransform.AES_GCM_16, 24),
                Arguments.of(EncryptionTransform.AES_GCM_16, 32),
                Arguments.of(EncryptionTransform.AES_GCM_12, 16),
                Arguments.of(EncryptionTransform.AES_GCM_8, 32),
                Arguments.of(EncryptionTransform.CHACHA20_POLY1305, 32));
    }

    @ParameterizedTest(name = "{0} {1}-byte key")
    @MethodSource("suites")
    void openSslAndJcaAgreeBothWays(EncryptionTransform t, int keyLength) {
        Engines.assumeUsable(AeadEngine.OPENSSL);
        SplittableRandom r = new SplittableRandom(0x6b65656cL + t.id() * 97L + keyLength);
        byte[] keyAndSalt = new byte[keyLength + 4];
        r.nextBytes(keyAndSalt);
        int icv = t.icvLength();
        try (AeadCipher ossl = PacketCiphers.aead(t, keyAndSalt, AeadEngine.OPENSSL);
                AeadCipher jca = PacketCiphers.aead(t, keyAndSalt, AeadEngine.JCA)) {
            for (int round = 0; round < ROUNDS; round++) {
                int len = round < 20 ? round : r.nextInt(2001);
                int aadLen = r.nextBoolean() ? 8 : 12;
                int off = r.nextInt(40);
                byte[] aad = new byte[aadLen + r.nextInt(4)];  // the array may be longer than aadLen
                byte[] iv = new byte[8 + 3];
                byte[] plain = new byte[len];
                r.nextBytes(aad);
                r.nextBytes(iv);
                r.nextBytes(plain);
                int ivOff = r.nextInt(4);
                iv[ivOff] = (byte) round;  // never the previous round's IV
                byte[] a = new byte[off + len + icv + 7];
                byte[] b = new byte[a.length];
                r.nextBytes(a);
                System.arraycopy(a, 0, b, 0, a.length);
                System.arraycopy(plain, 0, a, off, len);
                System.arraycopy(plain, 0, b, off, len);
                byte[] untouched = a.clone();

                // seal on both: identical bytes, and nothing outside [off, off+len+icv) changes
                AeadCipher sealer = round % 2 == 0 ? ossl : jca;
                AeadCipher other = sealer == ossl ? jca : ossl;
                assertThat(sealer.seal(aad, aadLen, iv, ivOff, a, off, len)).isEqualTo(len + icv);
                assertThat(other.seal(aad, aadLen, iv, ivOff, b, off, len)).isEqualTo(len + icv);
                assertThat(a).as("round %d, %d bytes", round, len).isEqualTo(b);
                assertThat(Arrays.copyOfRange(a, 0, off)).isEqualTo(Arrays.copyOfRange(untouched, 0, off));
                assertThat(Arrays.copyOfRange(a, off + len + icv, a.length))
                        .isEqualTo(Arrays.copyOfRange(untouched, off + len + icv, a.length));

                // open what one sealed with the other
                assertThat(other.open(aad, aadLen, iv, ivOff, a, off, len + icv)).isEqualTo(len);
                assertThat(Arrays.copyOfRange(a, off, off + len)).isEqualTo(plain);
                assertThat(sealer.open(aad, aadLen, iv, ivOff, b, off, len + icv)).isEqualTo(len);
                assertThat(Arrays.copyOfRange(b, off, off + len)).isEqualTo(plain);
            }
        }
    }

    /** A packet much larger than the scratch buffer's initial size (a GSO super-packet), then a small one. */
    @Test
    void largePacketsGrowTheScratchAndStillAgree() {
        Engines.assumeUsable(AeadEngine.OPENSSL);
        SplittableRandom r = new SplittableRandom(4106);
        byte[] keyAndSalt = new byte[20];
        r.nextBytes(keyAndSalt);
        try (AeadCipher ossl = PacketCiphers.aead(EncryptionTransform.AES_GCM_16, keyAndSalt, AeadEngine.OPENSSL);
                AeadCipher jca = PacketCiphers.aead(EncryptionTransform.AES_GCM_16, keyAndSalt, AeadEngine.JCA)) {
            int i = 0;
            for (int len : new int[] {65_000, 100, 9000}) {
                byte[] aad = new byte[300];  // longer than the initial AAD room too
                r.nextBytes(aad);
                byte[] iv = {0, 0, 0, 0, 0, 0, 0, (byte) ++i};
                byte[] a = new byte[len + 16];
                r.nextBytes(a);
                byte[] plain = Arrays.copyOf(a, len);
                byte[] b = a.clone();
                ossl.seal(aad, aad.length, iv, 0, a, 0, len);
                jca.seal(aad, aad.length, iv, 0, b, 0, len);
                assertThat(a).isEqualTo(b);
                assertThat(ossl.open(aad, aad.length, iv, 0, b, 0, len + 16)).isEqualTo(len);
                assertThat(Arrays.copyOf(b, len)).isEqualTo(plain);
            }
        }
    }
}
