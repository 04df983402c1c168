package dev.keel.proto;

import dev.keel.proto.v1.IkeDatagram;
import java.net.InetSocketAddress;

/** The one check of a keel.v1.IkeDatagram both ends of the IKE relay make before using it. */
public final class RelayDatagrams {

    /** Largest IKE message a datagram carries: a UDP payload less the non-ESP marker. */
    public static final int MAX_MESSAGE = 65_523;

    /** A datagram's endpoints, checked. */
    public record Endpoints(InetSocketAddress peer, InetSocketAddress local) {
    }

    private RelayDatagrams() {
    }

    /**
     * The peer and local endpoints of {@code d}, or null when it is malformed: an endpoint missing
     * or not an address and port, the peer's port 0, or a message empty or over {@link #MAX_MESSAGE}.
     */
    public static Endpoints endpoints(IkeDatagram d) {
        if (!d.hasPeer() || !d.hasLocal() || d.getMessage().isEmpty() || d.getMessage().size() > MAX_MESSAGE) {
            return null;
        }
        try {
            InetSocketAddress peer = CoreMapping.endpoint(d.getPeer(), "peer");
            InetSocketAddress local = CoreMapping.endpoint(d.getLocal(), "local");
            return peer.getPort() == 0 ? null : new Endpoints(peer, local);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
