package dev.keel.core.crypto;

import dev.keel.core.transform.IntegrityTransform;
import java.security.DigestException;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Objects;

/**
 * Truncated HMAC for ESP: HMAC-SHA1-96 (RFC 2404), HMAC-SHA-256-128, -384-192 and -512-256
 * (RFC 4868).
 *
 * <p>HMAC (RFC 2104) is computed here over the JDK's {@link MessageDigest} (SUN provider, SHA-NI /
 * AVX2 intrinsics) rather than through {@link javax.crypto.Mac}: SunJCE's {@code Mac.doFinal}
 * returns a fresh array for every MAC (and {@code doFinal(byte[], int)} copies from one), whereas
 * {@code MessageDigest.digest(byte[], int, int)} writes into ours, so a packet costs no allocation.
 * The work is the same as SunJCE's HmacCore: one hash of {@code (K ^ ipad) || data}, one of
 * {@code (K ^ opad) || inner}.
 */
public final class HmacIntegrity implements IntegrityMac {

    private final IntegrityTransform transform;
    private final int icvLength;
    private final MessageDigest md;
    private final int hashLength;
    private final byte[] ipad;
    private final byte[] opad;
    private final byte[] hash;
    private boolean closed;

    /**
     * Any key length, as RFC 2104 allows (keys longer than the hash block are hashed first); the
     * {@link PacketCiphers} factory enforces the RFC 4868 §2.1.1 length for ESP.
     */
    HmacIntegrity(IntegrityTransform transform, byte[] key) {
        this.transform = transform;
        this.icvLength = transform.icvLength();
        this.md = Jca.digest(digestName(transform));
        this.hashLength = md.getDigestLength();
        int block = hashLength <= 32 ? 64 : 128;
        this.hash = new byte[hashLength];
        this.ipad = new byte[block];
        this.opad = new byte[block];
        byte[] k = key.length > block ? md.digest(key) : key;
        System.arraycopy(k, 0, ipad, 0, k.length);
        System.arraycopy(k, 0, opad, 0, k.length);
        if (k != key) {
            Arrays.fill(k, (byte) 0);
        }
        for (int i = 0; i < block; i++) {
            ipad[i] ^= 0x36;
            opad[i] ^= 0x5c;
        }
    }

    private static String digestName(IntegrityTransform t) {
        return switch (t) {
            case HMAC_SHA1_96 -> "SHA-1";
            case HMAC_SHA2_256_128 -> "SHA-256";
            case HMAC_SHA2_384_192 -> "SHA-384";
            case HMAC_SHA2_512_256 -> "SHA-512";
            case NONE -> throw new IllegalArgumentException("no HMAC for integrity transform NONE");
        };
    }

    @Override
    public IntegrityTransform transform() {
        return transform;
    }

    @Override
    public int icvLength() {
        return icvLength;
    }

    @Override
    public void compute(byte[] buf, int off, int len, byte[] trailer, int trailerLen, byte[] out, int outOff) {
        Objects.checkFromIndexSize(outOff, icvLength, out.length);
        mac(buf, off, len, trailer, trailerLen);
        System.arraycopy(hash, 0, out, outOff, icvLength);
    }

    @Override
    public boolean verify(byte[] buf, int off, int len, byte[] trailer, int trailerLen, byte[] icv, int icvOff) {
        Objects.checkFromIndexSize(icvOff, icvLength, icv.length);
        mac(buf, off, len, trailer, trailerLen);
        return Jca.equal(hash, 0, icv, icvOff, icvLength);
    }

    /** The full HMAC of {@code buf[off, off+len) || trailer[0, trailerLen)} into {@link #hash}. */
    private void mac(byte[] buf, int off, int len, byte[] trailer, int trailerLen) {
        if (closed) {
            throw new IllegalStateException("MAC closed");
        }
        Objects.checkFromIndexSize(off, len, buf.length);
        if (trailerLen > 0) {
            Objects.checkFromIndexSize(0, trailerLen, trailer.length);
        }
        try {
            md.update(ipad);
            md.update(buf, off, len);
            if (trailerLen > 0) {
                md.update(trailer, 0, trailerLen);
            }
            md.digest(hash, 0, hashLength);
            md.update(opad);
            md.update(hash, 0, hashLength);
            md.digest(hash, 0, hashLength);
        } catch (DigestException e) {
            throw new IllegalStateException("digest failed", e);
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        Arrays.fill(ipad, (byte) 0);
        Arrays.fill(opad, (byte) 0);
        Arrays.fill(hash, (byte) 0);
        md.reset();
    }

    @Override
    public String toString() {
        return "HmacIntegrity[" + transform.ianaName() + "]";
    }
}
