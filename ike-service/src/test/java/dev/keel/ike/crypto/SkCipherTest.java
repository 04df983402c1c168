package dev.keel.ike.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.core.proposal.Proposal;
import dev.keel.core.proposal.Protocol;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.bouncycastle.crypto.engines.AESEngine;
import org.bouncycastle.crypto.modes.GCMBlockCipher;
import org.bouncycastle.crypto.params.AEADParameters;
import org.bouncycastle.crypto.params.KeyParameter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * SK payload protection: the wire layout is checked by opening what we seal with independent
 * JCA / Bouncy Castle code (RFC 7296 §3.14, RFC 5282 §3-5, RFC 7634 §3), and hostile bodies
 * (truncations, bad padding, flipped bits) give null, never an exception.
 */
class SkCipherTest {

    /** A fake 28-byte IKE header + 4-byte SK generic header, the part before the body. */
    private static final int HEADER = 32;

    static final List<String> SUITES = List.of(
            "aes128-sha256-modp2048", "aes192-sha384-modp2048", "aes256-sha512-modp2048", "aes128-sha1-modp2048",
            "aes128gcm16-prfsha256-x25519", "aes256gcm12-prfsha256-x25519", "aes192gcm8-prfsha256-x25519",
            "chacha20poly1305-prfsha256-x25519");

    private static IkeSuite suite(String p) throws Exception {
        return IkeSuite.from(Proposal.parse(Protocol.IKE, p).effective());
    }

    private static IkeSaKeys keys(IkeSuite s) {
        return KeyDerivation.ikeSa(s, new byte[] {1, 2, 3}, new byte[] {4, 5, 6}, new byte[] {7}, new byte[8], new byte[8]);
    }

    private static byte[] seal(SkCipher c, byte[] plaintext) {
        byte[] msg = new byte[HEADER + c.sealedLength(plaintext.length)];
        for (int i = 0; i < HEADER; i++) {
            msg[i] = (byte) (0xA0 + i);
        }
        c.seal(msg, HEADER, plaintext);
        return msg;
    }

    @ParameterizedTest
    @ValueSource(strings = {"aes128-sha256-modp2048", "aes192-sha384-modp2048", "aes256-sha512-modp2048",
        "aes128-sha1-modp2048", "aes128gcm16-prfsha256-x25519", "aes256gcm12-prfsha256-x25519",
        "aes192gcm8-prfsha256-x25519", "chacha20poly1305-prfsha256-x25519"})
    void initiatorOutboundIsResponderInbound(String proposal) throws Exception {
        IkeSuite s = suite(proposal);
        try (IkeSaKeys k = keys(s);
                SkCiphers.Pair i = SkCiphers.create(s, k, Role.INITIATOR, new TestRandom(1));
                SkCiphers.Pair r = SkCiphers.create(s, k, Role.RESPONDER, new TestRandom(2))) {
            for (int len = 0; len < 70; len++) {
                byte[] pt = new byte[len];
                new SplittableRandom(len).nextBytes(pt);
                assertThat(r.inbound().open(seal(i.outbound(), pt), HEADER)).isEqualTo(pt);
                assertThat(i.inbound().open(seal(r.outbound(), pt), HEADER)).isEqualTo(pt);
                // a message sealed for the other direction never opens
                assertThat(i.inbound().open(seal(i.outbound(), pt), HEADER)).isNull();
            }
        }
    }

    /** RFC 7296 §3.14 layout, opened with SunJCE AES/CBC and HMAC, truncated ICV over header..ciphertext. */
    @Test
    void cbcLayoutMatchesRfc7296() throws Exception {
        IkeSuite s = suite("aes256-sha384-modp2048");
        try (IkeSaKeys k = keys(s); SkCiphers.Pair i = SkCiphers.create(s, k, Role.INITIATOR, new TestRandom(3))) {
            byte[] pt = new byte[37];
            new SplittableRandom(37).nextBytes(pt);
            byte[] msg = seal(i.outbound(), pt);
            assertThat(msg.length - HEADER).isEqualTo(16 + 48 + 24); // IV + 3 blocks (37+pad+1) + ICV
            Mac mac = Mac.getInstance("HmacSHA384");
            mac.init(new SecretKeySpec(k.skAi(), "HmacSHA384"));
            mac.update(msg, 0, msg.length - 24);
            assertThat(Arrays.copyOf(mac.doFinal(), 24)).isEqualTo(Arrays.copyOfRange(msg, msg.length - 24, msg.length));
            Cipher aes = Cipher.getInstance("AES/CBC/NoPadding");
            aes.init(Cipher.DECRYPT_MODE, new SecretKeySpec(k.skEi(), "AES"), new IvParameterSpec(msg, HEADER, 16));
            byte[] dec = aes.doFinal(msg, HEADER + 16, 48);
            int padLength = dec[47] & 0xff;
            assertThat(padLength).isEqualTo(48 - 37 - 1);
            assertThat(Arrays.copyOf(dec, 37)).isEqualTo(pt);
            // IVs differ from message to message (random, RFC 7296 §3.14)
            Set<String> ivs = new HashSet<>();
            for (int n = 0; n < 20; n++) {
                byte[] m = seal(i.outbound(), pt);
                ivs.add(TestRandom.hex(Arrays.copyOfRange(m, HEADER, HEADER + 16)));
            }
            assertThat(ivs).hasSize(20);
        }
    }

    /** RFC 5282: 8-byte IV, nonce = salt | IV, AAD = header through SK generic header, pad length present. */
    @Test
    void gcmLayoutMatchesRfc5282() throws Exception {
        IkeSuite s = suite("aes256gcm16-prfsha256-x25519");
        try (IkeSaKeys k = keys(s); SkCiphers.Pair i = SkCiphers.create(s, k, Role.INITIATOR, new TestRandom(4))) {
            byte[] pt = "hello IKE".getBytes();
            byte[] msg = seal(i.outbound(), pt);
            assertThat(msg.length - HEADER).isEqualTo(8 + pt.length + 1 + 16);
            byte[] skEi = k.skEi();
            byte[] nonce = KeyDerivation.concat(Arrays.copyOfRange(skEi, 32, 36), Arrays.copyOfRange(msg, HEADER, HEADER + 8));
            Cipher gcm = Cipher.getInstance("AES/GCM/NoPadding");
            gcm.init(Cipher.DECRYPT_MODE, new SecretKeySpec(skEi, 0, 32, "AES"), new GCMParameterSpec(128, nonce));
            gcm.updateAAD(msg, 0, HEADER);
            byte[] dec = gcm.doFinal(msg, HEADER + 8, msg.length - HEADER - 8);
            assertThat(dec).hasSize(pt.length + 1);
            assertThat(dec[pt.length]).isEqualTo((byte) 0);
            assertThat(Arrays.copyOf(dec, pt.length)).isEqualTo(pt);
            // explicit IVs never repeat under the key
            Set<String> ivs = new HashSet<>();
            for (int n = 0; n < 1000; n++) {
                ivs.add(TestRandom.hex(Arrays.copyOfRange(seal(i.outbound(), pt), HEADER, HEADER + 8)));
            }
            assertThat(ivs).hasSize(1000);
        }
    }

    /** GCM with an 8-byte ICV, checked with Bouncy Castle's GCM directly (SunJCE refuses 64-bit tags). */
    @Test
    void gcm8LayoutMatchesRfc5282() throws Exception {
        IkeSuite s = suite("aes128gcm8-prfsha256-x25519");
        try (IkeSaKeys k = keys(s); SkCiphers.Pair r = SkCiphers.create(s, k, Role.RESPONDER, new TestRandom(5))) {
            byte[] pt = new byte[40];
            byte[] msg = seal(r.outbound(), pt);
            byte[] skEr = k.skEr();
            GCMBlockCipher gcm = (GCMBlockCipher) GCMBlockCipher.newInstance(AESEngine.newInstance());
            byte[] nonce = KeyDerivation.concat(Arrays.copyOfRange(skEr, 16, 20), Arrays.copyOfRange(msg, HEADER, HEADER + 8));
            gcm.init(false, new AEADParameters(new KeyParameter(skEr, 0, 16), 64, nonce, Arrays.copyOf(msg, HEADER)));
            byte[] out = new byte[gcm.getOutputSize(msg.length - HEADER - 8)];
            int n = gcm.processBytes(msg, HEADER + 8, msg.length - HEADER - 8, out, 0);
            n += gcm.doFinal(out, n);
            assertThat(n).isEqualTo(41);
        }
    }

    /** RFC 7634 §3: same layout with ChaCha20-Poly1305, key 32 bytes then 4 bytes salt. */
    @Test
    void chachaLayoutMatchesRfc7634() throws Exception {
        IkeSuite s = suite("chacha20poly1305-prfsha256-x25519");
        try (IkeSaKeys k = keys(s); SkCiphers.Pair i = SkCiphers.create(s, k, Role.INITIATOR, new TestRandom(6))) {
            byte[] pt = "chacha inner".getBytes();
            byte[] msg = seal(i.outbound(), pt);
            byte[] skEi = k.skEi();
            byte[] nonce = KeyDerivation.concat(Arrays.copyOfRange(skEi, 32, 36), Arrays.copyOfRange(msg, HEADER, HEADER + 8));
            Cipher c = Cipher.getInstance("ChaCha20-Poly1305");
            c.init(Cipher.DECRYPT_MODE, new SecretKeySpec(skEi, 0, 32, "ChaCha20"), new IvParameterSpec(nonce));
            c.updateAAD(msg, 0, HEADER);
            byte[] dec = c.doFinal(msg, HEADER + 8, msg.length - HEADER - 8);
            assertThat(Arrays.copyOf(dec, pt.length)).isEqualTo(pt);
            assertThat(dec[dec.length - 1]).isEqualTo((byte) 0);
        }
    }

    /** The peer may pad; we must accept any pad length the ciphertext holds (RFC 7296 §3.14). */
    @Test
    void acceptsPeerPaddingInAead() throws Exception {
        IkeSuite s = suite("aes128gcm16-prfsha256-x25519");
        try (IkeSaKeys k = keys(s); SkCiphers.Pair r = SkCiphers.create(s, k, Role.RESPONDER, new TestRandom(7))) {
            byte[] pt = "abc".getBytes();
            // inner = pt | 5 padding bytes | pad length 5, sealed with JCA as a peer would
            byte[] inner = KeyDerivation.concat(pt, new byte[] {9, 9, 9, 9, 9, 5});
            byte[] msg = new byte[HEADER + 8 + inner.length + 16];
            byte[] iv = {0, 0, 0, 0, 0, 0, 0, 42};
            System.arraycopy(iv, 0, msg, HEADER, 8);
            byte[] skEi = k.skEi();
            Cipher gcm = Cipher.getInstance("AES/GCM/NoPadding");
            gcm.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(skEi, 0, 16, "AES"),
                    new GCMParameterSpec(128, KeyDerivation.concat(Arrays.copyOfRange(skEi, 16, 20), iv)));
            gcm.updateAAD(msg, 0, HEADER);
            gcm.doFinal(inner, 0, inner.length, msg, HEADER + 8);
            assertThat(r.inbound().open(msg, HEADER)).isEqualTo(pt);
        }
    }

    /** Every truncation, every single-bit flip, and random garbage: null, never an exception. */
    @ParameterizedTest
    @ValueSource(strings = {"aes128-sha256-modp2048", "aes256-sha512-modp2048", "aes128-sha1-modp2048",
        "aes128gcm16-prfsha256-x25519", "aes192gcm8-prfsha256-x25519", "chacha20poly1305-prfsha256-x25519"})
    void malformedBodiesNeverThrow(String proposal) throws Exception {
        IkeSuite s = suite(proposal);
        try (IkeSaKeys k = keys(s);
                SkCiphers.Pair i = SkCiphers.create(s, k, Role.INITIATOR, new TestRandom(8));
                SkCiphers.Pair r = SkCiphers.create(s, k, Role.RESPONDER, new TestRandom(9))) {
            byte[] msg = seal(i.outbound(), "twenty bytes of data".getBytes());
            for (int cut = 0; cut < msg.length; cut++) {
                assertThat(r.inbound().open(Arrays.copyOf(msg, cut), Math.min(HEADER, cut))).as("cut %d", cut).isNull();
            }
            for (int bit = 0; bit < msg.length * 8; bit++) {
                byte[] m = msg.clone();
                m[bit / 8] ^= (byte) (1 << (bit % 8));
                assertThat(r.inbound().open(m, HEADER)).as("bit %d", bit).isNull();
            }
            SplittableRandom rnd = new SplittableRandom(42);
            for (int n = 0; n < 500; n++) {
                byte[] junk = new byte[rnd.nextInt(0, 200)];
                rnd.nextBytes(junk);
                int off = junk.length == 0 ? 0 : rnd.nextInt(-2, junk.length + 3);
                assertThat(r.inbound().open(junk, off)).isNull();
            }
            assertThat(r.inbound().open(null, 0)).isNull();
            assertThat(r.inbound().open(msg, HEADER)).isNotNull();
        }
    }

    /** A CBC body with a valid ICV but a pad length past the start of the ciphertext: null. */
    @Test
    void cbcBadPadLengthUnderValidIcvIsRejected() throws Exception {
        IkeSuite s = suite("aes128-sha256-modp2048");
        try (IkeSaKeys k = keys(s); SkCiphers.Pair r = SkCiphers.create(s, k, Role.RESPONDER, new TestRandom(10))) {
            byte[] block = new byte[16];
            block[15] = (byte) 200; // pad length 200 in a 16-byte ciphertext
            byte[] iv = new byte[16];
            Cipher aes = Cipher.getInstance("AES/CBC/NoPadding");
            aes.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(k.skEi(), "AES"), new IvParameterSpec(iv));
            byte[] ct = aes.doFinal(block);
            byte[] msg = KeyDerivation.concat(new byte[HEADER], iv, ct, new byte[16]);
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(k.skAi(), "HmacSHA256"));
            mac.update(msg, 0, msg.length - 16);
            System.arraycopy(mac.doFinal(), 0, msg, msg.length - 16, 16);
            assertThat(r.inbound().open(msg, HEADER)).isNull();
            // the same with pad length 15 opens to an empty payload list
            block[15] = 15;
            aes.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(k.skEi(), "AES"), new IvParameterSpec(iv));
            System.arraycopy(aes.doFinal(block), 0, msg, HEADER + 16, 16);
            mac.update(msg, 0, msg.length - 16);
            System.arraycopy(mac.doFinal(), 0, msg, msg.length - 16, 16);
            assertThat(r.inbound().open(msg, HEADER)).isEmpty();
        }
    }

    @Test
    void sealChecksTheBufferAndClosedCiphersRefuse() throws Exception {
        IkeSuite s = suite("aes128gcm16-prfsha256-x25519");
        IkeSaKeys k = keys(s);
        SkCiphers.Pair i = SkCiphers.create(s, k, Role.INITIATOR, new TestRandom(11));
        assertThatThrownBy(() -> i.outbound().seal(new byte[HEADER + 5], HEADER, new byte[10]))
                .isInstanceOf(IllegalArgumentException.class);
        byte[] msg = seal(i.outbound(), new byte[3]);
        i.close();
        assertThat(i.inbound().open(msg, HEADER)).isNull();
        assertThatThrownBy(() -> seal(i.outbound(), new byte[3])).isInstanceOf(IllegalStateException.class);
        k.close();
    }
}
