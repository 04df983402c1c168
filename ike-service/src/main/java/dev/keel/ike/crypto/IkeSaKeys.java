package dev.keel.ike.crypto;

import java.util.Arrays;

/**
 * The seven IKE SA secrets of RFC 7296 §2.14 (SK_ai/SK_ar empty for an AEAD suite), and
 * SKEYSEED for tests and logging-free diagnostics. Accessors return copies; {@link #close()}
 * zeroizes. {@link #toString()} never shows key bytes.
 */
public final class IkeSaKeys implements AutoCloseable {

    private final byte[] skeyseed;
    private final byte[] skD;
    private final byte[] skAi;
    private final byte[] skAr;
    private final byte[] skEi;
    private final byte[] skEr;
    private final byte[] skPi;
    private final byte[] skPr;
    private boolean closed;

    /** Takes ownership of the arrays (no copies); callers pass fresh arrays. */
    IkeSaKeys(byte[] skeyseed, byte[] skD, byte[] skAi, byte[] skAr, byte[] skEi, byte[] skEr,
            byte[] skPi, byte[] skPr) {
        this.skeyseed = skeyseed;
        this.skD = skD;
        this.skAi = skAi;
        this.skAr = skAr;
        this.skEi = skEi;
        this.skEr = skEr;
        this.skPi = skPi;
        this.skPr = skPr;
    }

    /** Restores keys replicated from another node (copies are taken). */
    public static IkeSaKeys of(byte[] skD, byte[] skAi, byte[] skAr, byte[] skEi, byte[] skEr,
            byte[] skPi, byte[] skPr) {
        return new IkeSaKeys(new byte[0], skD.clone(), skAi.clone(), skAr.clone(), skEi.clone(),
                skEr.clone(), skPi.clone(), skPr.clone());
    }

    public byte[] skeyseed() {
        return get(skeyseed);
    }

    public byte[] skD() {
        return get(skD);
    }

    public byte[] skAi() {
        return get(skAi);
    }

    public byte[] skAr() {
        return get(skAr);
    }

    public byte[] skEi() {
        return get(skEi);
    }

    public byte[] skEr() {
        return get(skEr);
    }

    public byte[] skPi() {
        return get(skPi);
    }

    public byte[] skPr() {
        return get(skPr);
    }

    private byte[] get(byte[] k) {
        if (closed) {
            throw new IllegalStateException("IKE SA keys closed");
        }
        return k.clone();
    }

    public boolean isClosed() {
        return closed;
    }

    @Override
    public void close() {
        closed = true;
        for (byte[] k : new byte[][] {skeyseed, skD, skAi, skAr, skEi, skEr, skPi, skPr}) {
            Arrays.fill(k, (byte) 0);
        }
    }

    /** Sizes only. */
    @Override
    public String toString() {
        return "IkeSaKeys[d=" + skD.length + ", a=" + skAi.length + ", e=" + skEi.length + ", p="
                + skPi.length + " bytes" + (closed ? ", closed" : "") + "]";
    }
}
