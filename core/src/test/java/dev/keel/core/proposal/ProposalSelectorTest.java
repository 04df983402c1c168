package dev.keel.core.proposal;

import static dev.keel.core.proposal.TestProposals.raw;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.core.proposal.ProposalSelector.Option;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ProposalSelectorTest {

    private static List<Proposal> configured(Protocol protocol, String list) throws ProposalSyntaxException {
        return Proposal.parseList(protocol, list);
    }

    private static Optional<Proposal> selectOne(Protocol protocol, String mine, String theirs, Option... options)
            throws ProposalSyntaxException {
        return ProposalSelector.select(configured(protocol, mine), List.of(raw(protocol, 1, theirs)), options);
    }

    @Test
    void prefersConfiguredOrderByDefault() throws ProposalSyntaxException {
        List<Proposal> mine = configured(Protocol.IKE, "aes256gcm16-prfsha256-x25519, aes128-sha256-modp2048");
        List<Proposal> theirs = List.of(
                raw(Protocol.IKE, 1, "aes128-sha256-prfsha256-modp2048"),
                raw(Protocol.IKE, 2, "aes256gcm16-prfsha256-x25519"));

        Optional<Proposal> chosen = ProposalSelector.select(mine, theirs);

        assertThat(chosen).hasValueSatisfying(p -> {
            assertThat(p.number()).isEqualTo(2);
            assertThat(p.protocol()).isEqualTo(Protocol.IKE);
            assertThat(p).hasToString("aes256gcm16-prfsha256-x25519");
        });
    }

    @Test
    void prefersOfferedOrderOnRequest() throws ProposalSyntaxException {
        List<Proposal> mine = configured(Protocol.IKE, "aes256gcm16-prfsha256-x25519, aes128-sha256-modp2048");
        List<Proposal> theirs = List.of(
                raw(Protocol.IKE, 1, "aes128-sha256-prfsha256-modp2048"),
                raw(Protocol.IKE, 2, "aes256gcm16-prfsha256-x25519"));

        Optional<Proposal> chosen = ProposalSelector.select(mine, theirs, Option.PREFER_OFFERED);

        assertThat(chosen).hasValueSatisfying(p -> {
            assertThat(p.number()).isEqualTo(1);
            assertThat(p).hasToString("aes128-sha256-prfsha256-modp2048");
        });
    }

    @Test
    void choosesOneTransformPerTypeInThePreferredOrder() throws ProposalSyntaxException {
        String mine = "aes128-aes256-sha256-sha384-ecp256-modp2048";
        String theirs = "aes256-aes128-sha384-sha256-prfsha384-prfsha256-modp2048-ecp256";

        Proposal local = selectOne(Protocol.IKE, mine, theirs).orElseThrow();
        Proposal remote = selectOne(Protocol.IKE, mine, theirs, Option.PREFER_OFFERED).orElseThrow();

        // The configured proposal's PRFs are implied from its integrity algorithms, in their order.
        assertThat(local).hasToString("aes128-sha256-prfsha256-ecp256");
        assertThat(remote).hasToString("aes256-sha384-prfsha384-modp2048");
        for (Proposal p : List.of(local, remote)) {
            assertThat(p.encryptionAlgorithms()).hasSize(1);
            assertThat(p.integrityAlgorithms()).hasSize(1);
            assertThat(p.prfs()).hasSize(1);
            assertThat(p.keyExchangeMethods()).hasSize(1);
            assertThat(p.esns()).isEmpty();
        }
    }

    @ParameterizedTest(name = "{0}: {1} vs {2}")
    @CsvSource(delimiter = '|', value = {
        "IKE | aes128-sha256-modp2048      | aes128-sha256-prfsha256-ecp256",
        "IKE | aes128-sha256-modp2048      | aes128-sha1-prfsha256-modp2048",
        "IKE | aes128-sha256-modp2048      | aes128-sha256-prfsha1-modp2048",
        "IKE | aes128-sha256-modp2048      | aes128gcm16-prfsha256-modp2048",
        "IKE | aes128-sha256-modp2048      | aes128-sha256-modp2048",
        "IKE | aes128-sha256-modp2048      | aes128-sha256-prfsha256-modp2048-noesn",
        "ESP | aes128-sha256               | aes128-sha256-prfsha256-noesn",
        "ESP | aes128-sha256               | aes128-noesn",
        "ESP | aes128-sha256               | chacha20poly1305-noesn",
        "AH  | sha256                      | aes128-sha256-noesn",
        "AH  | sha256                      | sha384-noesn",
    })
    void mismatch(Protocol protocol, String mine, String theirs) throws ProposalSyntaxException {
        assertThat(selectOne(protocol, mine, theirs)).isEmpty();
        assertThat(selectOne(protocol, mine, theirs, Option.PREFER_OFFERED)).isEmpty();
    }

    @ParameterizedTest(name = "{0}: {1} vs {2}")
    @CsvSource(delimiter = '|', value = {
        "IKE | aes256-sha256-modp2048   | aes128-sha256-prfsha256-modp2048",
        "IKE | aes192-sha256-modp2048   | aes128-aes256-sha256-prfsha256-modp2048",
        "ESP | aes128gcm16              | aes256gcm16-noesn",
        "ESP | aes256gcm8               | aes256gcm16-noesn",
        "ESP | aes256gcm12              | aes256gcm8-aes256gcm16-noesn",
    })
    void keyLengthAndIcvMustMatch(Protocol protocol, String mine, String theirs) throws ProposalSyntaxException {
        assertThat(selectOne(protocol, mine, theirs)).isEmpty();
    }

    @ParameterizedTest(name = "{0} vs {1} -> {3}")
    @CsvSource(delimiter = '|', value = {
        "aes256gcm16               | aes256gcm16-noesn         | CONFIGURED | aes256gcm16-noesn",
        "aes256gcm16               | aes256gcm16-esn-noesn     | CONFIGURED | aes256gcm16-noesn",
        "aes256gcm16               | aes256gcm16-esn           | CONFIGURED | ",
        "aes256gcm16               | aes256gcm16               | CONFIGURED | ",
        "aes256gcm16-esn           | aes256gcm16-noesn         | CONFIGURED | ",
        "aes256-sha512-esn         | aes256-sha512-esn         | CONFIGURED | aes256-sha512-esn",
        "aes256gcm16-esn-noesn     | aes256gcm16-noesn-esn     | CONFIGURED | aes256gcm16-esn",
        "aes256gcm16-esn-noesn     | aes256gcm16-noesn-esn     | OFFERED    | aes256gcm16-noesn",
    })
    void esn(String mine, String theirs, String preference, String expected) throws ProposalSyntaxException {
        Option[] options = preference.equals("OFFERED") ? new Option[] {Option.PREFER_OFFERED} : new Option[0];

        Optional<Proposal> chosen = selectOne(Protocol.ESP, mine, theirs, options);

        if (expected == null) {
            assertThat(chosen).isEmpty();
        } else {
            assertThat(chosen).map(Proposal::toString).hasValue(expected);
        }
    }

    @ParameterizedTest(name = "{0} vs {1} -> {2}")
    @CsvSource(delimiter = '|', value = {
        "aes128gcm16-modp2048-none | aes128gcm16-noesn               | aes128gcm16-noesn",
        "aes128gcm16-modp2048-none | aes128gcm16-modp2048-noesn      | aes128gcm16-modp2048-noesn",
        "aes128gcm16-none-modp2048 | aes128gcm16-modp2048-none-noesn | aes128gcm16-none-noesn",
        "aes128gcm16               | aes128gcm16-ecp256-none-noesn   | aes128gcm16-none-noesn",
        "aes128gcm16               | aes128gcm16-ecp256-noesn        | ",
        "aes128gcm16-modp2048      | aes128gcm16-noesn               | ",
        "aes128gcm16-modp2048      | aes128gcm16-none-noesn          | ",
        "aes128gcm16-none          | aes128gcm16-modp2048-noesn      | ",
        "aes128gcm16-modp2048      | aes128gcm16-ecp256-modp2048-noesn | aes128gcm16-modp2048-noesn",
    })
    void childKeyExchangeIsOptional(String mine, String theirs, String expected) throws ProposalSyntaxException {
        Optional<Proposal> chosen = selectOne(Protocol.ESP, mine, theirs);

        if (expected == null) {
            assertThat(chosen).isEmpty();
        } else {
            assertThat(chosen).map(Proposal::toString).hasValue(expected);
        }
    }

    @Test
    void skipKeyExchangeIgnoresKeOnBothSidesAsInIkeAuth() throws ProposalSyntaxException {
        assertThat(selectOne(Protocol.ESP, "aes128gcm16-modp2048", "aes128gcm16-noesn", Option.SKIP_KEY_EXCHANGE))
                .map(Proposal::toString).hasValue("aes128gcm16-noesn");
        assertThat(selectOne(Protocol.ESP, "aes128gcm16", "aes128gcm16-ecp256-noesn", Option.SKIP_KEY_EXCHANGE))
                .map(Proposal::toString).hasValue("aes128gcm16-noesn");
    }

    @Test
    void aeadChoiceTakesNoIntegrityEvenIfThePeerOffersSome() throws ProposalSyntaxException {
        assertThat(selectOne(Protocol.ESP, "aes256gcm16", "aes256gcm16-sha256-noesn"))
                .map(Proposal::toString).hasValue("aes256gcm16-noesn");
        assertThat(selectOne(Protocol.IKE, "aes256gcm16-sha256-x25519", "aes256gcm16-prfsha256-x25519"))
                .map(Proposal::toString).hasValue("aes256gcm16-prfsha256-x25519");
    }

    @Test
    void integrityIsChosenForANonAeadCipherFromAMixedOffer() throws ProposalSyntaxException {
        assertThat(selectOne(Protocol.ESP, "aes128-sha256", "aes128gcm16-aes128-sha256-noesn"))
                .map(Proposal::toString).hasValue("aes128-sha256-noesn");
    }

    @Test
    void ahNegotiatesIntegrityOnly() throws ProposalSyntaxException {
        assertThat(selectOne(Protocol.AH, "sha256-sha512", "sha512-sha256-noesn"))
                .map(Proposal::toString).hasValue("sha256-noesn");
    }

    @Test
    void protocolMustMatch() throws ProposalSyntaxException {
        List<Proposal> mine = configured(Protocol.ESP, "aes128-sha256");
        List<Proposal> theirs = List.of(
                raw(Protocol.AH, 1, "sha256-noesn"), raw(Protocol.ESP, 2, "aes128-sha256-noesn"));

        assertThat(ProposalSelector.select(mine, theirs)).map(Proposal::number).hasValue(2);
        assertThat(ProposalSelector.select(mine, theirs.subList(0, 1))).isEmpty();
    }

    @Test
    void nothingToChooseFrom() throws ProposalSyntaxException {
        assertThat(ProposalSelector.select(configured(Protocol.ESP, "aes128-sha256"), List.of())).isEmpty();
        assertThat(ProposalSelector.select(List.of(), List.of(raw(Protocol.ESP, 1, "aes128-sha256-noesn"))))
                .isEmpty();
    }

    @Test
    void invalidConfiguredProposalIsAProgrammingError() {
        Proposal invalid = raw(Protocol.IKE, "aes128-sha256");

        assertThatThrownBy(() -> ProposalSelector.select(List.of(invalid), List.of()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("configured IKE proposal 'aes128-sha256' is invalid:"
                        + " a key exchange method is mandatory in IKE proposals");
    }

    @Test
    void duplicateOptionsAreHarmless() throws ProposalSyntaxException {
        assertThat(selectOne(Protocol.ESP, "aes128-sha256", "aes128-sha256-noesn",
                Option.PREFER_OFFERED, Option.PREFER_OFFERED)).isPresent();
    }
}
