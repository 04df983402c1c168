package dev.keel.ike.message;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.core.proposal.Proposal;
import dev.keel.core.proposal.Protocol;
import dev.keel.core.transform.EncryptionTransform;
import dev.keel.core.transform.KeyExchangeTransform;
import dev.keel.core.ts.TrafficSelector;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Per-payload decoders: hand-written RFC 7296 §3 layouts, and malformed bodies rejected with a reason. */
class PayloadDecoderTest {

    private static byte[] hex(String s) {
        return HexFormat.of().parseHex(s.replace(" ", ""));
    }

    private interface Decoder {
        IkePayload decode(byte[] body) throws PayloadException;
    }

    /** Every strict prefix of a valid body is rejected, and the whole body round-trips. */
    private static void everyTruncationFails(Decoder d, byte[] valid, int shortestValidPrefixExclusive) throws Exception {
        assertThat(d.decode(valid).encodeBody()).isEqualTo(valid);
        for (int n = 0; n < shortestValidPrefixExclusive; n++) {
            byte[] prefix = Arrays.copyOf(valid, n);
            assertThatThrownBy(() -> d.decode(prefix)).as("prefix of " + n).isInstanceOf(PayloadException.class);
        }
    }

    // SA: proposal #1 IKE, no SPI, 2 transforms: ENCR AES-CBC keylen 128 (TV 14), KE 19
    private static final byte[] SA_BODY = hex("00 00 001c 01 01 00 02"
            + " 03 00 000c 01 00 000c 800e 0080"
            + " 00 00 0008 04 00 0013");

    @Test
    void saPayloadHandLaidOutPerSection33() throws Exception {
        SaPayload sa = SaPayload.decode(SA_BODY);
        assertThat(sa.toProposals()).containsExactly(ProposalWithSpi.withoutSpi(Proposal.builder(Protocol.IKE)
                .number(1).encryption(EncryptionTransform.AES_CBC, 128).keyExchange(KeyExchangeTransform.ECP_256).build()));
        everyTruncationFails(SaPayload::decode, SA_BODY, SA_BODY.length);
    }

    @Test
    void saPayloadNestedLengthsMustNotOverrunTheirParent() {
        byte[] proposalTooLong = SA_BODY.clone();
        proposalTooLong[3] = 0x1d;
        byte[] proposalTooShort = SA_BODY.clone();
        proposalTooShort[3] = 0x07;
        byte[] transformPastProposal = SA_BODY.clone();
        transformPastProposal[11] = 0x1c; // first transform claims 28 bytes inside a 28-byte proposal
        byte[] transformCountTooHigh = SA_BODY.clone();
        transformCountTooHigh[7] = 3;
        byte[] lastFlagWrong = SA_BODY.clone();
        lastFlagWrong[0] = 2;
        byte[] badSpiSize = SA_BODY.clone();
        badSpiSize[6] = 3;
        byte[] attributeCut = hex("00 00 001a 01 01 00 01 00 00 0012 01 00 000c 000e 0008 0000 0000 00");
        for (byte[] bad : List.of(proposalTooLong, proposalTooShort, transformPastProposal, transformCountTooHigh,
                lastFlagWrong, badSpiSize, attributeCut, new byte[0])) {
            assertThatThrownBy(() -> SaPayload.decode(bad)).isInstanceOf(PayloadException.class);
        }
    }

    @Test
    void unknownTransformsAreKeptOnTheWireButDroppedByTheConverter() throws Exception {
        // ESP proposal, SPI 0x11223344, ENCR 20 keylen 256, ENCR 999 (unknown), ESN 0, INTEG 0 (NONE)
        byte[] body = hex("00 00 0030 01 03 04 04 11223344"
                + " 03 00 000c 01 00 0014 800e 0100"
                + " 03 00 0008 01 00 03e7"
                + " 03 00 0008 05 00 0000"
                + " 00 00 0008 03 00 0000");
        SaPayload sa = SaPayload.decode(body);
        assertThat(sa.proposals().getFirst().transforms()).hasSize(4);
        assertThat(sa.encodeBody()).isEqualTo(body);
        ProposalWithSpi p = sa.toProposals().getFirst();
        assertThat(p.spi()).isEqualTo(0x11223344L);
        assertThat(p.spiSize()).isEqualTo(4);
        assertThat(p.proposal()).isEqualTo(Proposal.parse(Protocol.ESP, "aes256gcm16-noesn").withNumber(1));
    }

    @Test
    void keNonceAuthCertIdVendorEapNeedTheirFixedFieldsAndSomeData() throws Exception {
        everyTruncationFails(KePayload::decode, hex("001f 0000 0102"), 5);
        everyTruncationFails(AuthPayload::decode, hex("02 000000 aabb"), 5);
        everyTruncationFails(CertPayload::decode, hex("04 3082"), 2);
        everyTruncationFails(b -> IdPayload.decode(true, b), hex("02 000000 6777"), 5);
        everyTruncationFails(EapPayload::decode, hex("01 02 0004"), 4);
        everyTruncationFails(VendorIdPayload::decode, hex("aa"), 1);
        assertThatThrownBy(() -> IdPayload.decode(true, hex("01 000000 c00002"))).isInstanceOf(PayloadException.class);
        assertThatThrownBy(() -> IdPayload.decode(false, hex("05 000000 c0000201"))).isInstanceOf(PayloadException.class);
    }

    @Test
    void nonceLengthIs16To256() throws Exception {
        assertThatThrownBy(() -> NoncePayload.decode(new byte[15])).isInstanceOf(PayloadException.class);
        assertThatThrownBy(() -> NoncePayload.decode(new byte[257])).isInstanceOf(PayloadException.class);
        assertThat(NoncePayload.decode(new byte[16]).nonce()).hasSize(16);
        assertThat(NoncePayload.decode(new byte[256]).nonce()).hasSize(256);
    }

    @Test
    void notifySpiSizeMustFit() throws Exception {
        NotifyPayload n = NotifyPayload.decode(hex("03 04 4009 c1a2b3d4 beef")); // ESP REKEY_SA with data
        assertThat(n.notifyType()).isEqualTo(NotifyType.REKEY_SA);
        assertThat(n.spi()).isEqualTo(hex("c1a2b3d4"));
        assertThat(n.data()).isEqualTo(hex("beef"));
        assertThat(NotifyPayload.decode(hex("00 00 ffff")).notifyType()).isNull(); // unknown types are kept
        assertThat(NotifyPayload.decode(hex("00 00 ffff")).notifyTypeValue()).isEqualTo(0xffff);
        everyTruncationFails(NotifyPayload::decode, hex("03 04 4009 c1a2b3d4"), 8);
    }

    @Test
    void deleteCountsMustMatchTheBody() throws Exception {
        everyTruncationFails(DeletePayload::decode, hex("03 04 0002 c1a2b3d4 01020304"), 12);
        assertThatThrownBy(() -> DeletePayload.decode(hex("03 04 0001 c1a2b3d4 01020304"))).isInstanceOf(PayloadException.class);
        assertThatThrownBy(() -> DeletePayload.decode(hex("01 08 0001 0102030405060708"))).isInstanceOf(PayloadException.class);
        assertThatThrownBy(() -> DeletePayload.decode(hex("03 08 0001 0102030405060708"))).isInstanceOf(PayloadException.class);
        assertThatThrownBy(() -> DeletePayload.decode(hex("03 00 0000"))).isInstanceOf(PayloadException.class);
        assertThat(DeletePayload.decode(hex("01 00 0000")).encodeBody()).isEqualTo(DeletePayload.ikeSa().encodeBody());
    }

    @Test
    void certReqHoldsWhole20ByteHashes() throws Exception {
        CertReqPayload two = CertReqPayload.decode(hex("04" + "11".repeat(20) + "22".repeat(20)));
        assertThat(two.authorityHashes()).hasSize(2);
        assertThatThrownBy(() -> CertReqPayload.decode(hex("04" + "11".repeat(21)))).isInstanceOf(PayloadException.class);
        assertThatThrownBy(() -> CertReqPayload.decode(new byte[0])).isInstanceOf(PayloadException.class);
    }

    @Test
    void trafficSelectorsPerSection313() throws Exception {
        // two TSs: IPv4 tcp 443 10.0.0.0-10.0.0.255, and type 10 (TS_SECLABEL, unsupported) with 4 bytes
        byte[] body = hex("02 000000"
                + " 07 06 0010 01bb 01bb 0a000000 0a0000ff"
                + " 0a 00 0008 deadbeef");
        TsPayload ts = TsPayload.decode(true, body);
        assertThat(ts.encodeBody()).isEqualTo(body);
        TsPayload.Conversion c = ts.toTrafficSelectors();
        assertThat(c.selectors()).containsExactly(TrafficSelector.parse("10.0.0.0-10.0.0.255[tcp/443]"));
        assertThat(c.unsupported()).containsExactly("unsupported TS type 10");
        everyTruncationFails(b -> TsPayload.decode(true, b), body, body.length);

        byte[] wrongLength = body.clone();
        wrongLength[7] = 0x14; // IPv4 selector claiming 20 bytes
        byte[] countTooLow = body.clone();
        countTooLow[0] = 1;
        byte[] countZero = hex("00 000000");
        byte[] reversed = hex("01 000000 07 00 0010 0000 ffff 0a0000ff 0a000000");
        for (byte[] bad : List.of(wrongLength, countTooLow, countZero)) {
            assertThatThrownBy(() -> TsPayload.decode(true, bad)).isInstanceOf(PayloadException.class);
        }
        assertThat(TsPayload.decode(true, reversed).toTrafficSelectors().unsupported()).hasSize(1);
    }

    @Test
    void configAttributesMustFit() throws Exception {
        byte[] body = hex("01 000000 0001 0000 0003 0004 c0000201");
        ConfigPayload cp = ConfigPayload.decode(body);
        assertThat(cp.attributes()).extracting(ConfigPayload.Attribute::type).containsExactly(1, 3);
        assertThat(cp.encodeBody()).isEqualTo(body);
        assertThatThrownBy(() -> ConfigPayload.decode(hex("01 000000 0003 0005 c0000201")))
                .isInstanceOf(PayloadException.class);
        assertThatThrownBy(() -> ConfigPayload.decode(hex("01 000000 00"))).isInstanceOf(PayloadException.class);
    }

    @Test
    void fragmentNumbersPerRfc7383() throws Exception {
        assertThat(EncryptedFragmentPayload.decode(0, hex("0002 0002 00")).fragmentNumber()).isEqualTo(2);
        for (String bad : List.of("0000 0002", "0003 0002", "0001 0000", "0001")) {
            assertThatThrownBy(() -> EncryptedFragmentPayload.decode(0, hex(bad))).isInstanceOf(PayloadException.class);
        }
        assertThatThrownBy(() -> EncryptedFragmentPayload.decode(35, hex("0002 0002")))
                .isInstanceOf(PayloadException.class);
    }
}
