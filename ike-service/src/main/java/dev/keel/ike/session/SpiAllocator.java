package dev.keel.ike.session;

/**
 * Hands out inbound ESP SPIs unique on this node (or cluster, when backed by sad-service's
 * AllocateSpi). Values 0–255 are reserved (RFC 4303 §2.1) and never returned.
 */
public interface SpiAllocator {

    /** A fresh SPI not in use. */
    int allocate();

    /** Returns {@code spi} for reuse once its CHILD SA is gone. */
    void release(int spi);

    /** Marks {@code spi} in use: a CHILD SA taken over from another node has it (docs/ha.md). */
    void reserve(int spi);
}
