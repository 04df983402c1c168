package dev.keel.esp.sa;

import dev.keel.core.crypto.IntegrityMac;
import dev.keel.core.packet.BigEndian;

/**
 * AH's integrity check for one SA on one thread (RFC 4302 §3.3.3): the truncated HMAC over the
 * whole IP packet as the caller laid it out (mutable fields and the ICV field already zeroed),
 * followed by the high 32 bits of the sequence number when ESN is on (RFC 4302 §2.5.1 and
 * §3.3.3.3.1: included in the ICV, never sent). AH has no ESP layout, so {@link #seal} and
 * {@link #open} refuse; the AH codec calls {@link #sign} and {@link #verify}.
 */
public final class AhSuite implements EspCipherSuite {

    private final IntegrityMac mac;
    private final byte[] esnTrailer = new byte[4];

    AhSuite(IntegrityMac mac) {
        this.mac = mac;
    }

    @Override
    public int ivLength() {
        return 0;
    }

    @Override
    public int icvLength() {
        return mac.icvLength();
    }

    @Override
    public int alignment() {
        return 4;
    }

    @Override
    public void seal(byte[] buf, int esp, int ptLen, long seq, boolean esn) {
        throw new UnsupportedOperationException("an AH SA does not protect ESP packets");
    }

    @Override
    public int open(byte[] buf, int esp, int len, long seq, boolean esn) {
        throw new UnsupportedOperationException("an AH SA does not open ESP packets");
    }

    /** Writes the ICV of {@code buf[off, off+len)} (and the ESN high bits) to {@code buf[icvOff, ...)}. */
    public void sign(byte[] buf, int off, int len, long seq, boolean esn, int icvOff) {
        mac.compute(buf, off, len, esnTrailer, trailer(seq, esn), buf, icvOff);
    }

    /** Compares, in constant time, the ICV of {@code buf[off, off+len)} (and ESN high bits) with {@code icv[icvOff, ...)}. */
    public boolean verify(byte[] buf, int off, int len, long seq, boolean esn, byte[] icv, int icvOff) {
        return mac.verify(buf, off, len, esnTrailer, trailer(seq, esn), icv, icvOff);
    }

    private int trailer(long seq, boolean esn) {
        if (!esn) {
            return 0;
        }
        BigEndian.putInt(esnTrailer, 0, (int) (seq >>> 32));
        return 4;
    }

    @Override
    public void close() {
        mac.close();
    }
}
