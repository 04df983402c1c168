package dev.keel.esp.forward;

import dev.keel.core.ts.TrafficSelector;
import dev.keel.esp.sa.EspSaSpec;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Objects;

/**
 * One statically keyed CHILD SA pair (like {@code ip xfrm state add} twice plus a policy):
 * the inbound and outbound specs, the peer's UDP 4500 endpoint, and the traffic selectors.
 * Outbound packets to {@code remote} use {@code outbound}; inbound packets must come from
 * {@code remote} and go to {@code local} (RFC 4301 §5.2).
 */
public record StaticSaPair(EspSaSpec inbound, EspSaSpec outbound, InetSocketAddress peer,
        List<TrafficSelector> local, List<TrafficSelector> remote) {

    public StaticSaPair {
        Objects.requireNonNull(inbound, "inbound");
        Objects.requireNonNull(outbound, "outbound");
        Objects.requireNonNull(peer, "peer");
        local = List.copyOf(local);
        remote = List.copyOf(remote);
        if (local.isEmpty() || remote.isEmpty()) {
            throw new IllegalArgumentException("a static SA pair needs local and remote traffic selectors");
        }
    }
}
