package dev.keel.esp.packet;

import dev.keel.core.transform.EncryptionTransform;
import dev.keel.core.transform.IntegrityTransform;
import java.util.Arrays;
import org.bouncycastle.crypto.Digest;
import org.bouncycastle.crypto.digests.SHA1Digest;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.digests.SHA384Digest;
import org.bouncycastle.crypto.digests.SHA512Digest;
import org.bouncycastle.crypto.engines.AESEngine;
import org.bouncycastle.crypto.macs.HMac;
import org.bouncycastle.crypto.modes.AEADCipher;
import org.bouncycastle.crypto.modes.CBCBlockCipher;
import org.bouncycastle.crypto.modes.ChaCha20Poly1305;
import org.bouncycastle.crypto.modes.GCMBlockCipher;
import org.bouncycastle.crypto.params.AEADParameters;
import org.bouncycastle.crypto.params.KeyParameter;
import org.bouncycastle.crypto.params.ParametersWithIV;

/**
 * An ESP receiver written from RFC 4303 / 4106 / 7634 / 3602 / 4868 directly on Bouncy Castle's
 * primitives, sharing no code with Keel's: it checks the ICV (ESN high bits included) and
 * returns the decrypted payload + trailer, or null when the ICV does not verify. Used where
 * tshark 4.0 cannot check (ChaCha20-Poly1305, extended sequence numbers).
 */
final class IndependentEsp {

    private IndependentEsp() {
    }

    static byte[] open(byte[] esp, long seq, boolean esn, EncryptionTransform encr, byte[] encrKey,
            IntegrityTransform integ, byte[] integKey) {
        byte[] seqHigh = {(byte) (seq >>> 56), (byte) (seq >>> 48), (byte) (seq >>> 40), (byte) (seq >>> 32)};
        if (encr.isAead()) {
            // RFC 4106 §5, RFC 7634 §2.1: AAD = SPI || [seq high] || seq low; nonce = salt || IV.
            byte[] aad = esn ? concat(slice(esp, 0, 4), seqHigh, slice(esp, 4, 8)) : slice(esp, 0, 8);
            int keyLen = encrKey.length - 4;
            byte[] nonce = concat(slice(encrKey, keyLen, encrKey.length), slice(esp, 8, 16));
            AEADCipher cipher = encr == EncryptionTransform.CHACHA20_POLY1305
                    ? new ChaCha20Poly1305()
                    : GCMBlockCipher.newInstance(AESEngine.newInstance());
            cipher.init(false, new AEADParameters(new KeyParameter(encrKey, 0, keyLen), encr.icvLength() * 8, nonce, aad));
            byte[] in = slice(esp, 16, esp.length);
            byte[] out = new byte[cipher.getOutputSize(in.length)];
            try {
                int n = cipher.processBytes(in, 0, in.length, out, 0);
                cipher.doFinal(out, n);
                return out;
            } catch (org.bouncycastle.crypto.InvalidCipherTextException e) {
                return null;
            }
        }
        // RFC 4303 §2.2.1 / §3.3.2: the ICV covers header, IV, ciphertext and, with ESN, the high bits.
        int icvLen = integ.icvLength();
        HMac mac = new HMac(digest(integ));
        mac.init(new KeyParameter(integKey));
        int covered = esp.length - icvLen;
        mac.update(esp, 0, covered);
        if (esn) {
            mac.update(seqHigh, 0, 4);
        }
        byte[] full = new byte[mac.getMacSize()];
        mac.doFinal(full, 0);
        if (!Arrays.equals(Arrays.copyOf(full, icvLen), slice(esp, covered, esp.length))) {
            return null;
        }
        int ivLen = encr.ivLength();
        byte[] ct = slice(esp, 8 + ivLen, covered);
        if (encr == EncryptionTransform.NULL) {
            return ct;
        }
        CBCBlockCipher cbc = (CBCBlockCipher) CBCBlockCipher.newInstance(AESEngine.newInstance());
        cbc.init(false, new ParametersWithIV(new KeyParameter(encrKey), esp, 8, ivLen));
        byte[] pt = new byte[ct.length];
        for (int i = 0; i < ct.length; i += 16) {
            cbc.processBlock(ct, i, pt, i);
        }
        return pt;
    }

    private static Digest digest(IntegrityTransform integ) {
        return switch (integ) {
            case HMAC_SHA1_96 -> new SHA1Digest();
            case HMAC_SHA2_256_128 -> new SHA256Digest();
            case HMAC_SHA2_384_192 -> new SHA384Digest();
            case HMAC_SHA2_512_256 -> new SHA512Digest();
            case NONE -> throw new IllegalArgumentException("no integrity");
        };
    }

    private static byte[] slice(byte[] b, int from, int to) {
        return Arrays.copyOfRange(b, from, to);
    }

    private static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] out = new byte[n];
        int i = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, i, p.length);
            i += p.length;
        }
        return out;
    }
}
