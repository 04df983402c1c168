package dev.keel.esp.net;

import io.netty.buffer.ByteBuf;
import java.net.InetSocketAddress;

/**
 * What a {@link LoopDatagramChannel} hands its datagrams to, on the channel's event loop. A
 * read batch (one or more {@code recvmmsg} calls) is a run of {@link #onDatagram} calls ended by
 * one {@link #onBatchEnd}, where the receiver flushes what the batch made it write.
 */
public interface DatagramReceiver {

    /**
     * One datagram. {@code payload} is valid only during the call (it is a slice of the shared
     * receive buffer, released afterwards); copy what must outlive it. Must not block or throw.
     */
    void onDatagram(ByteBuf payload, InetSocketAddress sender);

    /** The end of a read batch. */
    void onBatchEnd();
}
