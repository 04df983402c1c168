package dev.keel.core.crypto;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.transform.IntegrityTransform;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Truncated-HMAC vectors: RFC 4868 §2.7.2 (authenticator vectors, keys of the ESP length, through
 * the factory), RFC 4231 §4 (full HMAC-SHA-2 outputs, truncated here as ESP truncates them), and
 * RFC 2202 §3 (HMAC-SHA-1, truncated to 96 bits as RFC 2404 does).
 */
class HmacVectorsTest {

    private static final HexFormat HEX = HexFormat.of();
    private static final IntegrityTransform S256 = IntegrityTransform.HMAC_SHA2_256_128;
    private static final IntegrityTransform S384 = IntegrityTransform.HMAC_SHA2_384_192;
    private static final IntegrityTransform S512 = IntegrityTransform.HMAC_SHA2_512_256;
    private static final IntegrityTransform SHA1 = IntegrityTransform.HMAC_SHA1_96;

    private static String ascii(String s) {
        return HEX.formatHex(s.getBytes(StandardCharsets.US_ASCII));
    }

    private static String rep(String hexByte, int n) {
        return hexByte.repeat(n);
    }

    private static final String HI_THERE = ascii("Hi There");
    private static final String JEFE_DATA = ascii("what do ya want for nothing?");

    static Stream<Arguments> rfc4868() {
        return Stream.of(
                Arguments.of("RFC 4868 §2.7.2.1 Test Case AUTH256-1", S256, rep("0b", 32), HI_THERE,
                        "198a607eb44bfbc69903a0f1cf2bbdc5"),
                Arguments.of("RFC 4868 §2.7.2.1 Test Case AUTH256-2", S256, ascii("Jefe".repeat(8)), JEFE_DATA,
                        "167f928588c5cc2eef8e3093caa0e87c"),
                Arguments.of("RFC 4868 §2.7.2.1 Test Case AUTH256-3", S256, rep("aa", 32), rep("dd", 50),
                        "cdcb1220d1ecccea91e53aba3092f962"),
                Arguments.of("RFC 4868 §2.7.2.2 Test Case AUTH384-1", S384, rep("0b", 48), HI_THERE,
                        "b6a8d5636f5c6a7224f9977dcf7ee6c7fb6d0c48cbdee973"),
                Arguments.of("RFC 4868 §2.7.2.2 Test Case AUTH384-2", S384, ascii("Jefe".repeat(12)), JEFE_DATA,
                        "2c7353974f1842fd66d53c452ca42122b28c0b594cfb184d"),
                Arguments.of("RFC 4868 §2.7.2.2 Test Case AUTH384-3", S384, rep("aa", 48), rep("dd", 50),
                        "809f439be00274321d4a538652164b53554a508184a0c316"),
                Arguments.of("RFC 4868 §2.7.2.3 Test Case AUTH512-1", S512, rep("0b", 64), HI_THERE,
                        "637edc6e01dce7e6742a99451aae82df23da3e92439e590e43e761b33e910fb8"),
                Arguments.of("RFC 4868 §2.7.2.3 Test Case AUTH512-2", S512, ascii("Jefe".repeat(16)), JEFE_DATA,
                        "cb370917ae8a7ce28cfd1d8f4705d6141c173b2a9362c15df235dfb251b15454"),
                Arguments.of("RFC 4868 §2.7.2.3 Test Case AUTH512-3", S512, rep("aa", 64), rep("dd", 50),
                        "2ee7acd783624ca9398710f3ee05ae41b9f9b0510c87e49e586cc9bf961733d8"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rfc4868")
    void rfc4868AuthenticatorVectorsThroughTheFactory(String name, IntegrityTransform t, String key, String data,
            String icv) {
        try (IntegrityMac mac = PacketCiphers.integrity(t, HEX.parseHex(key))) {
            check(mac, t, data, icv);
        }
    }

    private static final String TC6_DATA = ascii("Test Using Larger Than Block-Size Key - Hash Key First");
    private static final String TC7_DATA = ascii("This is a test using a larger than block-size key and a larger "
            + "than block-size data. The key needs to be hashed before being used by the HMAC algorithm.");

    /** Full RFC 4231 outputs; the test keeps the first icvLength bytes, as RFC 4868 §2.3 truncates. */
    static Stream<Arguments> rfc4231() {
        return Stream.of(
                Arguments.of("RFC 4231 §4.2 Test Case 1, SHA-256", S256, rep("0b", 20), HI_THERE,
                        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
                Arguments.of("RFC 4231 §4.2 Test Case 1, SHA-384", S384, rep("0b", 20), HI_THERE,
                        "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c"
                                + "faea9ea9076ede7f4af152e8b2fa9cb6"),
                Arguments.of("RFC 4231 §4.2 Test Case 1, SHA-512", S512, rep("0b", 20), HI_THERE,
                        "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
                                + "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"),
                Arguments.of("RFC 4231 §4.4 Test Case 3, SHA-256", S256, rep("aa", 20), rep("dd", 50),
                        "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
                Arguments.of("RFC 4231 §4.4 Test Case 3, SHA-384", S384, rep("aa", 20), rep("dd", 50),
                        "88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b"
                                + "2a5ab39dc13814b94e3ab6e101a34f27"),
                Arguments.of("RFC 4231 §4.4 Test Case 3, SHA-512", S512, rep("aa", 20), rep("dd", 50),
                        "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39"
                                + "bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb"),
                Arguments.of("RFC 4231 §4.5 Test Case 4, SHA-256", S256, "0102030405060708090a0b0c0d0e0f10111213141516171819",
                        rep("cd", 50), "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
                Arguments.of("RFC 4231 §4.5 Test Case 4, SHA-384", S384, "0102030405060708090a0b0c0d0e0f10111213141516171819",
                        rep("cd", 50), "3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e"
                                + "6801dd23c4a7d679ccf8a386c674cffb"),
                Arguments.of("RFC 4231 §4.5 Test Case 4, SHA-512", S512, "0102030405060708090a0b0c0d0e0f10111213141516171819",
                        rep("cd", 50), "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3db"
                                + "a91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd"),
                Arguments.of("RFC 4231 §4.7 Test Case 6, SHA-256 (131-byte key)", S256, rep("aa", 131), TC6_DATA,
                        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
                Arguments.of("RFC 4231 §4.7 Test Case 6, SHA-384 (131-byte key)", S384, rep("aa", 131), TC6_DATA,
                        "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c6"
                                + "0c2ef6ab4030fe8296248df163f44952"),
                Arguments.of("RFC 4231 §4.7 Test Case 6, SHA-512 (131-byte key)", S512, rep("aa", 131), TC6_DATA,
                        "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
                                + "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598"),
                Arguments.of("RFC 4231 §4.8 Test Case 7, SHA-256 (131-byte key, 152-byte data)", S256, rep("aa", 131),
                        TC7_DATA, "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
                Arguments.of("RFC 4231 §4.8 Test Case 7, SHA-384 (131-byte key, 152-byte data)", S384, rep("aa", 131),
                        TC7_DATA, "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5"
                                + "a678cc31e799176d3860e6110c46523e"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rfc4231")
    void rfc4231VectorsTruncatedAsEspDoes(String name, IntegrityTransform t, String key, String data, String full) {
        try (IntegrityMac mac = new HmacIntegrity(t, HEX.parseHex(key))) {
            check(mac, t, data, full.substring(0, 2 * t.icvLength()));
        }
    }

    static Stream<Arguments> rfc2202() {
        return Stream.of(
                Arguments.of("RFC 2202 §3 test_case 1", rep("0b", 20), HI_THERE,
                        "b617318655057264e28bc0b6fb378c8ef146be00"),
                Arguments.of("RFC 2202 §3 test_case 2", ascii("Jefe"), JEFE_DATA,
                        "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"),
                Arguments.of("RFC 2202 §3 test_case 3", rep("aa", 20), rep("dd", 50),
                        "125d7342b9ac11cd91a39af48aa17b4f63f175d3"),
                Arguments.of("RFC 2202 §3 test_case 4", "0102030405060708090a0b0c0d0e0f10111213141516171819",
                        rep("cd", 50), "4c9007f4026250c6bc8414f9bf50c86c2d7235da"),
                Arguments.of("RFC 2202 §3 test_case 5 (digest-96 given)", rep("0c", 20),
                        ascii("Test With Truncation"), "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04"),
                Arguments.of("RFC 2202 §3 test_case 6", rep("aa", 80),
                        ascii("Test Using Larger Than Block-Size Key - Hash Key First"),
                        "aa4ae5e15272d00e95705637ce8a3b55ed402112"),
                Arguments.of("RFC 2202 §3 test_case 7", rep("aa", 80),
                        ascii("Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data"),
                        "e8e99d0f45237d786d6bbaa7965c7808bbff1a91"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rfc2202")
    void rfc2202HmacSha1TruncatedTo96Bits(String name, String key, String data, String full) {
        try (IntegrityMac mac = new HmacIntegrity(SHA1, HEX.parseHex(key))) {
            check(mac, SHA1, data, full.substring(0, 24));
        }
    }

    private static void check(IntegrityMac mac, IntegrityTransform t, String dataHex, String icvHex) {
        byte[] data = HEX.parseHex(dataHex);
        byte[] icv = HEX.parseHex(icvHex);
        assertThat(mac.icvLength()).isEqualTo(t.icvLength()).isEqualTo(icv.length);
        byte[] out = new byte[2 + icv.length];
        // Twice on one instance: the state must reset between packets.
        for (int round = 0; round < 2; round++) {
            mac.compute(data, 0, data.length, null, 0, out, 2);
            assertThat(Arrays.copyOfRange(out, 2, out.length)).isEqualTo(icv);
            assertThat(mac.verify(data, 0, data.length, null, 0, out, 2)).isTrue();
        }
        if (data.length > 4) {
            // The ESN trailer (RFC 4303 §2.2.1) is just more data after the packet.
            byte[] head = Arrays.copyOf(data, data.length - 4);
            byte[] tail = Arrays.copyOfRange(data, data.length - 4, data.length);
            assertThat(mac.verify(head, 0, head.length, tail, 4, icv, 0)).isTrue();
        }
        out[out.length - 1] ^= 1;
        assertThat(mac.verify(data, 0, data.length, null, 0, out, 2)).isFalse();
    }

    @Test
    void factoryRequiresTheEspKeyLengthAndNeverPrintsTheKey() {
        byte[] key = new byte[31];
        Arrays.fill(key, (byte) 0x5a);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> PacketCiphers.integrity(S256, key))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("31")
                .hasMessageNotContaining("5a")
                .hasMessageNotContaining("90");
    }
}
