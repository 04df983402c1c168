package dev.keel.ike.crypto;

import static dev.keel.ike.crypto.TestRandom.hex;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.transform.PrfTransform;
import java.nio.charset.StandardCharsets;
import org.bouncycastle.crypto.Digest;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.digests.SHA384Digest;
import org.bouncycastle.crypto.macs.HMac;
import org.bouncycastle.crypto.params.KeyParameter;
import org.junit.jupiter.api.Test;

/** Shared-key AUTH (RFC 7296 §2.15), recomputed independently with Bouncy Castle's HMac. */
class AuthTest {

    private static byte[] hmac(Digest d, byte[] key, byte[]... parts) {
        HMac h = new HMac(d);
        h.init(new KeyParameter(key));
        for (byte[] p : parts) {
            h.update(p, 0, p.length);
        }
        byte[] out = new byte[h.getMacSize()];
        h.doFinal(out, 0);
        return out;
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    void pskAuthMatchesAnIndependentComputation() {
        byte[] realMessage = hex("53c28f42cb50d8940000000000000000212022080000000000000100");
        byte[] peerNonce = hex("e6197b883dfecfc65c7ee25ed6e54ab11cfdc9691f65d6caecfe1c1e828e8214");
        byte[] skPi = hex("096458845d7625de2acd0e24de69ff436e49c40872ee2dd507a42f87dc0439e1");
        byte[] id = ascii("gw-a.keel.test");
        byte[] psk = ascii("keel-interop-psk");
        Prf prf = Prf.of(PrfTransform.HMAC_SHA2_256);

        byte[] octets = Auth.signedOctets(prf, realMessage, peerNonce, skPi, Certificates.ID_FQDN, id);
        byte[] restOfId = KeyDerivation.concat(new byte[] {2, 0, 0, 0}, id);
        byte[] expectedOctets = KeyDerivation.concat(realMessage, peerNonce, hmac(new SHA256Digest(), skPi, restOfId));
        assertThat(octets).isEqualTo(expectedOctets);

        byte[] expected = hmac(new SHA256Digest(), hmac(new SHA256Digest(), psk, ascii("Key Pad for IKEv2")), expectedOctets);
        byte[] auth = Auth.pskAuth(prf, psk, octets);
        assertThat(auth).isEqualTo(expected).hasSize(32);
        assertThat(Auth.verifyPskAuth(prf, psk, octets, expected)).isTrue();

        byte[] flipped = expected.clone();
        flipped[31] ^= 1;
        assertThat(Auth.verifyPskAuth(prf, psk, octets, flipped)).isFalse();
        assertThat(Auth.verifyPskAuth(prf, psk, octets, new byte[31])).isFalse();
        assertThat(Auth.verifyPskAuth(prf, psk, octets, null)).isFalse();
        assertThat(Auth.verifyPskAuth(prf, ascii("other"), octets, expected)).isFalse();
    }

    @Test
    void keyPadIsTheSeventeenAsciiOctets() {
        Prf prf = Prf.of(PrfTransform.HMAC_SHA2_384);
        byte[] psk = ascii("secret");
        byte[] octets = ascii("octets");
        byte[] key = hmac(new SHA384Digest(), psk, hex("4b65792050616420666f7220494b457632")); // "Key Pad for IKEv2"
        assertThat(Auth.pskAuth(prf, psk, octets)).isEqualTo(hmac(new SHA384Digest(), key, octets));
    }
}
