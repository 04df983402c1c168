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
 * ChaCha20-Poly1305 AEAD vectors: RFC 8439 §2.8.2 and Appendix A.5, and the ESP and IKEv2 examples
 * of RFC 7634 Appendices A and B. The 12-byte RFC nonce is split as salt (first 4) || IV (last 8),
 * exactly as RFC 7634 §2 builds it; the expected output is the ciphertext followed by the tag. Every
 * vector runs on both engines (OpenSSL and the JCA).
 */
class ChaCha20Poly1305VectorsTest {

    private static final HexFormat HEX = HexFormat.of();
    private static final String KEY_80 = "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f";

    static Stream<Arguments> vectors() {
        return Stream.of(
                Arguments.of("RFC 8439 §2.8.2 AEAD_CHACHA20_POLY1305 example", KEY_80, "07000000",
                        "4041424344454647", "50515253c0c1c2c3c4c5c6c7",
                        "4c616469657320616e642047656e746c656d656e206f662074686520636c6173"
                                + "73206f66202739393a204966204920636f756c64206f6666657220796f75206f"
                                + "6e6c79206f6e652074697020666f7220746865206675747572652c2073756e73"
                                + "637265656e20776f756c642062652069742e",
                        "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
                                + "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
                                + "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
                                + "3ff4def08e4b7a9de576d26586cec64b6116"
                                + "1ae10b594f09e26a7e902ecbd0600691"),
                Arguments.of("RFC 8439 Appendix A.5 ChaCha20-Poly1305 AEAD decryption",
                        "1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0", "00000000",
                        "0102030405060708", "f33388860000000000004e91",
                        "496e7465726e65742d4472616674732061726520647261667420646f63756d65"
                                + "6e74732076616c696420666f722061206d6178696d756d206f6620736978206d"
                                + "6f6e74687320616e64206d617920626520757064617465642c207265706c6163"
                                + "65642c206f72206f62736f6c65746564206279206f7468657220646f63756d65"
                                + "6e747320617420616e792074696d652e20497420697320696e617070726f7072"
                                + "6961746520746f2075736520496e7465726e65742d4472616674732061732072"
                                + "65666572656e6365206d6174657269616c206f7220746f206369746520746865"
                                + "6d206f74686572207468616e206173202fe2809c776f726b20696e2070726f67"
                                + "726573732e2fe2809d",
                        "64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb2"
                                + "4c6cfc18755d43eea09ee94e382d26b0bdb7b73c321b0100d4f03b7f355894cf"
                                + "332f830e710b97ce98c8a84abd0b948114ad176e008d33bd60f982b1ff37c855"
                                + "9797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4"
                                + "b9166c767b804d46a59b5216cde7a4e99040c5a40433225ee282a1b0a06c523e"
                                + "af4534d7f83fa1155b0047718cbc546a0d072b04b3564eea1b422273f548271a"
                                + "0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a6727627097a10"
                                + "49e617d91d361094fa68f0ff77987130305beaba2eda04df997b714d6c6f2c29"
                                + "a6ad5cb4022b02709b"
                                + "eead9d67890cbb22392336fea1851f38"),
                Arguments.of("RFC 7634 Appendix A, ESP example (SPI 0x01020304, sequence 5)",
                        KEY_80, "a0a1a2a3", "1011121314151617", "0102030400000005",
                        "45000054a6f200004001e778c6336405c000020508005b7a3a080000553bec10"
                                + "000736270809" + "0a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
                                + "202122232425262728292a2b2c2d2e2f303132333435363701020204",
                        "24039428b97f417e3c13753a4f05087b67c352e6a7fab1b982d466ef407ae5c6"
                                + "14ee8099d52844eb61aa95dfab4c02f72aa71e7c4c4f64c9befe2facc638e8f3"
                                + "cbec163fac469b502773f6fb94e664da9165b82829f641e076aaa8266b7fb0f7"
                                + "b11b369907e1ad43"),
                Arguments.of("RFC 7634 Appendix B, IKEv2 example", KEY_80, "a0a1a2a3", "1011121314151617",
                        "c0c1c2c3c4c5c6c7d0d1d2d3d4d5d6d72e202500000000090000004529000029",
                        "0000000c000040010000000a00",
                        "610394701f8d017f7c12924889" + "6b71bfe25236efd7cdc67066906315b2"));
    }

    static Stream<Arguments> vectorsPerEngine() {
        return vectors().flatMap(v -> Engines.all().map(e -> {
            Object[] a = v.get();
            return Arguments.of(a[0] + " on " + e, e, a[1], a[2], a[3], a[4], a[5], a[6]);
        }));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("vectorsPerEngine")
    void sealMatchesRfcAndOpenRecoversPlaintext(String name, AeadEngine engine, String key, String salt, String ivHex, String aad,
            String plain, String sealed) {
        byte[] keyAndSalt = HEX.parseHex(key + salt);
        byte[] iv = HEX.parseHex(ivHex);
        byte[] a = HEX.parseHex(aad);
        byte[] p = HEX.parseHex(plain);
        byte[] expected = HEX.parseHex(sealed);
        assertThat(expected.length).isEqualTo(p.length + 16);

        byte[] buf = new byte[7 + expected.length];
        System.arraycopy(p, 0, buf, 7, p.length);
        try (AeadCipher c = Engines.aead(engine, EncryptionTransform.CHACHA20_POLY1305, keyAndSalt)) {
            assertThat(c.ivLength()).isEqualTo(8);
            assertThat(c.icvLength()).isEqualTo(16);
            assertThat(c.seal(a, a.length, iv, 0, buf, 7, p.length)).isEqualTo(expected.length);
            assertThat(Arrays.copyOfRange(buf, 7, buf.length)).isEqualTo(expected);
            assertThat(c.open(a, a.length, iv, 0, buf, 7, expected.length)).isEqualTo(p.length);
            assertThat(Arrays.copyOfRange(buf, 7, 7 + p.length)).isEqualTo(p);
        }
    }
}
