package dev.keel.ike.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.core.proposal.EncryptionAlgorithm;
import dev.keel.core.proposal.Proposal;
import dev.keel.core.proposal.Protocol;
import dev.keel.core.transform.EncryptionTransform;
import dev.keel.core.transform.IntegrityTransform;
import dev.keel.core.transform.KeyExchangeTransform;
import dev.keel.core.transform.PrfTransform;
import java.util.Arrays;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

/** Key sizes and orders of RFC 7296 §2.14/§2.17/§2.18, recomputed with plain JCA HMAC. */
class KeyDerivationTest {

    private static byte[] bytes(int seed, int n) {
        byte[] b = new byte[n];
        new TestRandom(seed).nextBytes(b);
        return b;
    }

    private static byte[] hmac(String alg, byte[] key, byte[]... data) throws Exception {
        Mac m = Mac.getInstance(alg);
        m.init(new SecretKeySpec(key, alg));
        for (byte[] d : data) {
            m.update(d);
        }
        return m.doFinal();
    }

    /** prf+ written out again, independent of {@link Prf#plus}. */
    private static byte[] prfPlus(String alg, byte[] key, byte[] seed, int n) throws Exception {
        byte[] out = new byte[0];
        byte[] t = new byte[0];
        for (int i = 1; out.length < n; i++) {
            t = hmac(alg, key, t, seed, new byte[] {(byte) i});
            out = KeyDerivation.concat(out, t);
        }
        return Arrays.copyOf(out, n);
    }

    private final byte[] ni = bytes(1, 32);
    private final byte[] nr = bytes(2, 32);
    private final byte[] gir = bytes(3, 32);
    private final byte[] spiI = bytes(4, 8);
    private final byte[] spiR = bytes(5, 8);

    @Test
    void aeadSuiteHasNoIntegrityKeysAndSaltedEncryptionKeys() throws Exception {
        IkeSuite suite = IkeSuite.from(Proposal.parse(Protocol.IKE, "aes256gcm16-prfsha384-ecp384").effective());
        assertThat(suite.prf()).isEqualTo(PrfTransform.HMAC_SHA2_384);
        assertThat(suite.encryptionKeyLength()).isEqualTo(36); // RFC 5282 §7.1: 32 + 4 salt
        try (IkeSaKeys k = KeyDerivation.ikeSa(suite, ni, nr, gir, spiI, spiR)) {
            byte[] skeyseed = hmac("HmacSHA384", KeyDerivation.concat(ni, nr), gir);
            assertThat(k.skeyseed()).isEqualTo(skeyseed);
            byte[] km = prfPlus("HmacSHA384", skeyseed, KeyDerivation.concat(ni, nr, spiI, spiR), 48 + 36 + 36 + 48 + 48);
            assertThat(k.skD()).isEqualTo(Arrays.copyOfRange(km, 0, 48));
            assertThat(k.skAi()).isEmpty();
            assertThat(k.skAr()).isEmpty();
            assertThat(k.skEi()).isEqualTo(Arrays.copyOfRange(km, 48, 84));
            assertThat(k.skEr()).isEqualTo(Arrays.copyOfRange(km, 84, 120));
            assertThat(k.skPi()).isEqualTo(Arrays.copyOfRange(km, 120, 168));
            assertThat(k.skPr()).isEqualTo(Arrays.copyOfRange(km, 168, 216));
        }
    }

    @Test
    void chachaKeyIncludesTheSalt() throws Exception {
        IkeSuite suite = IkeSuite.from(Proposal.parse(Protocol.IKE, "chacha20poly1305-prfsha256-x25519").effective());
        assertThat(suite.encryptionKeyLength()).isEqualTo(36); // RFC 7634 §3: 32 + 4
    }

    @Test
    void cbcSuiteUsesKeyLengthAttributeAndIntegrityKeys() throws Exception {
        IkeSuite suite = IkeSuite.from(Proposal.parse(Protocol.IKE, "aes192-sha512-modp3072").effective());
        assertThat(suite.prf()).isEqualTo(PrfTransform.HMAC_SHA2_512); // implied by sha512
        assertThat(suite.encryptionKeyLength()).isEqualTo(24);
        assertThat(suite.integrityKeyLength()).isEqualTo(64);
        try (IkeSaKeys k = KeyDerivation.ikeSa(suite, ni, nr, gir, spiI, spiR)) {
            byte[] skeyseed = hmac("HmacSHA512", KeyDerivation.concat(ni, nr), gir);
            byte[] km = prfPlus("HmacSHA512", skeyseed, KeyDerivation.concat(ni, nr, spiI, spiR), 64 * 3 + 64 * 2 + 24 * 2);
            int o = 0;
            assertThat(k.skD()).isEqualTo(Arrays.copyOfRange(km, o, o += 64));
            assertThat(k.skAi()).isEqualTo(Arrays.copyOfRange(km, o, o += 64));
            assertThat(k.skAr()).isEqualTo(Arrays.copyOfRange(km, o, o += 64));
            assertThat(k.skEi()).isEqualTo(Arrays.copyOfRange(km, o, o += 24));
            assertThat(k.skEr()).isEqualTo(Arrays.copyOfRange(km, o, o += 24));
            assertThat(k.skPi()).isEqualTo(Arrays.copyOfRange(km, o, o += 64));
            assertThat(k.skPr()).isEqualTo(Arrays.copyOfRange(km, o, o + 64));
        }
    }

    @Test
    void ikeRekeyUsesOldSkDAndNewSharedSecret() throws Exception {
        IkeSuite suite = new IkeSuite(EncryptionAlgorithm.of(EncryptionTransform.AES_GCM_16, 128), IntegrityTransform.NONE,
                PrfTransform.HMAC_SHA2_256, KeyExchangeTransform.CURVE25519);
        byte[] oldSkD = bytes(9, 20);
        try (IkeSaKeys k = KeyDerivation.rekeyIkeSa(suite, PrfTransform.HMAC_SHA1, oldSkD, gir, ni, nr, spiI, spiR)) {
            // RFC 7296 §2.18: SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr) with the old PRF
            byte[] skeyseed = hmac("HmacSHA1", oldSkD, gir, ni, nr);
            assertThat(k.skeyseed()).isEqualTo(skeyseed);
            byte[] km = prfPlus("HmacSHA256", skeyseed, KeyDerivation.concat(ni, nr, spiI, spiR), 32);
            assertThat(k.skD()).isEqualTo(km);
        }
    }

    @Test
    void childSaKeymatOrderWithAndWithoutPfs() throws Exception {
        IkeSuite esp = IkeSuite.from(Proposal.parse(Protocol.ESP, "aes128-sha256").effective());
        byte[] skD = bytes(10, 32);
        try (ChildSaKeys c = KeyDerivation.childSa(PrfTransform.HMAC_SHA2_256, skD, esp, null, ni, nr)) {
            byte[] km = prfPlus("HmacSHA256", skD, KeyDerivation.concat(ni, nr), 2 * (16 + 32));
            assertThat(c.encryptionInitiator()).isEqualTo(Arrays.copyOfRange(km, 0, 16));
            assertThat(c.integrityInitiator()).isEqualTo(Arrays.copyOfRange(km, 16, 48));
            assertThat(c.encryptionResponder()).isEqualTo(Arrays.copyOfRange(km, 48, 64));
            assertThat(c.integrityResponder()).isEqualTo(Arrays.copyOfRange(km, 64, 96));
        }
        IkeSuite gcm = IkeSuite.from(Proposal.parse(Protocol.ESP, "aes256gcm16-modp2048").effective());
        try (ChildSaKeys c = KeyDerivation.childSa(PrfTransform.HMAC_SHA2_256, skD, gcm, gir, ni, nr)) {
            byte[] km = prfPlus("HmacSHA256", skD, KeyDerivation.concat(gir, ni, nr), 72);
            assertThat(c.encryptionInitiator()).isEqualTo(Arrays.copyOfRange(km, 0, 36));
            assertThat(c.integrityInitiator()).isEmpty();
            assertThat(c.encryptionResponder()).isEqualTo(Arrays.copyOfRange(km, 36, 72));
        }
    }

    @Test
    void keyHoldersZeroizeAndNeverPrintKeys() throws Exception {
        IkeSuite suite = IkeSuite.from(Proposal.parse(Protocol.IKE, "aes128-sha256-modp2048").effective());
        IkeSaKeys k = KeyDerivation.ikeSa(suite, ni, nr, gir, spiI, spiR);
        String hexD = TestRandom.hex(k.skD());
        assertThat(k.toString()).doesNotContain(hexD.substring(0, 8)).contains("d=32");
        k.close();
        assertThat(k.isClosed()).isTrue();
        assertThatThrownBy(k::skD).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void aPeersProposalWithoutPrfIsRefused() throws Exception {
        // on the wire an IKE proposal must carry its PRF; only configured proposals imply one
        assertThatThrownBy(() -> IkeSuite.from(Proposal.parse(Protocol.IKE, "aes128-sha256-modp2048")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("PRF");
    }

    @Test
    void suiteRejectsInconsistentTransforms() {
        assertThatThrownBy(() -> new IkeSuite(EncryptionAlgorithm.of(EncryptionTransform.AES_GCM_16, 128),
                IntegrityTransform.HMAC_SHA2_256_128, PrfTransform.HMAC_SHA2_256, null))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new IkeSuite(EncryptionAlgorithm.of(EncryptionTransform.AES_CBC, 128),
                IntegrityTransform.NONE, PrfTransform.HMAC_SHA2_256, null))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
