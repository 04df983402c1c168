package dev.keel.core.crypto;

import dev.keel.core.transform.EncryptionTransform;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import java.util.Objects;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;

/**
 * AES-CBC for ESP (RFC 3602) on SunJCE ({@code AES/CBC/NoPadding}, AES-NI intrinsics).
 *
 * <p>Zero allocation per packet: each direction's {@link Cipher} is initialised once, with an
 * all-zero IV, and never again. SunJCE resets the chaining value to that IV after every
 * {@code doFinal}, and CBC only uses the IV on the first block ({@code C1 = E(P1 ^ IV)},
 * {@code P1 = D(C1) ^ IV}), so the packet's IV is XORed into the first plaintext block before
 * encryption and out of it after decryption. SunJCE copies the input of any in-place call into a
 * new array, so the data goes through a per-instance scratch buffer instead (grown on demand, holds
 * only ciphertext).
 */
public final class AesCbcCipher implements NormalCipher {

    private static final int BLOCK = 16;

    private final EncryptionTransform transform;
    private final int keyLength;
    private final RawKey key;
    private final Cipher enc = Jca.cipher("AES/CBC/NoPadding");
    private final Cipher dec = Jca.cipher("AES/CBC/NoPadding");
    private byte[] scratch = new byte[2048];
    private boolean closed;

    AesCbcCipher(EncryptionTransform transform, byte[] key) {
        this.transform = transform;
        this.keyLength = key.length;
        this.key = new RawKey("AES", key, 0, key.length);
        IvParameterSpec zeroIv = new IvParameterSpec(new byte[BLOCK]);
        try {
            enc.init(Cipher.ENCRYPT_MODE, this.key, zeroIv);
            dec.init(Cipher.DECRYPT_MODE, this.key, zeroIv);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-CBC init failed", e);
        }
    }

    @Override
    public EncryptionTransform transform() {
        return transform;
    }

    @Override
    public int ivLength() {
        return BLOCK;
    }

    @Override
    public int blockSize() {
        return BLOCK;
    }

    @Override
    public void encrypt(byte[] iv, int ivOff, byte[] buf, int off, int len) {
        checkOpen();
        Objects.checkFromIndexSize(off, len, buf.length);
        Objects.checkFromIndexSize(ivOff, BLOCK, iv.length);
        if (len % BLOCK != 0) {
            throw new IllegalArgumentException("AES-CBC plaintext length " + len + " is not a multiple of 16");
        }
        if (len == 0) {
            return;
        }
        byte[] tmp = scratch(len);
        xorBlock(iv, ivOff, buf, off);
        try {
            enc.doFinal(buf, off, len, tmp, 0);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-CBC encrypt failed", e);
        }
        System.arraycopy(tmp, 0, buf, off, len);
    }

    @Override
    public boolean decrypt(byte[] iv, int ivOff, byte[] buf, int off, int len) {
        checkOpen();
        Objects.checkFromIndexSize(off, len, buf.length);
        Objects.checkFromIndexSize(ivOff, BLOCK, iv.length);
        if (len % BLOCK != 0) {
            return false;
        }
        if (len == 0) {
            return true;
        }
        byte[] tmp = scratch(len);
        System.arraycopy(buf, off, tmp, 0, len);
        try {
            dec.doFinal(tmp, 0, len, buf, off);
        } catch (GeneralSecurityException | RuntimeException e) {
            return false;
        }
        xorBlock(iv, ivOff, buf, off);
        return true;
    }

    private byte[] scratch(int len) {
        if (scratch.length < len) {
            Arrays.fill(scratch, (byte) 0);
            scratch = new byte[Math.max(len, scratch.length * 2)];
        }
        return scratch;
    }

    private static void xorBlock(byte[] iv, int ivOff, byte[] buf, int off) {
        for (int i = 0; i < BLOCK; i++) {
            buf[off + i] ^= iv[ivOff + i];
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
        key.destroy();
        Arrays.fill(scratch, (byte) 0);
        // AESCrypt zero-fills its copy of the old key and replaces the round keys on a new key.
        IvParameterSpec zeroIv = new IvParameterSpec(new byte[BLOCK]);
        Jca.wipe(enc, "AES", keyLength, zeroIv);
        Jca.wipe(dec, "AES", keyLength, zeroIv);
    }

    @Override
    public String toString() {
        return "AesCbcCipher[" + keyLength * 8 + " bits]";
    }
}
