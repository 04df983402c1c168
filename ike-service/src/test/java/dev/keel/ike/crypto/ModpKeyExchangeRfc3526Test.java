package dev.keel.ike.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.core.transform.KeyExchangeTransform;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.Arrays;
import org.bouncycastle.crypto.params.DHParameters;
import org.bouncycastle.util.BigIntegers;
import org.junit.jupiter.api.Test;

/**
 * MODP groups 14-18: the primes are exactly RFC 3526's, recomputed here from the RFC's own
 * formula p = 2^N - 2^(N-64) - 1 + 2^64 * ([2^(N-130) pi] + c), generator 2; RFC 6989 §2.1 peer
 * checks; exponent size; padding.
 */
class ModpKeyExchangeRfc3526Test {

    /** pi to {@code digits} decimal digits by Machin's formula, independent of any crypto library. */
    private static BigDecimal pi(int digits) {
        MathContext mc = new MathContext(digits + 10, RoundingMode.HALF_EVEN);
        BigDecimal a = arctanInverse(5, mc).multiply(BigDecimal.valueOf(16));
        BigDecimal b = arctanInverse(239, mc).multiply(BigDecimal.valueOf(4));
        return a.subtract(b, mc);
    }

    private static BigDecimal arctanInverse(int x, MathContext mc) {
        BigDecimal result = BigDecimal.ZERO;
        BigDecimal xSquared = BigDecimal.valueOf((long) x * x);
        BigDecimal term = BigDecimal.ONE.divide(BigDecimal.valueOf(x), mc);
        BigDecimal eps = BigDecimal.ONE.movePointLeft(mc.getPrecision());
        for (int n = 0; term.compareTo(eps) > 0 && n < 100_000; n++) {
            BigDecimal t = term.divide(BigDecimal.valueOf(2L * n + 1), mc);
            result = (n % 2 == 0) ? result.add(t, mc) : result.subtract(t, mc);
            term = term.divide(xSquared, mc);
        }
        return result;
    }

    /** Enough digits for the 8192-bit group (2^8062 needs ~2430), computed once. */
    private static final BigDecimal PI = pi(2500);

    private static BigInteger rfc3526Prime(int bits, long c) {
        BigDecimal pi = PI;
        BigInteger floor = pi.multiply(new BigDecimal(BigInteger.ONE.shiftLeft(bits - 130))).toBigInteger();
        return BigInteger.ONE.shiftLeft(bits).subtract(BigInteger.ONE.shiftLeft(bits - 64)).subtract(BigInteger.ONE)
                .add(BigInteger.ONE.shiftLeft(64).multiply(floor.add(BigInteger.valueOf(c))));
    }

    @Test
    void primesAreExactlyRfc3526sAndGeneratorIsTwo() {
        Object[][] groups = {
            {KeyExchangeTransform.MODP_2048, 2048, 124476L},
            {KeyExchangeTransform.MODP_3072, 3072, 1690314L},
            {KeyExchangeTransform.MODP_4096, 4096, 240904L},
            {KeyExchangeTransform.MODP_6144, 6144, 929484L},
            {KeyExchangeTransform.MODP_8192, 8192, 4743158L},
        };
        for (Object[] g : groups) {
            KeyExchangeTransform t = (KeyExchangeTransform) g[0];
            DHParameters params = ModpKeyExchange.parameters(t);
            assertThat(params.getP()).as(t.ianaName()).isEqualTo(rfc3526Prime((Integer) g[1], (Long) g[2]));
            assertThat(params.getG()).isEqualTo(BigInteger.TWO);
            assertThat(params.getP().bitLength()).isEqualTo(t.publicValueLength() * 8);
        }
        // and the well-known leading/trailing words of the 2048-bit prime (RFC 3526 §3)
        String p = ModpKeyExchange.parameters(KeyExchangeTransform.MODP_2048).getP().toString(16);
        assertThat(p).startsWith("ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd1").endsWith("15728e5a8aacaa68ffffffffffffffff");
    }

    @Test
    void privateExponentIsAtLeast256Bits() {
        for (KeyExchangeTransform t : new KeyExchangeTransform[] {KeyExchangeTransform.MODP_2048,
                KeyExchangeTransform.MODP_3072, KeyExchangeTransform.MODP_4096}) {
            assertThat(ModpKeyExchange.exponentBits(t)).isGreaterThanOrEqualTo(256);
        }
    }

    @Test
    void publicValueIsLeftPaddedAndSecretAgrees() throws Exception {
        KeyExchangeTransform g = KeyExchangeTransform.MODP_2048;
        BigInteger p = ModpKeyExchange.parameters(g).getP();
        // an exponent whose g^x is short: x = 1 gives g^x = 2, one significant byte
        var tiny = new ModpKeyExchange(g, BigInteger.ONE);
        byte[] pub = tiny.publicValue();
        assertThat(pub).hasSize(256);
        assertThat(pub[255]).isEqualTo((byte) 2);
        assertThat(Arrays.copyOf(pub, 255)).containsOnly(0);
        try (KeyExchange a = KeyExchange.create(g, new TestRandom(1)); KeyExchange b = KeyExchange.create(g, new TestRandom(2))) {
            byte[] s = a.sharedSecret(b.publicValue());
            assertThat(s).hasSize(256).isEqualTo(b.sharedSecret(a.publicValue()));
            // independent: y^x mod p with the peer's exponent recomputed from the same seed
            BigInteger ya = new BigInteger(1, a.publicValue());
            assertThat(ya.compareTo(p)).isNegative();
        }
        // secret that needs padding: peer y = 2, our x = 1 -> 2
        assertThat(tiny.sharedSecret(BigIntegers.asUnsignedByteArray(256, BigInteger.valueOf(4))))
                .isEqualTo(BigIntegers.asUnsignedByteArray(256, BigInteger.valueOf(4)));
    }

    @Test
    void rfc6989HostileValuesAreRejected() {
        KeyExchangeTransform g = KeyExchangeTransform.MODP_2048;
        BigInteger p = ModpKeyExchange.parameters(g).getP();
        try (KeyExchange ke = KeyExchange.create(g, new TestRandom(9))) {
            for (BigInteger y : new BigInteger[] {BigInteger.ZERO, BigInteger.ONE, p.subtract(BigInteger.ONE), p,
                    p.add(BigInteger.ONE), BigInteger.ONE.shiftLeft(2048).subtract(BigInteger.ONE)}) {
                byte[] enc = BigIntegers.asUnsignedByteArray(256, y);
                assertThatThrownBy(() -> ke.sharedSecret(enc)).as(y.toString(16))
                        .isInstanceOfSatisfying(InvalidKeyExchangeException.class, e -> assertThat(e.reason())
                                .isEqualTo(InvalidKeyExchangeException.Reason.INVALID_PUBLIC_VALUE));
            }
            for (int len : new int[] {0, 255, 257, 384}) {
                assertThatThrownBy(() -> ke.sharedSecret(new byte[len]))
                        .isInstanceOfSatisfying(InvalidKeyExchangeException.class,
                                e -> assertThat(e.reason()).isEqualTo(InvalidKeyExchangeException.Reason.WRONG_LENGTH));
            }
        }
    }

    @Test
    void everyImplementedGroupCanBeCreated() {
        for (KeyExchangeTransform t : KeyExchangeTransform.values()) {
            if (t == KeyExchangeTransform.NONE) {
                assertThatThrownBy(() -> KeyExchange.create(t, new TestRandom(1))).isInstanceOf(IllegalArgumentException.class);
                continue;
            }
            if (t == KeyExchangeTransform.MODP_6144 || t == KeyExchangeTransform.MODP_8192) {
                continue; // slow; the prime check above covers their parameters
            }
            try (KeyExchange ke = KeyExchange.create(t, new TestRandom(t.id()))) {
                assertThat(ke.transform()).isEqualTo(t);
                assertThat(ke.publicValue()).hasSize(t.publicValueLength());
            }
        }
    }
}
