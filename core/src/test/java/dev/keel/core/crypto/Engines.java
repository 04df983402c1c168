package dev.keel.core.crypto;

import static org.junit.jupiter.api.Assertions.fail;

import dev.keel.core.transform.EncryptionTransform;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * Both AEAD engines for parameterized tests. OpenSSL cases skip with the reason when libcrypto is
 * unusable here, and fail instead when {@code KEEL_REQUIRE_SYSTEM_TESTS=1} (CI has libcrypto), as
 * esp-worker's SystemTests guards do.
 */
final class Engines {

    static final String REQUIRE_ENV = "KEEL_REQUIRE_SYSTEM_TESTS";

    private Engines() {
    }

    static Stream<AeadEngine> all() {
        return Stream.of(AeadEngine.values());
    }

    /** Skips (or fails, in CI) unless {@code engine} can run here. */
    static void assumeUsable(AeadEngine engine) {
        if (engine == AeadEngine.OPENSSL && !AeadEngine.openSslUsable()) {
            String reason = "OpenSSL AEAD engine unusable: " + AeadEngine.selectionReason();
            if ("1".equals(System.getenv(REQUIRE_ENV))) {
                fail(reason + " and " + REQUIRE_ENV + "=1 forbids skipping");
            }
            Assumptions.abort("skipped: " + reason + " (set " + REQUIRE_ENV + "=1 to fail instead)");
        }
    }

    /** A cipher on {@code engine}, after {@link #assumeUsable}. */
    static AeadCipher aead(AeadEngine engine, EncryptionTransform t, byte[] keyAndSalt) {
        assumeUsable(engine);
        return PacketCiphers.aead(t, keyAndSalt, engine);
    }
}
