package dev.keel.core.sa;

/** How an SA carries traffic (RFC 4301 §4.1). */
public enum IpsecMode {
    /** The whole inner IP packet is protected; the outer header addresses the SA endpoints. */
    TUNNEL,
    /** Only the upper-layer payload is protected; the IP header is that of the traffic itself. */
    TRANSPORT
}
