package dev.keel.core.crypto;

import dev.keel.core.transform.EncryptionTransform;
import java.util.Objects;

/** ENCR_NULL (RFC 2410): the identity, no IV. For tests only, always paired with an integrity MAC. */
public final class NullCipher implements NormalCipher {

    static final NullCipher INSTANCE = new NullCipher();
    private static final int BLOCK = 4;

    private NullCipher() {
    }

    @Override
    public EncryptionTransform transform() {
        return EncryptionTransform.NULL;
    }

    @Override
    public int ivLength() {
        return 0;
    }

    /**
     * RFC 2410 §2 gives NULL a block size of 1, but ESP still aligns the padded payload to 4 bytes
     * (RFC 4303 §2.4), so this is {@link EncryptionTransform#blockSize()}: 4.
     */
    @Override
    public int blockSize() {
        return BLOCK;
    }

    @Override
    public void encrypt(byte[] iv, int ivOff, byte[] buf, int off, int len) {
        Objects.checkFromIndexSize(off, len, buf.length);
        if (len % BLOCK != 0) {
            throw new IllegalArgumentException("ESP payload length " + len + " is not a multiple of 4");
        }
    }

    @Override
    public boolean decrypt(byte[] iv, int ivOff, byte[] buf, int off, int len) {
        Objects.checkFromIndexSize(off, len, buf.length);
        return len % BLOCK == 0;
    }

    /** No key to zeroize. */
    @Override
    public void close() {
    }

    @Override
    public String toString() {
        return "NullCipher";
    }
}
