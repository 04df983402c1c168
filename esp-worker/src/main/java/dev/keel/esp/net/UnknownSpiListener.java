package dev.keel.esp.net;

import java.net.InetSocketAddress;

/**
 * Told of inbound ESP whose SPI has no SA here (dropped and counted as
 * {@code DecapOutcome.UNKNOWN_SPI}): in an HA pair another node may own that SA, and the gateway
 * may claim it (docs/ha.md, "Packets at the node that does not own their SA").
 */
@FunctionalInterface
public interface UnknownSpiListener {

    /** Ignores them (the packets stay plain drops). */
    UnknownSpiListener NONE = (spi, sender) -> { };

    /**
     * An ESP packet with {@code spi} from {@code sender} found no SA. Called on an event loop for
     * every such packet: must not block or wait, and must bound what it does with a flood of
     * random SPIs.
     */
    void onUnknownSpi(int spi, InetSocketAddress sender);
}
