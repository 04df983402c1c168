package dev.keel.ike.session;

import dev.keel.ike.engine.IkeSettings;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** IKE_SA_INIT + IKE_AUTH + INFORMATIONAL between two Keel engines in one process. */
class IkeExchangeTest {

    @ParameterizedTest(name = "{0} / {1}")
    @CsvSource({
        "aes256gcm16-prfsha256-x25519, aes256gcm16",
        "aes128-sha256-modp2048, aes128-sha256",
        "chacha20poly1305-prfsha512-x448, chacha20poly1305",
        "aes256-sha384-ecp384, aes256gcm16-esn",
    })
    void pskTunnelComesUpWithCrossedSpisAndMatchingKeys(String ike, String esp) throws Exception {
        try (TwoIkePeers peers = new TwoIkePeers()) {
            peers.configurePsk(ike, ike, esp, esp, "s3cret-s3cret", "s3cret-s3cret", "10.2.0.0/16", "10.2.0.0/16");
            IkeSa sa = peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
            Eventually.until(Duration.ofSeconds(5), "bob has the child", () -> peers.bobEvents.children.size() == 1);
            ChildSa a = peers.aliceEvents.children.peek();
            ChildSa b = peers.bobEvents.children.peek();
            assertThat(sa.state()).isEqualTo(IkeSaState.ESTABLISHED);
            assertThat(a.outboundSpi()).isEqualTo(b.inboundSpi());
            assertThat(b.outboundSpi()).isEqualTo(a.inboundSpi());
            assertThat(a.outboundEncryptionKey()).isEqualTo(b.inboundEncryptionKey());
            assertThat(b.outboundEncryptionKey()).isEqualTo(a.inboundEncryptionKey());
            assertThat(a.outboundIntegrityKey()).isEqualTo(b.inboundIntegrityKey());
            assertThat(a.outboundEncryptionKey()).isNotEqualTo(a.inboundEncryptionKey());
            assertThat(a.proposal()).isEqualTo(b.proposal());
            assertThat(a.proposal().toString()).startsWith(esp);
            assertThat(a.remoteTs().toString()).contains("10.2.0.0/16");
            assertThat(peers.bob.halfOpenCount()).isZero();
            assertThat(peers.blocked).isEmpty();
        }
    }

    @Test
    void responderNarrowsTheInitiatorsSelectors() throws Exception {
        try (TwoIkePeers peers = new TwoIkePeers()) {
            String ike = "aes256gcm16-prfsha256-x25519";
            peers.configurePsk(ike, ike, "aes256gcm16", "aes256gcm16", "k3y-k3y-k3y", "k3y-k3y-k3y",
                    "10.0.0.0/8", "10.2.3.0/24");
            peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
            assertThat(peers.aliceEvents.children.peek().remoteTs().toString()).contains("10.2.3.0/24");
        }
    }

    @Test
    void wrongPskFailsBothSidesWithAuthenticationFailedAndLeavesNothing() throws Exception {
        try (TwoIkePeers peers = new TwoIkePeers()) {
            String ike = "aes256gcm16-prfsha256-x25519";
            peers.configurePsk(ike, ike, "aes256gcm16", "aes256gcm16", "right-secret", "wrong-secret",
                    "10.2.0.0/16", "10.2.0.0/16");
            assertThatThrownBy(() -> peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class);
            Eventually.until(Duration.ofSeconds(5), "no IKE SA left", () -> peers.alice.ikeSaCount() == 0 && peers.bob.ikeSaCount() == 0);
            assertThat(peers.bobEvents.failures).anyMatch(f -> f.contains("wrong PSK"));
            assertThat(peers.aliceEvents.failures).anyMatch(f -> f.contains("AUTHENTICATION_FAILED"));
            assertThat(peers.bob.halfOpenCount()).isZero();
            assertThat(peers.aliceEvents.children).isEmpty();
            assertThat(peers.bobEvents.children).isEmpty();
        }
    }

    @Test
    void proposalMismatchFailsWithNoProposalChosenAndLeavesNothing() throws Exception {
        try (TwoIkePeers peers = new TwoIkePeers()) {
            peers.configurePsk("aes256gcm16-prfsha256-x25519", "aes128-sha256-modp2048", "aes256gcm16", "aes256gcm16",
                    "k", "k", "10.2.0.0/16", "10.2.0.0/16");
            assertThatThrownBy(() -> peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class);
            Eventually.until(Duration.ofSeconds(5), "no IKE SA left", () -> peers.alice.ikeSaCount() + peers.bob.ikeSaCount() == 0);
            assertThat(peers.aliceEvents.failures).anyMatch(f -> f.contains("NO_PROPOSAL_CHOSEN"));
            assertThat(peers.bobEvents.failures).anyMatch(f -> f.contains("no acceptable IKE proposal"));
            assertThat(peers.bob.halfOpenCount()).isZero();
        }
    }

    @Test
    void childProposalMismatchRefusesTheChildButKeepsTheIkeSa() throws Exception {
        try (TwoIkePeers peers = new TwoIkePeers()) {
            String ike = "aes256gcm16-prfsha256-x25519";
            peers.configurePsk(ike, ike, "aes256gcm16", "aes128-sha256", "k", "k", "10.2.0.0/16", "10.2.0.0/16");
            assertThatThrownBy(() -> peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS))
                    .hasMessageContaining("NO_PROPOSAL_CHOSEN");
            assertThat(peers.aliceEvents.children).isEmpty();
            assertThat(peers.bobEvents.children).isEmpty();
            assertThat(peers.bob.halfOpenCount()).isZero();
        }
    }

    @Test
    void selectorMismatchFailsWithTsUnacceptable() throws Exception {
        try (TwoIkePeers peers = new TwoIkePeers()) {
            String ike = "aes256gcm16-prfsha256-x25519";
            peers.configurePsk(ike, ike, "aes256gcm16", "aes256gcm16", "k", "k", "10.2.0.0/16", "10.9.0.0/16");
            assertThatThrownBy(() -> peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS))
                    .hasMessageContaining("TS_UNACCEPTABLE");
            assertThat(peers.bobEvents.failures).anyMatch(f -> f.contains("TS_UNACCEPTABLE"));
            assertThat(peers.aliceEvents.children).isEmpty();
            assertThat(peers.bobEvents.children).isEmpty();
        }
    }

    @Test
    void initiatorRetriesWithTheGroupTheResponderAsksFor() throws Exception {
        try (TwoIkePeers peers = new TwoIkePeers()) {
            peers.configurePsk("aes256gcm16-prfsha256-x25519-ecp256", "aes256gcm16-prfsha256-ecp256",
                    "aes256gcm16", "aes256gcm16", "k", "k", "10.2.0.0/16", "10.2.0.0/16");
            IkeSa sa = peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
            assertThat(sa.proposal().keyExchangeMethods().getFirst().ianaName()).containsIgnoringCase("256");
        }
    }

    @Test
    void responderUnderLoadDemandsACookieAndTheInitiatorRetriesWithIt() throws Exception {
        IkeSettings cookiesAlways = new IkeSettings(0, 0, 100, 100, Duration.ofSeconds(30), Duration.ofSeconds(60));
        try (TwoIkePeers peers = new TwoIkePeers(cookiesAlways)) {
            String ike = "aes256gcm16-prfsha256-x25519";
            peers.configurePsk(ike, ike, "aes256gcm16", "aes256gcm16", "k", "k", "10.2.0.0/16", "10.2.0.0/16");
            peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
            assertThat(peers.bob.counters().cookiesSent()).isEqualTo(1);
        }
    }

    @Test
    void lostResponseIsRetransmittedFromTheResponseCacheNotProcessedTwice() throws Exception {
        try (TwoIkePeers peers = new TwoIkePeers()) {
            String ike = "aes256gcm16-prfsha256-x25519";
            peers.configurePsk(ike, ike, "aes256gcm16", "aes256gcm16", "k", "k", "10.2.0.0/16", "10.2.0.0/16");
            java.util.concurrent.atomic.AtomicInteger dropped = new java.util.concurrent.atomic.AtomicInteger();
            peers.dropToAlice = m -> TwoIkePeers.isResponse(m, "IKE_AUTH") && dropped.getAndIncrement() == 0;
            peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
            assertThat(dropped.get()).isEqualTo(2);
            assertThat(peers.bob.counters().retransmittedRequests()).isEqualTo(1);
            assertThat(peers.bobEvents.children).hasSize(1);
        }
    }

    @Test
    void deleteRemovesTheIkeSaAndItsChildrenOnBothSides() throws Exception {
        try (TwoIkePeers peers = new TwoIkePeers()) {
            String ike = "aes256gcm16-prfsha256-x25519";
            peers.configurePsk(ike, ike, "aes256gcm16", "aes256gcm16", "k", "k", "10.2.0.0/16", "10.2.0.0/16");
            IkeSa sa = peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
            peers.alice.terminate(sa);
            Eventually.until(Duration.ofSeconds(5), "both sides empty", () -> peers.alice.ikeSaCount() + peers.bob.ikeSaCount() == 0);
            assertThat(peers.aliceEvents.childrenDeleted).hasSize(1);
            assertThat(peers.bobEvents.childrenDeleted).hasSize(1);
            assertThat(peers.aliceEvents.failures).isEmpty();
        }
    }

    @Test
    void unansweredRequestsEndTheIkeSaAfterTheRetransmissionLimit() throws Exception {
        try (TwoIkePeers peers = new TwoIkePeers()) {
            String ike = "aes256gcm16-prfsha256-x25519";
            peers.configurePsk(ike, ike, "aes256gcm16", "aes256gcm16", "k", "k", "10.2.0.0/16", "10.2.0.0/16");
            peers.dropToBob = m -> true;
            assertThatThrownBy(() -> peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class);
            assertThat(peers.aliceEvents.failures).anyMatch(f -> f.contains("unanswered after 4 sends"));
            assertThat(peers.alice.ikeSaCount()).isZero();
        }
    }
}
