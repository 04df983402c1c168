package dev.keel.policy.config;

import dev.keel.core.net.InterfaceAddress;
import java.util.List;
import java.util.Objects;

/**
 * The interface a route-based connection owns ({@code connections.NAME.interface}): what the
 * kernel routes into it leaves through the connection's CHILD SA, and what that CHILD SA delivers
 * comes out of it (docs/gateway.md, "Route-based connections").
 *
 * @param name      the Linux interface name, unique among the file's interfaces
 * @param addresses the addresses Keel puts on it, e.g. the tunnel's inside {@code 169.254.10.2/30}
 * @param mtu       its MTU
 * @param carrier   whether the link's carrier follows the connection's CHILD SAs, or stays on
 */
public record RouteInterface(String name, List<InterfaceAddress> addresses, int mtu, Carrier carrier) {

    /** What the interface's carrier (its operational state, {@code LOWER_UP}) follows. */
    public enum Carrier {
        /**
         * On while this node's data plane holds an outbound CHILD SA of the connection, off
         * otherwise: a routing daemon watching the link (BIRD's {@code check link}) drops what it
         * learned over the tunnel as soon as the tunnel is gone, e.g. when DPD declares the peer dead.
         */
        SA,
        /** Always on, as strongSwan's XFRM interfaces: packets routed into it reach Keel even without an SA. */
        UP
    }

    /** The MTU when the file gives none: a 1500-byte path less the worst ESP-in-UDP overhead (docs/tun.md). */
    public static final int DEFAULT_MTU = 1400;
    /** The smallest MTU accepted: IPv6's minimum link MTU (RFC 8200 §5), which a route-based interface carries too. */
    public static final int MIN_MTU = 1280;
    /** The largest MTU accepted (an IP packet's limit). */
    public static final int MAX_MTU = 65535;

    /** Copies the list. */
    public RouteInterface {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(carrier, "carrier");
        addresses = List.copyOf(addresses);
    }
}
