package dev.keel.esp.forward;

import dev.keel.core.ts.TrafficSelector;
import dev.keel.esp.sa.OutboundSa;
import java.net.InetSocketAddress;
import java.util.Objects;

/**
 * One entry of the local routing table: inner packets whose destination matches
 * {@code remote} are protected with {@code sa} and sent to {@code peer} (its UDP 4500 endpoint).
 * A null {@code sa} is PROTECT without an SA: such packets are dropped and counted.
 */
public record Route(TrafficSelector remote, OutboundSa sa, InetSocketAddress peer) {

    public Route {
        Objects.requireNonNull(remote, "remote");
        Objects.requireNonNull(peer, "peer");
    }
}
