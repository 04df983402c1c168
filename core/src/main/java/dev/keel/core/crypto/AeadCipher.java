package dev.keel.core.crypto;

import dev.keel.core.transform.EncryptionTransform;

/**
 * A combined-mode cipher (RFC 5116 AEAD) bound to one key and salt: AES-GCM (RFC 4106) or
 * ChaCha20-Poly1305 (RFC 7634), on OpenSSL ({@link OpenSslAead}) or the JCA ({@link AesGcmCipher},
 * {@link ChaCha20Poly1305Cipher}); see {@link AeadEngine}. Not thread-safe: each thread that owns
 * packets keeps its own.
 *
 * <p>The nonce is {@code salt || iv}: the 4-byte salt comes from the keying material, the
 * 8-byte explicit IV is carried in the packet and must never repeat under one key.
 */
public interface AeadCipher extends AutoCloseable {

    EncryptionTransform transform();

    /** Bytes of explicit IV per packet (8). */
    int ivLength();

    /** Bytes of ICV appended after the ciphertext. */
    int icvLength();

    /**
     * Encrypts {@code buf[off, off+len)} in place and writes the ICV right after it, so the
     * caller must leave {@link #icvLength()} bytes of room there.
     *
     * @param aad the additional authenticated data, {@code aad[0, aadLen)}
     * @param iv the explicit IV, {@code iv[ivOff, ivOff+8)}
     * @return {@code len + icvLength()}
     */
    int seal(byte[] aad, int aadLen, byte[] iv, int ivOff, byte[] buf, int off, int len);

    /**
     * Verifies and decrypts {@code buf[off, off+len)} (ciphertext followed by the ICV) in place.
     * Nothing of the plaintext is released unless the ICV verifies: on failure
     * {@code buf[off, off+len-icv)} holds either the untouched ciphertext or zeros (engines that
     * decrypt before the tag comparison zero it), never plaintext. Never throws on hostile input.
     *
     * @return the plaintext length, or -1 when the ICV does not verify or {@code len} is shorter
     *     than the ICV
     */
    int open(byte[] aad, int aadLen, byte[] iv, int ivOff, byte[] buf, int off, int len);

    /** Zeroizes the key material this instance holds. */
    @Override
    void close();
}
