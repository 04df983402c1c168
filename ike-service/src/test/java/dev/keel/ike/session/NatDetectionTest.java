package dev.keel.ike.session;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.ike.config.IkeConnection;
import dev.keel.ike.engine.IkeEngine;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * NAT detection between two engines in one process (RFC 7296 §2.23): with nothing between
 * them the hashes match, no NAT is found and the CHILD SA is raw ESP; a connection with
 * {@code encap} fakes its source hash, so the peer sees it behind a NAT and both sides run the
 * CHILD SA in UDP, as strongSwan's {@code encap = yes} does.
 */
class NatDetectionTest {

    private static final String IKE = "aes256gcm16-prfsha256-x25519";

    @Test
    void withoutNatNeitherSideFindsOneAndTheChildIsRawEsp() throws Exception {
        try (TwoIkePeers peers = new TwoIkePeers()) {
            peers.configurePsk(IKE, IKE, "aes256gcm16", "aes256gcm16", "k3y-k3y-k3y", "k3y-k3y-k3y",
                    "10.2.0.0/16", "10.2.0.0/16");
            peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
            for (IkeEngine e : new IkeEngine[] {peers.alice, peers.bob}) {
                IkeEndpoints ends = TwoIkePeers.onlyIkeSa(e).endpoints();
                assertThat(ends.natHere()).as("NAT in front of us").isFalse();
                assertThat(ends.natThere()).as("NAT in front of the peer").isFalse();
                assertThat(ends.localPort()).as("IKE stays on 500").isEqualTo(500);
            }
            assertThat(peers.aliceEvents.children.peek().encap()).isFalse();
            assertThat(peers.bobEvents.children.peek().encap()).isFalse();
        }
    }

    @Test
    void forcedEncapsulationFakesTheSourceHashAndBothSidesEncapsulate() throws Exception {
        try (TwoIkePeers peers = new TwoIkePeers()) {
            peers.configurePsk(IKE, IKE, "aes256gcm16", "aes256gcm16", "k3y-k3y-k3y", "k3y-k3y-k3y",
                    "10.2.0.0/16", "10.2.0.0/16");
            peers.reshape(NatDetectionTest::encap, c -> c);
            peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
            IkeEndpoints bob = TwoIkePeers.onlyIkeSa(peers.bob).endpoints();
            assertThat(bob.natThere()).as("bob sees alice behind a NAT (her fake hash)").isTrue();
            assertThat(bob.natHere()).as("bob's own address hashed as alice saw it").isFalse();
            IkeEndpoints alice = TwoIkePeers.onlyIkeSa(peers.alice).endpoints();
            assertThat(alice.natHere()).isFalse();
            assertThat(alice.natDetected()).as("alice forced it").isTrue();
            assertThat(alice.localPort()).as("alice floated to 4500").isEqualTo(4500);
            assertThat(peers.aliceEvents.children.peek().encap()).isTrue();
            assertThat(peers.bobEvents.children.peek().encap()).isTrue();
        }
    }

    private static IkeConnection encap(IkeConnection c) {
        return new IkeConnection(c.name(), c.localAddrs(), c.remoteAddrs(), c.remotePort(), c.localId(), c.remoteId(),
                c.auth(), c.proposals(), true, c.dpdDelay(), c.children(), c.lifetime());
    }
}
