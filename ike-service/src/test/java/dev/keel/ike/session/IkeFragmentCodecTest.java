package dev.keel.ike.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.core.proposal.Proposal;
import dev.keel.core.proposal.Protocol;
import dev.keel.ike.crypto.IkeSuite;
import dev.keel.ike.crypto.KeyDerivation;
import dev.keel.ike.crypto.Role;
import dev.keel.ike.crypto.SkCiphers;
import dev.keel.ike.message.ExchangeType;
import dev.keel.ike.message.IkeDecodeResult;
import dev.keel.ike.message.IkeHeader;
import dev.keel.ike.message.IkeMessage;
import dev.keel.ike.message.IkePayload;
import dev.keel.ike.message.NotifyPayload;
import dev.keel.ike.message.NotifyType;
import dev.keel.ike.message.VendorIdPayload;
import java.io.ByteArrayOutputStream;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * An encoded protected message split into SKF fragments (RFC 7383 §2.5) and put together again
 * as the receiver does (§2.6), for a normal-mode and an AEAD suite: every fragment within the
 * limit, numbered 1..N under the message's ID, the first inner payload named in fragment 1 only,
 * each one verifying on its own under the peer's inbound keys; and the fragment limits of
 * {@code fragment_size} as strongSwan counts it.
 */
class IkeFragmentCodecTest {

    private static SkCiphers.Pair[] pair(String proposal) throws Exception {
        IkeSuite suite = IkeSuite.from(Proposal.parse(Protocol.IKE, proposal).effective());
        var keys = KeyDerivation.ikeSa(suite, new byte[] {1, 2, 3}, new byte[] {4, 5, 6}, new byte[] {7}, new byte[8],
                new byte[8]);
        SecureRandom r = new SecureRandom();
        return new SkCiphers.Pair[] {SkCiphers.create(suite, keys, Role.INITIATOR, r),
            SkCiphers.create(suite, keys, Role.RESPONDER, r)};
    }

    @ParameterizedTest
    @ValueSource(strings = {"aes128-sha256-modp2048", "aes256gcm16-prfsha256-x25519"})
    void splitAndReassembledGivesTheMessageBack(String proposal) throws Exception {
        SkCiphers.Pair[] p = pair(proposal);
        byte[] bulk = new byte[3_000];
        new SecureRandom().nextBytes(bulk);
        List<IkePayload> payloads = List.of(NotifyPayload.of(NotifyType.INITIAL_CONTACT), new VendorIdPayload(bulk));
        IkeHeader header = IkeHeader.of(0x1122334455667788L, 0x99aabbccddeeff00L, ExchangeType.IKE_AUTH, true, false, 1);
        byte[] whole = IkeMessage.encodeProtected(header, payloads, p[0].outbound()).bytes();

        int limit = IkeFragmentation.messageLimit(1280, false, true);
        List<byte[]> fragments = IkeFragmentation.split(whole, p[0].outbound(), limit);

        assertThat(fragments).hasSize(3);
        ByteArrayOutputStream inner = new ByteArrayOutputStream();
        int firstInner = -1;
        for (int i = 0; i < fragments.size(); i++) {
            byte[] f = fragments.get(i);
            assertThat(f.length).isLessThanOrEqualTo(limit);
            // the responder decodes each on its own: a Fragment with the message's header
            IkeDecodeResult.Fragment frag = (IkeDecodeResult.Fragment) IkeMessage.decode(f, p[1].inbound());
            assertThat(frag.header().messageId()).isEqualTo(1);
            assertThat(frag.header().exchange()).isEqualTo(ExchangeType.IKE_AUTH);
            assertThat(frag.fragment().fragmentNumber()).isEqualTo(i + 1);
            assertThat(frag.fragment().totalFragments()).isEqualTo(3);
            assertThat(frag.fragment().firstInnerPayload() != 0).isEqualTo(i == 0);
            if (i == 0) {
                firstInner = frag.fragment().firstInnerPayload();
            }
            byte[] opened = p[1].inbound().open(frag.message(), frag.bodyOffset());
            assertThat(opened).as("fragment %d verifies on its own", i + 1).isNotNull();
            inner.writeBytes(opened);
            // and not under our own inbound keys (the other direction's)
            assertThat(p[0].inbound().open(frag.message(), frag.bodyOffset())).isNull();
        }
        IkeDecodeResult.Ok ok = (IkeDecodeResult.Ok) IkeMessage.decodeInner(header, firstInner, inner.toByteArray(),
                fragments.getLast());
        assertThat(ok.message().notify(NotifyType.INITIAL_CONTACT)).isPresent();
        assertThat(ok.message().first(VendorIdPayload.class).orElseThrow().data()).isEqualTo(bulk);
    }

    @ParameterizedTest
    @ValueSource(strings = {"aes128-sha256-modp2048", "aes256gcm16-prfsha256-x25519"})
    void aByteChangedInAnyPartOfAFragmentFailsItsIcv(String proposal) throws Exception {
        SkCiphers.Pair[] p = pair(proposal);
        IkeHeader header = IkeHeader.of(1, 2, ExchangeType.INFORMATIONAL, true, false, 5);
        byte[] whole = IkeMessage.encodeProtected(header, List.of(new VendorIdPayload(new byte[1_000])),
                p[0].outbound()).bytes();
        byte[] f = IkeFragmentation.split(whole, p[0].outbound(), 548).get(1);
        // §2.5: the IKE header, the SKF header with fragment number and total, and the body are all covered
        List<Integer> positions = new ArrayList<>(List.of(20, 30, 34, 40, f.length - 1));
        for (int at : positions) {
            byte[] bad = f.clone();
            bad[at] ^= 1;
            IkeDecodeResult r = IkeMessage.decode(bad, p[1].inbound());
            if (r instanceof IkeDecodeResult.Fragment frag) {
                assertThat(p[1].inbound().open(frag.message(), frag.bodyOffset())).as("byte %d changed", at).isNull();
            } else {
                assertThat(r).as("byte %d changed", at).isInstanceOf(IkeDecodeResult.UnprotectedError.class);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1280, 1500})
    void theLimitIsTheIpDatagramLessItsHeaders(int fragmentSize) {
        int v4 = fragmentSize == 0 ? 576 : fragmentSize;
        int v6 = fragmentSize == 0 ? 1280 : fragmentSize;
        assertThat(IkeFragmentation.messageLimit(fragmentSize, false, false)).isEqualTo(v4 - 28);
        assertThat(IkeFragmentation.messageLimit(fragmentSize, false, true)).isEqualTo(v4 - 32); // non-ESP marker
        assertThat(IkeFragmentation.messageLimit(fragmentSize, true, false)).isEqualTo(v6 - 48);
    }

    @ParameterizedTest
    @ValueSource(ints = {30, 61})
    void aLimitThatLeavesNoRoomIsRefused(int limit) throws Exception {
        SkCiphers.Pair[] p = pair("aes256gcm16-prfsha256-x25519");
        byte[] whole = IkeMessage.encodeProtected(IkeHeader.of(1, 2, ExchangeType.INFORMATIONAL, true, false, 5),
                List.of(new VendorIdPayload(new byte[100])), p[0].outbound()).bytes();
        // 28 header + 4 SKF header + 4 numbers + 8 IV + 1 pad length + 16 ICV = 61: no byte of payload fits
        assertThatThrownBy(() -> IkeFragmentation.split(whole, p[0].outbound(), limit))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("hold no payload");
    }
}
