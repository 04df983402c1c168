package dev.keel.ike.crypto;

import dev.keel.core.crypto.AeadCipher;
import java.security.SecureRandom;
import java.util.Arrays;

/**
 * SK payload with AES-GCM (RFC 5282 §3-5) or ChaCha20-Poly1305 (RFC 7634 §3): body =
 * 8-byte IV || ciphertext(inner || padding || pad length) || ICV, AAD = IKE header through
 * the SK generic payload header. No padding is added (the Pad Length octet is still there);
 * any padding the peer sends is accepted.
 *
 * <p>The explicit IV is a 64-bit counter that starts at a random value, so it never repeats
 * under one key, even when a new instance is made for the same keys after a failover.
 */
final class AeadSkCipher implements SkCipher {

    private static final int IV = 8;

    private final AeadCipher cipher;
    private final int icv;
    private long counter;
    private long used;
    private boolean closed;

    AeadSkCipher(AeadCipher cipher, SecureRandom random) {
        this.cipher = cipher;
        this.icv = cipher.icvLength();
        this.counter = random.nextLong();
    }

    @Override
    public int sealedLength(int plaintextLength) {
        return IV + plaintextLength + 1 + icv;
    }

    @Override
    public void seal(byte[] message, int bodyOffset, byte[] plaintext) {
        checkOpen();
        int len = sealedLength(plaintext.length);
        if (bodyOffset < 0 || message.length - bodyOffset != len) {
            throw new IllegalArgumentException("SK body needs exactly " + len + " bytes after offset " + bodyOffset);
        }
        if (used == -1L) {
            throw new IllegalStateException("AEAD IV space exhausted; rekey the IKE SA");
        }
        used++;
        long iv = counter++;
        for (int i = 0; i < IV; i++) {
            message[bodyOffset + i] = (byte) (iv >>> (56 - 8 * i));
        }
        int ct = bodyOffset + IV;
        System.arraycopy(plaintext, 0, message, ct, plaintext.length);
        message[ct + plaintext.length] = 0; // pad length
        cipher.seal(message, bodyOffset, message, bodyOffset, message, ct, plaintext.length + 1);
    }

    @Override
    public byte[] open(byte[] message, int bodyOffset) {
        if (closed || message == null || bodyOffset < 0 || bodyOffset > message.length) {
            return null;
        }
        int ctLen = message.length - bodyOffset - IV; // ciphertext + ICV
        if (ctLen < icv + 1) { // at least the Pad Length octet
            return null;
        }
        byte[] buf = Arrays.copyOfRange(message, bodyOffset + IV, message.length);
        int n;
        try {
            n = cipher.open(message, bodyOffset, message, bodyOffset, buf, 0, ctLen);
        } catch (RuntimeException e) {
            return null;
        }
        if (n < 1) {
            Arrays.fill(buf, (byte) 0);
            return null;
        }
        int pad = buf[n - 1] & 0xff;
        if (pad + 1 > n) {
            Arrays.fill(buf, (byte) 0);
            return null;
        }
        byte[] out = Arrays.copyOf(buf, n - 1 - pad);
        Arrays.fill(buf, (byte) 0);
        return out;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("SK cipher closed");
        }
    }

    @Override
    public void close() {
        closed = true;
        cipher.close();
    }

    @Override
    public String toString() {
        return "AeadSkCipher[" + cipher.transform().ianaName() + "]";
    }
}
