package dev.keel.ike.crypto;

import dev.keel.core.transform.KeyExchangeTransform;
import java.security.SecureRandom;
import org.bouncycastle.crypto.AsymmetricCipherKeyPair;
import org.bouncycastle.crypto.SecretWithEncapsulation;
import org.bouncycastle.crypto.generators.MLKEMKeyPairGenerator;
import org.bouncycastle.crypto.kems.MLKEMExtractor;
import org.bouncycastle.crypto.kems.MLKEMGenerator;
import org.bouncycastle.crypto.params.MLKEMKeyGenerationParameters;
import org.bouncycastle.crypto.params.MLKEMParameters;
import org.bouncycastle.crypto.params.MLKEMPrivateKeyParameters;
import org.bouncycastle.crypto.params.MLKEMPublicKeyParameters;

/**
 * ML-KEM-512/768/1024 (FIPS 203) as an IKEv2 key exchange (draft-ietf-ipsecme-ikev2-mlkem): the
 * initiator's KE data is its encapsulation key ek, the responder's the ciphertext c, the shared
 * secret the 32-byte K. On Bouncy Castle's lightweight ML-KEM; this class only maps IKE roles.
 */
final class MlKemKeyExchange implements KeyExchange {

    private final KeyExchangeTransform transform;
    private final MLKEMPrivateKeyParameters privateKey;
    private final byte[] publicValue;
    private boolean closed;

    private MlKemKeyExchange(KeyExchangeTransform transform, AsymmetricCipherKeyPair pair) {
        this.transform = transform;
        this.privateKey = (MLKEMPrivateKeyParameters) pair.getPrivate();
        this.publicValue = ((MLKEMPublicKeyParameters) pair.getPublic()).getEncoded();
    }

    /** ML-KEM.KeyGen (FIPS 203 §7.1) with seeds d and z from {@code random}. */
    static MlKemKeyExchange generate(KeyExchangeTransform transform, SecureRandom random) {
        MLKEMKeyPairGenerator generator = new MLKEMKeyPairGenerator();
        generator.init(new MLKEMKeyGenerationParameters(random, parameters(transform)));
        return new MlKemKeyExchange(transform, generator.generateKeyPair());
    }

    /**
     * ML-KEM.Encaps (FIPS 203 §7.2) to the initiator's {@code ek}, after the input checks §7.2
     * requires: the length, and every coefficient of ek below q (the modulus check).
     */
    static Response encapsulate(KeyExchangeTransform transform, byte[] ek, SecureRandom random)
            throws InvalidKeyExchangeException {
        MLKEMParameters params = parameters(transform);
        PeerValue.check(false, transform, "encapsulation key", ek, transform.publicValueLength());
        if (!modulusCheck(ek)) {
            throw new InvalidKeyExchangeException(InvalidKeyExchangeException.Reason.INVALID_PUBLIC_VALUE,
                    transform.ianaName() + ": encapsulation key fails the FIPS 203 modulus check");
        }
        SecretWithEncapsulation sw = new MLKEMGenerator(random).generateEncapsulated(
                new MLKEMPublicKeyParameters(params, ek));
        try {
            return new Response(sw.getEncapsulation(), sw.getSecret());
        } finally {
            try {
                sw.destroy();
            } catch (javax.security.auth.DestroyFailedException e) {
                // the secret is ours now; BC's copy is left to the collector
            }
        }
    }

    /**
     * FIPS 203 §7.2 "modulus check": ek's 384k bytes of t encode 256k 12-bit coefficients, each
     * of which must be below q = 3329 (ByteEncode12(ByteDecode12(t)) == t); the last 32 bytes are rho.
     */
    static boolean modulusCheck(byte[] ek) {
        int tLength = ek.length - 32;
        for (int i = 0; i < tLength; i += 3) { // 384k bytes: a multiple of 3
            int b0 = ek[i] & 0xFF;
            int b1 = ek[i + 1] & 0xFF;
            int b2 = ek[i + 2] & 0xFF;
            int c0 = b0 | (b1 & 0x0F) << 8;
            int c1 = b1 >>> 4 | b2 << 4;
            if (c0 >= 3329 || c1 >= 3329) {
                return false;
            }
        }
        return true;
    }

    static MLKEMParameters parameters(KeyExchangeTransform transform) {
        return switch (transform) {
            case ML_KEM_512 -> MLKEMParameters.ml_kem_512;
            case ML_KEM_768 -> MLKEMParameters.ml_kem_768;
            case ML_KEM_1024 -> MLKEMParameters.ml_kem_1024;
            default -> throw new IllegalArgumentException(transform.ianaName() + " is not ML-KEM");
        };
    }

    @Override
    public KeyExchangeTransform transform() {
        return transform;
    }

    @Override
    public byte[] publicValue() {
        return publicValue.clone();
    }

    /**
     * ML-KEM.Decaps (FIPS 203 §7.3) of the responder's ciphertext. Its only input check is the
     * length (§7.3); a tampered ciphertext yields the implicit-rejection key, which then fails
     * the AUTH of the exchange, not here.
     */
    @Override
    public byte[] sharedSecret(byte[] ciphertext) throws InvalidKeyExchangeException {
        PeerValue.check(closed, transform, "ciphertext", ciphertext, transform.responseLength());
        return new MLKEMExtractor(privateKey).extractSecret(ciphertext);
    }

    @Override
    public void close() {
        closed = true;
        privateKey.destroy();
    }
}
