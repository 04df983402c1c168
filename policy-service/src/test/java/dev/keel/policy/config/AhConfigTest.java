package dev.keel.policy.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.config.ConfigProblem;
import dev.keel.core.proposal.Protocol;
import dev.keel.core.transform.IntegrityTransform;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** {@code ah_proposals} per child: read as AH proposals, and the mistakes it allows named by key path. */
class AhConfigTest {

    private final ConfigLoader loader = new ConfigLoader(ConfigLoaderTest.ENV::get);

    /** GOOD with child net's esp_proposals line replaced by {@code childKeys}, each at that line's indentation. */
    private static String withChild(String childKeys) {
        String line = "        esp_proposals: aes256gcm16\n";
        assertThat(ConfigLoaderTest.GOOD).contains(line);
        return ConfigLoaderTest.GOOD.replace(line,
                childKeys.lines().map(k -> "        " + k.strip() + "\n").collect(Collectors.joining()));
    }

    @Test
    void ahProposalsMakeAnAhChild() {
        ConfigResult r = loader.loadText("keel.yaml", withChild("""
                    ah_proposals: sha256-modp2048, sha512
                """));
        assertThat(r).as(r.toString()).isInstanceOf(ConfigResult.Valid.class);
        ChildConfig net = ((ConfigResult.Valid) r).config().connectionList().getFirst().children().stream()
                .filter(c -> c.name().equals("net")).findFirst().orElseThrow();
        assertThat(net.protocol()).isEqualTo(Protocol.AH);
        assertThat(net.espProposals()).hasSize(2).allMatch(p -> p.protocol() == Protocol.AH);
        assertThat(net.espProposals().getFirst().integrityAlgorithms()).containsExactly(IntegrityTransform.HMAC_SHA2_256_128);
        assertThat(net.espProposals().getFirst().encryptionAlgorithms()).isEmpty();
    }

    @Test
    void bothEspAndAhIsAnErrorNamingTheKey() {
        List<ConfigProblem> ps = problems(withChild("""
                    esp_proposals: aes256gcm16
                    ah_proposals: sha256
                """));
        assertThat(ps).hasSize(1);
        assertThat(ps.getFirst().path()).isEqualTo("connections.site-b.children.net.ah_proposals");
        assertThat(ps.getFirst().message()).contains("not both");
    }

    @Test
    void anEncryptionAlgorithmInAnAhProposalIsNamed() {
        List<ConfigProblem> ps = problems(withChild("""
                    ah_proposals: aes128-sha256
                """));
        assertThat(ps).hasSize(1);
        assertThat(ps.getFirst().path()).isEqualTo("connections.site-b.children.net.ah_proposals[0]");
        assertThat(ps.getFirst().message()).contains("no encryption");
    }

    @Test
    void ahWithForcedEncapsulationIsAnError() {
        List<ConfigProblem> ps = problems(withChild("""
                    ah_proposals: sha256
                """).replace("dpd_delay: 30s", "dpd_delay: 30s\n    encap: yes"));
        assertThat(ps).hasSize(1);
        assertThat(ps.getFirst().path()).isEqualTo("connections.site-b.children.net.ah_proposals");
        assertThat(ps.getFirst().message()).contains("UDP-encapsulated");
    }

    private List<ConfigProblem> problems(String yaml) {
        ConfigResult r = loader.loadText("keel.yaml", yaml);
        assertThat(r).as(r.toString()).isInstanceOf(ConfigResult.Invalid.class);
        return ((ConfigResult.Invalid) r).problems();
    }
}
