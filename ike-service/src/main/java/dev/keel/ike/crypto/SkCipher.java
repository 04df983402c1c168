package dev.keel.ike.crypto;

/**
 * Protects and opens the body of an Encrypted payload, SK (RFC 7296 §3.14; RFC 5282 §5 for the
 * AEAD suites), under one direction's keys: SK_ei/SK_ai to send as initiator, SK_er/SK_ar as
 * responder. The body is {@code IV || ciphertext(inner payloads || padding || pad length) || ICV}.
 *
 * <p>The message codec lays out the IKE header and the SK generic payload header itself, with
 * lengths from {@link #sealedLength}; the cipher fills in the body. Not thread-safe.
 *
 * <p>Instances come from {@link SkCiphers#create}. AES-CBC suites put a fresh random IV in every
 * message (§3.14: unpredictable) and pad to the 16-byte block; AEAD suites (AES-GCM-8/12/16,
 * ChaCha20-Poly1305) use an 8-byte explicit IV that counts up from a random start, so it never
 * repeats under one key, and add no padding beyond the Pad Length octet (RFC 5282 §3, RFC 7634
 * §3). {@link #open} accepts any padding the peer sent.
 */
public interface SkCipher extends AutoCloseable {

    /** Length of the SK payload body for {@code plaintextLength} bytes of inner payloads. */
    int sealedLength(int plaintextLength);

    /**
     * Seals {@code plaintext} into {@code message[bodyOffset, bodyOffset + sealedLength)}.
     * {@code message[0, bodyOffset)} is the IKE header through the SK generic payload header,
     * final lengths already written: the AEAD's associated data, or for a normal-mode suite the
     * start of what the ICV covers (the ICV covers the whole message up to the ICV itself).
     * {@code message} ends exactly after the ICV.
     */
    void seal(byte[] message, int bodyOffset, byte[] plaintext);

    /**
     * Verifies and decrypts the body at {@code message[bodyOffset, message.length)} of a whole
     * received IKE message (or fragment) and returns the inner payloads without the padding, or
     * {@code null} when the ICV does not verify or the body is malformed (too short, not a
     * whole number of blocks, pad length past the start). Never throws on hostile input and
     * never returns plaintext of a body whose ICV failed.
     */
    byte[] open(byte[] message, int bodyOffset);

    /** Zeroizes the keys this instance holds. */
    @Override
    void close();
}
