package dev.keel.core.proposal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.transform.EncryptionTransform;
import dev.keel.core.transform.EsnTransform;
import dev.keel.core.transform.IntegrityTransform;
import dev.keel.core.transform.KeyExchangeTransform;
import dev.keel.core.transform.PrfTransform;
import dev.keel.core.transform.Transform;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every keyword against the IANA "IKEv2 Parameters" registry numbers, written out by hand so that
 * a wrong entry in either the keyword table or the transform registry shows up here.
 */
class ProposalKeywordsTest {

    /** keyword, IANA transform type, IANA transform ID, key length in bits, canonical keyword. */
    private static final String TABLE = """
            null,               1, 11,   0, null
            aes,                1, 12, 128, aes128
            aes128,             1, 12, 128, aes128
            aes192,             1, 12, 192, aes192
            aes256,             1, 12, 256, aes256
            aes128gcm8,         1, 18, 128, aes128gcm8
            aes128gcm64,        1, 18, 128, aes128gcm8
            aes128gcm12,        1, 19, 128, aes128gcm12
            aes128gcm96,        1, 19, 128, aes128gcm12
            aes128gcm16,        1, 20, 128, aes128gcm16
            aes128gcm128,       1, 20, 128, aes128gcm16
            aes128gcm,          1, 20, 128, aes128gcm16
            aes192gcm8,         1, 18, 192, aes192gcm8
            aes192gcm64,        1, 18, 192, aes192gcm8
            aes192gcm12,        1, 19, 192, aes192gcm12
            aes192gcm96,        1, 19, 192, aes192gcm12
            aes192gcm16,        1, 20, 192, aes192gcm16
            aes192gcm128,       1, 20, 192, aes192gcm16
            aes192gcm,          1, 20, 192, aes192gcm16
            aes256gcm8,         1, 18, 256, aes256gcm8
            aes256gcm64,        1, 18, 256, aes256gcm8
            aes256gcm12,        1, 19, 256, aes256gcm12
            aes256gcm96,        1, 19, 256, aes256gcm12
            aes256gcm16,        1, 20, 256, aes256gcm16
            aes256gcm128,       1, 20, 256, aes256gcm16
            aes256gcm,          1, 20, 256, aes256gcm16
            chacha20poly1305,   1, 28,   0, chacha20poly1305
            prfsha1,            2,  2,   0, prfsha1
            prfsha256,          2,  5,   0, prfsha256
            prfsha384,          2,  6,   0, prfsha384
            prfsha512,          2,  7,   0, prfsha512
            sha,                3,  2,   0, sha1
            sha1,               3,  2,   0, sha1
            sha256,             3, 12,   0, sha256
            sha2_256,           3, 12,   0, sha256
            sha384,             3, 13,   0, sha384
            sha2_384,           3, 13,   0, sha384
            sha512,             3, 14,   0, sha512
            sha2_512,           3, 14,   0, sha512
            none,               4,  0,   0, none
            modpnone,           4,  0,   0, none
            modp2048,           4, 14,   0, modp2048
            modp3072,           4, 15,   0, modp3072
            modp4096,           4, 16,   0, modp4096
            modp6144,           4, 17,   0, modp6144
            modp8192,           4, 18,   0, modp8192
            ecp256,             4, 19,   0, ecp256
            ecp384,             4, 20,   0, ecp384
            ecp521,             4, 21,   0, ecp521
            x25519,             4, 31,   0, x25519
            curve25519,         4, 31,   0, x25519
            x448,               4, 32,   0, x448
            curve448,           4, 32,   0, x448
            mlkem512,           4, 35,   0, mlkem512
            mlkem768,           4, 36,   0, mlkem768
            mlkem1024,          4, 37,   0, mlkem1024
            ke1_mlkem768,       6, 36,   0, ke1_mlkem768
            ke2_mlkem1024,      7, 37,   0, ke2_mlkem1024
            ke3_x25519,         8, 31,   0, ke3_x25519
            ke4_curve25519,     9, 31,   0, ke4_x25519
            ke5_ecp384,        10, 20,   0, ke5_ecp384
            ke6_modpnone,      11,  0,   0, ke6_none
            ke7_mlkem512,      12, 35,   0, ke7_mlkem512
            noesn,              5,  0,   0, noesn
            esn,                5,  1,   0, esn
            """;

    static Stream<String[]> rows() {
        return TABLE.lines().map(String::strip).filter(l -> !l.isEmpty())
                .map(l -> l.split("\\s*,\\s*"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void keywordMapsToIanaTransform(String keyword, String type, String id, String keyBits, String canonical) {
        ProposalKeywords.Keyword k = ProposalKeywords.lookup(keyword);

        assertThat(k).as(keyword).isNotNull();
        assertThat(k.type().id()).as("transform type").isEqualTo(Integer.parseInt(type));
        assertThat(k.transform().id()).as("transform ID").isEqualTo(Integer.parseInt(id));
        assertThat(k.keyBits()).as("key length").isEqualTo(Integer.parseInt(keyBits));
        assertThat(k.canonical()).isEqualTo(keyword.equals(canonical));
    }

    @ParameterizedTest(name = "{0} prints as {4}")
    @MethodSource("rows")
    void keywordPrintsAsItsCanonicalForm(String keyword, String type, String id, String keyBits, String canonical) {
        ProposalKeywords.Keyword k = ProposalKeywords.lookup(keyword);
        String printed = k.additional() != 0
                ? ProposalKeywords.additionalKeyword(k.additional(), (KeyExchangeTransform) k.transform())
                : k.transform() instanceof EncryptionTransform e
                ? ProposalKeywords.keyword(new EncryptionAlgorithm(e, k.keyBits()))
                : ProposalKeywords.keyword(k.transform());

        assertThat(printed).isEqualTo(canonical);
        assertThat(ProposalKeywords.lookup(canonical).canonical()).isTrue();
    }

    @Test
    void tableAboveCoversEveryKeyword() {
        // strongSwan 6's ke1_ to ke7_ prefixes exist for every key exchange keyword; the table samples them
        List<String> plain = rows().map(r -> r[0]).filter(k -> !k.matches("ke[1-7]_.*")).toList();
        List<String> expected = new ArrayList<>(plain);
        for (String[] r : rows().toList()) {
            if (r[1].equals("4")) {
                for (int n = 1; n <= 7; n++) {
                    expected.add("ke" + n + "_" + r[0]);
                }
            }
        }

        assertThat(ProposalKeywords.all().keySet()).containsExactlyInAnyOrderElementsOf(expected);
    }

    @Test
    void everyRegistryTransformAndKeyLengthHasACanonicalKeyword() {
        List<Object> printable = new ArrayList<>();
        for (EncryptionTransform e : EncryptionTransform.values()) {
            if (e.hasVariableKeyLength()) {
                for (int bits : new int[] {128, 192, 256}) {
                    printable.add(new EncryptionAlgorithm(e, bits));
                }
            } else {
                printable.add(EncryptionAlgorithm.of(e));
            }
        }
        for (IntegrityTransform i : IntegrityTransform.values()) {
            if (i != IntegrityTransform.NONE) {
                printable.add(i);
            }
        }
        printable.addAll(List.of(PrfTransform.values()));
        printable.addAll(List.of(KeyExchangeTransform.values()));
        printable.addAll(List.of(EsnTransform.values()));

        Set<String> names = new HashSet<>();
        for (Object o : printable) {
            String name = o instanceof EncryptionAlgorithm a
                    ? ProposalKeywords.keyword(a)
                    : ProposalKeywords.keyword((Transform) o);
            assertThat(ProposalKeywords.lookup(name).canonical()).as(name).isTrue();
            assertThat(names.add(name)).as("unique " + name).isTrue();
        }
    }

    @ParameterizedTest
    @CsvSource({"AES256GCM16", "Sha256", "X25519", "ModP2048", "ESN"})
    void lookupIgnoresCase(String keyword) {
        assertThat(ProposalKeywords.lookup(keyword)).isEqualTo(ProposalKeywords.lookup(keyword.toLowerCase()));
        assertThat(ProposalKeywords.lookup(keyword)).isNotNull();
    }

    @ParameterizedTest
    @CsvSource({"3des", "aes128ctr", "aes128ccm16", "md5", "aesxcbc", "modp1024", "ecp256bp",
            "chacha20poly1305compat", "aes512", "aes256gcm32", "default", "sha1_160", "sha256_96"})
    void keywordsForAlgorithmsKeelDoesNotImplementAreUnknown(String keyword) {
        assertThat(ProposalKeywords.lookup(keyword)).isNull();
    }
}
