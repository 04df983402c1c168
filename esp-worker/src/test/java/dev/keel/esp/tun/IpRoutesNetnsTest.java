package dev.keel.esp.tun;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.net.IpPrefix;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link IpRoutes} against a real kernel: a TUN device (persistent, no process behind it) in a
 * namespace of the test's own (root, ip netns), with a standby route at another metric that the
 * owner's routes never touch.
 */
class IpRoutesNetnsTest {

    private static final IpPrefix A = IpPrefix.parse("10.2.0.0/24");
    private static final IpPrefix B = IpPrefix.parse("10.3.0.0/24");
    private static final IpPrefix V6 = IpPrefix.parse("2001:db8:2::/64");

    @Test
    void oneBatchAddsAndRemovesAndAFailingLineFallsBackToOneChangeAtATime() throws Exception {
        try (Netns ns = Netns.create("routes")) {
            ns.execOk("ip", "tuntap", "add", "dev", "rt0", "mode", "tun");
            ns.execOk("ip", "link", "set", "rt0", "up");
            ns.execOk("ip", "route", "add", "10.2.0.0/24", "dev", "rt0", "metric", "200");
            IpRoutes routes = new IpRoutes("rt0", 100, List.of("ip", "-n", ns.name()));

            assertThat(routes.apply(List.of(add(A), add(B), add(V6)))).isEmpty();
            assertThat(routed(ns)).contains("10.2.0.0/24 scope link metric 100", "10.2.0.0/24 scope link metric 200",
                    "10.3.0.0/24 scope link metric 100", "2001:db8:2::/64 metric 100");

            // 10.2.0.0/24 at 100 is gone already (an operator, a device recreated): the batch stops
            // there, and one change at a time finds that removing it is done and the rest went through.
            ns.execOk("ip", "route", "del", "10.2.0.0/24", "dev", "rt0", "metric", "100");
            assertThat(routes.apply(List.of(remove(A), remove(B), add(A)))).isEmpty();
            assertThat(routed(ns)).contains("10.2.0.0/24 scope link metric 100").doesNotContain("10.3.0.0/24");
            assertThat(routes.apply(List.of(remove(A)))).isEmpty();
            assertThat(routed(ns)).as("the standby route stays").contains("10.2.0.0/24 scope link metric 200")
                    .doesNotContain("metric 100\n10.2");

            // Through a device that is not there: failed, for the caller to try again.
            IpRoutes missing = new IpRoutes("rt9", 100, List.of("ip", "-n", ns.name()));
            assertThat(missing.apply(List.of(add(B), remove(A)))).containsExactly(add(B), remove(A));
            assertThat(missing.apply(List.of(add(B)))).containsExactly(add(B));
        }
    }

    @Test
    void aSecondDeviceRoutingTheSamePrefixTakesTheNextMetricAndKeepsItsRouteWhenTheFirstGoes() throws Exception {
        try (Netns ns = Netns.create("routes")) {
            List<String> ip = List.of("ip", "-n", ns.name());
            for (String dev : List.of("rt0", "rt1")) {
                ns.execOk("ip", "tuntap", "add", "dev", dev, "mode", "tun");
                ns.execOk("ip", "link", "set", dev, "up");
            }
            // two esp-workers on one host, each its TUN device with the standby routes (TunSetup.up)
            assertThat(TunSetup.addRoute(ip, A, "rt0", 200)).isEqualTo(200);
            assertThat(TunSetup.addRoute(ip, A, "rt1", 200)).as("not rt0's route taken over").isEqualTo(201);
            assertThat(TunSetup.addRoute(ip, V6, "rt0", 200)).isEqualTo(200);
            assertThat(TunSetup.addRoute(ip, V6, "rt1", 200)).isEqualTo(201);
            assertThat(ns.execOk("ip", "route", "show", "10.2.0.0/24").output())
                    .contains("dev rt0 scope link metric 200", "dev rt1 scope link metric 201");

            ns.execOk("ip", "tuntap", "del", "dev", "rt0", "mode", "tun"); // the first worker dies
            assertThat(ns.execOk("ip", "route", "show", "10.2.0.0/24").output().strip()) // linkdown: no process on it
                    .startsWith("10.2.0.0/24 dev rt1 scope link metric 201").doesNotContain("rt0");
            assertThat(ns.execOk("ip", "-6", "route", "show", "2001:db8:2::/64").output())
                    .contains("dev rt1 metric 201").doesNotContain("rt0");
        }
    }

    private static String routed(Netns ns) throws Exception {
        return ns.execOk("ip", "route", "show", "dev", "rt0").output() + ns.execOk("ip", "-6", "route", "show", "dev",
                "rt0").output();
    }

    private static OwnedRoutes.Change add(IpPrefix p) {
        return new OwnedRoutes.Change(p, true);
    }

    private static OwnedRoutes.Change remove(IpPrefix p) {
        return new OwnedRoutes.Change(p, false);
    }
}
