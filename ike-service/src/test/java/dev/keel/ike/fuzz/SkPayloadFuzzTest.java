package dev.keel.ike.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.keel.ike.crypto.SkCipher;
import dev.keel.ike.message.ExchangeType;
import dev.keel.ike.message.IkeDecodeResult;
import dev.keel.ike.message.IkeHeader;
import dev.keel.ike.message.IkeMessage;
import java.util.List;

/**
 * The SK payload path with a real IKE SA (strongSwan's keys of the captured exchange): decrypt,
 * verify, decode. {@link #openReceived} feeds raw datagrams to the responder's inbound cipher (the
 * captured IKE_AUTH / INFORMATIONAL requests verify, their mutations must not);
 * {@link #decodeSealedPlaintext} seals the fuzzer's bytes as the inner payloads under the
 * initiator's real keys, so every input passes the ICV and reaches the inner payload decoder.
 */
class SkPayloadFuzzTest {

    private static final ExchangeType[] PROTECTED = {ExchangeType.IKE_AUTH, ExchangeType.CREATE_CHILD_SA,
            ExchangeType.INFORMATIONAL};

    private final SkCipher fromInitiator = IkeFuzzing.cipher(IkeFuzzing.CAPTURED_SA, true);
    private final SkCipher fromInitiatorSender = IkeFuzzing.cipher(IkeFuzzing.CAPTURED_SA, true);

    @FuzzTest(maxDuration = "15s")
    void openReceived(byte[] datagram) {
        IkeDecodeResult r = IkeMessage.decode(datagram, fromInitiator);
        IkeFuzzing.checkOutcome(datagram, r);
    }

    @FuzzTest(maxDuration = "15s")
    void decodeSealedPlaintext(FuzzedDataProvider data) {
        ExchangeType exchange = data.pickValue(PROTECTED);
        int firstInner = data.consumeInt(0, 255);
        byte[] plaintext = data.consumeRemainingAsBytes();
        byte[] datagram = sealed(exchange, firstInner, plaintext);

        IkeDecodeResult r = IkeMessage.decode(datagram, fromInitiator);

        IkeFuzzing.checkOutcome(datagram, r);
        // sealed with the right keys: whatever is inside, the ICV verified and the inner payloads were read
        assertThat(r).isInstanceOfAny(IkeDecodeResult.Ok.class, IkeDecodeResult.ProtectedError.class);
    }

    /** A request from the initiator whose SK payload seals {@code plaintext} as the inner payload chain. */
    private byte[] sealed(ExchangeType exchange, int firstInner, byte[] plaintext) {
        int skLength = 4 + fromInitiatorSender.sealedLength(plaintext.length);
        byte[] m = new byte[IkeHeader.LENGTH + skLength];
        IkeHeader h = IkeHeader.of(0x1122334455667788L, 0x0102030405060708L, exchange, true, false, 1)
                .withLayout(46, m.length);
        byte[] header = IkeMessage.encode(h, List.of()).bytes();
        System.arraycopy(header, 0, m, 0, IkeHeader.LENGTH);
        m[16] = 46; // §3.14: SK
        m[24] = (byte) (m.length >>> 24);
        m[25] = (byte) (m.length >>> 16);
        m[26] = (byte) (m.length >>> 8);
        m[27] = (byte) m.length;
        m[28] = (byte) firstInner;
        m[30] = (byte) (skLength >>> 8);
        m[31] = (byte) skLength;
        fromInitiatorSender.seal(m, IkeHeader.LENGTH + 4, plaintext);
        return m;
    }
}
