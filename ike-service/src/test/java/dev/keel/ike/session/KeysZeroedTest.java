package dev.keel.ike.session;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.esp.wire.HeapSearch;
import dev.keel.ike.crypto.IkeSaKeys;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Keys do not outlive their SA in memory (issue 16, key hygiene): two engines set up an IKE SA with
 * a CHILD SA, rekey the CHILD SA and delete the IKE SA; then the live heap ({@link HeapSearch}) is
 * searched for every key of them: SK_d, SK_a, SK_e, SK_p of the IKE SA and the CHILD SAs'
 * encryption keys. Nothing reachable may still hold one: what held them zeroed them. A first
 * search, while the SA lives, must find every key: the search works.
 */
@Timeout(120)
class KeysZeroedTest {

    private static final String IKE = "aes256gcm16-prfsha256-x25519";
    private static final String PSK = "keys-zeroed-test-psk-0123";

    @Test
    void noKeyOfADeletedSaIsLeftInTheHeap(@TempDir Path dir) throws Exception {
        List<byte[]> masked = new ArrayList<>();
        try (TwoIkePeers peers = new TwoIkePeers()) {
            peers.configurePsk(IKE, IKE, "aes256gcm16", "aes256gcm16", PSK, PSK, "10.2.0.0/16", "10.2.0.0/16");
            IkeSa sa = peers.alice.initiate("to-bob", "net").get(30, TimeUnit.SECONDS);
            Eventually.until(Duration.ofSeconds(10), "bob has the child", () -> peers.bobEvents.children.size() == 1);
            keep(masked, sa);
            ChildSa child = peers.aliceEvents.children.peek();
            keep(masked, child);
            assertThat(HeapSearch.liveHeapHolds(dir, masked)).as("keys of the live SA found in the heap")
                    .hasSize(masked.size());

            peers.alice.rekeyChild(sa, child.inboundSpi());
            Eventually.until(Duration.ofSeconds(10), "rekeyed", () -> peers.aliceEvents.children.size() == 2);
            keep(masked, List.copyOf(peers.aliceEvents.children).getLast());
            peers.alice.terminate(sa);
            Eventually.until(Duration.ofSeconds(10), "deleted on both sides",
                    () -> peers.bob.ikeSaCount() == 0 && peers.alice.ikeSaCount() == 0);
            for (TwoIkePeers.RecordingEvents e : List.of(peers.aliceEvents, peers.bobEvents)) {
                // the test's own references to the SAs: what Keel keeps is the question
                e.established.clear();
                e.children.clear();
                e.childrenDeleted.clear();
                e.rekeyedChildren.clear();
                e.rekeyedIkeSas.clear();
            }
            sa = null;
            child = null;
            assertThat(masked).as("keys to look for").hasSizeGreaterThanOrEqualTo(9);
            assertThat(HeapSearch.liveHeapHolds(dir, masked)).as("keys of the deleted SAs still in the live heap")
                    .isEmpty();
        }
    }

    private static void keep(List<byte[]> masked, IkeSa sa) {
        IkeSaKeys k = sa.keys();
        for (byte[] b : List.of(k.skD(), k.skAi(), k.skAr(), k.skEi(), k.skEr(), k.skPi(), k.skPr())) {
            if (b.length >= 16) {
                masked.add(HeapSearch.mask(b));
            }
        }
    }

    private static void keep(List<byte[]> masked, ChildSa c) {
        masked.add(HeapSearch.mask(c.outboundEncryptionKey()));
        masked.add(HeapSearch.mask(c.inboundEncryptionKey()));
    }
}
