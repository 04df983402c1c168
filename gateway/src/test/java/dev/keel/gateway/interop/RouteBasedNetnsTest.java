package dev.keel.gateway.interop;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.esp.wire.SystemTests;
import dev.keel.esp.wire.Tshark;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two route-based connections side by side ({@link RouteBasedTunnels}), both selecting 0.0.0.0/0:
 * pings across each tunnel's inside address pair are answered both ways, and tshark, reading the
 * outer link with the keys Keel A exported, finds each tunnel's pings inside ESP of that tunnel's
 * own SPIs only (one pair per tunnel, the two pairs distinct), with good ICVs.
 */
@Timeout(value = 6, unit = TimeUnit.MINUTES)
class RouteBasedNetnsTest {

    static final int PINGS = 5;

    @TempDir
    Path work;

    @Test
    void eachTunnelCarriesItsOwnInsideAddressesUnderItsOwnSpis() throws Exception {
        SystemTests.assumeIpNetns();
        Tshark tshark = Tshark.assumeInstalled();
        try (RouteBasedTunnels t = RouteBasedTunnels.start(work, Duration.ofSeconds(10))) {
            Path pcap = work.resolve("outer.pcap");
            Process capture = KeelStrongSwanInteropTest.startCapture(t.topo, pcap);
            try {
                String a = t.topo.a().gatewayNamespace();
                String b = t.topo.b().gatewayNamespace();
                for (RouteBasedTunnels.Tunnel tun : List.of(RouteBasedTunnels.T1, RouteBasedTunnels.T2)) {
                    assertThat(t.routeDevice(a, tun.insideB())).as("A's route to %s", tun.insideB())
                            .isEqualTo(tun.iface());
                    assertThat(t.pingsAnswered(a, tun.insideB(), PINGS, "0.2")).as("A pings %s%s", tun.insideB(),
                            t.logs()).isEqualTo(PINGS);
                    assertThat(t.pingsAnswered(b, tun.insideA(), PINGS, "0.2")).as("B pings %s", tun.insideA())
                            .isEqualTo(PINGS);
                }
            } finally {
                capture.destroy();
                capture.waitFor(10, TimeUnit.SECONDS);
            }
            List<String> prefs = KeelGatewayProcess.tsharkPreferences(t.a.keys());
            Set<String> all = new TreeSet<>();
            for (RouteBasedTunnels.Tunnel tun : List.of(RouteBasedTunnels.T1, RouteBasedTunnels.T2)) {
                // outer ip.src/ip.dst are the first occurrences, the inner ones the second (tunnel mode)
                String toPeer = "esp.icv_good == 1 && ip.dst == " + tun.peerOutside();
                String fromPeer = "esp.icv_good == 1 && ip.src == " + tun.peerOutside();
                Set<String> out = spis(tshark, pcap, prefs, toPeer);
                Set<String> in = spis(tshark, pcap, prefs, fromPeer);
                assertThat(out).as("SPIs of ESP to %s", tun.peerOutside()).hasSize(1);
                assertThat(in).as("SPIs of ESP from %s", tun.peerOutside()).hasSize(1);
                all.addAll(out);
                all.addAll(in);
                String inner = " && icmp && ip.src == " + tun.insideA() + " && ip.dst == " + tun.insideB();
                assertThat(KeelStrongSwanInteropTest.count(pcap, prefs, toPeer + inner))
                        .as("A's echo requests to %s inside ESP to %s", tun.insideB(), tun.peerOutside())
                        .isGreaterThanOrEqualTo(PINGS);
                String otherInside = tun == RouteBasedTunnels.T1 ? RouteBasedTunnels.T2.insideB()
                        : RouteBasedTunnels.T1.insideB();
                assertThat(KeelStrongSwanInteropTest.count(pcap, prefs, toPeer + " && ip.dst == " + otherInside))
                        .as("the other tunnel's inside address inside ESP to %s", tun.peerOutside()).isZero();
            }
            assertThat(all).as("four SPIs, one per tunnel and direction").hasSize(4);
        }
    }

    /** The distinct ESP SPIs of the frames {@code filter} selects. */
    private static Set<String> spis(Tshark tshark, Path pcap, List<String> prefs, String filter) {
        List<String> args = new ArrayList<>(List.of("-n", "-r", pcap.toString()));
        for (String p : prefs) {
            args.addAll(List.of("-o", p));
        }
        args.addAll(List.of("-Y", filter, "-T", "fields", "-e", "esp.spi"));
        String out = tshark.run(args, Duration.ofSeconds(60)).requireSuccess().stdout();
        Set<String> spis = new TreeSet<>();
        out.lines().filter(l -> !l.isBlank()).forEach(l -> spis.add(l.strip()));
        return spis;
    }
}
