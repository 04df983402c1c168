package dev.keel.sad.keys;

import java.security.GeneralSecurityException;
import javax.crypto.Cipher;
import javax.crypto.ShortBufferException;
import javax.crypto.spec.SecretKeySpec;
import org.bouncycastle.crypto.BlockCipher;
import org.bouncycastle.crypto.CipherParameters;
import org.bouncycastle.crypto.InvalidCipherTextException;
import org.bouncycastle.crypto.engines.RFC5649WrapEngine;
import org.bouncycastle.crypto.params.KeyParameter;

/**
 * AES Key Wrap with Padding (RFC 5649) under the cluster KEK, via Bouncy Castle's
 * {@link RFC5649WrapEngine}. Wrapping an empty key gives an empty result (ENCR_NULL has no key).
 *
 * <p>The wrap algorithm is Bouncy Castle's; the AES block operations under it are the JDK's
 * (AES/ECB/NoPadding, hardware AES where the CPU has it): Bouncy Castle's pure-Java AES engine
 * was a visible share of an install's CPU (each wrap is 6 x n block operations).
 *
 * <p>Thread-safe: an engine is made per call, over a per-thread JDK cipher keyed once.
 */
public final class KeyWrap {

    private final KeyEncryptionKey kek;
    private final ThreadLocal<JdkAes> encrypt;
    private final ThreadLocal<JdkAes> decrypt;

    public KeyWrap(KeyEncryptionKey kek) {
        this.kek = kek;
        this.encrypt = ThreadLocal.withInitial(() -> new JdkAes(kek.bytes(), true));
        this.decrypt = ThreadLocal.withInitial(() -> new JdkAes(kek.bytes(), false));
    }

    public int kekId() {
        return kek.id();
    }

    /** Wraps {@code key}; the caller zeroizes its plaintext afterwards. */
    public byte[] wrap(byte[] key) {
        if (key.length == 0) {
            return new byte[0];
        }
        RFC5649WrapEngine engine = new RFC5649WrapEngine(encrypt.get());
        engine.init(true, new KeyParameter(kek.bytes()));
        return engine.wrap(key, 0, key.length);
    }

    /**
     * Unwraps a key wrapped under this KEK.
     *
     * @param kekId the KEK id stored with the wrapped key
     * @throws IllegalStateException when the KEK id differs or the integrity check fails
     *         (the message never contains key bytes)
     */
    public byte[] unwrap(byte[] wrapped, int kekId) {
        if (kekId != kek.id()) {
            throw new IllegalStateException(String.format(
                    "key wrapped under KEK %08x, this node holds KEK %08x", kekId, kek.id()));
        }
        if (wrapped.length == 0) {
            return new byte[0];
        }
        RFC5649WrapEngine engine = new RFC5649WrapEngine(decrypt.get());
        engine.init(false, new KeyParameter(kek.bytes()));
        try {
            return engine.unwrap(wrapped, 0, wrapped.length);
        } catch (InvalidCipherTextException e) {
            throw new IllegalStateException("wrapped key failed the RFC 5649 integrity check");
        }
    }

    /**
     * One AES direction under the KEK as a Bouncy Castle block cipher, backed by the JDK's
     * AES/ECB/NoPadding keyed once; {@code init} only checks the direction the wrap engine asks for.
     */
    private static final class JdkAes implements BlockCipher {
        private final Cipher cipher;
        private final boolean forEncryption;

        JdkAes(byte[] key, boolean forEncryption) {
            this.forEncryption = forEncryption;
            try {
                cipher = Cipher.getInstance("AES/ECB/NoPadding");
                cipher.init(forEncryption ? Cipher.ENCRYPT_MODE : Cipher.DECRYPT_MODE, new SecretKeySpec(key, "AES"));
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("the JDK has no AES/ECB/NoPadding: " + e.getClass().getSimpleName());
            }
        }

        @Override
        public void init(boolean encrypting, CipherParameters params) {
            if (encrypting != forEncryption) {
                throw new IllegalArgumentException("AES block cipher keyed for the other direction");
            }
        }

        @Override
        public String getAlgorithmName() {
            return "AES";
        }

        @Override
        public int getBlockSize() {
            return 16;
        }

        @Override
        public int processBlock(byte[] in, int inOff, byte[] out, int outOff) {
            try {
                return cipher.update(in, inOff, 16, out, outOff);
            } catch (ShortBufferException e) {
                throw new org.bouncycastle.crypto.OutputLengthException("output buffer too short");
            }
        }

        @Override
        public void reset() {
            // ECB without padding keeps no state between blocks
        }
    }
}
