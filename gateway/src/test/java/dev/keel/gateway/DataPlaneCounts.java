package dev.keel.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.esp.feed.SaTables;
import dev.keel.esp.forward.ForwardCounters;
import dev.keel.esp.forward.ForwardDrop;
import dev.keel.esp.packet.DecapOutcome;
import dev.keel.esp.packet.EncapOutcome;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * The counts of a gateway node's data plane by name, for tests that must say exactly what
 * became of their packets: ESP outcomes ({@code "encap PROTECTED"}, {@code "decap DELIVERED"},
 * {@code "decap ICV_FAILURE"}, ...), forwarding drops ({@code "drop NO_POLICY"}, ...) and the
 * plaintext packets in and out. Zero counts are left out, so any drop shows up as an entry.
 */
final class DataPlaneCounts {

    private DataPlaneCounts() {
    }

    /** Every non-zero count of {@code n}'s data plane. */
    static Map<String, Long> of(GatewayNode n) {
        Map<String, Long> m = new TreeMap<>();
        n.dataPlane().espCounters().outboundSnapshot().forEach((k, v) -> m.put(encap(k), v));
        n.dataPlane().espCounters().inboundSnapshot().forEach((k, v) -> m.put(decap(k), v));
        ForwardCounters f = n.dataPlane().counters();
        f.dropSnapshot().forEach((k, v) -> m.put(drop(k), v));
        m.put("plaintext in", f.plaintextIn());
        m.put("plaintext out", f.plaintextOut());
        m.values().removeIf(v -> v == 0);
        return m;
    }

    static String encap(EncapOutcome o) {
        return "encap " + o;
    }

    static String decap(DecapOutcome o) {
        return "decap " + o;
    }

    static String drop(ForwardDrop d) {
        return "drop " + d;
    }

    /** The growth of a node that sent {@code sent} packets through its SA and got {@code received} back, none lost. */
    static Map<String, Long> carried(long sent, long received) {
        return Map.of("plaintext in", sent, encap(EncapOutcome.PROTECTED), sent,
                decap(DecapOutcome.DELIVERED), received, "plaintext out", received);
    }

    /**
     * Waits up to 5 s (the last counts are bumped on the event loops as the packets leave) until
     * {@code n}'s counts grew by exactly {@code growth} since {@code before}, then fails showing
     * every count that grew otherwise: a drop of any kind is a count that should not have grown
     * (packets held for a checkpoint are counted by what became of them).
     */
    static void awaitGrowth(GatewayNode n, Map<String, Long> before, Map<String, Long> growth)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        Map<String, Long> grown = outcomesGrownSince(n, before);
        while (!grown.equals(growth) && System.nanoTime() < deadline) {
            Thread.sleep(5);
            grown = outcomesGrownSince(n, before);
        }
        assertThat(grown).as("data-plane counts of %s that grew", n.settings().cluster().nodeId())
                .containsExactlyInAnyOrderEntriesOf(growth);
    }

    /**
     * {@link #grownSince} without {@code decap HELD}: a packet held for a replay checkpoint is
     * counted again as what became of it (DELIVERED, or a drop), so a held one that was delivered is
     * no loss (docs/ha.md, "The rule" 1).
     */
    private static Map<String, Long> outcomesGrownSince(GatewayNode n, Map<String, Long> before) {
        Map<String, Long> grown = grownSince(n, before);
        grown.remove(decap(DecapOutcome.HELD));
        return grown;
    }

    /** How {@code n}'s counts grew since {@code before} (a count that fell shows as negative). */
    static Map<String, Long> grownSince(GatewayNode n, Map<String, Long> before) {
        Map<String, Long> grown = new TreeMap<>(of(n));
        before.forEach((k, v) -> grown.merge(k, -v, Long::sum));
        grown.values().removeIf(v -> v == 0);
        return grown;
    }

    /** The packets {@code n}'s data-plane SA with this SPI and direction has carried; there must be exactly one. */
    static long saPackets(GatewayNode n, int spi, boolean outbound) {
        List<SaTables.SaCounters> matching = n.dataPlane().saCounters().stream()
                .filter(c -> c.spi() == spi && c.outbound() == outbound).toList();
        assertThat(matching).as("%s SA 0x%08x in the data plane", outbound ? "outbound" : "inbound", spi).hasSize(1);
        return matching.getFirst().packets();
    }
}
