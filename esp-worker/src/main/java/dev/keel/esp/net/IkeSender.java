package dev.keel.esp.net;

import java.net.InetSocketAddress;

/**
 * Sends one IKE message to a peer from one of this worker's outer sockets: port 4500 adds the
 * non-ESP marker (RFC 3948 §2.2, {@code FedGateway.sendIke}), port 500 sends it bare
 * ({@link IkePortSocket}). Copies {@code msg[off, off+len)}; callable from any thread; never blocks.
 */
@FunctionalInterface
public interface IkeSender {

    void send(byte[] msg, int off, int len, InetSocketAddress peer);
}
