package dev.keel.esp.forward;

/**
 * Why the forwarding path dropped a packet before or around ESP processing. Drops inside ESP
 * itself (replay, ICV failure, ...) are counted by {@code EspCounters} as encap / decap outcomes.
 */
public enum ForwardDrop {
    /** A plaintext packet that is not a well-formed IPv4 / IPv6 packet. */
    NOT_IP,
    /** No route matches the inner destination. */
    NO_ROUTE,
    /** A route matches but has no SA yet (PROTECT without SA; the acquire comes with the SPD). */
    NO_SA,
    /** A UDP 4500 datagram too short to be ESP or IKE (RFC 3948 §2.2). */
    MALFORMED_DATAGRAM,
    /** A datagram bigger than the packet buffer. */
    OVERSIZE,
    /** An output channel's queue was over its high-water mark. */
    BACKPRESSURE
}
