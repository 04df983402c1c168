package dev.keel.core.crypto;

import dev.keel.core.transform.IntegrityTransform;

/**
 * A truncated HMAC integrity check (RFC 2404, RFC 4868) bound to one key. Not thread-safe.
 *
 * <p>The MAC covers {@code buf[off, off+len)} followed by {@code trailer[0, trailerLen)}: ESP
 * with extended sequence numbers appends the high 32 bits there without sending them
 * (RFC 4303 §2.2.1).
 */
public interface IntegrityMac extends AutoCloseable {

    IntegrityTransform transform();

    /** Bytes of the truncated ICV. */
    int icvLength();

    /** Writes the ICV to {@code out[outOff, outOff+icvLength())}. */
    void compute(byte[] buf, int off, int len, byte[] trailer, int trailerLen, byte[] out, int outOff);

    /** Recomputes the ICV and compares it in constant time with {@code icv[icvOff, ...)}. */
    boolean verify(byte[] buf, int off, int len, byte[] trailer, int trailerLen, byte[] icv, int icvOff);

    /** Zeroizes the key material this instance holds. */
    @Override
    void close();
}
