package dev.keel.esp.sa;

import dev.keel.core.packet.IpPacketInfo;

/**
 * Decides whether a decrypted inner packet may leave an inbound SA: its addresses, protocol
 * and ports must fall within the SA's traffic selectors (RFC 4301 §5.2 step 4).
 */
@FunctionalInterface
public interface InnerPacketPolicy {

    /** Permits everything: only for SAs whose selectors are 0.0.0.0/0 and ::/0 both ways. */
    InnerPacketPolicy ANY = (buf, info) -> true;

    /** Whether the parsed packet in {@code buf} matches. Must not allocate or block. */
    boolean permits(byte[] buf, IpPacketInfo info);
}
