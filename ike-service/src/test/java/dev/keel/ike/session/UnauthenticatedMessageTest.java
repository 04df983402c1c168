package dev.keel.ike.session;

import dev.keel.ike.engine.IkeSettings;
import dev.keel.ike.engine.IkeEngine;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.ike.message.ExchangeType;
import dev.keel.ike.message.IkeDecodeResult;
import dev.keel.ike.message.IkeHeader;
import dev.keel.ike.message.IkeMessage;
import dev.keel.ike.message.IkePayload;
import dev.keel.ike.message.NotifyPayload;
import dev.keel.ike.message.NotifyType;
import dev.keel.ike.message.VendorIdPayload;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Messages an attacker on the path can send without keys (issue 19): a header with the SPIs it
 * saw, an unknown exchange type, a clear IKE_SA_INIT or response with the next message ID, a
 * replayed protected request from another address, floods of first IKE_SA_INITs. None may end,
 * stall or move an IKE SA, nor make the responder keep state it cannot bound.
 */
class UnauthenticatedMessageTest {

    private static final String IKE = "aes256gcm16-prfsha256-x25519";
    private static final InetSocketAddress ATTACKER = new InetSocketAddress("198.51.100.66", 4500);

    private static TwoIkePeers established(TwoIkePeers peers) throws Exception {
        peers.configurePsk(IKE, IKE, "aes256gcm16", "aes256gcm16", "k", "k", "10.2.0.0/16", "10.2.0.0/16");
        peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
        Eventually.until(Duration.ofSeconds(5), "bob established", () -> peers.bobEvents.children.size() == 1);
        return peers;
    }

    /** Hands {@code datagram} to {@code engine} as if it came from {@code from}, on the engines' event loop. */
    private static void inject(TwoIkePeers peers, IkeEngine engine, InetSocketAddress from, byte[] datagram) {
        byte[] copy = datagram.clone();
        peers.vertx.runOnContext(v -> engine.onMessage(500, from, copy, 0, copy.length));
    }

    /** A payload-less 28-byte IKE message, as the attack in issue 19 sent it. */
    private static byte[] bareHeader(long spiI, long spiR, int exchangeType, int flags, long messageId) {
        return ByteBuffer.allocate(IkeHeader.LENGTH).putLong(spiI).putLong(spiR).put((byte) 0).put((byte) 0x20)
                .put((byte) exchangeType).put((byte) flags).putInt((int) messageId).putInt(IkeHeader.LENGTH).array();
    }

    private static byte[] clear(long spiI, long spiR, ExchangeType type, boolean initiator, boolean response, long mid,
            IkePayload... payloads) {
        return IkeMessage.encode(IkeHeader.of(spiI, spiR, type, initiator, response, mid), List.of(payloads)).bytes();
    }

    @Test
    void unknownExchangeTypeInTheClearIsDroppedAndTheIkeSaCarriesOn() throws Exception {
        try (TwoIkePeers peers = established(new TwoIkePeers())) {
            IkeSa bobSa = TwoIkePeers.onlyIkeSa(peers.bob);
            // the datagram of the report: exchange type 99, the I flag, message ID 2, no payloads
            inject(peers, peers.bob, ATTACKER, bareHeader(bobSa.spiI(), bobSa.spiR(), 99, IkeHeader.FLAG_INITIATOR, 2));
            Eventually.until(Duration.ofSeconds(5), "counted",
                    () -> peers.bob.counters().droppedCount(IkeDecodeResult.Reason.UNKNOWN_EXCHANGE) == 1);

            ChildSa second = peers.alice.createChild(TwoIkePeers.onlyIkeSa(peers.alice), "net").get(10, TimeUnit.SECONDS);
            assertThat(second).isNotNull();
            assertThat(bobSa.state()).isEqualTo(IkeSaState.ESTABLISHED);
            assertThat(peers.bobEvents.destroyed).isEmpty();
            assertThat(peers.bob.counters().droppedCount(IkeDrop.INTERNAL_ERROR)).isZero();
        }
    }

    @Test
    void clearIkeSaInitWithTheNextMessageIdNeitherConsumesItNorReplacesTheCachedResponse() throws Exception {
        try (TwoIkePeers peers = established(new TwoIkePeers())) {
            IkeSa bobSa = TwoIkePeers.onlyIkeSa(peers.bob);
            inject(peers, peers.bob, TwoIkePeers.ALICE, clear(bobSa.spiI(), bobSa.spiR(), ExchangeType.IKE_SA_INIT,
                    true, false, 2, NotifyPayload.of(NotifyType.INITIAL_CONTACT)));
            Eventually.until(Duration.ofSeconds(5), "dropped", () -> peers.bob.counters().droppedCount(IkeDrop.UNPROTECTED) == 1);
            assertThat(bobSa.tasks().expectedRequestId()).isEqualTo(2);

            // message ID 2 is still free for alice's next request, which bob processes rather than "retransmits"
            peers.alice.createChild(TwoIkePeers.onlyIkeSa(peers.alice), "net").get(10, TimeUnit.SECONDS);
            assertThat(peers.bobEvents.children).hasSize(2);
            assertThat(peers.bob.counters().retransmittedRequests()).isZero();
        }
    }

    @Test
    void forgedClearResponseWithAuthenticationFailedDoesNotAbortIkeAuth() throws Exception {
        try (TwoIkePeers peers = new TwoIkePeers()) {
            peers.configurePsk(IKE, IKE, "aes256gcm16", "aes256gcm16", "k", "k", "10.2.0.0/16", "10.2.0.0/16");
            List<Integer> sentAuth = new ArrayList<>();
            peers.dropToBob = m -> {
                if (!TwoIkePeers.isRequest(m, "IKE_AUTH")) {
                    return false;
                }
                sentAuth.add(1);
                if (sentAuth.size() > 1) {
                    return false;
                }
                // the first IKE_AUTH request is lost; the attacker answers it in the clear, both ways it could
                IkeHeader h = IkeHeader.peek(m).orElseThrow();
                for (ExchangeType type : List.of(ExchangeType.IKE_SA_INIT, ExchangeType.IKE_AUTH)) {
                    inject(peers, peers.alice, TwoIkePeers.BOB, clear(h.initiatorSpi(), h.responderSpi(), type, false,
                            true, h.messageId(), NotifyPayload.of(NotifyType.AUTHENTICATION_FAILED)));
                }
                return true;
            };
            IkeSa sa = peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
            assertThat(sa.state()).isEqualTo(IkeSaState.ESTABLISHED);
            assertThat(peers.aliceEvents.failures).isEmpty();
            assertThat(peers.alice.counters().droppedCount(IkeDrop.UNPROTECTED)).isEqualTo(1);
            assertThat(peers.alice.counters().droppedCount(IkeDecodeResult.Reason.NOT_ENCRYPTED)).isEqualTo(1);
        }
    }

    @Test
    void forgedResponsesDoNotSatisfyDeadPeerDetection() throws Exception {
        try (TwoIkePeers peers = new TwoIkePeers()) {
            peers.configurePsk(IKE, IKE, "aes256gcm16", "aes256gcm16", "k", "k", "10.2.0.0/16", "10.2.0.0/16");
            peers.reshape(c -> TwoIkePeers.dpd(c, Duration.ofMillis(300)), c -> c);
            peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
            // bob goes silent; every liveness check alice sends is "answered" by the attacker
            peers.dropToBob = m -> {
                IkeHeader h = IkeHeader.peek(m).orElseThrow();
                for (ExchangeType type : List.of(ExchangeType.IKE_SA_INIT, ExchangeType.INFORMATIONAL)) {
                    inject(peers, peers.alice, TwoIkePeers.BOB,
                            clear(h.initiatorSpi(), h.responderSpi(), type, false, true, h.messageId()));
                }
                return true;
            };
            Eventually.until(Duration.ofSeconds(10), "alice gives up on the silent peer", () -> peers.alice.ikeSaCount() == 0);
            assertThat(peers.aliceEvents.destroyed).anyMatch(r -> r.contains("unanswered"));
            assertThat(peers.alice.counters().droppedCount(IkeDrop.UNPROTECTED)).isPositive();
        }
    }

    @Test
    void replayedProtectedRequestFromAnotherAddressMovesNothing() throws Exception {
        try (TwoIkePeers peers = new TwoIkePeers()) {
            AtomicReference<byte[]> authRequest = new AtomicReference<>();
            peers.dropToBob = m -> {
                if (TwoIkePeers.isRequest(m, "IKE_AUTH")) {
                    authRequest.set(m.clone());
                }
                return false;
            };
            established(peers);
            IkeSa bobSa = TwoIkePeers.onlyIkeSa(peers.bob);
            long heardAt = bobSa.lastInboundMillis();
            Thread.sleep(20);
            inject(peers, peers.bob, ATTACKER, authRequest.get());
            Eventually.until(Duration.ofSeconds(5), "answered from the cache",
                    () -> peers.bob.counters().retransmittedRequests() == 1);

            assertThat(bobSa.endpoints().remote()).isEqualTo(TwoIkePeers.ALICE);
            assertThat(bobSa.lastInboundMillis()).isEqualTo(heardAt);
            // a CHILD SA made afterwards still goes to alice
            peers.alice.createChild(TwoIkePeers.onlyIkeSa(peers.alice), "net").get(10, TimeUnit.SECONDS);
            assertThat(bobSa.endpoints().remote()).isEqualTo(TwoIkePeers.ALICE);
        }
    }

    @Test
    void unauthenticatedErrorInTheIkeSaInitResponseDoesNotEndTheAttemptAtOnce() throws Exception {
        try (TwoIkePeers peers = new TwoIkePeers()) {
            peers.configurePsk(IKE, IKE, "aes256gcm16", "aes256gcm16", "k", "k", "10.2.0.0/16", "10.2.0.0/16");
            peers.dropToBob = m -> {
                if (TwoIkePeers.isRequest(m, "IKE_SA_INIT")) { // the attacker's answer arrives before bob's
                    IkeHeader h = IkeHeader.peek(m).orElseThrow();
                    inject(peers, peers.alice, TwoIkePeers.BOB, clear(h.initiatorSpi(), 0x1234, ExchangeType.IKE_SA_INIT,
                            false, true, 0, NotifyPayload.of(NotifyType.NO_PROPOSAL_CHOSEN)));
                }
                return false;
            };
            IkeSa sa = peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
            assertThat(sa.state()).isEqualTo(IkeSaState.ESTABLISHED);
            assertThat(peers.alice.counters().droppedCount(IkeDrop.UNAUTHENTICATED_ERROR)).isEqualTo(1);
        }
    }

    @Test
    void undecodableOrMisnumberedFirstIkeSaInitLeavesNoState() throws Exception {
        try (TwoIkePeers peers = established(new TwoIkePeers())) {
            int before = peers.bob.ikeSaCount();
            // a first IKE_SA_INIT whose only payload is cut short, and a well-formed one with message ID 5
            byte[] truncated = bareHeader(0x1111L, 0, ExchangeType.IKE_SA_INIT.value(), IkeHeader.FLAG_INITIATOR, 0);
            truncated[16] = 40; // next payload: Nonce, but nothing follows
            inject(peers, peers.bob, ATTACKER, truncated);
            inject(peers, peers.bob, ATTACKER, clear(0x2222L, 0, ExchangeType.IKE_SA_INIT, true, false, 5,
                    NotifyPayload.of(NotifyType.INITIAL_CONTACT)));
            Eventually.until(Duration.ofSeconds(5), "both counted",
                    () -> peers.bob.counters().droppedCount(IkeDecodeResult.Reason.BAD_LENGTH)
                            + peers.bob.counters().droppedCount(IkeDrop.BAD_INIT_REQUEST) == 2);
            assertThat(peers.bob.halfOpenCount()).isZero();
            assertThat(peers.bob.ikeSaCount()).isEqualTo(before);
        }
    }

    @Test
    void oversizedFirstIkeSaInitIsRefusedBeforeAnyState() throws Exception {
        try (TwoIkePeers peers = new TwoIkePeers()) {
            byte[] big = clear(0x3333L, 0, ExchangeType.IKE_SA_INIT, true, false, 0,
                    new VendorIdPayload(new byte[IkeSettings.MAX_INIT_REQUEST]));
            inject(peers, peers.bob, ATTACKER, big);
            Eventually.until(Duration.ofSeconds(5), "counted", () -> peers.bob.counters().droppedCount(IkeDrop.INIT_TOO_LARGE) == 1);
            assertThat(peers.bob.ikeSaCount()).isZero();
        }
    }

    @Test
    void halfOpenIkeSaIsDroppedAfterTheTimeoutAndTerminatingOneRaisesNothing() throws Exception {
        IkeSettings limits = new IkeSettings(1_000, 32, 10_000, 128, Duration.ofMillis(400), Duration.ZERO);
        try (TwoIkePeers peers = new TwoIkePeers(limits)) {
            peers.configurePsk(IKE, IKE, "aes256gcm16", "aes256gcm16", "k", "k", "10.2.0.0/16", "10.2.0.0/16");
            peers.dropToBob = m -> TwoIkePeers.isRequest(m, "IKE_AUTH"); // IKE_SA_INIT answered, then nothing
            peers.alice.initiate("to-bob", "net");
            Eventually.until(Duration.ofSeconds(5), "bob half open", () -> peers.bob.halfOpenCount() == 1);
            Eventually.until(Duration.ofSeconds(5), "half-open SA timed out", () -> peers.bob.halfOpenCount() == 0
                    && peers.bob.ikeSaCount() == 0);
            assertThat(peers.bob.counters().halfOpenTimeoutCount()).isEqualTo(1);

            // alice's own attempt, keyed but not established, is terminated locally without a Delete
            IkeSa pending = TwoIkePeers.onlyIkeSa(peers.alice);
            peers.alice.terminate(pending);
            Eventually.until(Duration.ofSeconds(5), "alice's attempt gone", () -> peers.alice.ikeSaCount() == 0);
            assertThat(peers.aliceEvents.destroyed).anyMatch(r -> r.contains("terminated before it was established"));
        }
    }

    @Test
    void oneSourceAddressCannotHoldMoreThanTheBlockThreshold() throws Exception {
        IkeSettings limits = new IkeSettings(1_000, 100, 10_000, 2, Duration.ofSeconds(30), Duration.ZERO);
        try (TwoIkePeers peers = new TwoIkePeers(limits)) {
            peers.configurePsk(IKE, IKE, "aes256gcm16", "aes256gcm16", "k", "k", "10.2.0.0/16", "10.2.0.0/16");
            peers.dropToBob = m -> TwoIkePeers.isRequest(m, "IKE_AUTH");
            for (int i = 0; i < 3; i++) {
                peers.alice.initiate("to-bob", "net");
            }
            Eventually.until(Duration.ofSeconds(5), "the third refused",
                    () -> peers.bob.counters().droppedCount(IkeDrop.HALF_OPEN_PEER_LIMIT) >= 1);
            assertThat(peers.bob.halfOpenCount()).isEqualTo(2);
        }
    }

    @Test
    void cookieSecretIsReplacedOnItsTimerSoOldCookiesStopWorking() throws Exception {
        IkeSettings limits = new IkeSettings(0, 0, 10_000, 128, Duration.ofSeconds(30), Duration.ofMillis(100));
        try (TwoIkePeers peers = new TwoIkePeers(limits)) {
            AtomicReference<byte[]> withCookie = new AtomicReference<>();
            peers.dropToBob = m -> {
                if (TwoIkePeers.isRequest(m, "IKE_SA_INIT") && IkeMessage.decode(m, null) instanceof IkeDecodeResult.Ok ok
                        && ok.message().notify(NotifyType.COOKIE).isPresent()) {
                    withCookie.set(m.clone());
                }
                return false;
            };
            established(peers);
            assertThat(peers.bob.counters().cookiesSent()).isEqualTo(1);

            Thread.sleep(400); // several lifetimes: the secret that made alice's cookie is gone
            inject(peers, peers.bob, TwoIkePeers.ALICE, withCookie.get());
            Eventually.until(Duration.ofSeconds(5), "a new cookie demanded", () -> peers.bob.counters().cookiesSent() == 2);
            assertThat(peers.bob.ikeSaCount()).isEqualTo(1);
            assertThat(peers.bob.halfOpenCount()).isZero();
        }
    }

    @Test
    void responseOfAnotherExchangeTypeDoesNotCompleteTheOutstandingRequest() throws Exception {
        try (TwoIkePeers peers = established(new TwoIkePeers())) {
            IkeSa aliceSa = TwoIkePeers.onlyIkeSa(peers.alice);
            // bob answers alice's CREATE_CHILD_SA; an INFORMATIONAL response with that message ID (a replay of
            // an old protected one cannot be made by the attacker, so bob's own engine sends it) must not match
            peers.dropToAlice = m -> {
                if (TwoIkePeers.isResponse(m, "CREATE_CHILD_SA")) {
                    IkeSa bobSa = TwoIkePeers.onlyIkeSa(peers.bob);
                    IkeHeader h = IkeHeader.peek(m).orElseThrow();
                    byte[] other = bobSa.encode(new dev.keel.ike.session.OutboundMessage(ExchangeType.INFORMATIONAL, true),
                            h.messageId());
                    inject(peers, peers.alice, TwoIkePeers.BOB, other);
                }
                return false;
            };
            peers.alice.createChild(aliceSa, "net").get(10, TimeUnit.SECONDS);
            assertThat(peers.aliceEvents.children).hasSize(2);
            assertThat(peers.alice.counters().droppedCount(IkeDrop.STALE_RESPONSE)).isEqualTo(1);
        }
    }

    @Test
    void initiationStillFailsWhenOnlyErrorsArrive() throws Exception {
        try (TwoIkePeers peers = new TwoIkePeers()) {
            peers.configurePsk(IKE, "aes128-sha256-modp2048", "aes256gcm16", "aes256gcm16", "k", "k",
                    "10.2.0.0/16", "10.2.0.0/16");
            assertThatThrownBy(() -> peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class);
            assertThat(peers.aliceEvents.failures).anyMatch(f -> f.contains("NO_PROPOSAL_CHOSEN (unauthenticated"));
            assertThat(peers.alice.counters().droppedCount(IkeDrop.UNAUTHENTICATED_ERROR)).isEqualTo(1);
        }
    }
}
