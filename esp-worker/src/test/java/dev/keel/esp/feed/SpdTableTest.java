package dev.keel.esp.feed;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.spd.Spd;
import dev.keel.core.spd.SpdEntry;
import dev.keel.core.ts.TrafficSelector;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The SPD split by outlet: the shared side's entries, and each route-based interface's own (RFC 4301 §4.4.1). */
class SpdTableTest {

    static final TrafficSelector ANY = TrafficSelector.parse("0.0.0.0/0");
    static final SpdEntry SHARED = SpdEntry.protect("site-b", "net", TrafficSelector.parse("10.1.0.0/16"),
            TrafficSelector.parse("10.2.0.0/16"));
    static final SpdEntry AWS1 = SpdEntry.protect("aws1", "tun", ANY, ANY).onInterface("keel-aws1");
    static final SpdEntry AWS2 = SpdEntry.protect("aws2", "tun", ANY, ANY).onInterface("keel-aws2");
    static final SpdEntry ELSEWHERE = SpdEntry.protect("gcp", "tun", ANY, ANY).onInterface("keel-gcp");

    @Test
    void eachOutletSeesOnlyItsOwnEntries() {
        SpdTable t = new SpdTable();
        t.interfaces(List.of("keel-aws1", "keel-aws2"));
        t.publish(Spd.of(List.of(SHARED, AWS1, AWS2, ELSEWHERE)), 1, 1);
        assertThat(t.current().entries()).containsExactly(SHARED, AWS1, AWS2, ELSEWHERE);
        assertThat(t.forOutlet(0).entries()).containsExactly(SHARED);
        assertThat(t.forOutlet(1).entries()).containsExactly(AWS1);
        assertThat(t.forOutlet(2).entries()).containsExactly(AWS2);
        assertThat(t.forOutlet(3).entries()).as("an outlet it does not have").isEmpty();
        assertThat(t.forOutlet(-1).entries()).isEmpty();
    }

    @Test
    void interfacesNamedAfterTheSpdArrivedSplitItAgain() {
        SpdTable t = new SpdTable();
        t.publish(Spd.of(List.of(SHARED, AWS1)), 1, 1);
        assertThat(t.forOutlet(0).entries()).as("an interface this worker does not have: in no SPD")
                .containsExactly(SHARED);
        t.interfaces(List.of("keel-aws1"));
        assertThat(t.forOutlet(1).entries()).containsExactly(AWS1);
    }
}
