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
 * neither counts it established nor sends its next request (a rekey's Delete) before that. A
 * rekey whose replacement the node cannot install keeps the old SA on both sides (RFC 7296 §2.25).
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

    @Test
    void aRekeyTheResponderCannotInstallIsAnsweredTemporaryFailureAndBothKeepTheOldSa() throws Exception {
        try (TwoIkePeers peers = new TwoIkePeers()) {
            peers.configurePsk(IKE, IKE, "aes256gcm16", "aes256gcm16", "k", "k", "10.2.0.0/16", "10.2.0.0/16");
            IkeSa sa = peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
            ChildSa old = peers.aliceEvents.children.peek();
            peers.bobEvents.installGate = CompletableFuture.failedFuture(new IllegalStateException("SAD unreachable"));

            peers.alice.rekeyChild(sa, old.inboundSpi());
            Eventually.until(Duration.ofSeconds(5), "alice told TEMPORARY_FAILURE",
                    () -> peers.aliceEvents.failures.stream().anyMatch(f -> f.contains("TEMPORARY_FAILURE")));
            peers.bobEvents.installGate = null; // the SAD is back before alice's retry (0.5-2 s later)
            assertThat(peers.bobEvents.failures).anyMatch(f -> f.contains("could not be installed"));
            assertThat(peers.aliceEvents.childrenDeleted).as("alice's old SA kept").isEmpty();
            assertThat(peers.bobEvents.childrenDeleted).as("bob's uninstalled pair only").hasSize(1)
                    .noneMatch(c -> c.inboundSpi() == old.outboundSpi());
            assertThat(peers.aliceEvents.children).as("alice made no replacement").hasSize(1);

            Eventually.until(Duration.ofSeconds(10), "the retried rekey replaced the old pair on both sides",
                    () -> peers.aliceEvents.childrenDeleted.size() == 1 && peers.bobEvents.childrenDeleted.size() == 2);
            assertThat(peers.aliceEvents.childrenDeleted).containsExactly(old);
            assertThat(peers.bobEvents.childrenDeleted).anyMatch(c -> c.inboundSpi() == old.outboundSpi());
            Eventually.until(Duration.ofSeconds(5), "one CHILD SA on each side",
                    () -> childCount(peers.alice) == 1 && childCount(peers.bob) == 1);
        }
    }

    @Test
    void aRekeyTheInitiatorCannotInstallDeletesTheReplacementKeepsTheOldSaAndIsRetried() throws Exception {
        try (TwoIkePeers peers = new TwoIkePeers()) {
            peers.configurePsk(IKE, IKE, "aes256gcm16", "aes256gcm16", "k", "k", "10.2.0.0/16", "10.2.0.0/16");
            IkeSa sa = peers.alice.initiate("to-bob", "net").get(10, TimeUnit.SECONDS);
            ChildSa old = peers.aliceEvents.children.peek();
            peers.aliceEvents.installGate = CompletableFuture.failedFuture(new IllegalStateException("SAD unreachable"));

            peers.alice.rekeyChild(sa, old.inboundSpi());
            Eventually.until(Duration.ofSeconds(5), "alice deleted the replacement she could not install",
                    () -> peers.aliceEvents.childrenDeleted.size() == 1 && peers.bobEvents.childrenDeleted.size() == 1);
            peers.aliceEvents.installGate = null;
            ChildSa fresh = peers.aliceEvents.children.stream().skip(1).findFirst().orElseThrow();
            assertThat(peers.aliceEvents.childrenDeleted).containsExactly(fresh);
            assertThat(peers.bobEvents.childrenDeleted).allMatch(c -> c.inboundSpi() == fresh.outboundSpi());
            assertThat(peers.aliceEvents.failures).anyMatch(f -> f.contains("its replacement could not be installed"));

            Eventually.until(Duration.ofSeconds(10), "the retried rekey replaced the old pair on both sides",
                    () -> peers.aliceEvents.childrenDeleted.size() == 2 && peers.bobEvents.childrenDeleted.size() == 2);
            assertThat(peers.aliceEvents.childrenDeleted).contains(old);
            Eventually.until(Duration.ofSeconds(5), "one CHILD SA on each side",
                    () -> childCount(peers.alice) == 1 && childCount(peers.bob) == 1);
        }
    }

    private static int childCount(dev.keel.ike.engine.IkeEngine engine) {
        return engine.ikeSas().stream().mapToInt(s -> s.childSas().list().size()).sum();
    }
}
