package dev.keel.bench;

import dev.keel.core.sa.IpsecMode;
import dev.keel.core.transform.EncryptionTransform;
import dev.keel.core.transform.IntegrityTransform;
import dev.keel.esp.sa.EspSaSpec;
import java.util.Random;

/**
 * Every ESP suite Keel offers, with deterministic keys (a copy of esp-worker's test
 * {@code Suites}: bench cannot see test classes). The names are the JMH {@code suite} parameter.
 */
public enum EspBenchSuite {
    AES128_GCM16(EncryptionTransform.AES_GCM_16, 16, IntegrityTransform.NONE),
    AES256_GCM16(EncryptionTransform.AES_GCM_16, 32, IntegrityTransform.NONE),
    CHACHA20_POLY1305(EncryptionTransform.CHACHA20_POLY1305, 32, IntegrityTransform.NONE),
    AES128_CBC_SHA256(EncryptionTransform.AES_CBC, 16, IntegrityTransform.HMAC_SHA2_256_128),
    AES256_CBC_SHA256(EncryptionTransform.AES_CBC, 32, IntegrityTransform.HMAC_SHA2_256_128),
    AES256_CBC_SHA384(EncryptionTransform.AES_CBC, 32, IntegrityTransform.HMAC_SHA2_384_192),
    AES256_CBC_SHA512(EncryptionTransform.AES_CBC, 32, IntegrityTransform.HMAC_SHA2_512_256),
    NULL_SHA256(EncryptionTransform.NULL, 0, IntegrityTransform.HMAC_SHA2_256_128);

    /** The SPI every benchmark SA uses (outbound and inbound are the same SA, as on a peer). */
    public static final int SPI = 0x0c0ffee1;

    private final EncryptionTransform encryption;
    private final int keyLength;
    private final IntegrityTransform integrity;

    EspBenchSuite(EncryptionTransform encryption, int keyLength, IntegrityTransform integrity) {
        this.encryption = encryption;
        this.keyLength = keyLength;
        this.integrity = integrity;
    }

    /**
     * A tunnel-mode SA spec with this suite's keys.
     *
     * @param esn extended sequence numbers (RFC 4303 §2.2.1)
     * @param replayWindowSize 0 disables anti-replay
     */
    public EspSaSpec spec(boolean esn, int replayWindowSize) {
        byte[] encKey = bytes(keyLength + encryption.saltLength(), SPI);
        byte[] intKey = integrity == IntegrityTransform.NONE ? null : bytes(integrity.keyLength(), SPI + 1L);
        return new EspSaSpec(SPI, IpsecMode.TUNNEL, encryption, encKey, integrity, intKey, esn, replayWindowSize,
                0, false);
    }

    private static byte[] bytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }
}
