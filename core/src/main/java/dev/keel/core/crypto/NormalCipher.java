package dev.keel.core.crypto;

import dev.keel.core.transform.EncryptionTransform;

/**
 * A normal-mode (confidentiality only) cipher bound to one key: AES-CBC (RFC 3602) or NULL
 * (RFC 2410). Integrity comes from a separate {@link IntegrityMac}. Not thread-safe.
 */
public interface NormalCipher extends AutoCloseable {

    EncryptionTransform transform();

    /** Bytes of IV per packet (16 for AES-CBC, 0 for NULL). */
    int ivLength();

    /** The plaintext must be a multiple of this many bytes. */
    int blockSize();

    /**
     * Encrypts {@code buf[off, off+len)} in place with the IV at {@code iv[ivOff, ivOff+ivLength())}.
     * The caller chooses the IV; for CBC it must be unpredictable (RFC 3602 §3).
     *
     * @throws IllegalArgumentException when {@code len} is not a multiple of {@link #blockSize()}
     */
    void encrypt(byte[] iv, int ivOff, byte[] buf, int off, int len);

    /**
     * Decrypts {@code buf[off, off+len)} in place. Call only after the ICV has verified.
     *
     * @return false (leaving the bytes unspecified) when {@code len} is not a whole number of
     *     blocks; never throws on hostile input
     */
    boolean decrypt(byte[] iv, int ivOff, byte[] buf, int off, int len);

    /** Zeroizes the key material this instance holds. */
    @Override
    void close();
}
