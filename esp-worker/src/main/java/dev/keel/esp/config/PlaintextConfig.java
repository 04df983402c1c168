package dev.keel.esp.config;

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
     * Which protected remote prefixes a TUN device gets routes for ({@code tun.routes}): what a
     * routing daemon exporting the device's routes announces to the LAN (docs/ha.md).
     */
    enum Routes {
        /** Every child's remote selectors, from start to stop (strongSwan's kernel-libipsec does this). */
        ALL,
        /**
         * A child's remote selectors while this node's data plane holds an outbound SA of the child
         * (it owns the SA); a {@code trap} child's always (its acquire needs the packets).
         */
        OWNED
    }

    /** The UDP virtual wire: plaintext IP packets received on {@code bind}, delivered to {@code host}. */
    record VirtualWire(InetSocketAddress bind, InetSocketAddress host) implements PlaintextConfig {
    }
}
