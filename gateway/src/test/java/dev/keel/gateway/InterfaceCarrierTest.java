package dev.keel.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.proto.v1.ChildSaRecord;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The carrier of a {@code carrier: sa} interface follows its connection's outbound SAs
 * ({@link InterfaceCarrier}): on with the first, off with the last, untouched by a rekey (the new
 * SA installed before the old goes), by repeated notices and by other connections' SAs.
 */
class InterfaceCarrierTest {

    private final List<String> aws1 = new ArrayList<>();
    private final List<String> aws2 = new ArrayList<>();
    private final InterfaceCarrier carrier = new InterfaceCarrier(Map.of(
            "aws1", on -> aws1.add(on ? "on" : "off"),
            "aws2", on -> aws2.add(on ? "on" : "off")));

    private static ChildSaRecord sa(String connection, String id) {
        return ChildSaRecord.newBuilder().setConnection(connection).setChild("tun").setId(id).build();
    }

    @Test
    void onWithTheFirstOutboundSaOffWithTheLastAndARekeyInBetweenChangesNothing() {
        carrier.outboundInstalled(sa("aws1", "out-1"));
        carrier.outboundInstalled(sa("aws1", "out-2")); // rekey: the new SA first
        carrier.outboundRemoved(sa("aws1", "out-1")); // then the old one goes
        assertThat(aws1).containsExactly("on");

        carrier.outboundRemoved(sa("aws1", "out-2")); // DPD: the peer is dead
        assertThat(aws1).containsExactly("on", "off");
        carrier.outboundInstalled(sa("aws1", "out-3")); // dpd_action restart: a new CHILD SA
        assertThat(aws1).containsExactly("on", "off", "on");
        assertThat(aws2).isEmpty();
    }

    @Test
    void repeatedNoticesUnknownSasAndOtherConnectionsChangeNothing() {
        carrier.outboundRemoved(sa("aws1", "never-installed"));
        carrier.outboundInstalled(sa("aws1", "out-1"));
        carrier.outboundInstalled(sa("aws1", "out-1"));
        carrier.outboundInstalled(sa("site-b", "out-9")); // policy-based, or carrier: up
        carrier.outboundRemoved(sa("site-b", "out-9"));
        carrier.outboundInstalled(sa("aws2", "out-5"));
        carrier.outboundRemoved(sa("aws1", "out-1"));
        carrier.outboundRemoved(sa("aws1", "out-1"));
        assertThat(aws1).containsExactly("on", "off");
        assertThat(aws2).containsExactly("on");
    }

    @Test
    void aFailedSwitchIsTriedAgainWithTheNextChange() {
        List<String> seen = new ArrayList<>();
        boolean[] fail = {true};
        InterfaceCarrier c = new InterfaceCarrier(Map.of("aws1", on -> {
            seen.add(on ? "on" : "off");
            if (fail[0]) {
                throw new IOException("ioctl(TUNSETCARRIER, 1) on TUN device 'keel-aws1' failed: ENODEV");
            }
        }));
        c.outboundInstalled(sa("aws1", "out-1"));
        fail[0] = false;
        c.outboundRemoved(sa("aws1", "out-1"));
        c.outboundInstalled(sa("aws1", "out-2"));
        assertThat(seen).containsExactly("on", "off", "on");
    }
}
