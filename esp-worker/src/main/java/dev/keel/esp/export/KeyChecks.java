package dev.keel.esp.export;

import dev.keel.core.transform.EncryptionTransform;
import dev.keel.core.transform.IntegrityTransform;
import java.util.Objects;

/** Length and pairing checks shared by the two key records. Messages never carry key bytes. */
final class KeyChecks {

    private KeyChecks() {
    }

    /** Checks that {@code key} is a cipher key of an accepted length followed by the salt. */
    static void encryptionKey(EncryptionTransform t, byte[] key, String what) {
        Objects.requireNonNull(t, "encryption");
        Objects.requireNonNull(key, what);
        int cipherKey = key.length - t.saltLength();
        if (cipherKey < 0 || !t.acceptsKeyLength(cipherKey)) {
            throw new IllegalArgumentException(what + " is " + key.length + " bytes, not a valid "
                    + t.ianaName() + " key" + (t.saltLength() > 0
                            ? " plus " + t.saltLength() + " bytes of salt" : ""));
        }
    }

    /** Checks that {@code key} is as long as the integrity transform's key (empty for NONE). */
    static void integrityKey(IntegrityTransform t, byte[] key, String what) {
        Objects.requireNonNull(t, "integrity");
        Objects.requireNonNull(key, what);
        if (key.length != t.keyLength()) {
            throw new IllegalArgumentException(what + " is " + key.length + " bytes, "
                    + t.ianaName() + " takes " + t.keyLength());
        }
    }

    /** A combined-mode cipher carries its own ICV, so it pairs with NONE and only with NONE. */
    static void pairing(EncryptionTransform e, IntegrityTransform i, boolean integrityRequired) {
        if (e.isAead() && i != IntegrityTransform.NONE) {
            throw new IllegalArgumentException(e.ianaName() + " is combined-mode; integrity must be NONE, not "
                    + i.ianaName());
        }
        if (!e.isAead() && i == IntegrityTransform.NONE
                && (integrityRequired || e == EncryptionTransform.NULL)) {
            throw new IllegalArgumentException(e.ianaName() + " needs an integrity transform");
        }
    }
}
