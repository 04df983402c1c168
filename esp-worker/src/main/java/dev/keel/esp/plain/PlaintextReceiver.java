package dev.keel.esp.plain;

import dev.keel.core.packet.PacketBuffer;

/** Takes the IP packets a {@link PlaintextQueue} reads, on the queue's event loop. */
public interface PlaintextReceiver {

    /**
     * One IP packet, after the default headroom of a buffer the receiver may change in place
     * (encrypt, rewrite). The buffer is reused for the next packet. Must not block or throw.
     */
    void onPacket(PacketBuffer packet);

    /** The end of a read batch: flush what the batch produced. */
    void onBatchEnd();
}
