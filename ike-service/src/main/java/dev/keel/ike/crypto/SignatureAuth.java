package dev.keel.ike.crypto;

import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.util.Arrays;

/**
 * Digital Signature authentication (RFC 7427 §3, auth method 14): AUTH data = length octet |
 * DER AlgorithmIdentifier | signature over the signed octets of RFC 7296 §2.15.
 */
public final class SignatureAuth {

    /** IKEv2 Authentication Method "Digital Signature" (RFC 7427 §7). */
    public static final int AUTH_METHOD_DIGITAL_SIGNATURE = 14;

    private SignatureAuth() {
    }

    /** The AUTH data for {@code signedOctets} signed with {@code key} under {@code scheme}. */
    public static byte[] sign(SignatureScheme scheme, PrivateKey key, byte[] signedOctets) {
        try {
            Signature s = Signature.getInstance(scheme.jcaName());
            if (scheme.parameterSpec() != null) {
                s.setParameter(scheme.parameterSpec());
            }
            s.initSign(key);
            s.update(signedOctets);
            return KeyDerivation.concat(scheme.authPrefix(), s.sign());
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException(scheme + " cannot sign with a " + key.getAlgorithm() + " key", e);
        }
    }

    /** Result of checking a peer's Digital Signature AUTH data. */
    public enum Verdict {
        VALID,
        /** The AUTH data is too short or its length octet runs past the end. */
        MALFORMED,
        /** The AlgorithmIdentifier is not one Keel takes, or does not fit the certificate's key. */
        UNSUPPORTED_ALGORITHM,
        /** The signature does not verify. */
        BAD_SIGNATURE
    }

    /** The scheme AUTH data names in its AlgorithmIdentifier (RFC 7427 §3), or null when malformed or unknown. */
    public static SignatureScheme scheme(byte[] authData) {
        if (authData == null || authData.length < 2) {
            return null;
        }
        int idLength = authData[0] & 0xff;
        if (idLength == 0 || 1 + idLength >= authData.length) {
            return null;
        }
        return SignatureScheme.fromAlgorithmIdentifier(Arrays.copyOfRange(authData, 1, 1 + idLength));
    }

    /**
     * Checks the peer's AUTH data against the peer certificate's public key. Never throws on
     * hostile input.
     */
    public static Verdict verify(PublicKey peerKey, byte[] authData, byte[] signedOctets) {
        if (authData == null || authData.length < 2) {
            return Verdict.MALFORMED;
        }
        int idLength = authData[0] & 0xff;
        if (idLength == 0 || 1 + idLength >= authData.length) {
            return Verdict.MALFORMED;
        }
        SignatureScheme scheme = scheme(authData);
        if (scheme == null || !scheme.fits(peerKey)) {
            return Verdict.UNSUPPORTED_ALGORITHM;
        }
        try {
            Signature s = Signature.getInstance(scheme.jcaName());
            if (scheme.parameterSpec() != null) {
                s.setParameter(scheme.parameterSpec());
            }
            s.initVerify(peerKey);
            s.update(signedOctets);
            return s.verify(authData, 1 + idLength, authData.length - 1 - idLength) ? Verdict.VALID : Verdict.BAD_SIGNATURE;
        } catch (GeneralSecurityException | RuntimeException e) {
            return Verdict.BAD_SIGNATURE;
        }
    }
}
