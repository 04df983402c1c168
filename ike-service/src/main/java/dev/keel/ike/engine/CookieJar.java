package dev.keel.ike.engine;

import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Stateless responder cookies (RFC 7296 §2.6): {@code Cookie = VersionIDofSecret |
 * HMAC-SHA-256(secret, Ni | IPi | SPIi)}. The responder demands one when its half-open IKE SAs
 * pass a threshold, so a flood from spoofed addresses costs it no state.
 *
 * <p>The secret is replaced every {@link #rotate()} (the engine calls it on a timer); cookies
 * made under the previous secret stay valid until the next rotation, so a client that got a
 * cookie just before a rotation is not turned away. Thread-safe.
 */
public final class CookieJar {

    private static final int VERSION_LENGTH = 4;

    private final SecureRandom random;
    private Secret current;
    private Secret previous;

    private record Secret(int version, byte[] key) {
    }

    /** A jar with a fresh random secret. */
    public CookieJar(SecureRandom random) {
        this.random = random;
        this.current = newSecret(random.nextInt());
    }

    /** Starts a new secret; the one before stays valid until the next rotation. */
    public synchronized void rotate() {
        if (previous != null) {
            Arrays.fill(previous.key, (byte) 0);
        }
        previous = current;
        current = newSecret(current.version + 1);
    }

    /** The cookie for this initiator's first IKE_SA_INIT. */
    public synchronized byte[] make(byte[] ni, byte[] initiatorAddress, long spiI) {
        return cookie(current, ni, initiatorAddress, spiI);
    }

    /** True when {@code cookie} is one this jar made for these values under a live secret. */
    public boolean verify(byte[] cookie, byte[] ni, byte[] initiatorAddress, long spiI) {
        if (cookie == null || cookie.length != VERSION_LENGTH + 32) {
            return false;
        }
        int version = ByteBuffer.wrap(cookie, 0, VERSION_LENGTH).getInt();
        Secret secret;
        synchronized (this) {
            secret = version == current.version ? current
                    : previous != null && version == previous.version ? previous : null;
        }
        return secret != null && MessageDigest.isEqual(cookie, cookie(secret, ni, initiatorAddress, spiI));
    }

    private Secret newSecret(int version) {
        byte[] key = new byte[32];
        random.nextBytes(key);
        return new Secret(version, key);
    }

    private static byte[] cookie(Secret secret, byte[] ni, byte[] initiatorAddress, long spiI) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret.key, "HmacSHA256"));
            mac.update(ni);
            mac.update(initiatorAddress);
            mac.update(ByteBuffer.allocate(8).putLong(spiI).array());
            return ByteBuffer.allocate(VERSION_LENGTH + 32).putInt(secret.version).put(mac.doFinal()).array();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is a required JCA algorithm", e);
        }
    }
}
