package dev.keel.esp.sa;

import dev.keel.core.crypto.IntegrityMac;
import dev.keel.core.crypto.NormalCipher;
import dev.keel.core.packet.BigEndian;
import java.security.SecureRandom;

/**
 * ESP with a normal-mode cipher and a separate integrity check: AES-CBC (RFC 3602) or NULL
 * (RFC 2410) with HMAC-SHA1/SHA2 (RFC 2404, RFC 4868). Encrypt-then-MAC; the ICV covers the
 * ESP header, IV and ciphertext, plus the unsent high sequence bits with ESN (RFC 4303 §2.2.1).
 */
final class SplitSuite implements EspCipherSuite {

    private final NormalCipher cipher;
    private final IntegrityMac mac;
    private final byte[] esnTrailer = new byte[4];
    /**
     * RFC 3602 §3: CBC IVs must be unpredictable. NIST SP 800-38A Appendix C: encrypting a
     * nonce under the SA's own key gives one. The nonce is the (never repeating) sequence number
     * followed by random bytes drawn once per suite, so no random generator runs per packet.
     */
    private final byte[] ivNonceTail = new byte[8];
    private final byte[] zeroIv;

    SplitSuite(NormalCipher cipher, IntegrityMac mac) {
        this.cipher = cipher;
        this.mac = mac;
        this.zeroIv = new byte[cipher.ivLength()];
        if (cipher.ivLength() > 0) {
            if (cipher.ivLength() != 16 || cipher.blockSize() != 16) {
                throw new IllegalArgumentException("IV generation assumes a 16-byte block cipher");
            }
            new SecureRandom().nextBytes(ivNonceTail);
        }
    }

    @Override
    public int ivLength() {
        return cipher.ivLength();
    }

    @Override
    public int icvLength() {
        return mac.icvLength();
    }

    @Override
    public int alignment() {
        return Math.max(4, cipher.blockSize());
    }

    @Override
    public void seal(byte[] buf, int esp, int ptLen, long seq, boolean esn) {
        int iv = esp + 8;
        int ivLen = cipher.ivLength();
        if (ivLen > 0) {
            BigEndian.putLong(buf, iv, seq);
            System.arraycopy(ivNonceTail, 0, buf, iv + 8, 8);
            cipher.encrypt(zeroIv, 0, buf, iv, ivLen); // one block under a zero IV: E_K(nonce)
        }
        cipher.encrypt(buf, iv, buf, iv + ivLen, ptLen);
        int covered = 8 + ivLen + ptLen;
        mac.compute(buf, esp, covered, esnTrailer, trailer(seq, esn), buf, esp + covered);
    }

    @Override
    public int open(byte[] buf, int esp, int len, long seq, boolean esn) {
        int ivLen = cipher.ivLength();
        int icvLen = mac.icvLength();
        int ctLen = len - 8 - ivLen - icvLen;
        if (ctLen < 2 || ctLen % alignment() != 0) {
            return -1;
        }
        int covered = len - icvLen;
        if (!mac.verify(buf, esp, covered, esnTrailer, trailer(seq, esn), buf, esp + covered)) {
            return -1;
        }
        int iv = esp + 8;
        return cipher.decrypt(buf, iv, buf, iv + ivLen, ctLen) ? ctLen : -1;
    }

    private int trailer(long seq, boolean esn) {
        if (!esn) {
            return 0;
        }
        BigEndian.putInt(esnTrailer, 0, (int) (seq >>> 32));
        return 4;
    }

    @Override
    public void close() {
        cipher.close();
        mac.close();
    }
}
