package dev.keel.ike.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.keel.core.ts.TrafficSelector;
import dev.keel.core.ts.TrafficSelectors;
import dev.keel.ike.message.PayloadException;
import dev.keel.ike.message.TsPayload;
import java.util.List;
import java.util.Optional;

/**
 * Narrowing (RFC 7296 §2.9) of a TS payload the peer sent, decoded from fuzzer bytes, against
 * configured selectors that the fuzzer also picks: the result lies within both sides, no selector
 * of it contains another, and every overlap of a configured with a proposed selector is covered.
 */
class TrafficSelectorNarrowingFuzzTest {

    /** What a configuration can say (swanctl's local_ts / remote_ts forms). */
    private static final List<String> CONFIGURABLE = List.of("10.1.0.0/24", "10.0.0.0/8", "0.0.0.0/0",
            "10.1.0.5/32", "10.1.0.0/16[tcp]", "10.1.0.0/24[udp/53]", "10.1.0.10-10.1.0.200", "192.0.2.0/24[icmp/8]",
            "::/0", "2001:db8::/32", "2001:db8:1::/64[tcp/443]", "fe80::1-fe80::ff", "0.0.0.0/0[47]");

    @FuzzTest(maxDuration = "15s")
    void narrowsWithinBothSides(FuzzedDataProvider data) {
        List<TrafficSelector> configured = data.pickValues(CONFIGURABLE, data.consumeInt(1, 4)).stream()
                .map(TrafficSelector::parse).toList();
        List<TrafficSelector> proposed;
        try {
            TsPayload ts = TsPayload.decode(data.consumeBoolean(), data.consumeRemainingAsBytes());
            proposed = ts.toTrafficSelectors().selectors();
        } catch (PayloadException e) {
            return; // the decoder's answer to a malformed payload: INVALID_SYNTAX
        }
        List<TrafficSelector> narrowed = TrafficSelectors.narrow(proposed, configured);

        assertThat(TrafficSelectors.isSubsetOf(narrowed, proposed)).as("within proposed").isTrue();
        assertThat(TrafficSelectors.isSubsetOf(narrowed, configured)).as("within configured").isTrue();
        for (int i = 0; i < narrowed.size(); i++) {
            for (int j = 0; j < narrowed.size(); j++) {
                assertThat(i != j && narrowed.get(i).contains(narrowed.get(j))).as("redundant %s", narrowed).isFalse();
            }
        }
        for (TrafficSelector c : configured) {
            for (TrafficSelector p : proposed) {
                Optional<TrafficSelector> overlap = c.intersect(p);
                overlap.ifPresent(o -> assertThat(TrafficSelectors.isSubsetOf(List.of(o), narrowed))
                        .as("%s ∩ %s covered by %s", c, p, narrowed).isTrue());
            }
        }
    }
}
