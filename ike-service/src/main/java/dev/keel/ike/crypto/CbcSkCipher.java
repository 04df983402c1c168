package dev.keel.ike.crypto;

import dev.keel.core.crypto.IntegrityMac;
import dev.keel.core.crypto.NormalCipher;
import java.security.SecureRandom;
import java.util.Arrays;

/**
 * SK payload with AES-CBC and a truncated HMAC (RFC 7296 §3.14): body = random IV ||
 * ciphertext(inner || padding || pad length) || ICV, the ICV over the whole message from the
 * IKE header through the ciphertext. {@link #open} verifies before it decrypts.
 */
final class CbcSkCipher implements SkCipher {

    private final NormalCipher cipher;
    private final IntegrityMac mac;
    private final SecureRandom random;
    private final int iv;
    private final int block;
    private final int icv;
    private boolean closed;

    CbcSkCipher(NormalCipher cipher, IntegrityMac mac, SecureRandom random) {
        this.cipher = cipher;
        this.mac = mac;
        this.random = random;
        this.iv = cipher.ivLength();
        this.block = cipher.blockSize();
        this.icv = mac.icvLength();
    }

    /** Inner payloads plus the pad length octet, rounded up to whole blocks. */
    private int paddedLength(int plaintextLength) {
        return (plaintextLength + 1 + block - 1) / block * block;
    }

    @Override
    public int sealedLength(int plaintextLength) {
        return iv + paddedLength(plaintextLength) + icv;
    }

    @Override
    public void seal(byte[] message, int bodyOffset, byte[] plaintext) {
        if (closed) {
            throw new IllegalStateException("SK cipher closed");
        }
        int len = sealedLength(plaintext.length);
        if (bodyOffset < 0 || message.length - bodyOffset != len) {
            throw new IllegalArgumentException("SK body needs exactly " + len + " bytes after offset " + bodyOffset);
        }
        // RFC 7296 §3.14: the IV MUST be unpredictable, so fresh random bytes per message.
        byte[] ivBytes = new byte[iv];
        random.nextBytes(ivBytes);
        System.arraycopy(ivBytes, 0, message, bodyOffset, iv);
        int ct = bodyOffset + iv;
        int padded = paddedLength(plaintext.length);
        System.arraycopy(plaintext, 0, message, ct, plaintext.length);
        int padLength = padded - plaintext.length - 1;
        Arrays.fill(message, ct + plaintext.length, ct + padded - 1, (byte) 0);
        message[ct + padded - 1] = (byte) padLength;
        cipher.encrypt(ivBytes, 0, message, ct, padded);
        int icvOff = ct + padded;
        mac.compute(message, 0, icvOff, null, 0, message, icvOff);
    }

    @Override
    public byte[] open(byte[] message, int bodyOffset) {
        if (closed || message == null || bodyOffset < 0 || bodyOffset > message.length) {
            return null;
        }
        int ctLen = message.length - bodyOffset - iv - icv;
        if (ctLen < block || ctLen % block != 0) {
            return null;
        }
        int icvOff = message.length - icv;
        try {
            if (!mac.verify(message, 0, icvOff, null, 0, message, icvOff)) {
                return null;
            }
            byte[] buf = Arrays.copyOfRange(message, bodyOffset + iv, icvOff);
            if (!cipher.decrypt(message, bodyOffset, buf, 0, ctLen)) {
                Arrays.fill(buf, (byte) 0);
                return null;
            }
            int pad = buf[ctLen - 1] & 0xff;
            if (pad + 1 > ctLen) {
                Arrays.fill(buf, (byte) 0);
                return null;
            }
            byte[] out = Arrays.copyOf(buf, ctLen - 1 - pad);
            Arrays.fill(buf, (byte) 0);
            return out;
        } catch (RuntimeException e) {
            return null;
        }
    }

    @Override
    public void close() {
        closed = true;
        cipher.close();
        mac.close();
    }

    @Override
    public String toString() {
        return "CbcSkCipher[" + cipher.transform().ianaName() + ", " + mac.transform().ianaName() + "]";
    }
}
