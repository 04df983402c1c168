package dev.keel.ike.crypto;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;

/** AUTH payload data for shared-key authentication and the signed octets of RFC 7296 §2.15. */
public final class Auth {

    /** RFC 7296 §2.15: the 17 ASCII octets, no terminator. */
    private static final byte[] KEY_PAD = "Key Pad for IKEv2".getBytes(StandardCharsets.US_ASCII);

    private Auth() {
    }

    /**
     * The octets to sign or MAC: RealMessage | peer's NonceData | prf(SK_px, RestOfIDPayload),
     * RestOfIDPayload = ID type | three zero octets | ID data. {@code skP} is SK_pi when the
     * initiator's ID is covered, SK_pr for the responder's.
     *
     * @param realMessage the whole IKE_SA_INIT message this side sent (the initiator's first
     *     message for the initiator's AUTH, the responder's for the responder's)
     * @param peerNonce   the nonce data the other side sent
     */
    public static byte[] signedOctets(Prf prf, byte[] realMessage, byte[] peerNonce, byte[] skP, int idType, byte[] idData) {
        if (idType < 0 || idType > 255) {
            throw new IllegalArgumentException("ID type " + idType + " is not one octet");
        }
        byte[] restOfId = new byte[4 + idData.length];
        restOfId[0] = (byte) idType;
        System.arraycopy(idData, 0, restOfId, 4, idData.length);
        byte[] macedId = prf.compute(skP, restOfId);
        return KeyDerivation.concat(realMessage, peerNonce, macedId);
    }

    /** Shared-key AUTH data: prf(prf(secret, "Key Pad for IKEv2"), signedOctets) (RFC 7296 §2.15). */
    public static byte[] pskAuth(Prf prf, byte[] sharedSecret, byte[] signedOctets) {
        byte[] key = prf.compute(sharedSecret, KEY_PAD);
        try {
            return prf.compute(key, signedOctets);
        } finally {
            Arrays.fill(key, (byte) 0);
        }
    }

    /** Recomputes shared-key AUTH data and compares it with the peer's in constant time. */
    public static boolean verifyPskAuth(Prf prf, byte[] sharedSecret, byte[] signedOctets, byte[] peerAuthData) {
        if (peerAuthData == null) {
            return false;
        }
        byte[] expected = pskAuth(prf, sharedSecret, signedOctets);
        // MessageDigest.isEqual is constant-time in the contents (and length-safe) since JDK 6u17.
        return MessageDigest.isEqual(expected, peerAuthData);
    }
}
