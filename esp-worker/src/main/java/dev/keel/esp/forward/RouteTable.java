package dev.keel.esp.forward;

import dev.keel.core.packet.IpPacketInfo;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Predicate;

/**
 * The outbound routing table until the SPD arrives: an ordered list of {@link Route}s, first
 * match wins on the inner destination (address, protocol, port). Event loops read it without
 * locks or allocation; writers (SA installs, rare) copy the array and publish it through one
 * volatile field.
 */
public final class RouteTable {

    private volatile Route[] routes = new Route[0];

    /** The first route whose selector matches the parsed packet's destination, or null. */
    public Route lookup(byte[] buf, IpPacketInfo info) {
        Route[] rs = routes;
        int protocol = info.protocol();
        int off = info.destinationOffset();
        boolean v6 = info.isIpv6();
        int port = info.destinationPort();
        for (Route r : rs) {
            if (r.remote().matches(protocol, buf, off, v6, port)) {
                return r;
            }
        }
        return null;
    }

    /** Appends a route (lowest priority). */
    public synchronized void add(Route route) {
        Route[] rs = Arrays.copyOf(routes, routes.length + 1);
        rs[rs.length - 1] = route;
        routes = rs;
    }

    /** Removes the routes {@code which} selects; returns how many. */
    public synchronized int removeIf(Predicate<Route> which) {
        List<Route> keep = new ArrayList<>(Arrays.asList(routes));
        int before = keep.size();
        keep.removeIf(which);
        routes = keep.toArray(Route[]::new);
        return before - keep.size();
    }

    /** A snapshot of the routes, in order. */
    public List<Route> all() {
        return List.of(routes);
    }
}
