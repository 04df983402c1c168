package dev.keel.ike.crypto;

import dev.keel.core.crypto.PacketCiphers;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Objects;

/**
 * Makes the two {@link SkCipher}s of an IKE SA from the negotiated suite and its keys: outbound
 * uses SK_ei/SK_ai as initiator and SK_er/SK_ar as responder, inbound the other pair
 * (RFC 7296 §2.14). The {@link SecureRandom} supplies CBC IVs and the AEAD IV counter start.
 */
public final class SkCiphers {

    /** The pair for one side; close both (closing the pair does). */
    public record Pair(SkCipher outbound, SkCipher inbound) implements AutoCloseable {
        @Override
        public void close() {
            outbound.close();
            inbound.close();
        }
    }

    private SkCiphers() {
    }

    public static Pair create(IkeSuite suite, IkeSaKeys keys, Role role, SecureRandom random) {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(random, "random");
        byte[] ei = keys.skEi();
        byte[] er = keys.skEr();
        byte[] ai = keys.skAi();
        byte[] ar = keys.skAr();
        try {
            boolean initiator = role == Role.INITIATOR;
            return new Pair(
                    create(suite, initiator ? ei : er, initiator ? ai : ar, random),
                    create(suite, initiator ? er : ei, initiator ? ar : ai, random));
        } finally {
            Arrays.fill(ei, (byte) 0);
            Arrays.fill(er, (byte) 0);
            Arrays.fill(ai, (byte) 0);
            Arrays.fill(ar, (byte) 0);
        }
    }

    /**
     * One direction's cipher from raw keys: {@code encryptionKey} includes the AEAD salt;
     * {@code integrityKey} is empty for AEAD. The keys are copied.
     */
    public static SkCipher create(IkeSuite suite, byte[] encryptionKey, byte[] integrityKey, SecureRandom random) {
        if (encryptionKey.length != suite.encryptionKeyLength()) {
            throw new IllegalArgumentException(suite.encryption() + " needs " + suite.encryptionKeyLength()
                    + " bytes of encryption key, got " + encryptionKey.length);
        }
        if (suite.encryption().isAead()) {
            return new AeadSkCipher(PacketCiphers.aead(suite.encryption().transform(), encryptionKey), random);
        }
        return new CbcSkCipher(PacketCiphers.normal(suite.encryption().transform(), encryptionKey),
                PacketCiphers.integrity(suite.integrity(), integrityKey), random);
    }
}
