package dev.keel.esp.sa;

import dev.keel.core.packet.IpPacketInfo;
import dev.keel.core.ts.TrafficSelector;
import dev.keel.core.ts.TrafficSelectors;
import java.util.List;

/**
 * The inbound check of RFC 4301 §5.2 step 4 against an SA's negotiated traffic selectors: a
 * decrypted packet's source must lie in the remote selectors and its destination in the local
 * ones (every local × remote pair is part of the SA, as with one policy per pair).
 */
public record SelectorPolicy(List<TrafficSelector> local, List<TrafficSelector> remote) implements InnerPacketPolicy {

    public SelectorPolicy {
        local = List.copyOf(local);
        remote = List.copyOf(remote);
        if (local.isEmpty() || remote.isEmpty()) {
            throw new IllegalArgumentException("an SA needs at least one local and one remote traffic selector");
        }
    }

    @Override
    public boolean permits(byte[] buf, IpPacketInfo info) {
        boolean v6 = info.isIpv6();
        int protocol = info.protocol();
        return TrafficSelectors.matchesAny(remote, protocol, buf, info.sourceOffset(), v6, info.sourcePort())
                && TrafficSelectors.matchesAny(local, protocol, buf, info.destinationOffset(), v6, info.destinationPort());
    }
}
