package dev.keel.core.crypto;

import dev.keel.core.transform.EncryptionTransform;
import java.security.GeneralSecurityException;
import java.security.InvalidKeyException;
import java.util.Arrays;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;

/**
 * ChaCha20-Poly1305 for ESP (RFC 7634, the AEAD of RFC 8439): 256-bit key, nonce = 4-byte salt ||
 * 8-byte explicit IV, 16-byte ICV, on SunJCE ({@code ChaCha20-Poly1305}).
 *
 * <p>SunJCE computes and compares the Poly1305 tag over the whole ciphertext before it decrypts a
 * byte when {@code doFinal} gets the packet in one call (as here), and throws
 * {@link javax.crypto.AEADBadTagException} having written nothing: a failed {@link #open} leaves
 * the ciphertext in the buffer untouched.
 */
public final class ChaCha20Poly1305Cipher extends AbstractAeadCipher {

    private final byte[] nonce = new byte[SALT + IV];
    private final Cipher jca = Jca.cipher("ChaCha20-Poly1305");
    private final RawKey key;
    private boolean closed;

    /** {@code keyAndSalt} is the 32-byte key followed by the 4-byte salt (RFC 7634 §2). */
    ChaCha20Poly1305Cipher(EncryptionTransform transform, byte[] keyAndSalt) {
        super(transform);
        int keyLength = keyAndSalt.length - SALT;
        this.key = new RawKey("ChaCha20", keyAndSalt, 0, keyLength);
        System.arraycopy(keyAndSalt, keyLength, nonce, 0, SALT);
    }

    @Override
    int sealChecked(byte[] aad, int aadLen, byte[] iv, int ivOff, byte[] buf, int off, int len) {
        checkOpen();
        System.arraycopy(iv, ivOff, nonce, SALT, IV);
        try {
            jca.init(Cipher.ENCRYPT_MODE, key, new IvParameterSpec(nonce));
            if (aadLen > 0) {
                jca.updateAAD(aad, 0, aadLen);
            }
            return jca.doFinal(buf, off, len, buf, off);
        } catch (InvalidKeyException e) {
            // SunJCE refuses the (key, nonce) of the previous seal: a caller bug that must never pass.
            throw new IllegalStateException("ChaCha20-Poly1305 IV reused under the same key", e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("ChaCha20-Poly1305 seal failed", e);
        }
    }

    @Override
    int openChecked(byte[] aad, int aadLen, byte[] iv, int ivOff, byte[] buf, int off, int len) {
        checkOpen();
        if (len < icvLength) {
            return -1;
        }
        System.arraycopy(iv, ivOff, nonce, SALT, IV);
        try {
            jca.init(Cipher.DECRYPT_MODE, key, new IvParameterSpec(nonce));
            if (aadLen > 0) {
                jca.updateAAD(aad, 0, aadLen);
            }
            return jca.doFinal(buf, off, len, buf, off);
        } catch (GeneralSecurityException | RuntimeException e) {
            // AEADBadTagException: SunJCE verified before decrypting and wrote nothing.
            return -1;
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("cipher closed");
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        Arrays.fill(nonce, (byte) 0);
        key.destroy();
        // SunJCE zero-fills its copy of the previous key when it is given a new one.
        Jca.wipe(jca, "ChaCha20", 32, new IvParameterSpec(new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}));
    }

    @Override
    public String toString() {
        return "ChaCha20Poly1305Cipher";
    }
}
