package dev.keel.esp.plain;

import dev.keel.core.packet.PacketBuffer;
import io.vertx.core.Future;

/**
 * One event loop's share of a {@link PlaintextPort}, like one queue of a multi-queue TUN
 * device: it reads packets into its receiver and writes packets out. {@link #write} and
 * {@link #flush} are for the owning loop's thread only.
 */
public interface PlaintextQueue {

    /**
     * Queues the IP packet {@code packet[offset, offset+length)} for output; it may be sent
     * only at the next {@link #flush}. The buffer may be reused as soon as this returns.
     *
     * @return false if the packet was dropped (counted by the port)
     */
    boolean write(PacketBuffer packet);

    /** Writes out everything queued. */
    void flush();

    Future<Void> close();
}
