package dev.keel.core.proposal;

import dev.keel.core.transform.EncryptionTransform;
import dev.keel.core.transform.EsnTransform;
import dev.keel.core.transform.IntegrityTransform;
import dev.keel.core.transform.KeyExchangeTransform;
import dev.keel.core.transform.PrfTransform;
import dev.keel.core.transform.Transform;
import dev.keel.core.transform.TransformType;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * strongSwan's proposal keywords for the transforms in Keel's registry.
 *
 * <p>The names follow strongSwan's {@code proposal_keywords_static.txt} so that a swanctl.conf
 * {@code proposals} / {@code esp_proposals} value means the same thing here. Each transform (and
 * key length) has exactly one canonical keyword, the one printed back; the others are aliases:
 * {@code aes} = {@code aes128}, {@code aesNNNgcm} = {@code aesNNNgcm16}, {@code aesNNNgcm64/96/128}
 * = {@code aesNNNgcm8/12/16}, {@code sha} = {@code sha1}, {@code sha2_NNN} = {@code shaNNN},
 * {@code modpnone} = {@code none}, {@code curve25519} = {@code x25519}, {@code curve448} =
 * {@code x448}. {@code mlkem512/768/1024} are ML-KEM (FIPS 203); every key exchange keyword also
 * comes with strongSwan 6's prefixes {@code ke1_} to {@code ke7_}, which put it under Additional
 * Key Exchange 1-7 (RFC 9370), e.g. {@code ke1_mlkem768}, {@code ke2_none}. Lookup ignores case. strongSwan keywords for algorithms Keel does not implement
 * (3des, aes-ctr/ccm, camellia, md5, aesxcbc, modp1024, ecp224bp, ...) are unknown here, as is
 * {@code chacha20poly1305compat}, which sends the Key Length attribute RFC 7296 §3.3.5 forbids
 * for fixed-key ciphers.
 */
final class ProposalKeywords {

    /**
     * What one keyword stands for; {@code keyBits} is non-zero only for variable-key ciphers,
     * {@code additional} 1-7 for strongSwan 6's {@code keN_} prefix (RFC 9370 ADDKE1-7), else 0.
     */
    record Keyword(String name, Transform transform, int keyBits, boolean canonical, int additional) {
        Keyword(String name, Transform transform, int keyBits, boolean canonical) {
            this(name, transform, keyBits, canonical, 0);
        }

        /** The transform type this keyword puts its transform under: ADDKEn for {@code keN_}. */
        TransformType type() {
            return additional == 0 ? transform.type() : TransformType.additionalKeyExchange(additional);
        }
    }

    /** The key of an ADDKE keyword's canonical name. */
    private record Additional(int n, KeyExchangeTransform transform) {
    }

    private static final Map<String, Keyword> BY_NAME = new LinkedHashMap<>();
    /** Canonical keyword per transform; encryption transforms are keyed by {@link EncryptionAlgorithm}. */
    private static final Map<Object, String> CANONICAL = new HashMap<>();

    static {
        canonical("null", EncryptionTransform.NULL, 0);
        for (int bits : new int[] {128, 192, 256}) {
            canonical("aes" + bits, EncryptionTransform.AES_CBC, bits);
        }
        alias("aes", EncryptionTransform.AES_CBC, 128);
        for (int bits : new int[] {128, 192, 256}) {
            gcm(bits, 8, EncryptionTransform.AES_GCM_8);
            gcm(bits, 12, EncryptionTransform.AES_GCM_12);
            gcm(bits, 16, EncryptionTransform.AES_GCM_16);
            // strongSwan's bare "gcm" means the 16-octet ICV, the one RFC 8221 §2 makes a MUST.
            alias("aes" + bits + "gcm", EncryptionTransform.AES_GCM_16, bits);
        }
        canonical("chacha20poly1305", EncryptionTransform.CHACHA20_POLY1305, 0);

        canonical("sha1", IntegrityTransform.HMAC_SHA1_96, 0);
        alias("sha", IntegrityTransform.HMAC_SHA1_96, 0);
        canonical("sha256", IntegrityTransform.HMAC_SHA2_256_128, 0);
        alias("sha2_256", IntegrityTransform.HMAC_SHA2_256_128, 0);
        canonical("sha384", IntegrityTransform.HMAC_SHA2_384_192, 0);
        alias("sha2_384", IntegrityTransform.HMAC_SHA2_384_192, 0);
        canonical("sha512", IntegrityTransform.HMAC_SHA2_512_256, 0);
        alias("sha2_512", IntegrityTransform.HMAC_SHA2_512_256, 0);

        canonical("prfsha1", PrfTransform.HMAC_SHA1, 0);
        canonical("prfsha256", PrfTransform.HMAC_SHA2_256, 0);
        canonical("prfsha384", PrfTransform.HMAC_SHA2_384, 0);
        canonical("prfsha512", PrfTransform.HMAC_SHA2_512, 0);

        canonical("none", KeyExchangeTransform.NONE, 0);
        alias("modpnone", KeyExchangeTransform.NONE, 0);
        canonical("modp2048", KeyExchangeTransform.MODP_2048, 0);
        canonical("modp3072", KeyExchangeTransform.MODP_3072, 0);
        canonical("modp4096", KeyExchangeTransform.MODP_4096, 0);
        canonical("modp6144", KeyExchangeTransform.MODP_6144, 0);
        canonical("modp8192", KeyExchangeTransform.MODP_8192, 0);
        canonical("ecp256", KeyExchangeTransform.ECP_256, 0);
        canonical("ecp384", KeyExchangeTransform.ECP_384, 0);
        canonical("ecp521", KeyExchangeTransform.ECP_521, 0);
        canonical("x25519", KeyExchangeTransform.CURVE25519, 0);
        alias("curve25519", KeyExchangeTransform.CURVE25519, 0);
        canonical("x448", KeyExchangeTransform.CURVE448, 0);
        alias("curve448", KeyExchangeTransform.CURVE448, 0);
        canonical("mlkem512", KeyExchangeTransform.ML_KEM_512, 0);
        canonical("mlkem768", KeyExchangeTransform.ML_KEM_768, 0);
        canonical("mlkem1024", KeyExchangeTransform.ML_KEM_1024, 0);
        // strongSwan 6: "ke1_mlkem768" puts ML-KEM-768 under ADDKE1 (RFC 9370), "ke1_none" makes it optional
        for (Keyword k : List.copyOf(BY_NAME.values())) {
            if (k.transform() instanceof KeyExchangeTransform ke) {
                for (int n = 1; n <= TransformType.ADDITIONAL_KEY_EXCHANGES; n++) {
                    String name = "ke" + n + "_" + k.name();
                    put(new Keyword(name, ke, 0, k.canonical(), n));
                    if (k.canonical() && CANONICAL.putIfAbsent(new Additional(n, ke), name) != null) {
                        throw new IllegalStateException("two canonical keywords for " + name);
                    }
                }
            }
        }

        canonical("noesn", EsnTransform.NO_ESN, 0);
        canonical("esn", EsnTransform.ESN, 0);
    }

    private ProposalKeywords() {
    }

    /** The keyword, ignoring case, or null when it is not one Keel knows. */
    static Keyword lookup(String token) {
        return BY_NAME.get(token.toLowerCase(Locale.ROOT));
    }

    /** The canonical keyword of an encryption transform at its key length. */
    static String keyword(EncryptionAlgorithm algorithm) {
        return canonicalOf(algorithm);
    }

    /** The canonical keyword of a transform without a key length. */
    static String keyword(Transform transform) {
        if (transform instanceof EncryptionTransform encr) {
            return canonicalOf(EncryptionAlgorithm.of(encr));
        }
        return canonicalOf(transform);
    }

    /** The canonical keyword of key exchange {@code transform} as Additional Key Exchange {@code n}, e.g. {@code ke1_mlkem768}. */
    static String additionalKeyword(int n, KeyExchangeTransform transform) {
        return canonicalOf(new Additional(n, transform));
    }

    /** Every keyword, canonical and alias, in table order. */
    static Map<String, Keyword> all() {
        return Collections.unmodifiableMap(BY_NAME);
    }

    private static String canonicalOf(Object key) {
        String name = CANONICAL.get(key);
        if (name == null) {
            // Only IntegrityTransform.NONE lacks one, and Proposal refuses to hold it.
            throw new IllegalArgumentException("no strongSwan keyword for " + describe(key));
        }
        return name;
    }

    // Not toString(): EncryptionAlgorithm prints itself through this class.
    private static String describe(Object key) {
        return switch (key) {
            case EncryptionAlgorithm a -> a.transform().ianaName() + "/" + a.keyBits();
            case Additional a -> "ADDKE" + a.n() + " " + a.transform().ianaName();
            default -> ((Transform) key).ianaName();
        };
    }

    private static void gcm(int keyBits, int icvBytes, EncryptionTransform transform) {
        canonical("aes" + keyBits + "gcm" + icvBytes, transform, keyBits);
        // strongSwan also accepts the ICV length in bits.
        alias("aes" + keyBits + "gcm" + icvBytes * 8, transform, keyBits);
    }

    private static void canonical(String name, Transform transform, int keyBits) {
        put(new Keyword(name, transform, keyBits, true));
        Object key = transform instanceof EncryptionTransform encr
                ? new EncryptionAlgorithm(encr, keyBits)
                : transform;
        if (CANONICAL.putIfAbsent(key, name) != null) {
            throw new IllegalStateException("two canonical keywords for " + describe(key));
        }
    }

    private static void alias(String name, Transform transform, int keyBits) {
        put(new Keyword(name, transform, keyBits, false));
    }

    private static void put(Keyword keyword) {
        if (BY_NAME.putIfAbsent(keyword.name(), keyword) != null) {
            throw new IllegalStateException("duplicate keyword " + keyword.name());
        }
    }
}
