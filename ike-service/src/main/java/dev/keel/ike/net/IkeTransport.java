package dev.keel.ike.net;

import java.net.InetSocketAddress;

/**
 * Sends IKE messages. On port 4500 the transport adds the four-byte non-ESP marker (RFC 3948
 * §2.2) itself: callers always pass the bare IKE message.
 */
public interface IkeTransport {

    /**
     * Sends {@code message} to {@code peer} from the local port {@code localPort}: the bound port that
     * serves as 500, or the one serving as 4500 once NAT traversal floated the IKE SA. Never blocks; a send that fails is logged and
     * counted, and the retransmission timer covers it.
     */
    void send(int localPort, InetSocketAddress peer, byte[] message);

    /**
     * Sends a NAT keepalive (RFC 3948 §2.3: one 0xFF byte) to {@code peer} from the port serving
     * as 4500. A transport without ESP in UDP has none to send: the default does nothing.
     */
    default void sendNatKeepalive(InetSocketAddress peer) {
    }
}
