package dev.keel.ike.crypto;

import static dev.keel.ike.crypto.TestRandom.hex;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.ike.crypto.SignatureScheme.HashAlgorithm;
import java.security.KeyPair;
import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** RFC 7427 Digital Signature authentication: AlgorithmIdentifier prefixes, hash announcements, sign/verify. */
class SignatureAuthRfc7427Test {

    @Test
    void authPrefixesAreTheDerOfRfc7427AppendixAAndRfc8420() {
        assertThat(hex(SignatureScheme.RSA_PKCS1_SHA256.authPrefix())).isEqualTo("0f300d06092a864886f70d01010b0500");
        assertThat(hex(SignatureScheme.RSA_PKCS1_SHA384.authPrefix())).isEqualTo("0f300d06092a864886f70d01010c0500");
        assertThat(hex(SignatureScheme.RSA_PKCS1_SHA512.authPrefix())).isEqualTo("0f300d06092a864886f70d01010d0500");
        assertThat(hex(SignatureScheme.ECDSA_SHA256.authPrefix())).isEqualTo("0c300a06082a8648ce3d040302");
        assertThat(hex(SignatureScheme.ECDSA_SHA384.authPrefix())).isEqualTo("0c300a06082a8648ce3d040303");
        assertThat(hex(SignatureScheme.ECDSA_SHA512.authPrefix())).isEqualTo("0c300a06082a8648ce3d040304");
        assertThat(hex(SignatureScheme.ED25519.authPrefix())).isEqualTo("07300506032b6570");
        assertThat(hex(SignatureScheme.RSA_PSS_SHA256.authPrefix())).isEqualTo("43"
                + "304106092a864886f70d01010a3034a00f300d06096086480165030402010500a11c301a06092a864886f70d010108"
                + "300d06096086480165030402010500a203020120");
        assertThat(hex(SignatureScheme.RSA_PSS_SHA384.authPrefix())).isEqualTo("43"
                + "304106092a864886f70d01010a3034a00f300d06096086480165030402020500a11c301a06092a864886f70d010108"
                + "300d06096086480165030402020500a203020130");
        assertThat(hex(SignatureScheme.RSA_PSS_SHA512.authPrefix())).isEqualTo("43"
                + "304106092a864886f70d01010a3034a00f300d06096086480165030402030500a11c301a06092a864886f70d010108"
                + "300d06096086480165030402030500a203020140");
        for (SignatureScheme s : SignatureScheme.values()) {
            byte[] prefix = s.authPrefix();
            assertThat(SignatureScheme.fromAlgorithmIdentifier(java.util.Arrays.copyOfRange(prefix, 1, prefix.length)))
                    .isEqualTo(s);
        }
    }

    @Test
    void hashAlgorithmNumbersAreRfc7427Section4s() {
        assertThat(HashAlgorithm.SHA2_256.id()).isEqualTo(2);
        assertThat(HashAlgorithm.SHA2_384.id()).isEqualTo(3);
        assertThat(HashAlgorithm.SHA2_512.id()).isEqualTo(4);
        assertThat(HashAlgorithm.IDENTITY.id()).isEqualTo(5);
        assertThat(HashAlgorithm.byId(5)).isEqualTo(HashAlgorithm.IDENTITY);
        assertThat(HashAlgorithm.byId(9)).isNull();
    }

    @Test
    void choiceFollowsThePeersHashes() throws Exception {
        KeyPair rsa = TestPki.keyPair("RSA");
        KeyPair ec = TestPki.keyPair("EC");
        KeyPair ed = TestPki.keyPair("Ed25519");
        Set<HashAlgorithm> all = EnumSet.allOf(HashAlgorithm.class);
        assertThat(SignatureScheme.choose(rsa.getPublic(), all, false)).isEqualTo(SignatureScheme.RSA_PKCS1_SHA256);
        assertThat(SignatureScheme.choose(rsa.getPublic(), Set.of(HashAlgorithm.SHA2_512), true))
                .isEqualTo(SignatureScheme.RSA_PSS_SHA512);
        assertThat(SignatureScheme.choose(ec.getPublic(), all, false)).isEqualTo(SignatureScheme.ECDSA_SHA256);
        assertThat(SignatureScheme.choose(ec.getPublic(), Set.of(HashAlgorithm.SHA2_384), false))
                .isEqualTo(SignatureScheme.ECDSA_SHA384);
        assertThat(SignatureScheme.choose(ed.getPublic(), all, false)).isEqualTo(SignatureScheme.ED25519);
        assertThat(SignatureScheme.choose(ed.getPublic(), Set.of(HashAlgorithm.SHA2_256), false)).isNull();
        assertThat(SignatureScheme.choose(rsa.getPublic(), Set.of(HashAlgorithm.IDENTITY), false)).isNull();
    }

    @Test
    void signAndVerifyEveryScheme() throws Exception {
        KeyPair rsa = TestPki.keyPair("RSA");
        KeyPair ec = TestPki.keyPair("EC");
        KeyPair ed = TestPki.keyPair("Ed25519");
        byte[] octets = "RealMessage | Nonce | prf(SK_p, IDx')".getBytes();
        for (SignatureScheme s : SignatureScheme.values()) {
            KeyPair kp = s == SignatureScheme.ED25519 ? ed : s.name().startsWith("ECDSA") ? ec : rsa;
            byte[] auth = SignatureAuth.sign(s, kp.getPrivate(), octets);
            assertThat(SignatureAuth.verify(kp.getPublic(), auth, octets)).as(s.name()).isEqualTo(SignatureAuth.Verdict.VALID);
            byte[] tampered = octets.clone();
            tampered[0] ^= 1;
            assertThat(SignatureAuth.verify(kp.getPublic(), auth, tampered)).isEqualTo(SignatureAuth.Verdict.BAD_SIGNATURE);
            // the wrong key type for the announced algorithm
            KeyPair other = kp == ec ? rsa : ec;
            assertThat(SignatureAuth.verify(other.getPublic(), auth, octets))
                    .isEqualTo(SignatureAuth.Verdict.UNSUPPORTED_ALGORITHM);
        }
    }

    @Test
    void hostileAuthDataNeverThrows() throws Exception {
        KeyPair ec = TestPki.keyPair("EC");
        byte[] octets = {1, 2, 3};
        byte[] good = SignatureAuth.sign(SignatureScheme.ECDSA_SHA256, ec.getPrivate(), octets);
        assertThat(SignatureAuth.verify(ec.getPublic(), null, octets)).isEqualTo(SignatureAuth.Verdict.MALFORMED);
        assertThat(SignatureAuth.verify(ec.getPublic(), new byte[] {5}, octets)).isEqualTo(SignatureAuth.Verdict.MALFORMED);
        assertThat(SignatureAuth.verify(ec.getPublic(), new byte[] {(byte) 0xff, 0x30, 0}, octets))
                .isEqualTo(SignatureAuth.Verdict.MALFORMED);
        java.util.SplittableRandom r = new java.util.SplittableRandom(3);
        for (int i = 0; i < good.length * 8; i++) {
            byte[] m = good.clone();
            m[i / 8] ^= (byte) (1 << (i % 8));
            assertThat(SignatureAuth.verify(ec.getPublic(), m, octets)).isNotEqualTo(SignatureAuth.Verdict.VALID);
        }
        for (int n = 0; n < 300; n++) {
            byte[] junk = new byte[r.nextInt(0, 120)];
            r.nextBytes(junk);
            assertThat(SignatureAuth.verify(ec.getPublic(), junk, octets)).isNotEqualTo(SignatureAuth.Verdict.VALID);
        }
    }
}
