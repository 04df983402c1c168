package dev.keel.ike.crypto;

import static dev.keel.ike.crypto.TestRandom.hex;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.proposal.Proposal;
import dev.keel.core.proposal.Protocol;
import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Reproduces the key chain charon logged in real strongSwan exchanges (fixtures in
 * src/test/resources/strongswan/keychain-*.properties): SKEYSEED, the seven SK_* keys and the
 * CHILD SA keys from the SPIs, nonces and g^ir.
 */
class StrongSwanKeyChainTest {

    static List<Path> keychains() throws IOException, URISyntaxException {
        URL dir = StrongSwanKeyChainTest.class.getResource("/strongswan");
        assertThat(dir).as("classpath directory strongswan/").isNotNull();
        try (Stream<Path> files = Files.list(Path.of(dir.toURI()))) {
            List<Path> found = files.filter(p -> p.getFileName().toString().matches("keychain-.*\\.properties"))
                    .sorted().toList();
            assertThat(found).as("strongswan/keychain-*.properties fixtures").isNotEmpty();
            return found;
        }
    }

    @ParameterizedTest
    @MethodSource("keychains")
    void derivationReproducesCharonsKeys(Path file) throws Exception {
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(file)) {
            p.load(in);
        }
        IkeSuite ike = IkeSuite.from(Proposal.parse(Protocol.IKE, p.getProperty("proposal")).effective());
        IkeSuite esp = IkeSuite.from(Proposal.parse(Protocol.ESP, p.getProperty("esp_proposal")).effective());
        byte[] ni = hex(p.getProperty("ni"));
        byte[] nr = hex(p.getProperty("nr"));
        try (IkeSaKeys k = KeyDerivation.ikeSa(ike, ni, nr, hex(p.getProperty("g_ir")),
                hex(p.getProperty("spi_i")), hex(p.getProperty("spi_r")))) {
            assertThat(hex(k.skeyseed())).isEqualTo(p.getProperty("skeyseed"));
            assertThat(hex(k.skD())).isEqualTo(p.getProperty("sk_d"));
            assertThat(hex(k.skAi())).isEqualTo(p.getProperty("sk_ai"));
            assertThat(hex(k.skAr())).isEqualTo(p.getProperty("sk_ar"));
            assertThat(hex(k.skEi())).isEqualTo(p.getProperty("sk_ei"));
            assertThat(hex(k.skEr())).isEqualTo(p.getProperty("sk_er"));
            assertThat(hex(k.skPi())).isEqualTo(p.getProperty("sk_pi"));
            assertThat(hex(k.skPr())).isEqualTo(p.getProperty("sk_pr"));
            try (ChildSaKeys c = KeyDerivation.childSa(ike.prf(), k.skD(), esp, null, ni, nr)) {
                assertThat(hex(c.encryptionInitiator())).isEqualTo(p.getProperty("child_ei"));
                assertThat(hex(c.integrityInitiator())).isEqualTo(p.getProperty("child_ai"));
                assertThat(hex(c.encryptionResponder())).isEqualTo(p.getProperty("child_er"));
                assertThat(hex(c.integrityResponder())).isEqualTo(p.getProperty("child_ar"));
            }
        }
    }
}
