package dev.keel.sad.keys;

import java.util.Arrays;

/**
 * Unwrapped keys of one CHILD SA, held only by the owning process. {@link #close()} zeroizes
 * them; the SA database does that when the SA is deleted or leaves this node.
 */
public final class ChildSaKeyMaterial implements AutoCloseable {

    private final byte[] encryption;
    private final byte[] integrity;

    public ChildSaKeyMaterial(byte[] encryption, byte[] integrity) {
        this.encryption = encryption;
        this.integrity = integrity;
    }

    /** The encryption key (AEAD: key followed by salt). Not a copy: do not keep it past close. */
    public byte[] encryption() {
        return encryption;
    }

    /** The integrity key (empty for AEAD). Not a copy. */
    public byte[] integrity() {
        return integrity;
    }

    public boolean isZeroized() {
        for (byte b : encryption) {
            if (b != 0) {
                return false;
            }
        }
        for (byte b : integrity) {
            if (b != 0) {
                return false;
            }
        }
        return true;
    }

    @Override
    public void close() {
        Arrays.fill(encryption, (byte) 0);
        Arrays.fill(integrity, (byte) 0);
    }

    @Override
    public String toString() {
        return "ChildSaKeyMaterial[" + encryption.length + "+" + integrity.length + " bytes]";
    }
}
