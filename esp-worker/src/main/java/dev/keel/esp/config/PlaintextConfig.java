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
     */
    record Tun(String name, List<InterfaceAddress> addresses, int mtu, int pathMtu, boolean offload)
            implements PlaintextConfig {
        public Tun {
            addresses = List.copyOf(addresses);
        }

        public Tun(String name, List<InterfaceAddress> addresses, int mtu, int pathMtu) {
            this(name, addresses, mtu, pathMtu, true);
        }
    }

    /** The UDP virtual wire: plaintext IP packets received on {@code bind}, delivered to {@code host}. */
    record VirtualWire(InetSocketAddress bind, InetSocketAddress host) implements PlaintextConfig {
    }
}
