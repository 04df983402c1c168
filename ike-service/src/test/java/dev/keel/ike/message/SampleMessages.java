package dev.keel.ike.message;

import dev.keel.core.proposal.Proposal;
import dev.keel.core.proposal.Protocol;
import dev.keel.core.ts.TrafficSelector;
import java.util.HexFormat;
import java.util.List;

/** Valid messages Keel encodes, shared by the tshark, round-trip and mutation tests. */
final class SampleMessages {
    static final long SPI_I = 0x0123456789abcdefL;
    static final long SPI_R = 0xfedcba9876543210L;
    static final byte[] KE_DATA = HexFormat.of().parseHex(
            "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
    static final byte[] NONCE = HexFormat.of().parseHex("000102030405060708090a0b0c0d0e0f1011121314151617");
    static final byte[] NATD_S = HexFormat.of().parseHex("1111111111111111111111111111111111111111");
    static final byte[] NATD_D = HexFormat.of().parseHex("2222222222222222222222222222222222222222");
    static final byte[] CA_HASH = HexFormat.of().parseHex("00112233445566778899aabbccddeeff00112233");
    static final byte[] AUTH_DATA = HexFormat.of().parseHex("a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf");

    private SampleMessages() {
    }

    static List<ProposalWithSpi> ikeProposals() {
        try {
            return List.of(
                    ProposalWithSpi.withoutSpi(Proposal.parse(Protocol.IKE, "aes256gcm16-prfsha256-x25519").effective()),
                    ProposalWithSpi.withoutSpi(Proposal.parse(Protocol.IKE, "aes128-sha256-modp2048").effective()));
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    static IkeMessage ikeSaInitRequest() {
        return IkeMessage.encode(IkeHeader.of(SPI_I, 0, ExchangeType.IKE_SA_INIT, true, false, 0), List.of(
                SaPayload.fromProposals(ikeProposals()),
                new KePayload(31, KE_DATA),
                new NoncePayload(NONCE),
                NotifyPayload.of(NotifyType.NAT_DETECTION_SOURCE_IP, NATD_S),
                NotifyPayload.of(NotifyType.NAT_DETECTION_DESTINATION_IP, NATD_D),
                NotifyPayload.of(NotifyType.IKEV2_FRAGMENTATION_SUPPORTED),
                NotifyPayload.of(NotifyType.SIGNATURE_HASH_ALGORITHMS, new byte[] {0, 2, 0, 3, 0, 4}),
                new VendorIdPayload("keel".getBytes())));
    }

    static List<IkePayload> ikeAuthPayloads() {
        Proposal esp;
        try {
            esp = Proposal.parse(Protocol.ESP, "aes256gcm16").effective();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        return List.of(
                IdPayload.of(true, IkeIdentity.parse("gw1.example.org")),
                new AuthPayload(AuthMethod.SHARED_KEY_MIC.value(), AUTH_DATA),
                CertReqPayload.x509(List.of(CA_HASH)),
                NotifyPayload.of(NotifyType.INITIAL_CONTACT),
                IdPayload.of(false, IkeIdentity.parse("192.0.2.2")),
                SaPayload.fromProposals(List.of(ProposalWithSpi.withChildSpi(esp, 0xc1a2b3d4))),
                TsPayload.of(true, List.of(TrafficSelector.parse("10.1.0.0/16"),
                        TrafficSelector.parse("2001:db8:1::/48[tcp/443]"))),
                TsPayload.of(false, List.of(TrafficSelector.parse("10.2.0.0-10.2.0.255[udp/53]"))),
                NotifyPayload.of(NotifyType.MOBIKE_SUPPORTED));
    }

    /** IKE_AUTH-shaped but unprotected, so that tshark can dissect the inner payloads. */
    static IkeMessage ikeAuthInClear() {
        return IkeMessage.encode(IkeHeader.of(SPI_I, SPI_R, ExchangeType.IKE_AUTH, true, false, 1), ikeAuthPayloads());
    }

    static List<IkePayload> informationalPayloads() {
        return List.of(DeletePayload.esp(List.of(0xc1a2b3d4, 0x01020304)), NotifyPayload.of(NotifyType.INITIAL_CONTACT));
    }

    static IkeMessage informationalInClear() {
        return IkeMessage.encode(IkeHeader.of(SPI_I, SPI_R, ExchangeType.INFORMATIONAL, false, true, 7),
                informationalPayloads());
    }

    static IkeMessage ikeAuthProtected(TestGcmSkCipher cipher) {
        return IkeMessage.encodeProtected(IkeHeader.of(SPI_I, SPI_R, ExchangeType.IKE_AUTH, true, false, 1),
                ikeAuthPayloads(), cipher);
    }
}
