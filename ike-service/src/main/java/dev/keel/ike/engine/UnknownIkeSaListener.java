package dev.keel.ike.engine;

import java.net.InetSocketAddress;

/**
 * Told of each IKE message for an IKE SA the engine does not have (dropped and counted as
 * {@code IkeDrop.NO_SA}): in an HA pair another node may own it, and the gateway may claim it
 * (docs/ha.md, "Packets at the node that does not own their SA").
 */
@FunctionalInterface
public interface UnknownIkeSaListener {

    /** Ignores them. */
    UnknownIkeSaListener NONE = (spiI, spiR, peer) -> { };

    /**
     * A message with SPIs {@code spiI} / {@code spiR} from {@code peer} found no IKE SA. Called on
     * the receiving event loop for every such message: must not block, and must bound what it
     * does with a flood of made-up SPIs.
     */
    void onUnknownIkeSa(long spiI, long spiR, InetSocketAddress peer);
}
