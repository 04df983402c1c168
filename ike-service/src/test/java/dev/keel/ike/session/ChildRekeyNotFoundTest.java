package dev.keel.ike.session;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A CHILD SA rekey the peer answers with CHILD_SA_NOT_FOUND (RFC 7296 §3.10.1: it has no such
 * SA): ours goes, and a fresh one of its configuration is made only when no other carries it.
 */
class ChildRekeyNotFoundTest {

    private static final String IKE = "aes256gcm16-prfsha256-x25519";

    @Test
    void theOnlyChildSaOfItsConfigurationIsMadeAgain() throws Exception {
        try (TwoIkePeers peers = new TwoIkePeers()) {
            peers.configurePsk(IKE, IKE, "aes256gcm16", "aes256gcm16", "k", "k", "10.2.0.0/16", "10.2.0.0/16");
            IkeSa alice = peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
            Eventually.until(Duration.ofSeconds(5), "bob has the child", () -> peers.bobEvents.children.size() == 1);
            ChildSa lost = peers.aliceEvents.children.peek();
            forgetAtBob(peers, peers.bobEvents.children.peek());

            peers.alice.rekeyChild(alice, lost.inboundSpi());

            Eventually.until(Duration.ofSeconds(5), "a fresh CHILD SA on both sides",
                    () -> peers.aliceEvents.children.size() == 2 && peers.bobEvents.children.size() == 2);
            assertThat(peers.alice.onSaThread(alice, sa -> sa.children().stream().map(ChildSa::inboundSpi).toList())
                    .get(5, TimeUnit.SECONDS)).hasSize(1).doesNotContain(lost.inboundSpi());
        }
    }

    @Test
    void noneIsMadeWhenAnotherOfItsConfigurationIsThere() throws Exception {
        try (TwoIkePeers peers = new TwoIkePeers()) {
            peers.configurePsk(IKE, IKE, "aes256gcm16", "aes256gcm16", "k", "k", "10.2.0.0/16", "10.2.0.0/16");
            IkeSa alice = peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
            ChildSa lost = peers.aliceEvents.children.peek();
            ChildSa other = peers.alice.createChild(alice, "net").get(10, TimeUnit.SECONDS);
            Eventually.until(Duration.ofSeconds(5), "bob has both", () -> peers.bobEvents.children.size() == 2);
            forgetAtBob(peers, peers.bobEvents.children.stream()
                    .filter(c -> c.inboundSpi() == lost.outboundSpi()).findFirst().orElseThrow());

            peers.alice.rekeyChild(alice, lost.inboundSpi());

            Eventually.until(Duration.ofSeconds(5), "alice dropped the CHILD SA bob lost", () -> peers.alice
                    .onSaThread(alice, sa -> sa.childSas().byInboundSpi(lost.inboundSpi()).isEmpty()).join());
            Thread.sleep(500); // a CREATE_CHILD_SA would be out by now
            assertThat(peers.aliceEvents.children).as("no CHILD SA made again").hasSize(2);
            assertThat(peers.alice.onSaThread(alice, sa -> sa.children().stream().map(ChildSa::inboundSpi).toList())
                    .get(5, TimeUnit.SECONDS)).containsExactly(other.inboundSpi());
        }
    }

    /** Bob forgets {@code child} without a word to alice, as a peer that lost it would. */
    private static void forgetAtBob(TwoIkePeers peers, ChildSa child) throws Exception {
        IkeSa bob = TwoIkePeers.onlyIkeSa(peers.bob);
        peers.bob.onSaThread(bob, sa -> {
            sa.childSas().remove(child);
            return null;
        }).get(5, TimeUnit.SECONDS);
    }
}
