package dev.keel.core.crypto;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.util.Locale;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;

/**
 * The private keys IKE signs with (RFC 7427), from PEM: read, checked against a certificate's
 * public key, their type checked. Messages never quote what a key file holds.
 */
public final class PemKeys {

    private static final byte[] PROBE = "keel: does this private key belong to this certificate?"
            .getBytes(StandardCharsets.US_ASCII);

    private PemKeys() {
    }

    /**
     * The private key of PEM text: PKCS#8 ("PRIVATE KEY"), PKCS#1 ("RSA PRIVATE KEY") or SEC 1
     * ("EC PRIVATE KEY"), unencrypted.
     *
     * @throws IllegalArgumentException saying what is wrong ("holds no PEM private key ..."), to be
     *     prefixed with where the text came from
     */
    public static PrivateKey privateKey(byte[] pem) {
        JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
        try (Reader r = new InputStreamReader(new ByteArrayInputStream(pem), StandardCharsets.US_ASCII);
                PEMParser parser = new PEMParser(r)) {
            for (Object o = parser.readObject(); o != null; o = parser.readObject()) {
                if (o instanceof PrivateKeyInfo info) {
                    return converter.getPrivateKey(info);
                }
                if (o instanceof PEMKeyPair pair) {
                    // The private half alone: SEC 1 makes the public key optional, and the JDK omits it.
                    return converter.getPrivateKey(pair.getPrivateKeyInfo());
                }
                if (o instanceof PEMEncryptedKeyPair || o instanceof PKCS8EncryptedPrivateKeyInfo) {
                    throw new IllegalArgumentException("holds an encrypted private key; Keel reads unencrypted PEM"
                            + " keys only (protect the file instead)");
                }
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof IllegalArgumentException known && known.getMessage().startsWith("holds ")) {
                throw known;
            }
            // Not the exception's message: a parser may quote what it failed on.
            throw new IllegalArgumentException("is not a readable PEM private key (" + e.getClass().getSimpleName()
                    + ")");
        }
        throw new IllegalArgumentException("holds no PEM private key (PKCS#8 'PRIVATE KEY', 'RSA PRIVATE KEY' or"
                + " 'EC PRIVATE KEY')");
    }

    /** Whether {@code key} is the private half of {@code publicKey}: it signs, the public key verifies. */
    public static boolean matches(PrivateKey key, PublicKey publicKey) {
        String algorithm = switch (key.getAlgorithm().toUpperCase(Locale.ROOT)) {
            case "RSA" -> "SHA256withRSA";
            case "EC", "ECDSA" -> "SHA256withECDSA";
            case "ED25519", "ED448", "EDDSA" -> "EdDSA";
            default -> null;
        };
        if (algorithm == null) {
            return false;
        }
        try {
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(PROBE);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(publicKey);
            verifier.update(PROBE);
            return verifier.verify(signature);
        } catch (GeneralSecurityException | RuntimeException e) {
            return false; // a key of another type, or a curve the other key is not on
        }
    }

    /** The key types Keel signs with (RFC 7427 schemes of ike-service). */
    public static boolean supported(PrivateKey key) {
        return switch (key.getAlgorithm().toUpperCase(Locale.ROOT)) {
            case "RSA", "EC", "ECDSA", "ED25519", "EDDSA" -> true;
            default -> false;
        };
    }
}
