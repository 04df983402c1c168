package dev.keel.esp.acquire;

import dev.keel.core.net.IpAddress;
import dev.keel.core.spd.SpdEntry;

/**
 * A request to negotiate the CHILD_SA of a PROTECT policy a packet hit while no SA exists for it.
 * The packet's own addresses, protocol and ports come along so the initiator can put them first
 * in its traffic selectors and let the responder narrow to them (RFC 7296 §2.9).
 *
 * @param policy          the SPD entry the packet matched (connection and child name the CHILD_SA)
 * @param source          the packet's source address
 * @param destination     the packet's destination address
 * @param protocol        the packet's upper-layer protocol
 * @param sourcePort      its source port (ICMP: type << 8 | code), or -1 when it has none
 * @param destinationPort its destination port, or -1
 * @param atNanos         {@link System#nanoTime()} when the packet was seen
 */
public record Acquire(SpdEntry policy, IpAddress source, IpAddress destination, int protocol, int sourcePort,
        int destinationPort, long atNanos) {

    /** The connection to negotiate in. */
    public String connection() {
        return policy.connection();
    }

    /** The child (CHILD_SA configuration) to negotiate. */
    public String child() {
        return policy.child();
    }
}
