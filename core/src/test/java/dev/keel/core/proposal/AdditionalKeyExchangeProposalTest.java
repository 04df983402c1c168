package dev.keel.core.proposal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.core.transform.KeyExchangeTransform;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** RFC 9370 Additional Key Exchanges in strongSwan 6's proposal syntax, and their selection (§2.2.1). */
class AdditionalKeyExchangeProposalTest {

    private static Proposal ike(String text) throws ProposalSyntaxException {
        return Proposal.parse(Protocol.IKE, text);
    }

    private static Proposal numbered(String text, int number) throws ProposalSyntaxException {
        return ike(text).effective().withNumber(number);
    }

    @Test
    void parsesAndPrintsStrongSwan6Syntax() throws ProposalSyntaxException {
        Proposal p = ike("aes256gcm16-prfsha384-x25519-ke1_mlkem768-ke2_mlkem1024");

        assertThat(p.keyExchangeMethods()).containsExactly(KeyExchangeTransform.CURVE25519);
        assertThat(p.additionalKeyExchanges(1)).containsExactly(KeyExchangeTransform.ML_KEM_768);
        assertThat(p.additionalKeyExchanges(2)).containsExactly(KeyExchangeTransform.ML_KEM_1024);
        assertThat(p.additionalKeyExchanges(3)).isEmpty();
        assertThat(p.toString()).isEqualTo("aes256gcm16-prfsha384-x25519-ke1_mlkem768-ke2_mlkem1024");
        assertThat(ike(p.toString())).isEqualTo(p);
        // order within the string does not matter, each type keeps its own preference order
        assertThat(ike("ke1_mlkem768-aes256gcm16-ke1_mlkem512-prfsha384-x25519").toString())
                .isEqualTo("aes256gcm16-prfsha384-x25519-ke1_mlkem768-ke1_mlkem512");
    }

    @Test
    void refusesWhatMakesNoSense() {
        assertThatThrownBy(() -> ike("aes256gcm16-prfsha384-x25519-ke1_mlkem768-ke1_mlkem768"))
                .hasMessageContaining("'ke1_mlkem768' is listed twice");
        assertThatThrownBy(() -> ike("aes256gcm16-prfsha384-x25519-ke1_none"))
                .hasMessageContaining("only 'none'");
        assertThatThrownBy(() -> ike("aes256gcm16-prfsha384-ke1_mlkem768"))
                .hasMessageContaining("key exchange method is mandatory");
        assertThatThrownBy(() -> Proposal.parse(Protocol.ESP, "aes256gcm16-x25519-ke1_mlkem768"))
                .hasMessageContaining("IKE_FOLLOWUP_KE");
        assertThatThrownBy(() -> ike("aes256gcm16-prfsha384-mlkem768"))
                .hasMessageContaining("use it as an additional one after a classical group, e.g. x25519-ke1_mlkem768");
        assertThatThrownBy(() -> Proposal.parse(Protocol.ESP, "aes256gcm16-mlkem768"))
                .hasMessageContaining("first key exchange method is not supported");
        assertThatThrownBy(() -> ike("aes256gcm16-prfsha384-x25519-ke8_mlkem768"))
                .hasMessageContaining("unknown algorithm 'ke8_mlkem768'");
    }

    @Test
    void peerWithoutAdditionalKeyExchangesGetsTheClassicalProposal() throws ProposalSyntaxException {
        // our list "x25519-ke1_mlkem768, x25519" against strongSwan 5.9.8, which offers classical groups only
        List<Proposal> ours = Proposal.parseList(Protocol.IKE,
                "aes256gcm16-prfsha256-x25519-ke1_mlkem768, aes256gcm16-prfsha256-x25519");
        List<Proposal> charon5 = List.of(numbered("aes256gcm16-prfsha256-x25519-ecp256", 1));

        Optional<Proposal> chosen = ProposalSelector.select(ours, charon5);

        assertThat(chosen).isPresent();
        assertThat(chosen.get().hasAdditionalKeyExchanges()).isFalse();
        assertThat(chosen.get().toString()).isEqualTo("aes256gcm16-prfsha256-x25519");
    }

    @Test
    void selectsOneTransformPerAdditionalType() throws ProposalSyntaxException {
        List<Proposal> ours = List.of(ike("aes256gcm16-prfsha384-x25519-ke1_mlkem768-ke1_mlkem1024-ke2_mlkem512"));
        List<Proposal> offered = List.of(numbered("aes256gcm16-prfsha384-x25519-ke1_mlkem1024-ke1_mlkem768-ke2_mlkem512", 3));

        Proposal chosen = ProposalSelector.select(ours, offered).orElseThrow();

        assertThat(chosen.number()).isEqualTo(3);
        assertThat(chosen.additionalKeyExchanges(1)).containsExactly(KeyExchangeTransform.ML_KEM_768);
        assertThat(chosen.additionalKeyExchanges(2)).containsExactly(KeyExchangeTransform.ML_KEM_512);
        assertThat(chosen.chosenAdditionalKeyExchanges())
                .containsExactly(KeyExchangeTransform.ML_KEM_768, KeyExchangeTransform.ML_KEM_512);
        assertThat(ProposalSelector.select(ours, offered, ProposalSelector.Option.PREFER_OFFERED).orElseThrow()
                .additionalKeyExchanges(1)).containsExactly(KeyExchangeTransform.ML_KEM_1024);
    }

    @Test
    void noneMakesAnAdditionalExchangeOptional() throws ProposalSyntaxException {
        List<Proposal> classicalOnly = List.of(ike("aes256gcm16-prfsha384-x25519"));
        List<Proposal> optional = List.of(numbered("aes256gcm16-prfsha384-x25519-ke1_mlkem768-ke1_none", 1));
        List<Proposal> required = List.of(numbered("aes256gcm16-prfsha384-x25519-ke1_mlkem768", 1));

        Proposal chosen = ProposalSelector.select(classicalOnly, optional).orElseThrow();
        assertThat(chosen.additionalKeyExchanges(1)).containsExactly(KeyExchangeTransform.NONE);
        assertThat(chosen.chosenAdditionalKeyExchanges()).isEmpty();
        assertThat(ProposalSelector.select(classicalOnly, required)).isEmpty();
        // the initiator checks the answer by selecting it again against its own offer
        assertThat(ProposalSelector.select(List.of(ike("aes256gcm16-prfsha384-x25519-ke1_mlkem768-ke1_none")),
                List.of(chosen))).isPresent();
        assertThat(ProposalSelector.select(classicalOnly, optional, ProposalSelector.Option.SKIP_KEY_EXCHANGE)
                .orElseThrow().hasAdditionalKeyExchanges()).isFalse();
    }

    @Test
    void withoutAdditionalKeyExchangesDropsThemOnly() throws ProposalSyntaxException {
        Proposal p = ike("aes256gcm16-prfsha384-x25519-ke1_mlkem768").withNumber(2);
        assertThat(p.withoutAdditionalKeyExchanges()).isEqualTo(ike("aes256gcm16-prfsha384-x25519").withNumber(2));
    }
}
