package dev.keel.ike.crypto;

import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.SplittableRandom;

/** A deterministic SecureRandom for tests (seeded SplittableRandom), and hex helpers. */
final class TestRandom extends SecureRandom {

    private final SplittableRandom random;

    TestRandom(long seed) {
        this.random = new SplittableRandom(seed);
    }

    @Override
    public void nextBytes(byte[] bytes) {
        random.nextBytes(bytes);
    }

    static byte[] hex(String s) {
        return HexFormat.of().parseHex(s.replaceAll("\\s+", ""));
    }

    static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }
}
