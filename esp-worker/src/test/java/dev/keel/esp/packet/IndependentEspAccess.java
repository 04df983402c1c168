package dev.keel.esp.packet;

import dev.keel.core.transform.EncryptionTransform;
import dev.keel.core.transform.IntegrityTransform;

/** Opens {@link IndependentEsp} (Bouncy Castle, no Keel ESP code) to tests in other packages. */
public final class IndependentEspAccess {

    private IndependentEspAccess() {
    }

    /** The decrypted payload + trailer of an ESP packet, or null when its ICV does not verify. */
    public static byte[] open(byte[] esp, long seq, boolean esn, EncryptionTransform encr, byte[] encrKey,
            IntegrityTransform integ, byte[] integKey) {
        return IndependentEsp.open(esp, seq, esn, encr, encrKey, integ, integKey);
    }
}
