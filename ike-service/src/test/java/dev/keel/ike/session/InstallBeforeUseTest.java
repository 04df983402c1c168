package dev.keel.ike.session;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * DESIGN §4, install before use: the message that completes a CHILD SA leaves only once the
 * node says the CHILD SA carries traffic ({@link IkeEvents#childInstalled}), and an initiator
 * neither counts it established nor sends its next request (a rekey's Delete) before that.
 */
class InstallBeforeUseTest {

    private static final String IKE = "aes256gcm16-prfsha256-x25519";

    @Test
    void ikeAuthResponseWaitsForTheResponderInstallAndRetransmitsAreHeldToo() throws Exception {
        try (TwoIkePeers peers = new TwoIkePeers()) {
            peers.configurePsk(IKE, IKE, "aes256gcm16", "aes256gcm16", "k", "k", "10.2.0.0/16", "10.2.0.0/16");
            CompletableFuture<Void> bobInstalled = new CompletableFuture<>();
            peers.bobEvents.installGate = bobInstalled;
            CopyOnWriteArrayList<Long> authResponses = new CopyOnWriteArrayList<>();
            peers.dropToAlice = m -> {
                if (TwoIkePeers.isResponse(m, "IKE_AUTH")) {
                    authResponses.add(System.nanoTime());
                }
                return false;
            };
            CompletableFuture<IkeSa> initiated = peers.alice.initiate("to-bob", "net");
            Eventually.until(Duration.ofSeconds(5), "bob has the child", () -> peers.bobEvents.children.size() == 1);
            // alice retransmits IKE_AUTH (200 ms, then 300 ms) while bob's data plane is not ready
            Thread.sleep(700);
            assertThat(authResponses).isEmpty();
            assertThat(peers.bob.counters().droppedCount(IkeDrop.RESPONSE_PENDING)).isPositive();
            assertThat(initiated).isNotDone();

            long released = System.nanoTime();
            bobInstalled.complete(null);
            IkeSa sa = initiated.get(10, TimeUnit.SECONDS);
            assertThat(sa.state()).isEqualTo(IkeSaState.ESTABLISHED);
            assertThat(authResponses).hasSize(1);
            assertThat(authResponses.getFirst()).isGreaterThan(released);
        }
    }

    @Test
    void initiatorCountsTheChildEstablishedOnlyOnceItIsInstalled() throws Exception {
        try (TwoIkePeers peers = new TwoIkePeers()) {
            peers.configurePsk(IKE, IKE, "aes256gcm16", "aes256gcm16", "k", "k", "10.2.0.0/16", "10.2.0.0/16");
            CompletableFuture<Void> aliceInstalled = new CompletableFuture<>();
            peers.aliceEvents.installGate = aliceInstalled;
            CompletableFuture<IkeSa> initiated = peers.alice.initiate("to-bob", "net");
            Eventually.until(Duration.ofSeconds(5), "alice has the child", () -> peers.aliceEvents.children.size() == 1);
            Thread.sleep(200);
            assertThat(initiated).isNotDone();
            aliceInstalled.complete(null);
            assertThat(initiated.get(10, TimeUnit.SECONDS).state()).isEqualTo(IkeSaState.ESTABLISHED);
        }
    }

    @Test
    void rekeyDeletesTheOldChildOnlyAfterTheNewOneIsInstalled() throws Exception {
        try (TwoIkePeers peers = new TwoIkePeers()) {
            peers.configurePsk(IKE, IKE, "aes256gcm16", "aes256gcm16", "k", "k", "10.2.0.0/16", "10.2.0.0/16");
            IkeSa sa = peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
            ChildSa old = peers.aliceEvents.children.peek();
            CompletableFuture<Void> aliceInstalled = new CompletableFuture<>();
            peers.aliceEvents.installGate = aliceInstalled;
            CopyOnWriteArrayList<byte[]> informational = new CopyOnWriteArrayList<>();
            peers.dropToBob = m -> {
                if (TwoIkePeers.isRequest(m, "INFORMATIONAL")) {
                    informational.add(m);
                }
                return false;
            };
            peers.alice.rekeyChild(sa, old.inboundSpi());
            Eventually.until(Duration.ofSeconds(5), "the replacement negotiated", () -> peers.aliceEvents.children.size() == 2);
            Thread.sleep(300);
            assertThat(informational).as("no Delete of the old SA before the new one is installed").isEmpty();
            aliceInstalled.complete(null);
            Eventually.until(Duration.ofSeconds(5), "old child deleted on both sides",
                    () -> peers.aliceEvents.childrenDeleted.size() == 1 && peers.bobEvents.childrenDeleted.size() == 1);
            assertThat(informational).hasSize(1);
        }
    }
}
