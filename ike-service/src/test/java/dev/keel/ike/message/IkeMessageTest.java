package dev.keel.ike.message;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.ike.message.IkeDecodeResult.Reason;
import dev.keel.ike.message.IkeDecodeResult.UnprotectedError;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Decode outcomes of whole messages (RFC 7296 §2.5, §2.21, §3.1, §3.2, §3.14). */
class IkeMessageTest {

    private static UnprotectedError dropped(byte[] bytes, dev.keel.ike.crypto.SkCipher cipher) {
        IkeDecodeResult r = IkeMessage.decode(bytes, cipher);
        assertThat(r).isInstanceOf(UnprotectedError.class);
        return (UnprotectedError) r;
    }


    private static byte[] encodeClear(ExchangeType exchange, List<IkePayload> payloads) {
        return IkeMessage.encode(IkeHeader.of(1, 2, exchange, true, false, 0), payloads).bytes();
    }

    @Test
    void protectedMessageRoundTripsThroughTheCipherAndKeepsItsExactBytes() {
        TestGcmSkCipher cipher = TestGcmSkCipher.fixed();
        IkeMessage sent = SampleMessages.ikeAuthProtected(cipher);
        byte[] wire = sent.bytes();
        assertThat(sent.header().nextPayload()).isEqualTo(46);
        assertThat(sent.header().length()).isEqualTo(wire.length);
        // SK generic header: first inner payload IDi, length to the end of the message (§3.14)
        assertThat(wire[28] & 0xFF).isEqualTo(35);
        assertThat((wire[30] & 0xFF) << 8 | wire[31] & 0xFF).isEqualTo(wire.length - 28);

        IkeDecodeResult r = IkeMessage.decode(wire, TestGcmSkCipher.fixed());
        assertThat(r).isInstanceOf(IkeDecodeResult.Ok.class);
        IkeMessage got = ((IkeDecodeResult.Ok) r).message();
        assertThat(got.isProtected()).isTrue();
        assertThat(got.bytes()).isEqualTo(wire);
        assertThat(IkeMessage.encodeChain(got.payloads())).isEqualTo(IkeMessage.encodeChain(SampleMessages.ikeAuthPayloads()));
        assertThat(got.first(IdPayload.class).orElseThrow().identity()).isEqualTo(IkeIdentity.parse("GW1.example.org"));
        assertThat(got.payloads(TsPayload.class).get(0).toTrafficSelectors().selectors()).hasSize(2);
    }

    @Test
    void anyFlippedBitOfAProtectedMessageBodyFailsTheIcv() {
        byte[] wire = SampleMessages.ikeAuthProtected(TestGcmSkCipher.fixed()).bytes();
        for (int i : new int[] {0, 17, 27, 32, 60, wire.length - 1}) {
            byte[] bad = wire.clone();
            bad[i] ^= 0x01;
            IkeDecodeResult r = IkeMessage.decode(bad, TestGcmSkCipher.fixed());
            assertThat(r).as("flip at " + i).isInstanceOf(UnprotectedError.class);
        }
        byte[] body = wire.clone();
        body[60] ^= 1;
        assertThat(dropped(body, TestGcmSkCipher.fixed()).reason()).isEqualTo(Reason.ICV_FAILED);
    }

    @Test
    void withoutKeysAnSkPayloadIsDropped() {
        byte[] wire = SampleMessages.ikeAuthProtected(TestGcmSkCipher.fixed()).bytes();
        assertThat(dropped(wire, null).reason()).isEqualTo(Reason.NO_CIPHER);
    }

    @Test
    void innerErrorsAfterTheIcvVerifiedAreProtectedErrors() {
        UnknownPayload critical = new UnknownPayload(200, true, new byte[] {1, 2});
        byte[] wire = IkeMessage.encodeProtected(IkeHeader.of(1, 2, ExchangeType.INFORMATIONAL, true, false, 3),
                List.of(NotifyPayload.of(NotifyType.INITIAL_CONTACT), critical), TestGcmSkCipher.fixed()).bytes();
        IkeDecodeResult r = IkeMessage.decode(wire, TestGcmSkCipher.fixed());
        assertThat(r).isInstanceOfSatisfying(IkeDecodeResult.ProtectedError.class, e -> {
            assertThat(e.notifyType()).isEqualTo(NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD);
            assertThat(e.notifyData()).containsExactly(200);
            assertThat(e.header().messageId()).isEqualTo(3);
        });

        byte[] shortNonce = IkeMessage.encodeProtected(IkeHeader.of(1, 2, ExchangeType.CREATE_CHILD_SA, true, false, 4),
                List.of(new NoncePayload(new byte[8])), TestGcmSkCipher.fixed()).bytes();
        assertThat(IkeMessage.decode(shortNonce, TestGcmSkCipher.fixed()))
                .isInstanceOfSatisfying(IkeDecodeResult.ProtectedError.class,
                        e -> assertThat(e.notifyType()).isEqualTo(NotifyType.INVALID_SYNTAX));
    }

    @Test
    void nonCriticalUnknownPayloadsAreKept() {
        UnknownPayload unknown = new UnknownPayload(200, false, new byte[] {9, 9, 9});
        byte[] wire = encodeClear(ExchangeType.IKE_SA_INIT, List.of(new NoncePayload(new byte[16]), unknown));
        IkeDecodeResult r = IkeMessage.decode(wire, null);
        assertThat(r).isInstanceOfSatisfying(IkeDecodeResult.Ok.class, ok ->
                assertThat(ok.message().first(UnknownPayload.class).orElseThrow().body()).containsExactly(9, 9, 9));
    }

    @Test
    void criticalUnknownPayloadInClearSuggestsUnsupportedCriticalPayload() {
        byte[] wire = encodeClear(ExchangeType.IKE_SA_INIT, List.of(new UnknownPayload(201, true, new byte[0])));
        UnprotectedError e = dropped(wire, null);
        assertThat(e.reason()).isEqualTo(Reason.UNSUPPORTED_CRITICAL_PAYLOAD);
        assertThat(e.suggestedNotify()).isEqualTo(NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD);
        assertThat(e.notifyData()).containsExactly(201);
    }

    @Test
    void versionsAreCheckedBeforeAnythingElse() {
        byte[] wire = SampleMessages.ikeSaInitRequest().bytes();
        wire[17] = 0x30; // IKEv3.0
        UnprotectedError e = dropped(wire, null);
        assertThat(e.reason()).isEqualTo(Reason.UNSUPPORTED_MAJOR_VERSION);
        assertThat(e.suggestedNotify()).isEqualTo(NotifyType.INVALID_MAJOR_VERSION);
        wire[17] = 0x10; // IKEv1
        assertThat(dropped(wire, null).reason()).isEqualTo(Reason.BAD_VERSION);
        wire[17] = 0x21; // minor version 1 is accepted (§2.5)
        assertThat(IkeMessage.decode(wire, null)).isInstanceOf(IkeDecodeResult.Ok.class);
    }

    @Test
    void lengthsMustAgree() {
        byte[] wire = SampleMessages.ikeSaInitRequest().bytes();
        assertThat(dropped(Arrays.copyOf(wire, 27), null).reason()).isEqualTo(Reason.TRUNCATED);
        assertThat(dropped(Arrays.copyOf(wire, 27), null).header()).isNull();
        assertThat(dropped(Arrays.copyOf(wire, wire.length - 1), null).reason()).isEqualTo(Reason.TRUNCATED);
        assertThat(dropped(Arrays.copyOf(wire, wire.length + 1), null).reason()).isEqualTo(Reason.BAD_LENGTH);
        byte[] overrun = wire.clone();
        overrun[31] += 1; // first payload one byte longer than it is
        assertThat(dropped(overrun, null).reason()).isIn(Reason.BAD_LENGTH, Reason.MALFORMED_PAYLOAD);
        byte[] tooShort = wire.clone();
        tooShort[30] = 0;
        tooShort[31] = 3; // below the generic header
        assertThat(dropped(tooShort, null).reason()).isEqualTo(Reason.BAD_LENGTH);
    }

    @Test
    void skMustBeLastAndAloneAndPostInitExchangesMustBeEncrypted() {
        assertThat(dropped(encodeClear(ExchangeType.IKE_AUTH, SampleMessages.ikeAuthPayloads()), null).reason())
                .isEqualTo(Reason.NOT_ENCRYPTED);
        byte[] skNotLast = encodeClear(ExchangeType.IKE_AUTH, List.of(
                new EncryptedPayload(0, new byte[40]), NotifyPayload.of(NotifyType.INITIAL_CONTACT)));
        assertThat(dropped(skNotLast, TestGcmSkCipher.fixed()).reason()).isEqualTo(Reason.BAD_PAYLOAD_ORDER);
        byte[] clearBeforeSk = encodeClear(ExchangeType.IKE_AUTH, List.of(
                NotifyPayload.of(NotifyType.INITIAL_CONTACT), new EncryptedPayload(0, new byte[40])));
        assertThat(dropped(clearBeforeSk, TestGcmSkCipher.fixed()).reason()).isEqualTo(Reason.NOT_ENCRYPTED);
    }

    @Test
    void fragmentsAreTheirOwnOutcome() {
        byte[] wire = encodeClear(ExchangeType.IKE_AUTH,
                List.of(new EncryptedFragmentPayload(35, 1, 3, new byte[48])));
        IkeDecodeResult r = IkeMessage.decode(wire, TestGcmSkCipher.fixed());
        assertThat(r).isInstanceOfSatisfying(IkeDecodeResult.Fragment.class, f -> {
            assertThat(f.fragment().fragmentNumber()).isEqualTo(1);
            assertThat(f.fragment().totalFragments()).isEqualTo(3);
            assertThat(f.fragment().firstInnerPayload()).isEqualTo(35);
            assertThat(f.message()).isEqualTo(wire);
            assertThat(f.bodyOffset()).isEqualTo(IkeHeader.LENGTH + 4 + 4);
        });
        byte[] badNumber = encodeClear(ExchangeType.IKE_AUTH, List.of(new EncryptedFragmentPayload(0, 4, 3, new byte[48])));
        assertThat(dropped(badNumber, null).reason()).isEqualTo(Reason.MALFORMED_PAYLOAD);
    }

    @Test
    void headerPeekNeedsOnly28Bytes() {
        byte[] wire = SampleMessages.ikeAuthProtected(TestGcmSkCipher.fixed()).bytes();
        IkeHeader h = IkeHeader.peek(Arrays.copyOf(wire, 28)).orElseThrow();
        assertThat(h.initiatorSpi()).isEqualTo(SampleMessages.SPI_I);
        assertThat(h.responderSpi()).isEqualTo(SampleMessages.SPI_R);
        assertThat(h.exchange()).isEqualTo(ExchangeType.IKE_AUTH);
        assertThat(IkeHeader.peek(new byte[27])).isEmpty();
        byte[] bigMid = wire.clone();
        bigMid[20] = (byte) 0xFF;
        assertThat(IkeHeader.peek(bigMid).orElseThrow().messageId()).isEqualTo(0xFF000001L);
    }
}
