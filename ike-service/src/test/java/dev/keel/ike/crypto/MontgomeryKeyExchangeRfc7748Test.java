package dev.keel.ike.crypto;

import static dev.keel.ike.crypto.TestRandom.hex;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.core.transform.KeyExchangeTransform;
import org.junit.jupiter.api.Test;

/** Curve25519/Curve448 (RFC 8031) against RFC 7748 §6.1/§6.2, and the all-zero-secret check (RFC 8031 §2). */
class MontgomeryKeyExchangeRfc7748Test {

    @Test
    void x25519Section61() throws Exception {
        var alice = new MontgomeryKeyExchange(KeyExchangeTransform.CURVE25519,
                hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
        var bob = new MontgomeryKeyExchange(KeyExchangeTransform.CURVE25519,
                hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"));
        assertThat(hex(alice.publicValue())).isEqualTo("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
        assertThat(hex(bob.publicValue())).isEqualTo("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
        String k = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
        assertThat(hex(alice.sharedSecret(bob.publicValue()))).isEqualTo(k);
        assertThat(hex(bob.sharedSecret(alice.publicValue()))).isEqualTo(k);
    }

    @Test
    void x448Section62() throws Exception {
        var alice = new MontgomeryKeyExchange(KeyExchangeTransform.CURVE448, hex(
                "9a8f4925d1519f5775cf46b04b5800d4ee9ee8bae8bc5565d498c28dd9c9baf574a9419744897391006382a6f127ab1d9ac2d8c0a598726b"));
        var bob = new MontgomeryKeyExchange(KeyExchangeTransform.CURVE448, hex(
                "1c306a7ac2a0e2e0990b294470cba339e6453772b075811d8fad0d1d6927c120bb5ee8972b0d3e21374c9c921b09d1b0366f10b65173992d"));
        assertThat(hex(alice.publicValue())).isEqualTo(
                "9b08f7cc31b7e3e67d22d5aea121074a273bd2b83de09c63faa73d2c22c5d9bbc836647241d953d40c5b12da88120d53177f80e532c41fa0");
        assertThat(hex(bob.publicValue())).isEqualTo(
                "3eb7a829b0cd20f5bcfc0b599b6feccf6da4627107bdb0d4f345b43027d8b972fc3e34fb4232a13ca706dcb57aec3dae07bdc1c67bf33609");
        String k = "07fff4181ac6cc95ec1c16a94a0f74d12da232ce40a77552281d282bb60c0b56fd2464c335543936521c24403085d59a449a5037514a879d";
        assertThat(hex(alice.sharedSecret(bob.publicValue()))).isEqualTo(k);
        assertThat(hex(bob.sharedSecret(alice.publicValue()))).isEqualTo(k);
    }

    @Test
    void lowOrderCurve25519PointsGiveTheAllZeroSecretAndAreRejected() {
        String[] lowOrder = {
            "0000000000000000000000000000000000000000000000000000000000000000",
            "0100000000000000000000000000000000000000000000000000000000000000",
            "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
            "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
            "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        };
        for (int seed = 0; seed < 4; seed++) {
            try (KeyExchange ke = KeyExchange.create(KeyExchangeTransform.CURVE25519, new TestRandom(seed))) {
                for (String u : lowOrder) {
                    assertThatThrownBy(() -> ke.sharedSecret(hex(u)))
                            .as(u).isInstanceOfSatisfying(InvalidKeyExchangeException.class,
                                    e -> assertThat(e.reason()).isEqualTo(InvalidKeyExchangeException.Reason.ALL_ZERO_SECRET));
                }
            }
        }
    }

    @Test
    void lowOrderCurve448PointsAreRejected() {
        byte[] zero = new byte[56];
        byte[] one = new byte[56];
        one[0] = 1;
        try (KeyExchange ke = KeyExchange.create(KeyExchangeTransform.CURVE448, new TestRandom(5))) {
            for (byte[] u : new byte[][] {zero, one}) {
                assertThatThrownBy(() -> ke.sharedSecret(u)).isInstanceOfSatisfying(InvalidKeyExchangeException.class,
                        e -> assertThat(e.reason()).isEqualTo(InvalidKeyExchangeException.Reason.ALL_ZERO_SECRET));
            }
        }
    }

    @Test
    void wrongLengthIsDistinguishable() {
        try (KeyExchange ke = KeyExchange.create(KeyExchangeTransform.CURVE25519, new TestRandom(5))) {
            assertThatThrownBy(() -> ke.sharedSecret(new byte[31])).isInstanceOfSatisfying(InvalidKeyExchangeException.class,
                    e -> assertThat(e.reason()).isEqualTo(InvalidKeyExchangeException.Reason.WRONG_LENGTH));
            assertThatThrownBy(() -> ke.sharedSecret(new byte[56])).isInstanceOfSatisfying(InvalidKeyExchangeException.class,
                    e -> assertThat(e.reason()).isEqualTo(InvalidKeyExchangeException.Reason.WRONG_LENGTH));
        }
    }

    @Test
    void generatedPairsAgree() throws Exception {
        for (KeyExchangeTransform g : new KeyExchangeTransform[] {KeyExchangeTransform.CURVE25519, KeyExchangeTransform.CURVE448}) {
            try (KeyExchange a = KeyExchange.create(g, new TestRandom(11)); KeyExchange b = KeyExchange.create(g, new TestRandom(12))) {
                assertThat(a.publicValue()).hasSize(g.publicValueLength());
                assertThat(a.sharedSecret(b.publicValue())).isEqualTo(b.sharedSecret(a.publicValue()));
            }
        }
    }
}
