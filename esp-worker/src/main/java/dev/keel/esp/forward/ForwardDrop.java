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
    /** A route or PROTECT policy matches but its child has no SA (an acquire is sent or in flight). */
    NO_SA,
    /** No SPD entry matches the packet (RFC 4301 §5.1: discard). */
    NO_POLICY,
    /** The matching SPD entry says DISCARD. */
    POLICY_DISCARD,
    /** The matching SPD entry says BYPASS but this worker has no clear-text path configured. */
    NO_CLEAR_PATH,
    /** A UDP 4500 datagram too short to be ESP or IKE (RFC 3948 §2.2). */
    MALFORMED_DATAGRAM,
    /** A datagram bigger than the packet buffer. */
    OVERSIZE,
    /** An output channel's queue was over its high-water mark. */
    BACKPRESSURE,
    /** An SA whose peer endpoint has port 0 (raw ESP, IP protocol 50) on a node without raw ESP sockets. */
    NO_RAW_ESP,
    /** An AH SA on a node without raw AH sockets (IP protocol 51), or whose peer is of another address family. */
    NO_RAW_AH,
    /** A decrypted packet for a route-based interface this worker has not opened (or not yet). */
    NO_INTERFACE
}
