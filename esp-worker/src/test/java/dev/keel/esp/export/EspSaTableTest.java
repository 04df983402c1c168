package dev.keel.esp.export;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.core.transform.EncryptionTransform;
import dev.keel.core.transform.IntegrityTransform;
import java.net.InetAddress;
import java.util.HexFormat;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Exact {@code esp_sa} lines. Names checked against Wireshark's packet-ipsec.c
 * ({@code esp_encryption_type_vals}, {@code esp_authentication_type_vals}), the strings in
 * Debian's libwireshark 4.0.17 and strongSwan's save_keys_listener.c.
 */
class EspSaTableTest {

    private static final HexFormat HEX = HexFormat.of();
    private static final InetAddress A = InetAddress.ofLiteral("192.0.2.1");
    private static final InetAddress B = InetAddress.ofLiteral("192.0.2.2");

    @Test
    void aesGcm16WithSaltAndNullAuthentication() {
        EspSaKeys sa = new EspSaKeys(A, B, 0xc0012345, EncryptionTransform.AES_GCM_16,
                HEX.parseHex("000102030405060708090a0b0c0d0e0f" + "cafebabe"), IntegrityTransform.NONE, new byte[0]);

        assertThat(EspSaTable.format(sa)).isEqualTo(
                "\"IPv4\",\"192.0.2.1\",\"192.0.2.2\",\"0xc0012345\",\"AES-GCM with 16 octet ICV [RFC4106]\","
                        + "\"0x000102030405060708090a0b0c0d0e0fcafebabe\",\"NULL\",\"0x\"");
        assertThat(EspSaTable.tsharkOption(sa)).startsWith("uat:esp_sa:\"IPv4\",").endsWith(",\"NULL\",\"0x\"");
    }

    @Test
    void aesCbcWithHmacSha256AndAnSpiWithLeadingZeros() {
        EspSaKeys sa = new EspSaKeys(B, A, 0x00000101, EncryptionTransform.AES_CBC,
                HEX.parseHex("00112233445566778899aabbccddeeff"), IntegrityTransform.HMAC_SHA2_256_128,
                HEX.parseHex("0f0e0d0c0b0a09080706050403020100" + "f0e0d0c0b0a090807060504030201000"));

        assertThat(EspSaTable.format(sa)).isEqualTo(
                "\"IPv4\",\"192.0.2.2\",\"192.0.2.1\",\"0x00000101\",\"AES-CBC [RFC3602]\","
                        + "\"0x00112233445566778899aabbccddeeff\",\"HMAC-SHA-256-128 [RFC4868]\","
                        + "\"0x0f0e0d0c0b0a09080706050403020100f0e0d0c0b0a090807060504030201000\"");
    }

    @Test
    void ipv6OuterAddressesAreWrittenInRfc5952Form() {
        EspSaKeys sa = new EspSaKeys(InetAddress.ofLiteral("2001:0DB8:0:0:0:0:0:1"),
                InetAddress.ofLiteral("2001:db8:0:1:0:0:0:2"), 0xffffffff, EncryptionTransform.CHACHA20_POLY1305,
                new byte[36], IntegrityTransform.NONE, new byte[0]);

        assertThat(EspSaTable.format(sa)).isEqualTo(
                "\"IPv6\",\"2001:db8::1\",\"2001:db8:0:1::2\",\"0xffffffff\",\"ChaCha20 with Poly1305 [RFC7634]\","
                        + "\"0x" + "00".repeat(36) + "\",\"NULL\",\"0x\"");
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
        "::, ::",
        "::1, ::1",
        "1::, 1::",
        "2001:db8:0:0:1:0:0:1, 2001:db8::1:0:0:1",
        "2001:0:0:1:0:0:0:1, 2001:0:0:1::1",
        "2001:db8:0:1:1:1:1:1, 2001:db8:0:1:1:1:1:1",
        "fe80:0:0:0:0:0:0:abcd, fe80::abcd",
        "::ffff:192.0.2.1, 192.0.2.1",
    })
    void addressText(String literal, String expected) {
        assertThat(EspSaTable.address(InetAddress.ofLiteral(literal))).isEqualTo(expected);
    }

    static Stream<Arguments> encryptionNames() {
        return Stream.of(
                Arguments.of(EncryptionTransform.NULL, "NULL"),
                Arguments.of(EncryptionTransform.AES_CBC, "AES-CBC [RFC3602]"),
                Arguments.of(EncryptionTransform.AES_GCM_8, "AES-GCM with 8 octet ICV [RFC4106]"),
                Arguments.of(EncryptionTransform.AES_GCM_12, "AES-GCM with 12 octet ICV [RFC4106]"),
                Arguments.of(EncryptionTransform.AES_GCM_16, "AES-GCM with 16 octet ICV [RFC4106]"),
                Arguments.of(EncryptionTransform.CHACHA20_POLY1305, "ChaCha20 with Poly1305 [RFC7634]"));
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @MethodSource("encryptionNames")
    void everyEncryptionTransformHasItsWiresharkName(EncryptionTransform t, String name) {
        IntegrityTransform integ = t == EncryptionTransform.NULL ? IntegrityTransform.HMAC_SHA1_96
                : IntegrityTransform.NONE;
        EspSaKeys sa = new EspSaKeys(A, B, 1, t, new byte[t.defaultKeyLength() + t.saltLength()], integ,
                new byte[integ.keyLength()]);

        assertThat(EspSaTable.format(sa).split(",")[4]).isEqualTo("\"" + name + "\"");
    }

    static Stream<Arguments> integrityNames() {
        return Stream.of(
                Arguments.of(IntegrityTransform.NONE, "NULL"),
                Arguments.of(IntegrityTransform.HMAC_SHA1_96, "HMAC-SHA-1-96 [RFC2404]"),
                Arguments.of(IntegrityTransform.HMAC_SHA2_256_128, "HMAC-SHA-256-128 [RFC4868]"),
                Arguments.of(IntegrityTransform.HMAC_SHA2_384_192, "HMAC-SHA-384-192 [RFC4868]"),
                Arguments.of(IntegrityTransform.HMAC_SHA2_512_256, "HMAC-SHA-512-256 [RFC4868]"));
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @MethodSource("integrityNames")
    void everyIntegrityTransformHasItsWiresharkName(IntegrityTransform t, String name) {
        EspSaKeys sa = new EspSaKeys(A, B, 1, EncryptionTransform.AES_CBC, new byte[32], t, new byte[t.keyLength()]);

        assertThat(EspSaTable.format(sa).split(",")[6]).isEqualTo("\"" + name + "\"");
    }

    @Test
    void anAeadKeyWithoutItsSaltIsRejected() {
        assertThatThrownBy(() -> new EspSaKeys(A, B, 1, EncryptionTransform.AES_GCM_16, new byte[16],
                IntegrityTransform.NONE, new byte[0]))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("4 bytes of salt");
    }

    @Test
    void aWrongIntegrityKeyLengthIsRejected() {
        assertThatThrownBy(() -> new EspSaKeys(A, B, 1, EncryptionTransform.AES_CBC, new byte[16],
                IntegrityTransform.HMAC_SHA2_256_128, new byte[20]))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("takes 32");
    }

    @Test
    void combinedModeWithAnIntegrityTransformAndNullWithoutOneAreRejected() {
        assertThatThrownBy(() -> new EspSaKeys(A, B, 1, EncryptionTransform.AES_GCM_16, new byte[20],
                IntegrityTransform.HMAC_SHA1_96, new byte[20]))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new EspSaKeys(A, B, 1, EncryptionTransform.NULL, new byte[0],
                IntegrityTransform.NONE, new byte[0]))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void mixedAddressFamiliesAreRejected() {
        assertThatThrownBy(() -> new EspSaKeys(A, InetAddress.ofLiteral("2001:db8::1"), 1,
                EncryptionTransform.AES_GCM_16, new byte[20], IntegrityTransform.NONE, new byte[0]))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("family");
    }

    @Test
    void toStringNamesNoKey() {
        byte[] key = HEX.parseHex("deadbeefdeadbeefdeadbeefdeadbeef" + "feedf00d");
        EspSaKeys sa = new EspSaKeys(A, B, 0x42, EncryptionTransform.AES_GCM_16, key, IntegrityTransform.NONE,
                new byte[0]);

        assertThat(sa.toString()).contains("0x00000042", "redacted").doesNotContain("dead", "feed");
    }
}
