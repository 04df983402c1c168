package dev.keel.ike.export;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.core.proposal.EncryptionAlgorithm;
import dev.keel.core.transform.EncryptionTransform;
import dev.keel.core.transform.IntegrityTransform;
import dev.keel.ike.crypto.IkeSuite;
import dev.keel.ike.export.IkeDecryptionTable.Row;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Exact {@code ikev2_decryption_table} lines. Names checked against Wireshark's packet-isakmp.c
 * ({@code vs_ikev2_encr_algs}, {@code vs_ikev2_auth_algs}), the strings in Debian's
 * libwireshark 4.0.17 and strongSwan's save_keys_listener.c ({@code ike_encr}, {@code ike_integ}).
 */
class IkeDecryptionTableTest {

    private static final HexFormat HEX = HexFormat.of();

    @Test
    void aesCbc256WithHmacSha256() {
        Row sa = new Row(0x0123456789abcdefL, 0xfedcba9876543210L,
                suite(EncryptionTransform.AES_CBC, 32, IntegrityTransform.HMAC_SHA2_256_128),
                bytes(32, 0x10), bytes(32, 0x30), bytes(32, 0x50), bytes(32, 0x70));

        assertThat(IkeDecryptionTable.format(sa)).isEqualTo(
                "0123456789abcdef,fedcba9876543210,"
                        + HEX.formatHex(bytes(32, 0x10)) + "," + HEX.formatHex(bytes(32, 0x30))
                        + ",\"AES-CBC-256 [RFC3602]\","
                        + HEX.formatHex(bytes(32, 0x50)) + "," + HEX.formatHex(bytes(32, 0x70))
                        + ",\"HMAC_SHA2_256_128 [RFC4868]\"");
    }

    @Test
    void aesGcm128KeysCarryTheSaltAndIntegrityIsNoneWithEmptyKeys() {
        Row sa = new Row(1L, -1L, suite(EncryptionTransform.AES_GCM_16, 16, IntegrityTransform.NONE),
                HEX.parseHex("000102030405060708090a0b0c0d0e0f10111213"),
                HEX.parseHex("202122232425262728292a2b2c2d2e2f30313233"),
                new byte[0], new byte[0]);

        assertThat(IkeDecryptionTable.format(sa)).isEqualTo(
                "0000000000000001,ffffffffffffffff,000102030405060708090a0b0c0d0e0f10111213,"
                        + "202122232425262728292a2b2c2d2e2f30313233,\"AES-GCM-128 with 16 octet ICV [RFC5282]\",,,"
                        + "\"NONE [RFC4306]\"");
        assertThat(IkeDecryptionTable.tsharkOption(sa)).startsWith("uat:ikev2_decryption_table:0000000000000001,");
    }

    @ParameterizedTest(name = "{0} with {1}-byte key -> {2}")
    @CsvSource(delimiter = '|', value = {
        "AES_CBC    | 16 | AES-CBC-128 [RFC3602]",
        "AES_CBC    | 24 | AES-CBC-192 [RFC3602]",
        "AES_CBC    | 32 | AES-CBC-256 [RFC3602]",
        "AES_GCM_8  | 16 | AES-GCM-128 with 8 octet ICV [RFC5282]",
        "AES_GCM_8  | 32 | AES-GCM-256 with 8 octet ICV [RFC5282]",
        "AES_GCM_12 | 24 | AES-GCM-192 with 12 octet ICV [RFC5282]",
        "AES_GCM_16 | 16 | AES-GCM-128 with 16 octet ICV [RFC5282]",
        "AES_GCM_16 | 32 | AES-GCM-256 with 16 octet ICV [RFC5282]",
        "NULL       |  0 | NULL [RFC2410]",
    })
    void encryptionNamesCarryTheKeySize(EncryptionTransform t, int keyBytes, String name) {
        IntegrityTransform integ = t.isAead() ? IntegrityTransform.NONE : IntegrityTransform.HMAC_SHA1_96;
        byte[] k = new byte[keyBytes + t.saltLength()];
        byte[] a = new byte[integ.keyLength()];
        Row sa = new Row(1, 2, suite(t, keyBytes, integ), k, k, a, a);

        assertThat(IkeDecryptionTable.format(sa).split(",")[4]).isEqualTo("\"" + name + "\"");
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
        "HMAC_SHA1_96      | HMAC_SHA1_96 [RFC2404]",
        "HMAC_SHA2_256_128 | HMAC_SHA2_256_128 [RFC4868]",
        "HMAC_SHA2_384_192 | HMAC_SHA2_384_192 [RFC4868]",
        "HMAC_SHA2_512_256 | HMAC_SHA2_512_256 [RFC4868]",
    })
    void integrityNames(IntegrityTransform t, String name) {
        byte[] k = new byte[16];
        byte[] a = new byte[t.keyLength()];
        Row sa = new Row(1, 2, suite(EncryptionTransform.AES_CBC, 16, t), k, k, a, a);

        assertThat(IkeDecryptionTable.format(sa).split(",")[7]).isEqualTo("\"" + name + "\"");
    }

    @Test
    void chacha20Poly1305HasNoWiresharkIkev2NameAndIsRefusedNotGuessed() {
        Row sa = new Row(1, 2, suite(EncryptionTransform.CHACHA20_POLY1305, 32, IntegrityTransform.NONE),
                new byte[36], new byte[36], new byte[0], new byte[0]);

        assertThatThrownBy(() -> IkeDecryptionTable.format(sa))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("ENCR_CHACHA20_POLY1305");
    }

    @Test
    void normalModeWithoutIntegrityAndMismatchedKeysAreRejected() {
        byte[] k = new byte[16];
        assertThatThrownBy(() -> new Row(1, 2, suite(EncryptionTransform.AES_CBC, 16, IntegrityTransform.NONE), k, k,
                new byte[0], new byte[0])).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Row(1, 2, suite(EncryptionTransform.AES_CBC, 16, IntegrityTransform.HMAC_SHA1_96),
                k, new byte[32], new byte[20], new byte[20])).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void toStringNamesNoKey() {
        Row sa = new Row(0xabL, 0xcdL, suite(EncryptionTransform.AES_CBC, 16, IntegrityTransform.HMAC_SHA1_96),
                bytes(16, 0xe0), bytes(16, 0xe0), bytes(20, 0xe0), bytes(20, 0xe0));

        assertThat(sa.toString()).contains("00000000000000ab", "redacted").doesNotContain("e0e1e2");
    }

    /** The suite of a cipher with a {@code keyBytes}-byte key (fixed-key ciphers: their own size). */
    private static IkeSuite suite(EncryptionTransform t, int keyBytes, IntegrityTransform integrity) {
        EncryptionAlgorithm enc = t.hasVariableKeyLength() ? EncryptionAlgorithm.of(t, keyBytes * 8) : EncryptionAlgorithm.of(t);
        return new IkeSuite(enc, integrity, null, null);
    }

    private static byte[] bytes(int n, int first) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (first + i);
        }
        return b;
    }
}
