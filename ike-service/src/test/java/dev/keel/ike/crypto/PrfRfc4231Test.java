package dev.keel.ike.crypto;

import static dev.keel.ike.crypto.TestRandom.hex;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.core.transform.PrfTransform;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.macs.HMac;
import org.bouncycastle.crypto.params.KeyParameter;
import org.junit.jupiter.api.Test;

/** The IKE PRFs against RFC 4231 (HMAC-SHA2) and RFC 2202 (HMAC-SHA1), and prf+ (RFC 7296 §2.13). */
class PrfRfc4231Test {

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    private static byte[] repeat(int b, int n) {
        byte[] out = new byte[n];
        Arrays.fill(out, (byte) b);
        return out;
    }

    @Test
    void testCase1() {
        byte[] key = repeat(0x0b, 20);
        byte[] data = ascii("Hi There");
        assertThat(hex(Prf.of(PrfTransform.HMAC_SHA2_256).compute(key, data)))
                .isEqualTo("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
        assertThat(hex(Prf.of(PrfTransform.HMAC_SHA2_384).compute(key, data))).isEqualTo(
                "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6");
        assertThat(hex(Prf.of(PrfTransform.HMAC_SHA2_512).compute(key, data))).isEqualTo(
                "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854");
    }

    @Test
    void testCase2SplitAcrossArguments() {
        byte[] key = ascii("Jefe");
        // data given in two pieces must equal the concatenation
        byte[] a = ascii("what do ya ");
        byte[] b = ascii("want for nothing?");
        assertThat(hex(Prf.of(PrfTransform.HMAC_SHA2_256).compute(key, a, b)))
                .isEqualTo("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        assertThat(hex(Prf.of(PrfTransform.HMAC_SHA2_384).compute(key, a, b))).isEqualTo(
                "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649");
        assertThat(hex(Prf.of(PrfTransform.HMAC_SHA2_512).compute(key, a, b))).isEqualTo(
                "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737");
        // RFC 2202 test case 2 for the interop PRF
        assertThat(hex(Prf.of(PrfTransform.HMAC_SHA1).compute(key, a, b)))
                .isEqualTo("effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    }

    @Test
    void testCase6KeyLongerThanBlock() {
        assertThat(hex(Prf.of(PrfTransform.HMAC_SHA2_256).compute(repeat(0xaa, 131),
                ascii("Test Using Larger Than Block-Size Key - Hash Key First"))))
                .isEqualTo("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    }

    /** prf+ recomputed with Bouncy Castle's HMac straight from the RFC 7296 §2.13 definition. */
    @Test
    void prfPlusMatchesTheDefinition() {
        byte[] key = repeat(0x42, 32);
        byte[] seed = ascii("Ni | Nr | SPIi | SPIr");
        byte[] expected = new byte[32 * 5];
        HMac h = new HMac(new SHA256Digest());
        h.init(new KeyParameter(key));
        byte[] t = new byte[0];
        for (int i = 1; i <= 5; i++) {
            h.update(t, 0, t.length);
            h.update(seed, 0, seed.length);
            h.update((byte) i);
            t = new byte[32];
            h.doFinal(t, 0);
            System.arraycopy(t, 0, expected, 32 * (i - 1), 32);
        }
        Prf prf = Prf.of(PrfTransform.HMAC_SHA2_256);
        assertThat(prf.plus(key, seed, 160)).isEqualTo(expected);
        assertThat(prf.plus(key, seed, 70)).isEqualTo(Arrays.copyOf(expected, 70));
    }

    @Test
    void prfPlusStopsAt255Iterations() {
        Prf prf = Prf.of(PrfTransform.HMAC_SHA2_256);
        assertThat(prf.plus(new byte[] {1}, new byte[0], 255 * 32)).hasSize(255 * 32);
        assertThatThrownBy(() -> prf.plus(new byte[] {1}, new byte[0], 255 * 32 + 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("255")
                .satisfies(e -> assertThat(e.getMessage()).contains("8160"));
    }
}
