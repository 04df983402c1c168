package dev.keel.core.ts;

import java.util.Locale;

/**
 * The fixed table of IP protocol names accepted in selector text, and which protocols carry ports.
 * Names are those of /etc/protocols (as strongSwan prints them) plus common aliases; the system
 * database is deliberately not consulted, so a config means the same on every host.
 */
final class Protocols {
    static final int ICMP = 1;
    static final int TCP = 6;
    static final int UDP = 17;
    static final int DCCP = 33;
    static final int ICMPV6 = 58;
    static final int SCTP = 132;
    static final int MOBILITY_HEADER = 135;
    static final int UDPLITE = 136;

    /** Canonical name per protocol number, or null. */
    private static final String[] NAMES = new String[256];
    private static final boolean[] HAS_PORTS = new boolean[256];

    static {
        NAMES[ICMP] = "icmp";
        NAMES[2] = "igmp";
        NAMES[4] = "ipencap";
        NAMES[TCP] = "tcp";
        NAMES[UDP] = "udp";
        NAMES[DCCP] = "dccp";
        NAMES[41] = "ipv6";
        NAMES[47] = "gre";
        NAMES[50] = "esp";
        NAMES[51] = "ah";
        NAMES[ICMPV6] = "ipv6-icmp";
        NAMES[89] = "ospf";
        NAMES[103] = "pim";
        NAMES[112] = "vrrp";
        NAMES[115] = "l2tp";
        NAMES[SCTP] = "sctp";
        NAMES[MOBILITY_HEADER] = "mobility-header";
        NAMES[UDPLITE] = "udplite";
        // RFC 4301 §4.4.1.1: these carry ports, or ICMP type/code or MH type in the port field.
        for (int p : new int[] {ICMP, TCP, UDP, DCCP, ICMPV6, SCTP, MOBILITY_HEADER, UDPLITE}) {
            HAS_PORTS[p] = true;
        }
    }

    private Protocols() {
    }

    /** Whether packets of {@code protocol} have a port (or ICMP/MH type) selector. */
    static boolean hasPorts(int protocol) {
        return protocol >= 0 && protocol < 256 && HAS_PORTS[protocol];
    }

    static boolean isIcmp(int protocol) {
        return protocol == ICMP || protocol == ICMPV6;
    }

    /** The canonical name, or the decimal number if the table has none. */
    static String name(int protocol) {
        String n = NAMES[protocol];
        return n != null ? n : Integer.toString(protocol);
    }

    /** The number for a name or alias (case-insensitive), or -1. */
    static int byName(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        switch (n) {
            case "icmp6", "icmpv6" -> {
                return ICMPV6;
            }
            case "ipv6-mh", "mh" -> {
                return MOBILITY_HEADER;
            }
            case "udp-lite" -> {
                return UDPLITE;
            }
            default -> {
                for (int p = 0; p < NAMES.length; p++) {
                    if (n.equals(NAMES[p])) {
                        return p;
                    }
                }
                return -1;
            }
        }
    }

    /** The names accepted, for error messages. */
    static String known() {
        return "tcp, udp, icmp, ipv6-icmp (icmp6), sctp, udplite, dccp, gre, esp, ah, ipv6, ipencap, igmp,"
                + " ospf, pim, vrrp, l2tp, mobility-header (ipv6-mh)";
    }
}
