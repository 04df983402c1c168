package dev.keel.core.spd;

/** What the SPD says to do with a packet its entry selects (RFC 4301 §4.4.1). */
public enum SpdAction {
    /** Send or accept the packet only through the IPsec SA of the entry's CHILD_SA. */
    PROTECT,
    /** Let the packet pass in clear text. */
    BYPASS,
    /** Drop the packet. */
    DISCARD
}
