package dev.keel.core.crypto;

import dev.keel.core.transform.EncryptionTransform;
import java.util.Objects;

/**
 * What the AEAD engines ({@link OpenSslAead}, {@link AesGcmCipher}, {@link ChaCha20Poly1305Cipher})
 * share: the nonce layout, the transform and its ICV length, and the argument checks of
 * {@link #seal} and {@link #open}, made here before an engine sees a byte. An engine implements
 * {@link #sealChecked} and {@link #openChecked} only. A JVM runs OpenSSL or the JCA engines, so the
 * call from here to an engine sees one or two classes, which the JIT inlines: nothing is added per
 * packet.
 */
abstract class AbstractAeadCipher implements AeadCipher {

    /** Bytes of salt, the tail of the keying material and the head of the nonce (RFC 4106 §4, RFC 7634 §2). */
    static final int SALT = 4;
    /** Bytes of explicit IV per packet, the rest of the nonce (RFC 4106 §3.1, RFC 7634 §2). */
    static final int IV = 8;

    final EncryptionTransform transform;
    final int icvLength;

    AbstractAeadCipher(EncryptionTransform transform) {
        this.transform = transform;
        this.icvLength = transform.icvLength();
    }

    @Override
    public final EncryptionTransform transform() {
        return transform;
    }

    @Override
    public final int ivLength() {
        return IV;
    }

    @Override
    public final int icvLength() {
        return icvLength;
    }

    @Override
    public final int seal(byte[] aad, int aadLen, byte[] iv, int ivOff, byte[] buf, int off, int len) {
        checkRanges(aad, aadLen, iv, ivOff, buf, off, len);
        Objects.checkFromIndexSize(off + len, icvLength, buf.length);  // without checkRanges, len = -1 would pass
        return sealChecked(aad, aadLen, iv, ivOff, buf, off, len);
    }

    @Override
    public final int open(byte[] aad, int aadLen, byte[] iv, int ivOff, byte[] buf, int off, int len) {
        checkRanges(aad, aadLen, iv, ivOff, buf, off, len);
        return openChecked(aad, aadLen, iv, ivOff, buf, off, len);
    }

    /** {@link #seal} with every range checked: {@code buf} has room for the ICV after the data. */
    abstract int sealChecked(byte[] aad, int aadLen, byte[] iv, int ivOff, byte[] buf, int off, int len);

    /**
     * {@link #open} with every range checked; {@code len} may still be shorter than the ICV, which
     * the engine answers with -1 (after its closed check, so a closed cipher always says so).
     */
    abstract int openChecked(byte[] aad, int aadLen, byte[] iv, int ivOff, byte[] buf, int off, int len);

    private static void checkRanges(byte[] aad, int aadLen, byte[] iv, int ivOff, byte[] buf, int off, int len) {
        Objects.checkFromIndexSize(0, aadLen, aad.length);
        Objects.checkFromIndexSize(ivOff, IV, iv.length);
        Objects.checkFromIndexSize(off, len, buf.length);
    }
}
