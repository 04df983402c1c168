package dev.keel.core.proposal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.core.transform.EncryptionTransform;
import dev.keel.core.transform.EsnTransform;
import dev.keel.core.transform.IntegrityTransform;
import dev.keel.core.transform.KeyExchangeTransform;
import dev.keel.core.transform.PrfTransform;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ProposalParserTest {

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({
        "IKE, aes256gcm16-prfsha256-x25519",
        "IKE, aes128-sha256-modp2048",
        "IKE, aes128-aes256-sha256-sha384-ecp256-modp2048",
        "IKE, aes256gcm16-sha384-x25519",
        "IKE, chacha20poly1305-prfsha512-x448-ecp521",
        "IKE, aes192-sha1-prfsha1-modp3072-modp4096-modp6144-modp8192",
        "IKE, aes128gcm8-aes192gcm12-aes256gcm16-prfsha384-ecp384",
        "IKE, aes256-sha512-prfsha512-prfsha256-ecp521",
        "ESP, aes256gcm16",
        "ESP, chacha20poly1305",
        "ESP, aes256-sha512-esn",
        "ESP, aes128-sha256",
        "ESP, aes128gcm16-aes256gcm16-modp2048-none-esn-noesn",
        "ESP, null-sha256",
        "ESP, aes256gcm16-x25519",
        "ESP, aes128-sha1-noesn",
        "AH, sha256",
        "AH, sha384-sha256-modp2048-esn",
    })
    void canonicalStringPrintsBackIdentically(Protocol protocol, String text) throws ProposalSyntaxException {
        Proposal proposal = Proposal.parse(protocol, text);

        assertThat(proposal.toString()).isEqualTo(text);
        assertThat(proposal.protocol()).isEqualTo(protocol);
        assertThat(proposal.number()).isZero();
        assertThat(Proposal.parse(protocol, proposal.toString())).isEqualTo(proposal);
    }

    @Test
    void parsesTransformsWithKeyLengthsInOrder() throws ProposalSyntaxException {
        Proposal p = Proposal.parse(Protocol.IKE, "aes128-aes256-sha256-sha384-ecp256-modp2048");

        assertThat(p.encryptionAlgorithms()).containsExactly(
                new EncryptionAlgorithm(EncryptionTransform.AES_CBC, 128),
                new EncryptionAlgorithm(EncryptionTransform.AES_CBC, 256));
        assertThat(p.integrityAlgorithms()).containsExactly(
                IntegrityTransform.HMAC_SHA2_256_128, IntegrityTransform.HMAC_SHA2_384_192);
        assertThat(p.prfs()).isEmpty();
        assertThat(p.keyExchangeMethods()).containsExactly(
                KeyExchangeTransform.ECP_256, KeyExchangeTransform.MODP_2048);
        assertThat(p.esns()).isEmpty();
    }

    @Test
    void chachaHasNoKeyLengthAndGcmHasOne() throws ProposalSyntaxException {
        Proposal chacha = Proposal.parse(Protocol.ESP, "chacha20poly1305");
        Proposal gcm = Proposal.parse(Protocol.ESP, "aes192gcm12");

        assertThat(chacha.encryptionAlgorithms()).containsExactly(
                EncryptionAlgorithm.of(EncryptionTransform.CHACHA20_POLY1305));
        assertThat(chacha.encryptionAlgorithms().getFirst().hasKeyLengthAttribute()).isFalse();
        assertThat(chacha.encryptionAlgorithms().getFirst().keyBytes()).isEqualTo(32);
        assertThat(gcm.encryptionAlgorithms()).containsExactly(
                new EncryptionAlgorithm(EncryptionTransform.AES_GCM_12, 192));
        assertThat(gcm.encryptionAlgorithms().getFirst().keyBytes()).isEqualTo(24);
    }

    @ParameterizedTest(name = "{1} -> {2}")
    @CsvSource(delimiter = '|', value = {
        "IKE | aes-sha-modp2048                    | aes128-sha1-modp2048",
        "IKE | aes256gcm-prfsha256-curve25519      | aes256gcm16-prfsha256-x25519",
        "IKE | aes128gcm128-prfsha256-curve448     | aes128gcm16-prfsha256-x448",
        "IKE | aes256gcm64-aes256gcm96-prfsha1-ecp256 | aes256gcm8-aes256gcm12-prfsha1-ecp256",
        "IKE | aes256-sha2_256-sha2_384-sha2_512-modp2048 | aes256-sha256-sha384-sha512-modp2048",
        "ESP | aes128-sha256-modpnone              | aes128-sha256-none",
        "ESP | AES256GCM16-ESN                     | aes256gcm16-esn",
        "ESP | aes128 - sha256 -esn                | aes128-sha256-esn",
    })
    void aliasesCaseAndBlanksNormalize(Protocol protocol, String text, String canonical)
            throws ProposalSyntaxException {
        assertThat(Proposal.parse(protocol, text).toString()).isEqualTo(canonical);
        assertThat(Proposal.parse(protocol, text)).isEqualTo(Proposal.parse(protocol, canonical));
    }

    @ParameterizedTest(name = "{1} -> {2}")
    @CsvSource(delimiter = '|', value = {
        "IKE | modp2048-sha256-aes128         | aes128-sha256-modp2048",
        "IKE | x25519-prfsha256-aes256gcm16   | aes256gcm16-prfsha256-x25519",
        "ESP | esn-aes128-sha256-aes256-sha1  | aes128-aes256-sha256-sha1-esn",
    })
    void printsTypesInCanonicalOrderKeepingOrderWithinAType(Protocol protocol, String text, String printed)
            throws ProposalSyntaxException {
        assertThat(Proposal.parse(protocol, text).toString()).isEqualTo(printed);
    }

    @ParameterizedTest(name = "{0}: {2}")
    @CsvSource(delimiter = '|', value = {
        "aes257-sha256-modp2048  | aes257  | 1",
        "aes128-sha257-modp2048  | sha257  | 8",
        "aes128-sha256-modp1024  | modp1024 | 15",
        "aes128-sha256-modp2048-default | default | 24",
        "aes128-sha256- 3des     | 3des    | 16",
    })
    void unknownAlgorithmIsNamedWithItsColumn(String text, String token, int column) {
        assertThatThrownBy(() -> Proposal.parse(Protocol.IKE, text))
                .isInstanceOfSatisfying(ProposalSyntaxException.class, e -> {
                    assertThat(e.token()).isEqualTo(token);
                    assertThat(e.column()).isEqualTo(column);
                    assertThat(e.proposal()).isEqualTo(text);
                })
                .hasMessage("unknown algorithm '" + token + "' at column " + column
                        + " in proposal '" + text + "'");
    }

    @Test
    void unknownAlgorithmMessageMatchesTheDocumentedForm() {
        assertThatThrownBy(() -> Proposal.parse(Protocol.IKE, "aes257-sha256-modp2048"))
                .hasMessage("unknown algorithm 'aes257' at column 1 in proposal 'aes257-sha256-modp2048'");
    }

    @ParameterizedTest(name = "[{0}]")
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
        "\"\"   | empty proposal ''",
        "\"  \" | empty proposal '  '",
    })
    void emptyProposalIsRejected(String text, String message) {
        assertThatThrownBy(() -> Proposal.parse(Protocol.ESP, text))
                .isInstanceOf(ProposalSyntaxException.class)
                .hasMessage(message);
    }

    @ParameterizedTest(name = "[{0}] at {1}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
        "--                     | 1",
        "-                      | 1",
        "aes128-sha256-         | 15",
        "-aes128-sha256         | 1",
        "aes128--sha256         | 8",
        "\"aes128- -sha256\"    | 8",
    })
    void emptyAlgorithmIsRejectedWithItsColumn(String text, int column) {
        assertThatThrownBy(() -> Proposal.parse(Protocol.ESP, text))
                .isInstanceOfSatisfying(ProposalSyntaxException.class, e -> {
                    assertThat(e.column()).isEqualTo(column);
                    assertThat(e.token()).isEmpty();
                })
                .hasMessage("empty algorithm at column " + column + " in proposal '" + text + "'");
    }

    @Test
    void invalidCombinationIsReportedWithProtocolAndProposal() {
        assertThatThrownBy(() -> Proposal.parse(Protocol.IKE, "aes128-modp2048"))
                .isInstanceOfSatisfying(ProposalSyntaxException.class, e -> {
                    assertThat(e.token()).isNull();
                    assertThat(e.column()).isZero();
                })
                .hasMessage("invalid IKE proposal 'aes128-modp2048': an integrity algorithm is mandatory"
                        + " in IKE proposals with non-AEAD encryption");
    }

    @Test
    void sameStringMeansDifferentThingsPerProtocol() throws ProposalSyntaxException {
        assertThat(Proposal.parse(Protocol.ESP, "aes128-sha256").isValid()).isTrue();
        assertThatThrownBy(() -> Proposal.parse(Protocol.IKE, "aes128-sha256"))
                .hasMessageEndingWith("a key exchange method is mandatory in IKE proposals");
        assertThatThrownBy(() -> Proposal.parse(Protocol.AH, "aes128-sha256"))
                .hasMessageEndingWith("AH proposals take no encryption algorithm");
    }

    @Test
    void parsesAList() throws ProposalSyntaxException {
        List<Proposal> list = Proposal.parseList(Protocol.IKE,
                "aes256gcm16-prfsha256-x25519, aes128-sha256-modp2048");

        assertThat(list).containsExactly(
                Proposal.parse(Protocol.IKE, "aes256gcm16-prfsha256-x25519"),
                Proposal.parse(Protocol.IKE, "aes128-sha256-modp2048"));
        assertThat(Proposal.formatList(list)).isEqualTo("aes256gcm16-prfsha256-x25519, aes128-sha256-modp2048");
        assertThat(Proposal.parseList(Protocol.IKE, Proposal.formatList(list))).isEqualTo(list);
    }

    @Test
    void parsesAListOfOneAndToleratesBlanksAroundCommas() throws ProposalSyntaxException {
        assertThat(Proposal.parseList(Protocol.ESP, "aes256gcm16")).containsExactly(
                Proposal.builder(Protocol.ESP).encryption(EncryptionTransform.AES_GCM_16, 256).build());
        assertThat(Proposal.parseList(Protocol.ESP, " aes256gcm16 ,aes128-sha256-esn ")).hasSize(2);
    }

    @ParameterizedTest(name = "[{0}] at {1}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
        "\"aes256gcm16,\"              | 13",
        "\",aes256gcm16\"              | 1",
        "\"aes256gcm16, ,chacha20poly1305\" | 13",
        "\"aes256gcm16,,chacha20poly1305\"  | 13",
    })
    void emptyListEntryIsRejected(String text, int column) {
        assertThatThrownBy(() -> Proposal.parseList(Protocol.ESP, text))
                .isInstanceOfSatisfying(ProposalSyntaxException.class,
                        e -> assertThat(e.column()).isEqualTo(column))
                .hasMessage("empty proposal at column " + column + " in proposal list '" + text + "'");
    }

    @Test
    void emptyListIsRejected() {
        assertThatThrownBy(() -> Proposal.parseList(Protocol.ESP, " "))
                .isInstanceOf(ProposalSyntaxException.class)
                .hasMessage("empty proposal list ' '");
    }

    @Test
    void listErrorNamesTheFaultyProposal() {
        assertThatThrownBy(() -> Proposal.parseList(Protocol.IKE,
                        "aes256gcm16-prfsha256-x25519, aes257-sha256-modp2048"))
                .isInstanceOfSatisfying(ProposalSyntaxException.class,
                        e -> assertThat(e.proposal()).isEqualTo("aes257-sha256-modp2048"))
                .hasMessage("unknown algorithm 'aes257' at column 1 in proposal 'aes257-sha256-modp2048'");
        assertThatThrownBy(() -> Proposal.parseList(Protocol.IKE, "aes128-sha256-modp2048, aes128-modp2048"))
                .hasMessageStartingWith("invalid IKE proposal 'aes128-modp2048': ");
    }

    @Test
    void builtProposalPrintsLikeTheParsedOne() throws ProposalSyntaxException {
        Proposal built = Proposal.builder(Protocol.ESP)
                .encryption(EncryptionTransform.AES_CBC, 256)
                .integrity(IntegrityTransform.HMAC_SHA2_512_256)
                .esn(EsnTransform.ESN)
                .build();

        assertThat(built.toString()).isEqualTo("aes256-sha512-esn");
        assertThat(Proposal.parse(Protocol.ESP, "aes256-sha512-esn")).isEqualTo(built);
        assertThat(Proposal.builder(Protocol.IKE).encryption(EncryptionTransform.AES_GCM_16, 128)
                .prf(PrfTransform.HMAC_SHA2_256).keyExchange(KeyExchangeTransform.CURVE25519).build())
                .hasToString("aes128gcm16-prfsha256-x25519");
    }
}
