package dev.keel.core.crypto;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.transform.EncryptionTransform;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * McGrew &amp; Viega, "The Galois/Counter Mode of Operation (GCM)", Appendix B, the test cases with
 * 96-bit IVs: 3 and 4 (AES-128), 9 and 10 (AES-192), 15 and 16 (AES-256). Mapped to RFC 4106 as
 * salt = the first 4 IV bytes, explicit IV = the last 8. ENCR_AES_GCM_12 / _8 use the first 12 / 8
 * bytes of the spec's 128-bit tag (GCM spec §7: T = MSB_t(...)), as RFC 4106 §6 specifies. Every
 * case runs on both engines (OpenSSL and the JCA).
 */
class AesGcmVectorsTest {

    private static final HexFormat HEX = HexFormat.of();

    private static final String K128 = "feffe9928665731c6d6a8f9467308308";
    private static final String K192 = K128 + "feffe9928665731c";
    private static final String K256 = K128 + K128;
    private static final String IV = "cafebabefacedbaddecaf888";
    private static final String P64 = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
            + "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255";
    private static final String P60 = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
            + "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";
    private static final String A20 = "feedfacedeadbeeffeedfacedeadbeefabaddad2";

    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of("GCM spec Appendix B, Test Case 3 (AES-128, no AAD)", K128, "", P64,
                        "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
                                + "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
                        "4d5c2af327cd64a62cf35abd2ba6fab4"),
                Arguments.of("GCM spec Appendix B, Test Case 4 (AES-128, 20-byte AAD)", K128, A20, P60,
                        "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
                                + "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
                        "5bc94fbc3221a5db94fae95ae7121a47"),
                Arguments.of("GCM spec Appendix B, Test Case 9 (AES-192, no AAD)", K192, "", P64,
                        "3980ca0b3c00e841eb06fac4872a2757859e1ceaa6efd984628593b40ca1e19c"
                                + "7d773d00c144c525ac619d18c84a3f4718e2448b2fe324d9ccda2710acade256",
                        "9924a7c8587336bfb118024db8674a14"),
                Arguments.of("GCM spec Appendix B, Test Case 10 (AES-192, 20-byte AAD)", K192, A20, P60,
                        "3980ca0b3c00e841eb06fac4872a2757859e1ceaa6efd984628593b40ca1e19c"
                                + "7d773d00c144c525ac619d18c84a3f4718e2448b2fe324d9ccda2710",
                        "2519498e80f1478f37ba55bd6d27618c"),
                Arguments.of("GCM spec Appendix B, Test Case 15 (AES-256, no AAD)", K256, "", P64,
                        "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
                                + "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
                        "b094dac5d93471bdec1a502270e3cc6c"),
                Arguments.of("GCM spec Appendix B, Test Case 16 (AES-256, 20-byte AAD)", K256, A20, P60,
                        "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
                                + "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
                        "76fc6ece0f4e1768cddf8853bb2d551b"));
    }

    static Stream<Arguments> casesPerIcv() {
        return cases().flatMap(c -> Stream.of(EncryptionTransform.AES_GCM_16, EncryptionTransform.AES_GCM_12,
                EncryptionTransform.AES_GCM_8).flatMap(t -> Engines.all().map(e -> {
                    Object[] a = c.get();
                    return Arguments.of(a[0] + " as " + t.ianaName() + " on " + e, e, t, a[1], a[2], a[3], a[4], a[5]);
                })));
    }

    static Stream<Arguments> casesPerEngine() {
        return cases().flatMap(c -> Engines.all().map(e -> {
            Object[] a = c.get();
            return Arguments.of(a[0] + " on " + e, e, a[1], a[2], a[3], a[4], a[5]);
        }));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("casesPerIcv")
    void sealMatchesSpecAndOpenRecoversPlaintext(String name, AeadEngine engine, EncryptionTransform t, String key,
            String aad, String plain, String cipher, String tag) {
        byte[] keyAndSalt = HEX.parseHex(key + IV.substring(0, 8));
        byte[] iv = HEX.parseHex(IV.substring(8));
        byte[] a = HEX.parseHex(aad);
        byte[] p = HEX.parseHex(plain);
        byte[] expected = HEX.parseHex(cipher + tag.substring(0, 2 * t.icvLength()));

        byte[] buf = new byte[3 + p.length + t.icvLength() + 5];
        System.arraycopy(p, 0, buf, 3, p.length);
        try (AeadCipher enc = Engines.aead(engine, t, keyAndSalt)) {
            assertThat(enc.icvLength()).isEqualTo(t.icvLength());
            assertThat(enc.seal(a, a.length, iv, 0, buf, 3, p.length)).isEqualTo(expected.length);
        }
        assertThat(Arrays.copyOfRange(buf, 3, 3 + expected.length)).isEqualTo(expected);
        assertThat(buf[buf.length - 1]).isZero();

        try (AeadCipher dec = Engines.aead(engine, t, keyAndSalt)) {
            assertThat(dec.open(a, a.length, iv, 0, buf, 3, expected.length)).isEqualTo(p.length);
        }
        assertThat(Arrays.copyOfRange(buf, 3, 3 + p.length)).isEqualTo(p);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("casesPerEngine")
    void oneInstanceSealsAndOpensManyPackets(String name, AeadEngine engine, String key, String aad, String plain,
            String cipher, String tag) {
        byte[] keyAndSalt = HEX.parseHex(key + IV.substring(0, 8));
        byte[] a = HEX.parseHex(aad);
        byte[] p = HEX.parseHex(plain);
        try (AeadCipher c = Engines.aead(engine, EncryptionTransform.AES_GCM_16, keyAndSalt)) {
            byte[] iv = new byte[8];
            for (int i = 0; i < 5; i++) {
                iv[7] = (byte) i;
                byte[] buf = Arrays.copyOf(p, p.length + 16);
                assertThat(c.seal(a, a.length, iv, 0, buf, 0, p.length)).isEqualTo(p.length + 16);
                assertThat(c.open(a, a.length, iv, 0, buf, 0, p.length + 16)).isEqualTo(p.length);
                assertThat(Arrays.copyOf(buf, p.length)).isEqualTo(p);
            }
        }
    }
}
