package dev.keel.core.ts;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.core.net.IpAddress;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

class TrafficSelectorsTest {

    private static List<TrafficSelector> list(String text) {
        return TrafficSelectors.parseList(text);
    }

    private static String narrow(String proposed, String configured) {
        return TrafficSelectors.format(TrafficSelectors.narrow(list(proposed), list(configured)));
    }

    /**
     * RFC 7296 §2.9: an initiator asking for 198.51.100.0/24 with the triggering packet's
     * selector first; a responder whose policy is the whole /24 answers with the /24 (the
     * packet selector is contained in it, so it is redundant).
     */
    @Test
    void rfc7296Section2_9PacketSelectorFirstAndWholePolicyAccepted() {
        String tsi = "198.51.100.43/32[tcp/49152], 198.51.100.0/24";
        assertThat(narrow(tsi, "198.51.100.0/24")).isEqualTo("198.51.100.0/24");
    }

    /** RFC 7296 §2.9: the responder narrows to the subset its policy allows. */
    @Test
    void rfc7296Section2_9ResponderNarrowsToItsSmallerPolicy() {
        assertThat(narrow("0.0.0.0/0", "10.0.0.0/8")).isEqualTo("10.0.0.0/8");
        assertThat(narrow("198.51.100.0/24", "198.51.100.64/26, 198.51.100.192/26"))
                .isEqualTo("198.51.100.64/26, 198.51.100.192/26");
        // Policy for one host only: the packet selector survives with its protocol and port.
        assertThat(narrow("198.51.100.43/32[tcp/49152], 198.51.100.0/24", "198.51.100.43/32"))
                .isEqualTo("198.51.100.43/32");
        assertThat(narrow("198.51.100.43/32[tcp/49152], 198.51.100.0/24", "198.51.100.43/32[tcp]"))
                .isEqualTo("198.51.100.43/32[tcp]");
        assertThat(narrow("198.51.100.0/24[tcp]", "198.51.100.0/24[tcp/80], 198.51.100.0/24[tcp/443]"))
                .isEqualTo("198.51.100.0/24[tcp/80], 198.51.100.0/24[tcp/443]");
    }

    /** RFC 7296 §2.9: no acceptable part means TS_UNACCEPTABLE, signalled by an empty list. */
    @Test
    void rfc7296Section2_9NothingAcceptableIsEmpty() {
        assertThat(TrafficSelectors.narrow(list("192.0.2.0/24"), list("198.51.100.0/24"))).isEmpty();
        assertThat(TrafficSelectors.narrow(list("0.0.0.0/0"), list("::/0"))).isEmpty();
        assertThat(TrafficSelectors.narrow(list("10.0.0.0/8[udp]"), list("10.0.0.0/8[tcp]"))).isEmpty();
        assertThat(TrafficSelectors.narrow(List.of(), list("10.0.0.0/8"))).isEmpty();
    }

    @Test
    void narrowingRemovesDuplicatesAndContainedResults() {
        assertThat(narrow("10.0.0.0/24, 10.0.0.0/24, 10.0.0.0/25", "10.0.0.0/8"))
                .isEqualTo("10.0.0.0/24");
        assertThat(narrow("10.0.0.0/25, 10.0.0.0/24", "10.0.0.0/8")).isEqualTo("10.0.0.0/24");
        assertThat(narrow("0.0.0.0/0, ::/0", "2001:db8::/32, 10.0.0.0/8"))
                .isEqualTo("2001:db8::/32, 10.0.0.0/8");
    }

    @Test
    void rejectsMoreProposalsThanAPayloadCarries() {
        List<TrafficSelector> many = Collections.nCopies(256, TrafficSelector.parse("10.0.0.0/8"));
        assertThatThrownBy(() -> TrafficSelectors.narrow(many, list("10.0.0.0/8")))
                .hasMessage("cannot narrow 256 proposed selectors; a TS payload carries at most 255");
    }

    @Test
    void initiatorChecksTheResponderOnlyNarrowed() {
        List<TrafficSelector> proposed = list("10.0.0.0/24, 10.0.1.0/24[tcp]");
        assertThat(TrafficSelectors.isSubsetOf(list("10.0.0.5/32, 10.0.1.0/25[tcp/22]"), proposed)).isTrue();
        assertThat(TrafficSelectors.isSubsetOf(list("10.0.1.0/25"), proposed)).as("widened protocol").isFalse();
        assertThat(TrafficSelectors.isSubsetOf(list("10.0.0.0/23"), proposed)).as("widened range").isFalse();
        assertThat(TrafficSelectors.isSubsetOf(List.of(), proposed)).isTrue();
    }

    @Test
    void parsesAndFormatsSwanctlLists() {
        List<TrafficSelector> l = TrafficSelectors.parseList("10.0.0.0/8,  2001:db8::/32[tcp/443] ,192.0.2.1");
        assertThat(TrafficSelectors.format(l)).isEqualTo("10.0.0.0/8, 2001:db8::/32[tcp/443], 192.0.2.1/32");
        assertThat(TrafficSelectors.parseList(TrafficSelectors.format(l))).isEqualTo(l);
        assertThat(TrafficSelectors.parseList("dynamic[udp/500], 10.0.0.0/8", IpAddress.parse("192.0.2.9")))
                .containsExactly(TrafficSelector.parse("192.0.2.9/32[udp/500]"), TrafficSelector.parse("10.0.0.0/8"));
        assertThatThrownBy(() -> TrafficSelectors.parseList("10.0.0.0/8,,::/0"))
                .hasMessage("invalid traffic selector list \"10.0.0.0/8,,::/0\": entry 2 is empty");
        assertThatThrownBy(() -> TrafficSelectors.parseList(""))
                .hasMessage("invalid traffic selector list \"\": entry 1 is empty");
        assertThatThrownBy(() -> TrafficSelectors.parseList("10.0.0.0/8, dynamic"))
                .hasMessageStartingWith("invalid traffic selector \"dynamic\": 'dynamic' must be resolved");
    }

    @Test
    void matchesAnyScansTheList() {
        List<TrafficSelector> l = list("10.0.0.0/8[tcp/22], 192.0.2.0/24");
        byte[] addr = IpAddress.parse("10.9.9.9").bytes();
        assertThat(TrafficSelectors.matchesAny(l, 6, addr, 0, false, 22)).isTrue();
        assertThat(TrafficSelectors.matchesAny(l, 6, addr, 0, false, 23)).isFalse();
        assertThat(TrafficSelectors.matchesAny(List.of(), 6, addr, 0, false, 22)).isFalse();
    }
}
