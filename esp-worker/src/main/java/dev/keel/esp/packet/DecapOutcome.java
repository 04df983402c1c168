package dev.keel.esp.packet;

/** What became of an inbound ESP packet; every value but {@link #DELIVERED} and {@link #HELD} is a drop. */
public enum DecapOutcome {
    /** Verified, decrypted and within policy: the inner packet is in the buffer. */
    DELIVERED,
    /** A verified dummy packet (next header 59, RFC 4303 §2.6), dropped silently. */
    DUMMY,
    /** Shorter than an ESP header, IV and ICV of its SA. */
    TRUNCATED,
    /** A length the SA's cipher cannot have produced (e.g. not whole CBC blocks). */
    MALFORMED,
    /** No inbound SA has this SPI. */
    UNKNOWN_SPI,
    /** Already received, or older than the replay window (RFC 4303 §3.4.3). */
    REPLAYED,
    /**
     * Verified, decrypted and within policy, but above what sad-service has recorded this node may
     * accept (replay checkpoint + margin): the inner packet is in the buffer, and the caller may
     * keep it until the next checkpoint raises the limit, then accept and deliver it (the
     * forwarder's {@code HeldPackets}), or drop it as {@link #CHECKPOINT_BEHIND}. Nothing above
     * the limit is ever accepted, so a node that takes the SA over never accepts it again
     * (docs/ha.md, "Inbound replay floor after a takeover").
     */
    HELD,
    /**
     * Verified, but above the accept limit ({@link #HELD}) and not kept, or kept longer than the
     * hold allows: dropped.
     */
    CHECKPOINT_BEHIND,
    /** The integrity check failed; nothing was decrypted for release (RFC 4303 §3.4.4). */
    ICV_FAILURE,
    /** The pad length exceeds the payload or the pad bytes are not 1, 2, 3, ... (RFC 4303 §2.4). */
    BAD_PADDING,
    /** The next header does not fit the SA's mode, or the inner packet is not a valid IP packet. */
    BAD_NEXT_HEADER,
    /** The inner packet is outside the SA's traffic selectors (RFC 4301 §5.2). */
    POLICY_MISMATCH,
    /** The buffer lacks the headroom to rebuild a transport-mode IP header. */
    BUFFER_TOO_SMALL,
    /** The SA reached a hard lifetime (RFC 4301 §4.4.2.1): nothing more is accepted on it. */
    SA_EXPIRED;

    public boolean isDrop() {
        return this != DELIVERED && this != HELD;
    }
}
