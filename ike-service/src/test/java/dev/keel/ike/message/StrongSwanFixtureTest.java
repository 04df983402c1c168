package dev.keel.ike.message;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.proposal.Proposal;
import dev.keel.core.proposal.Protocol;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Decodes IKE_SA_INIT messages captured from strongSwan 5.9.8 (see resources/message/README.md). */
class StrongSwanFixtureTest {

    static byte[] fixture(String name) throws IOException {
        try (InputStream in = StrongSwanFixtureTest.class.getResourceAsStream("/message/" + name)) {
            return HexFormat.of().parseHex(new String(in.readAllBytes(), StandardCharsets.US_ASCII).strip());
        }
    }

    static IkeMessage decodeOk(byte[] bytes) {
        IkeDecodeResult result = IkeMessage.decode(bytes, null);
        assertThat(result).isInstanceOf(IkeDecodeResult.Ok.class);
        return ((IkeDecodeResult.Ok) result).message();
    }

    @Test
    void requestParsesToTheConfiguredProposalAndReencodesByteIdentically() throws Exception {
        byte[] wire = fixture("strongswan-5.9.8-ike-sa-init-request.hex");
        IkeMessage m = decodeOk(wire);

        assertThat(m.header().exchange()).isEqualTo(ExchangeType.IKE_SA_INIT);
        assertThat(m.header().isInitiator()).isTrue();
        assertThat(m.header().isResponse()).isFalse();
        assertThat(m.header().initiatorSpi()).isEqualTo(0xb01d7db3f7f0f0b1L);
        assertThat(m.header().responderSpi()).isZero();
        assertThat(m.header().messageId()).isZero();
        assertThat(m.isProtected()).isFalse();
        assertThat(m.payloads()).extracting(IkePayload::type).containsExactly(33, 34, 40, 41, 41, 41, 41, 41, 43);

        List<ProposalWithSpi> proposals = m.first(SaPayload.class).orElseThrow().toProposals();
        Proposal configured = Proposal.parse(Protocol.IKE, "aes256gcm16-prfsha256-x25519").effective().withNumber(1);
        assertThat(proposals).containsExactly(ProposalWithSpi.withoutSpi(configured));

        KePayload ke = m.first(KePayload.class).orElseThrow();
        assertThat(ke.group()).isEqualTo(31);
        assertThat(ke.data()).hasSize(32);
        assertThat(m.first(NoncePayload.class).orElseThrow().nonce()).hasSize(32);

        assertThat(m.payloads(NotifyPayload.class)).extracting(NotifyPayload::notifyType).containsExactly(
                NotifyType.NAT_DETECTION_SOURCE_IP, NotifyType.NAT_DETECTION_DESTINATION_IP,
                NotifyType.IKEV2_FRAGMENTATION_SUPPORTED, NotifyType.SIGNATURE_HASH_ALGORITHMS,
                NotifyType.REDIRECT_SUPPORTED);
        assertThat(m.notify(NotifyType.NAT_DETECTION_SOURCE_IP).orElseThrow().data()).hasSize(20);
        // RFC 7427 §4: SHA2-256, SHA2-384, SHA2-512, Identity (RFC 8420)
        assertThat(m.notify(NotifyType.SIGNATURE_HASH_ALGORITHMS).orElseThrow().data())
                .isEqualTo(new byte[] {0, 2, 0, 3, 0, 4, 0, 5});
        // strongSwan's vendor ID is MD5("strongSwan")
        byte[] strongSwanVid = MessageDigest.getInstance("MD5").digest("strongSwan".getBytes(StandardCharsets.US_ASCII));
        assertThat(m.first(VendorIdPayload.class).orElseThrow().data()).isEqualTo(strongSwanVid);

        assertThat(IkeMessage.encode(m.header(), m.payloads()).bytes()).isEqualTo(wire);
        assertThat(m.bytes()).isEqualTo(wire);
    }

    @Test
    void responseParsesAndReencodesByteIdentically() throws Exception {
        byte[] wire = fixture("strongswan-5.9.8-ike-sa-init-response.hex");
        IkeMessage m = decodeOk(wire);

        assertThat(m.header().isResponse()).isTrue();
        assertThat(m.header().isInitiator()).isFalse();
        assertThat(m.header().initiatorSpi()).isEqualTo(0xb01d7db3f7f0f0b1L);
        assertThat(m.header().responderSpi()).isEqualTo(0x6005e46c55374489L);
        Proposal chosen = Proposal.parse(Protocol.IKE, "aes256gcm16-prfsha256-x25519").effective().withNumber(1);
        assertThat(m.first(SaPayload.class).orElseThrow().toProposals())
                .containsExactly(ProposalWithSpi.withoutSpi(chosen));
        assertThat(m.first(KePayload.class).orElseThrow().data()).hasSize(32);
        assertThat(m.payloads(NotifyPayload.class)).extracting(NotifyPayload::notifyType).containsExactly(
                NotifyType.NAT_DETECTION_SOURCE_IP, NotifyType.NAT_DETECTION_DESTINATION_IP,
                NotifyType.IKEV2_FRAGMENTATION_SUPPORTED, NotifyType.SIGNATURE_HASH_ALGORITHMS,
                NotifyType.CHILDLESS_IKEV2_SUPPORTED, NotifyType.MULTIPLE_AUTH_SUPPORTED);
        assertThat(IkeMessage.encode(m.header(), m.payloads()).bytes()).isEqualTo(wire);
    }

    @Test
    void keelEncodesTheSameSaPayloadAsStrongSwanForTheSameProposal() throws Exception {
        IkeMessage m = decodeOk(fixture("strongswan-5.9.8-ike-sa-init-request.hex"));
        byte[] theirs = m.first(SaPayload.class).orElseThrow().encodeBody();
        byte[] ours = SaPayload.fromProposals(List.of(ProposalWithSpi.withoutSpi(
                Proposal.parse(Protocol.IKE, "aes256gcm16-prfsha256-x25519").effective()))).encodeBody();
        assertThat(ours).isEqualTo(theirs);
    }
}
