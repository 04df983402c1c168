package dev.keel.ike.crypto;

import static dev.keel.ike.crypto.TestRandom.hex;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.transform.PrfTransform;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Shared-key AUTH pinned to what charon computed in a real exchange (crypto/strongswan-psk-auth.properties). */
class StrongSwanPskAuthTest {

    @ParameterizedTest
    @ValueSource(strings = {"initiator", "responder"})
    void reproducesCharonsOctetsAndAuth(String side) throws Exception {
        Properties p = new Properties();
        try (InputStream in = getClass().getResourceAsStream("/crypto/strongswan-psk-auth.properties")) {
            assertThat(in).as("fixture").isNotNull();
            p.load(in);
        }
        Prf prf = Prf.of(PrfTransform.valueOf(p.getProperty("prf").substring("PRF_".length())));
        byte[] message = hex(p.getProperty(side + ".message"));
        // the RealMessage is a whole IKE_SA_INIT message: its header's Length field says so
        assertThat(ByteBuffer.wrap(message, 24, 4).getInt()).isEqualTo(message.length);
        byte[] octets = Auth.signedOctets(prf, message, hex(p.getProperty(side + ".peer_nonce")),
                hex(p.getProperty(side + ".sk_p")), Integer.parseInt(p.getProperty(side + ".id_type")),
                hex(p.getProperty(side + ".id_data")));
        assertThat(hex(octets)).isEqualTo(p.getProperty(side + ".octets"));
        byte[] psk = p.getProperty("psk").getBytes(StandardCharsets.US_ASCII);
        byte[] auth = hex(p.getProperty(side + ".auth"));
        assertThat(Auth.pskAuth(prf, psk, octets)).isEqualTo(auth);
        assertThat(Auth.verifyPskAuth(prf, psk, octets, auth)).isTrue();
        assertThat(Auth.verifyPskAuth(prf, "keel-interop-psk!".getBytes(StandardCharsets.US_ASCII), octets, auth)).isFalse();
    }
}
