package dev.keel.esp.packet;

import dev.keel.core.sa.IpsecMode;
import dev.keel.core.transform.EncryptionTransform;
import dev.keel.core.transform.IntegrityTransform;
import dev.keel.esp.sa.EspSaSpec;
import java.util.List;
import java.util.Random;

/** Every ESP suite Keel offers, with deterministic test keys (also used by bench/ through the test jar). */
public enum Suites {
    AES128_GCM16(EncryptionTransform.AES_GCM_16, 16, IntegrityTransform.NONE),
    AES256_GCM16(EncryptionTransform.AES_GCM_16, 32, IntegrityTransform.NONE),
    CHACHA20_POLY1305(EncryptionTransform.CHACHA20_POLY1305, 32, IntegrityTransform.NONE),
    AES128_CBC_SHA256(EncryptionTransform.AES_CBC, 16, IntegrityTransform.HMAC_SHA2_256_128),
    AES256_CBC_SHA256(EncryptionTransform.AES_CBC, 32, IntegrityTransform.HMAC_SHA2_256_128),
    AES256_CBC_SHA384(EncryptionTransform.AES_CBC, 32, IntegrityTransform.HMAC_SHA2_384_192),
    AES256_CBC_SHA512(EncryptionTransform.AES_CBC, 32, IntegrityTransform.HMAC_SHA2_512_256),
    NULL_SHA256(EncryptionTransform.NULL, 0, IntegrityTransform.HMAC_SHA2_256_128);

    public final EncryptionTransform encryption;
    public final int keyLength;
    public final IntegrityTransform integrity;

    Suites(EncryptionTransform encryption, int keyLength, IntegrityTransform integrity) {
        this.encryption = encryption;
        this.keyLength = keyLength;
        this.integrity = integrity;
    }

    /** Cipher key + salt, deterministic per (suite, seed). */
    public byte[] encryptionKey(long seed) {
        return bytes(keyLength + encryption.saltLength(), seed);
    }

    public byte[] integrityKey(long seed) {
        return integrity == IntegrityTransform.NONE ? null : bytes(integrity.keyLength(), seed + 1);
    }

    public EspSaSpec spec(int spi, IpsecMode mode, boolean esn) {
        return spec(spi, mode, esn, 0);
    }

    public EspSaSpec spec(int spi, IpsecMode mode, boolean esn, int tfcPadTo) {
        return spec(spi, mode, esn, tfcPadTo, 128);
    }

    /** As {@link #spec(int, IpsecMode, boolean, int)} with a replay window of the given size (0 = off). */
    public EspSaSpec spec(int spi, IpsecMode mode, boolean esn, int tfcPadTo, int replayWindowSize) {
        return new EspSaSpec(spi, mode, encryption, encryptionKey(spi), integrity, integrityKey(spi), esn,
                replayWindowSize, tfcPadTo, false);
    }

    public static List<Suites> all() {
        return List.of(values());
    }

    static byte[] bytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }
}
