package dev.keel.core.crypto;

import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.spec.AlgorithmParameterSpec;
import javax.crypto.Cipher;

/** JCA look-ups pinned to the JDK providers, whose intrinsics are the reason we use JCA at all. */
final class Jca {

    private Jca() {
    }

    static Cipher cipher(String transformation) {
        try {
            return Cipher.getInstance(transformation, "SunJCE");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("JDK provider lacks " + transformation, e);
        }
    }

    static MessageDigest digest(String algorithm) {
        try {
            return MessageDigest.getInstance(algorithm, "SUN");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("JDK provider lacks " + algorithm, e);
        }
    }

    /**
     * Re-initialises {@code cipher} with an all-zero key so the provider zeroizes and drops the
     * copies of the real key it holds. Best effort: failures are ignored.
     */
    static void wipe(Cipher cipher, String algorithm, int keyLength, AlgorithmParameterSpec spec) {
        RawKey zero = new RawKey(algorithm, new byte[keyLength], 0, keyLength);
        try {
            cipher.init(Cipher.ENCRYPT_MODE, zero, spec);
        } catch (GeneralSecurityException | RuntimeException ignored) {
            // nothing more the JCA lets us do
        }
    }

    /** Constant-time comparison of {@code a[aOff, aOff+len)} with {@code b[bOff, bOff+len)}. */
    static boolean equal(byte[] a, int aOff, byte[] b, int bOff, int len) {
        int diff = 0;
        for (int i = 0; i < len; i++) {
            diff |= a[aOff + i] ^ b[bOff + i];
        }
        return diff == 0;
    }
}
