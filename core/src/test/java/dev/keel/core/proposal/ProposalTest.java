package dev.keel.core.proposal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.core.transform.EncryptionTransform;
import dev.keel.core.transform.EsnTransform;
import dev.keel.core.transform.IntegrityTransform;
import dev.keel.core.transform.KeyExchangeTransform;
import dev.keel.core.transform.PrfTransform;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ProposalTest {

    private static Proposal build(Protocol protocol, String text) {
        return TestProposals.raw(protocol, text);
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
        "IKE | aes128-sha256-aes128-modp2048       | 'aes128' is listed twice",
        "IKE | aes128-sha256-modp2048-modp2048     | 'modp2048' is listed twice",
        "IKE | sha256-prfsha256-modp2048           | an encryption algorithm is mandatory in IKE proposals",
        "IKE | aes128-aes256gcm16-sha256-modp2048  | AEAD and non-AEAD encryption algorithms cannot be mixed in one IKE proposal; list them as separate proposals",
        "IKE | aes128-prfsha256-modp2048           | an integrity algorithm is mandatory in IKE proposals with non-AEAD encryption",
        "IKE | null-sha256-modp2048                | null encryption is for ESP only, not allowed in IKE proposals",
        "IKE | aes128-null-sha256-modp2048         | null encryption is for ESP only, not allowed in IKE proposals",
        "IKE | aes256gcm16-x25519                  | a PRF is mandatory in IKE proposals: name one (e.g. prfsha256) or an integrity algorithm that implies it",
        "IKE | aes128-sha256-none                  | key exchange method 'none' is not allowed in IKE proposals",
        "IKE | aes128-sha256-modp2048-none         | key exchange method 'none' is not allowed in IKE proposals",
        "IKE | aes128-sha256                       | a key exchange method is mandatory in IKE proposals",
        "IKE | aes128-sha256-modp2048-esn          | ESN transforms apply to ESP and AH, not to IKE proposals",
        "ESP | aes128-sha256-prfsha256             | a PRF is negotiated for IKE only, not in ESP proposals",
        "ESP | sha256                              | an encryption algorithm is mandatory in ESP proposals",
        "ESP | modp2048-esn                        | an encryption algorithm is mandatory in ESP proposals",
        "ESP | aes128-aes128gcm16-sha256           | AEAD and non-AEAD encryption algorithms cannot be mixed in one ESP proposal; list them as separate proposals",
        "ESP | chacha20poly1305-null-sha256        | AEAD and non-AEAD encryption algorithms cannot be mixed in one ESP proposal; list them as separate proposals",
        "ESP | aes128                              | an integrity algorithm is mandatory in ESP proposals with non-AEAD encryption",
        "ESP | aes128-modp2048-esn                 | an integrity algorithm is mandatory in ESP proposals with non-AEAD encryption",
        "ESP | null                                | null encryption needs an integrity algorithm in ESP proposals",
        "ESP | aes256-null                         | null encryption needs an integrity algorithm in ESP proposals",
        "ESP | aes256gcm16-esn-esn                 | 'esn' is listed twice",
        "AH  | aes128-sha256                       | AH proposals take no encryption algorithm",
        "AH  | null-sha256                         | AH proposals take no encryption algorithm",
        "AH  | sha256-prfsha256                    | a PRF is negotiated for IKE only, not in AH proposals",
        "AH  | modp2048-esn                        | an integrity algorithm is mandatory in AH proposals",
        "AH  | sha256-sha2_256                     | 'sha256' is listed twice",
    })
    void invalidProposalHasPreciseError(Protocol protocol, String text, String error) {
        Proposal p = build(protocol, text);

        assertThat(p.validationError()).contains(error);
        assertThat(p.isValid()).isFalse();
        assertThatThrownBy(() -> Proposal.parse(protocol, text))
                .isInstanceOf(ProposalSyntaxException.class)
                .hasMessage("invalid " + protocol + " proposal '" + text + "': " + error);
    }

    @Test
    void emptyBuiltProposalIsInvalid() {
        assertThat(Proposal.builder(Protocol.ESP).build().validationError())
                .contains("an encryption algorithm is mandatory in ESP proposals");
        assertThat(Proposal.builder(Protocol.AH).build().validationError())
                .contains("an integrity algorithm is mandatory in AH proposals");
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource(delimiter = '|', value = {
        "IKE | aes256gcm16-sha256-x25519",
        "IKE | aes256gcm16-prfsha256-x25519",
        "IKE | chacha20poly1305-prfsha256-ecp256",
        "IKE | aes128-sha1-modp2048",
        "ESP | aes256gcm16",
        "ESP | aes256gcm16-sha256",
        "ESP | null-sha256",
        "ESP | aes128-sha256-modp2048-none",
        "ESP | aes128-sha256-none",
        "ESP | aes128-sha256-esn-noesn",
        "AH  | sha256",
        "AH  | sha256-sha512-modp2048-esn-noesn",
    })
    void validProposal(Protocol protocol, String text) {
        assertThat(build(protocol, text).validationError()).isEmpty();
    }

    @ParameterizedTest(name = "{0} {1} -> {2}")
    @CsvSource(delimiter = '|', value = {
        "IKE | aes128-sha256-modp2048              | aes128-sha256-prfsha256-modp2048",
        "IKE | aes128-sha256-sha384-sha1-modp2048  | aes128-sha256-sha384-sha1-prfsha256-prfsha384-prfsha1-modp2048",
        "IKE | aes128-sha256-prfsha512-modp2048    | aes128-sha256-prfsha512-modp2048",
        "IKE | aes256gcm16-sha256-x25519           | aes256gcm16-prfsha256-x25519",
        "IKE | aes256gcm16-sha512-prfsha384-x25519 | aes256gcm16-prfsha384-x25519",
        "IKE | aes256gcm16-prfsha256-x25519        | aes256gcm16-prfsha256-x25519",
        "ESP | aes256gcm16                         | aes256gcm16-noesn",
        "ESP | aes256gcm16-sha256-esn              | aes256gcm16-esn",
        "ESP | aes256-sha512-esn                   | aes256-sha512-esn",
        "ESP | aes128-sha256-modp2048-none         | aes128-sha256-modp2048-none-noesn",
        "ESP | null-sha1                           | null-sha1-noesn",
        "AH  | sha256                              | sha256-noesn",
        "AH  | sha256-esn                          | sha256-esn",
    })
    void effectiveAppliesImpliedRules(Protocol protocol, String text, String effective)
            throws ProposalSyntaxException {
        Proposal p = Proposal.parse(protocol, text).withNumber(7);

        assertThat(p.effective()).hasToString(effective);
        assertThat(p.effective().number()).isEqualTo(7);
        assertThat(p.effective().effective()).isEqualTo(p.effective());
        assertThat(p.effective().isValid()).isTrue();
    }

    @Test
    void impliedPrfsFollowIntegrityOrder() throws ProposalSyntaxException {
        Proposal p = Proposal.parse(Protocol.IKE, "aes256-sha512-sha256-ecp384").effective();

        assertThat(p.prfs()).containsExactly(PrfTransform.HMAC_SHA2_512, PrfTransform.HMAC_SHA2_256);
        for (IntegrityTransform i : p.integrityAlgorithms()) {
            assertThat(p.prfs()).contains(i.matchingPrf());
        }
    }

    @Test
    void isAeadOnlyWhenEveryCipherIs() throws ProposalSyntaxException {
        assertThat(Proposal.parse(Protocol.ESP, "aes128gcm16-chacha20poly1305").isAead()).isTrue();
        assertThat(Proposal.parse(Protocol.ESP, "aes128-sha256").isAead()).isFalse();
        assertThat(build(Protocol.ESP, "aes128gcm16-aes128").isAead()).isFalse();
        assertThat(Proposal.parse(Protocol.AH, "sha256").isAead()).isFalse();
    }

    @Test
    void integrityNoneCannotBeHeld() {
        assertThatThrownBy(() -> Proposal.builder(Protocol.ESP).integrity(IntegrityTransform.NONE))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("offer no integrity transform instead");
        assertThatThrownBy(() -> Proposal.builder(Protocol.ESP).add(IntegrityTransform.NONE, 0))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void keyLengthMustFitTheCipher() {
        assertThatThrownBy(() -> EncryptionAlgorithm.of(EncryptionTransform.AES_CBC))
                .hasMessage("ENCR_AES_CBC does not take a 0-bit key");
        assertThatThrownBy(() -> new EncryptionAlgorithm(EncryptionTransform.AES_GCM_16, 512))
                .hasMessage("ENCR_AES_GCM_16 does not take a 512-bit key");
        assertThatThrownBy(() -> new EncryptionAlgorithm(EncryptionTransform.AES_CBC, 129))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new EncryptionAlgorithm(EncryptionTransform.CHACHA20_POLY1305, 256))
                .hasMessage("ENCR_CHACHA20_POLY1305 has a fixed key and takes no key length, got 256");
        assertThatThrownBy(() -> Proposal.builder(Protocol.ESP).add(PrfTransform.HMAC_SHA2_256, 256))
                .hasMessage("PRF_HMAC_SHA2_256 takes no key length");
        assertThat(EncryptionAlgorithm.of(EncryptionTransform.NULL).keyBytes()).isZero();
        assertThat(EncryptionAlgorithm.of(EncryptionTransform.AES_CBC, 192)).hasToString("aes192");
    }

    @Test
    void addDispatchesOnTransformType() {
        Proposal viaAdd = Proposal.builder(Protocol.ESP)
                .add(EsnTransform.ESN, 0)
                .add(KeyExchangeTransform.ECP_256, 0)
                .add(IntegrityTransform.HMAC_SHA1_96, 0)
                .add(EncryptionTransform.AES_CBC, 128)
                .build();
        Proposal typed = Proposal.builder(Protocol.ESP)
                .encryption(EncryptionTransform.AES_CBC, 128)
                .integrity(IntegrityTransform.HMAC_SHA1_96)
                .keyExchange(KeyExchangeTransform.ECP_256)
                .esn(EsnTransform.ESN)
                .build();

        assertThat(viaAdd).isEqualTo(typed).hasSameHashCodeAs(typed).hasToString("aes128-sha1-ecp256-esn");
    }

    @Test
    void numberIsOneOctetAndTakesPartInEquality() throws ProposalSyntaxException {
        Proposal p = Proposal.parse(Protocol.ESP, "aes256gcm16");

        assertThat(p.withNumber(3).number()).isEqualTo(3);
        assertThat(p.withNumber(3)).isNotEqualTo(p).isEqualTo(p.withNumber(3));
        assertThat(p.withNumber(3).withNumber(0)).isEqualTo(p).hasSameHashCodeAs(p);
        assertThat(p.withNumber(255).number()).isEqualTo(255);
        assertThatThrownBy(() -> p.withNumber(256)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Proposal.builder(Protocol.ESP).number(-1))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(Proposal.parse(Protocol.AH, "sha256"))
                .isNotEqualTo(Proposal.builder(Protocol.ESP).integrity(IntegrityTransform.HMAC_SHA2_256_128).build());
    }

    @Test
    void accessorsAreImmutable() throws ProposalSyntaxException {
        Proposal p = Proposal.parse(Protocol.IKE, "aes128-sha256-modp2048");

        assertThatThrownBy(() -> p.keyExchangeMethods().add(KeyExchangeTransform.ECP_256))
                .isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> p.encryptionAlgorithms().clear())
                .isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void protocolIdsAreRfc7296() {
        assertThat(Protocol.IKE.id()).isEqualTo(1);
        assertThat(Protocol.AH.id()).isEqualTo(2);
        assertThat(Protocol.ESP.id()).isEqualTo(3);
        assertThat(Protocol.byId(3)).isEqualTo(Protocol.ESP);
        assertThat(Protocol.byId(4)).isNull();
        assertThat(Protocol.byId(0)).isNull();
    }
}
