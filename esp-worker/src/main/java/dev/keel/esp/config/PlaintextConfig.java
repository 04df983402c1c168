package dev.keel.esp.config;

import dev.keel.core.net.InterfaceAddress;
import java.net.InetSocketAddress;
import java.util.List;

/** The plaintext side of a worker: a TUN device, or the UDP virtual wire for tests. */
public sealed interface PlaintextConfig {

    /**
     * A multi-queue TUN device, one queue per event loop.
     *
     * @param name the interface name (at most 15 characters)
     * @param addresses addresses (with prefix length) Keel puts on the device; may be empty when
     *     the operator configures it
     * @param mtu the interface MTU, or 0 to derive it from {@code pathMtu} minus the SAs' overhead
     * @param pathMtu the MTU of the outer path towards the peers
     * @param offload open the device with checksum and TCP segmentation offload (software GSO/GRO
     *     in Keel, docs/tun.md); default true
     * @param routes which protected remote prefixes get a route through the device
     */
    record Tun(String name, List<InterfaceAddress> addresses, int mtu, int pathMtu, boolean offload, Routes routes)
            implements PlaintextConfig {
        public Tun {
            addresses = List.copyOf(addresses);
            java.util.Objects.requireNonNull(routes, "routes");
        }

        /** Routing every remote prefix ({@link Routes#ALL}). */
        public Tun(String name, List<InterfaceAddress> addresses, int mtu, int pathMtu, boolean offload) {
            this(name, addresses, mtu, pathMtu, offload, Routes.ALL);
        }

        public Tun(String name, List<InterfaceAddress> addresses, int mtu, int pathMtu) {
            this(name, addresses, mtu, pathMtu, true);
        }
    }

    /**
     * The routes a TUN device gets for the protected remote prefixes ({@code tun.routes}): what a
     * routing daemon exporting the device's routes announces to the LAN (docs/ha.md).
     */
    enum Routes {
        /** Every child's remote selectors, from start to stop (strongSwan's kernel-libipsec does this). */
        ALL,
        /**
         * Every child's remote selectors from start to stop at the standby metric, and again at the
         * owner's (lower) metric while this node's data plane holds an outbound SA of the child (it
         * owns the SA): a daemon that announces the metric (BGP MED) makes the LAN prefer the owner
         * and keeps the other node as the next path.
         */
        OWNER_PREFERRED;

        /** The metric of a child's route on a node that owns its SA ({@link #OWNER_PREFERRED}). */
        public static final int OWNER_METRIC = 100;
        /** The metric of every child's route ({@link #OWNER_PREFERRED}; {@link #ALL}: the kernel's default, 0). */
        public static final int STANDBY_METRIC = 200;

        /** The metric of the routes every child gets from start. */
        public int baseMetric() {
            return this == ALL ? 0 : STANDBY_METRIC;
        }
    }

    /** The UDP virtual wire: plaintext IP packets received on {@code bind}, delivered to {@code host}. */
    record VirtualWire(InetSocketAddress bind, InetSocketAddress host) implements PlaintextConfig {
    }
}
