package dev.keel.core.ts;

import dev.keel.core.net.IpFamily;

/** IKEv2 Traffic Selector types Keel supports (RFC 7296 §3.13.1, IANA "IKEv2 Traffic Selector Types"). */
public enum TsType {
    /** An IPv4 address range with protocol and port range. */
    TS_IPV4_ADDR_RANGE(7, IpFamily.IPV4),
    /** An IPv6 address range with protocol and port range. */
    TS_IPV6_ADDR_RANGE(8, IpFamily.IPV6);

    private final int number;
    private final IpFamily family;

    TsType(int number, IpFamily family) {
        this.number = number;
        this.family = family;
    }

    /** The IANA-assigned TS Type number carried on the wire. */
    public int number() {
        return number;
    }

    /** The address family of selectors of this type. */
    public IpFamily family() {
        return family;
    }

    /** The type for an address family. */
    public static TsType of(IpFamily family) {
        return family == IpFamily.IPV4 ? TS_IPV4_ADDR_RANGE : TS_IPV6_ADDR_RANGE;
    }

    /**
     * The type with IANA number {@code number}.
     *
     * @throws IllegalArgumentException for any other number (e.g. TS_SECLABEL, 10, RFC 9478)
     */
    public static TsType fromNumber(int number) {
        return switch (number) {
            case 7 -> TS_IPV4_ADDR_RANGE;
            case 8 -> TS_IPV6_ADDR_RANGE;
            default -> throw new IllegalArgumentException("unsupported traffic selector type " + number);
        };
    }
}
