package dev.keel.ike.crypto;

import java.util.Arrays;

/**
 * CHILD SA keying material (RFC 7296 §2.17): per direction an encryption key (with the 4-byte
 * salt appended for AEAD, RFC 4106 §8.1 / RFC 7634 §2) and an integrity key (empty for AEAD).
 * "Initiator" means the initiator of the exchange that created the CHILD SA. Accessors return
 * copies; {@link #close()} zeroizes; {@link #toString()} shows sizes only.
 */
public final class ChildSaKeys implements AutoCloseable {

    private final byte[] encryptionInitiator;
    private final byte[] integrityInitiator;
    private final byte[] encryptionResponder;
    private final byte[] integrityResponder;
    private boolean closed;

    ChildSaKeys(byte[] ei, byte[] ai, byte[] er, byte[] ar) {
        this.encryptionInitiator = ei;
        this.integrityInitiator = ai;
        this.encryptionResponder = er;
        this.integrityResponder = ar;
    }

    /**
     * No keys: a CHILD SA taken over from another node, which IKE carries on without them (the
     * data plane unwraps them from the SAD; rekeys derive new ones from SK_d).
     */
    public static ChildSaKeys none() {
        return new ChildSaKeys(new byte[0], new byte[0], new byte[0], new byte[0]);
    }

    /** Key (and salt) for traffic from initiator to responder. */
    public byte[] encryptionInitiator() {
        return get(encryptionInitiator);
    }

    /** Integrity key for traffic from initiator to responder (empty for AEAD). */
    public byte[] integrityInitiator() {
        return get(integrityInitiator);
    }

    /** Key (and salt) for traffic from responder to initiator. */
    public byte[] encryptionResponder() {
        return get(encryptionResponder);
    }

    /** Integrity key for traffic from responder to initiator (empty for AEAD). */
    public byte[] integrityResponder() {
        return get(integrityResponder);
    }

    private byte[] get(byte[] k) {
        if (closed) {
            throw new IllegalStateException("CHILD SA keys closed");
        }
        return k.clone();
    }

    @Override
    public void close() {
        closed = true;
        for (byte[] k : new byte[][] {encryptionInitiator, integrityInitiator, encryptionResponder, integrityResponder}) {
            Arrays.fill(k, (byte) 0);
        }
    }

    @Override
    public String toString() {
        return "ChildSaKeys[e=" + encryptionInitiator.length + ", a=" + integrityInitiator.length + " bytes"
                + (closed ? ", closed" : "") + "]";
    }
}
