package dev.keel.esp.tun;

import dev.keel.core.net.IpPrefix;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Brings a gateway's TUN interface up: the device with one queue per event loop, its MTU, its
 * addresses, and a route through it for every protected remote prefix (like strongSwan's
 * kernel-libipsec does for its ipsec0). Runs {@code ip} from iproute2 for addresses and routes;
 * call it at start-up, never on an event loop.
 */
public final class TunSetup {

    private TunSetup() {
    }

    /**
     * Opens {@code name} with {@code queues} queues, sets {@code mtu}, adds {@code addresses}
     * (CIDR text, may be empty), brings it up and routes {@code routes} through it. Closes the
     * device again when a step fails.
     */
    public static TunDevice up(String name, int queues, int mtu, List<String> addresses, List<IpPrefix> routes)
            throws IOException, InterruptedException {
        return up(name, queues, mtu, addresses, routes, false);
    }

    /** {@link #up(String, int, int, List, List)} with or without offloads ({@link TunDevice#open(String, int, boolean)}). */
    public static TunDevice up(String name, int queues, int mtu, List<String> addresses, List<IpPrefix> routes,
            boolean offload) throws IOException, InterruptedException {
        return up(name, queues, mtu, addresses, routes, 0, offload);
    }

    /**
     * {@link #up(String, int, int, List, List, boolean)} with the routes at {@code routeMetric}
     * (0: the kernel's default).
     */
    public static TunDevice up(String name, int queues, int mtu, List<String> addresses, List<IpPrefix> routes,
            int routeMetric, boolean offload) throws IOException, InterruptedException {
        TunDevice tun = TunDevice.open(name, queues, offload);
        try {
            tun.setMtu(mtu);
            for (String a : addresses) {
                ip("addr", "add", a, "dev", tun.name());
            }
            tun.setUp(true);
            for (IpPrefix prefix : routes) {
                addRoute(List.of("ip"), prefix, tun.name(), routeMetric);
            }
            return tun;
        } catch (IOException | InterruptedException | RuntimeException e) {
            tun.close();
            throw e;
        }
    }

    /** How many metrics above the asked one a route may take when another device holds that one. */
    static final int METRIC_STEPS = 16;

    /**
     * Routes {@code prefix} through {@code device} at {@code metric}, or the next free metric when
     * another device has that prefix at that metric already: several esp-workers on one host each
     * have their own TUN device routing the same remote selectors, and one must not take another's
     * route (a {@code replace} would, and the first worker to die would take the only route with it).
     * {@code ip route add} is exclusive in the kernel, so two workers starting at once cannot both
     * get one metric. Returns the metric taken.
     *
     * @param ip the {@code ip} command ({@code ip -n NS} in a test)
     */
    static int addRoute(List<String> ip, IpPrefix prefix, String device, int metric)
            throws IOException, InterruptedException {
        for (int m = metric; ; m++) {
            try {
                List<String> cmd = new ArrayList<>(ip);
                cmd.addAll(List.of("route", "add", prefix.toString(), "dev", device, "metric", Integer.toString(m)));
                run(cmd);
                return m;
            } catch (IOException e) {
                if (!e.getMessage().contains("File exists") || m == metric + METRIC_STEPS - 1) {
                    throw e;
                }
            }
        }
    }

    private static void ip(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add("ip");
        cmd.addAll(List.of(args));
        run(cmd);
    }

    private static void run(List<String> cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", cmd) + ": no answer in 10 s");
        }
        String output = new String(p.getInputStream().readAllBytes()).strip();
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed (" + p.exitValue() + "): " + output);
        }
    }
}
