package dev.keel.core.crypto;

import dev.keel.core.transform.EncryptionTransform;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Locale;

/**
 * Which implementation runs the combined-mode ciphers (AES-GCM, ChaCha20-Poly1305) that
 * {@link PacketCiphers#aead} makes.
 *
 * <p>Chosen once per JVM by the system property {@value #PROPERTY}: {@code auto} (the default)
 * takes OpenSSL when {@code libcrypto.so.3} loads and passes a start-up self-test against
 * published vectors, else the JCA; {@code openssl} insists on OpenSSL (an AEAD request fails,
 * naming the reason, when it is unavailable); {@code jca} forces the JDK providers. The choice
 * and its reason are logged once.
 */
public enum AeadEngine {

    /** OpenSSL 3's EVP AEADs through the foreign-function API: no allocation per packet. */
    OPENSSL,
    /** SunJCE (Bouncy Castle for ENCR_AES_GCM_8): allocates a cipher engine per packet. */
    JCA;

    /** The system property that forces an engine: {@code auto}, {@code openssl} or {@code jca}. */
    public static final String PROPERTY = "keel.crypto.engine";

    /** The engine {@link PacketCiphers#aead} uses in this JVM. */
    public static AeadEngine selected() {
        Selection s = Selection.INSTANCE;
        if (s.engine == null) {
            throw new IllegalStateException(PROPERTY + "=openssl but " + s.reason);
        }
        return s.engine;
    }

    /** Why {@link #selected()} is what it is (for logs and skipped tests). */
    public static String selectionReason() {
        return Selection.INSTANCE.reason;
    }

    /** True when OpenSSL loaded and passed the self-test, whatever was selected. */
    public static boolean openSslUsable() {
        return Selection.INSTANCE.openSslFailure == null;
    }

    /** Made once, on first use. */
    private static final class Selection {
        static final Selection INSTANCE = new Selection();
        /** Null when OpenSSL is forced but unusable. */
        final AeadEngine engine;
        final String reason;
        final String openSslFailure;

        private Selection() {
            String wanted = System.getProperty(PROPERTY, "auto").trim().toLowerCase(Locale.ROOT);
            String failure = OpenSsl.unavailableReason();
            if (failure == null) {
                failure = selfTest();
            }
            openSslFailure = failure;
            switch (wanted) {
                case "jca" -> {
                    engine = JCA;
                    reason = PROPERTY + "=jca";
                }
                case "openssl" -> {
                    engine = failure == null ? OPENSSL : null;
                    reason = failure == null ? PROPERTY + "=openssl; libcrypto self-test passed"
                            : "OpenSSL is unusable: " + failure;
                }
                default -> {
                    engine = failure == null ? OPENSSL : JCA;
                    String prefix = "auto".equals(wanted) ? PROPERTY + "=auto"
                            : PROPERTY + "='" + wanted + "' is not auto|openssl|jca, so auto";
                    reason = failure == null ? prefix + ": libcrypto " + "loaded and passed the self-test"
                            : prefix + ": OpenSSL unusable (" + failure + "), falling back to the JCA";
                }
            }
            System.getLogger(AeadEngine.class.getName()).log(engine == null
                    ? System.Logger.Level.ERROR : System.Logger.Level.INFO,
                    "AEAD engine " + (engine == null ? "none" : engine.name()) + ": " + reason);
        }
    }

    private static final HexFormat HEX = HexFormat.of();

    /**
     * Seals and opens one published vector per algorithm and checks that a forged tag is
     * refused: McGrew &amp; Viega GCM spec Appendix B Test Case 4 (AES-128, 20-byte AAD) and
     * RFC 7634 Appendix B (ChaCha20-Poly1305). Null when all pass, else what failed.
     */
    static String selfTest() {
        try {
            String gcm = check(EncryptionTransform.AES_GCM_16,
                    "feffe9928665731c6d6a8f9467308308" + "cafebabe", "facedbaddecaf888",
                    "feedfacedeadbeeffeedfacedeadbeefabaddad2",
                    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
                            + "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
                    "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
                            + "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091"
                            + "5bc94fbc3221a5db94fae95ae7121a47");
            if (gcm != null) {
                return gcm;
            }
            return check(EncryptionTransform.CHACHA20_POLY1305,
                    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f" + "a0a1a2a3",
                    "1011121314151617", "c0c1c2c3c4c5c6c7d0d1d2d3d4d5d6d72e202500000000090000004529000029",
                    "0000000c000040010000000a00", "610394701f8d017f7c12924889" + "6b71bfe25236efd7cdc67066906315b2");
        } catch (RuntimeException | LinkageError e) {
            return "self-test threw " + e.getClass().getSimpleName() + ": " + e.getMessage();
        }
    }

    private static String check(EncryptionTransform t, String keyAndSalt, String iv, String aad, String plain,
            String sealed) {
        byte[] a = HEX.parseHex(aad);
        byte[] v = HEX.parseHex(iv);
        byte[] p = HEX.parseHex(plain);
        byte[] expected = HEX.parseHex(sealed);
        byte[] buf = Arrays.copyOf(p, expected.length);
        try (AeadCipher c = new OpenSslAead(t, HEX.parseHex(keyAndSalt))) {
            if (c.seal(a, a.length, v, 0, buf, 0, p.length) != expected.length || !Arrays.equals(buf, expected)) {
                return "self-test: " + t.ianaName() + " seal does not match the published vector";
            }
            if (c.open(a, a.length, v, 0, buf, 0, buf.length) != p.length || !Arrays.equals(p, 0, p.length, buf, 0,
                    p.length)) {
                return "self-test: " + t.ianaName() + " open does not recover the published plaintext";
            }
            System.arraycopy(expected, 0, buf, 0, expected.length);
            buf[buf.length - 1] ^= 1;
            if (c.open(a, a.length, v, 0, buf, 0, buf.length) != -1) {
                return "self-test: " + t.ianaName() + " open accepted a forged tag";
            }
        }
        return null;
    }
}
