package dev.keel.ike.session;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.transform.KeyExchangeTransform;
import dev.keel.ike.message.ExchangeType;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * Hybrid post-quantum IKE, Keel to Keel: IKE_SA_INIT, one IKE_INTERMEDIATE exchange (RFC 9242)
 * per RFC 9370 additional key exchange, then IKE_AUTH over IntAuth and the keys after the last
 * update (§2.2.2). Both sides deriving the same final keys and verifying each other's AUTH is
 * what shows the updates and IntAuth agree; the rounds are counted by exchange.
 */
class IkeIntermediateTest {

    private static final String ESP = "aes256gcm16";

    @ParameterizedTest(name = "x25519 + {0}")
    @ValueSource(strings = {"mlkem512", "mlkem768", "mlkem1024"})
    void everyMlKemSizeAsOneAdditionalKeyExchange(String mlkem) throws Exception {
        String ike = "aes256gcm16-prfsha384-x25519-ke1_" + mlkem;
        try (TwoIkePeers peers = new TwoIkePeers()) {
            peers.configurePsk(ike, ike, ESP, ESP, "pq-s3cret-pq", "pq-s3cret-pq", "10.2.0.0/16", "10.2.0.0/16");
            IkeSa alice = peers.alice.initiate("to-bob", "net").get(20, TimeUnit.SECONDS);

            assertThat(peers.alice.counters().exchangeCount(ExchangeType.IKE_INTERMEDIATE, true)).isEqualTo(1);
            assertThat(peers.bob.counters().exchangeCount(ExchangeType.IKE_INTERMEDIATE, false)).isEqualTo(1);
            assertSameKeysAndChild(peers, alice, 1);
            assertThat(peers.alice.onSaThread(alice, s -> s.proposal().toString()).get(5, TimeUnit.SECONDS))
                    .isEqualTo(ike);
        }
    }

    @Test
    void twoAdditionalKeyExchangesRunInOrder() throws Exception {
        String ike = "aes256gcm16-prfsha384-x25519-ke1_mlkem768-ke2_mlkem1024";
        try (TwoIkePeers peers = new TwoIkePeers()) {
            peers.configurePsk(ike, ike, ESP, ESP, "pq-s3cret-pq", "pq-s3cret-pq", "10.2.0.0/16", "10.2.0.0/16");
            IkeSa alice = peers.alice.initiate("to-bob", "net").get(20, TimeUnit.SECONDS);

            assertThat(peers.alice.counters().exchangeCount(ExchangeType.IKE_INTERMEDIATE, true)).isEqualTo(2);
            assertThat(peers.alice.onSaThread(alice, IkeSa::additionalKeyExchanges).get(5, TimeUnit.SECONDS))
                    .containsExactly(KeyExchangeTransform.ML_KEM_768, KeyExchangeTransform.ML_KEM_1024);
            assertSameKeysAndChild(peers, alice, 2);
        }
    }

    @Test
    void lostIntermediateResponseIsAnsweredAgainFromTheCacheUnderTheOldKeys() throws Exception {
        String ike = "aes256gcm16-prfsha384-x25519-ke1_mlkem768";
        try (TwoIkePeers peers = new TwoIkePeers()) {
            peers.configurePsk(ike, ike, ESP, ESP, "pq-s3cret-pq", "pq-s3cret-pq", "10.2.0.0/16", "10.2.0.0/16");
            java.util.concurrent.atomic.AtomicInteger dropped = new java.util.concurrent.atomic.AtomicInteger();
            // bob has switched to the new keys once his answer left; alice's retransmission is under the old ones
            peers.dropToAlice = d -> TwoIkePeers.isResponse(d, "IKE_INTERMEDIATE") && dropped.getAndIncrement() == 0;
            IkeSa alice = peers.alice.initiate("to-bob", "net").get(20, TimeUnit.SECONDS);

            assertThat(dropped.get()).isEqualTo(2);
            assertThat(peers.bob.counters().retransmittedRequests()).isEqualTo(1);
            assertSameKeysAndChild(peers, alice, 1);
        }
    }

    @Test
    void classicalResponderGetsTheClassicalProposalAndNoIntermediateExchange() throws Exception {
        try (TwoIkePeers peers = new TwoIkePeers()) {
            peers.configurePsk("aes256gcm16-prfsha256-x25519-ke1_mlkem768, aes256gcm16-prfsha256-x25519",
                    "aes256gcm16-prfsha256-x25519", ESP, ESP, "s3cret-s3cret", "s3cret-s3cret", "10.2.0.0/16", "10.2.0.0/16");
            IkeSa alice = peers.alice.initiate("to-bob", "net").get(20, TimeUnit.SECONDS);

            assertThat(peers.alice.counters().exchangeCount(ExchangeType.IKE_INTERMEDIATE, true)).isZero();
            assertThat(peers.alice.onSaThread(alice, s -> s.proposal().toString()).get(5, TimeUnit.SECONDS))
                    .isEqualTo("aes256gcm16-prfsha256-x25519");
            assertSameKeysAndChild(peers, alice, 0);
        }
    }

    @Test
    void optionalAdditionalKeyExchangeIsSkippedByAResponderWithoutIt() throws Exception {
        try (TwoIkePeers peers = new TwoIkePeers()) {
            peers.configurePsk("aes256gcm16-prfsha256-x25519-ke1_mlkem768-ke1_none", "aes256gcm16-prfsha256-x25519",
                    ESP, ESP, "s3cret-s3cret", "s3cret-s3cret", "10.2.0.0/16", "10.2.0.0/16");
            IkeSa alice = peers.alice.initiate("to-bob", "net").get(20, TimeUnit.SECONDS);

            assertThat(peers.alice.counters().exchangeCount(ExchangeType.IKE_INTERMEDIATE, true)).isZero();
            assertSameKeysAndChild(peers, alice, 0);
        }
    }

    @Test
    void responderRequiringAnAdditionalKeyExchangeRefusesAClassicalInitiator() throws Exception {
        try (TwoIkePeers peers = new TwoIkePeers()) {
            peers.configurePsk("aes256gcm16-prfsha256-x25519", "aes256gcm16-prfsha256-x25519-ke1_mlkem768",
                    ESP, ESP, "s3cret-s3cret", "s3cret-s3cret", "10.2.0.0/16", "10.2.0.0/16");
            var attempt = peers.alice.initiate("to-bob", "net");
            Eventually.until(java.time.Duration.ofSeconds(10), "initiation failed", attempt::isDone);
            assertThat(attempt).isCompletedExceptionally();
            assertThat(peers.aliceEvents.failures).anyMatch(f -> f.contains("NO_PROPOSAL_CHOSEN"));
        }
    }

    private static void assertSameKeysAndChild(TwoIkePeers peers, IkeSa alice, int rounds) throws Exception {
        IkeSa bob = TwoIkePeers.onlyIkeSa(peers.bob);
        Eventually.until(java.time.Duration.ofSeconds(10), "bob established", () -> bob.state() == IkeSaState.ESTABLISHED);
        byte[] aliceSkD = peers.alice.onSaThread(alice, s -> s.keys().skD()).get(5, TimeUnit.SECONDS);
        byte[] bobSkD = peers.bob.onSaThread(bob, s -> s.keys().skD()).get(5, TimeUnit.SECONDS);
        assertThat(aliceSkD).isEqualTo(bobSkD);
        List<?> children = List.copyOf(peers.aliceEvents.children);
        assertThat(children).hasSize(1);
        assertThat(peers.bob.onSaThread(bob, s -> s.intAuth(rounds + 1).length).get(5, TimeUnit.SECONDS))
                .isEqualTo(rounds == 0 ? 0 : 2 * 48 + 4); // IntAuth_i | IntAuth_r | IKE_AUTH_MID with prfsha384
    }
}
