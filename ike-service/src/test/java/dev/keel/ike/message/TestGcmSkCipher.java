package dev.keel.ike.message;

import dev.keel.ike.crypto.SkCipher;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Test-only SK cipher: AES-128-GCM-16 laid out as RFC 5282 §3 says (8-byte IV, padding with a
 * pad length octet, 16-byte ICV, AAD = the message up to the SK body), on the JDK's cipher.
 */
final class TestGcmSkCipher implements SkCipher {
    private static final int IV = 8;
    private static final int ICV = 16;
    private final SecretKeySpec key;
    private final byte[] salt;
    private long counter;

    TestGcmSkCipher(byte[] key16, byte[] salt4) {
        this.key = new SecretKeySpec(key16, "AES");
        this.salt = salt4.clone();
    }

    static TestGcmSkCipher fixed() {
        byte[] key = new byte[16];
        Arrays.fill(key, (byte) 0x42);
        return new TestGcmSkCipher(key, new byte[] {1, 2, 3, 4});
    }

    @Override
    public int sealedLength(int plaintextLength) {
        return IV + plaintextLength + 1 + ICV; // no padding beyond the pad length octet
    }

    @Override
    public void seal(byte[] message, int bodyOffset, byte[] plaintext) {
        byte[] iv = ByteBuffer.allocate(IV).putLong(++counter).array();
        System.arraycopy(iv, 0, message, bodyOffset, IV);
        byte[] padded = Arrays.copyOf(plaintext, plaintext.length + 1);
        try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(ICV * 8, nonce(iv)));
            c.updateAAD(message, 0, bodyOffset);
            c.doFinal(padded, 0, padded.length, message, bodyOffset + IV);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public byte[] open(byte[] message, int bodyOffset) {
        int len = message.length - bodyOffset - IV;
        if (len < ICV + 1) {
            return null;
        }
        byte[] iv = Arrays.copyOfRange(message, bodyOffset, bodyOffset + IV);
        try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(ICV * 8, nonce(iv)));
            c.updateAAD(message, 0, bodyOffset);
            byte[] padded = c.doFinal(message, bodyOffset + IV, len);
            int padLength = padded[padded.length - 1] & 0xFF;
            if (padLength + 1 > padded.length) {
                return null;
            }
            return Arrays.copyOf(padded, padded.length - 1 - padLength);
        } catch (AEADBadTagException e) {
            return null;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private byte[] nonce(byte[] iv) {
        byte[] n = new byte[12];
        System.arraycopy(salt, 0, n, 0, 4);
        System.arraycopy(iv, 0, n, 4, IV);
        return n;
    }

    @Override
    public void close() {
    }
}
