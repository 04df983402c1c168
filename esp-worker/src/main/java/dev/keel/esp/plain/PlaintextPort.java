package dev.keel.esp.plain;

import io.netty.channel.EventLoop;
import io.vertx.core.Future;

/**
 * The plaintext side of a gateway: where the IP packets to protect come from and where the
 * decrypted ones go. Shaped like a multi-queue TUN device ({@code IFF_MULTI_QUEUE}): one
 * {@link PlaintextQueue} per event loop, opened on that loop, reading into a receiver and
 * writing out without locks. Implementations: {@link VirtualWire} (UDP on loopback, no
 * privileges), and TUN ({@code dev.keel.esp.tun}) once it is wired to the loops.
 */
public interface PlaintextPort {

    /** Opens queue {@code index} on {@code loop}; packets it reads go to {@code receiver}. */
    Future<PlaintextQueue> openQueue(int index, EventLoop loop, PlaintextReceiver receiver);

    /** Packets dropped because an output queue was full. */
    long outputDrops();
}
