package dev.keel.core.ts;

import dev.keel.core.net.ParseErrors;
import dev.keel.core.net.IpAddress;
import dev.keel.core.net.IpFamily;
import dev.keel.core.net.IpPrefix;
import dev.keel.core.net.IpRange;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * One IKEv2 traffic selector (RFC 7296 §3.13.1): an address range of one family, an IP protocol
 * (0 = any) and a port range; immutable, with value equality.
 *
 * <p><b>Ports.</b> {@code 0-65535} means any port. {@code 65535-0} is RFC 4301 OPAQUE: it matches
 * only packets whose ports are unavailable (a protocol without ports, or a non-initial fragment).
 * Any other range must have start &lt;= end and a protocol that has ports (TCP, UDP, SCTP, DCCP,
 * UDP-Lite, ICMP, ICMPv6, Mobility Header), because RFC 7296 §3.13.1 requires 0-65535 for
 * protocol 0 and for protocols without ports. For ICMP and ICMPv6 the 16-bit "port" is
 * {@code type << 8 | code} (see {@link #icmpPort}).
 *
 * <p><b>Text.</b> {@link #parse} reads strongSwan's swanctl {@code local_ts}/{@code remote_ts}
 * syntax and {@link #toString()} prints the canonical form, which parses back to an equal
 * selector: {@code 10.0.0.0/16}, {@code 10.0.0.1-10.0.0.9}, {@code 192.0.2.1/32},
 * {@code ::/0}, {@code 10.0.0.0/8[tcp/80]}, {@code 10.0.0.0/8[udp/1000-2000]},
 * {@code 10.0.0.0/8[icmp/8]}, {@code 10.0.0.0/8[icmp/3(1)]}, {@code 10.0.0.0/8[any/opaque]}.
 */
public final class TrafficSelector implements Comparable<TrafficSelector> {

    /** Protocol number meaning "any protocol". */
    public static final int ANY_PROTOCOL = 0;
    /** Port value to pass to {@code matches} when the packet has no port information. */
    public static final int NO_PORT = -1;

    private static final int MAX_PORT = 0xFFFF;
    /** Longest selector text accepted; real ones are under 100 characters. */
    private static final int MAX_TEXT_LENGTH = 200;

    private final IpRange range;
    private final int protocol;
    private final int startPort;
    private final int endPort;

    private TrafficSelector(IpRange range, int protocol, int startPort, int endPort) {
        this.range = range;
        this.protocol = protocol;
        this.startPort = startPort;
        this.endPort = endPort;
    }

    /**
     * A selector for {@code range}, {@code protocol} (0 = any) and ports {@code startPort..endPort}.
     *
     * @throws IllegalArgumentException if the protocol or a port is out of range, the port range is
     *         reversed (other than 65535-0, OPAQUE), or ports are restricted for a protocol without them
     */
    public static TrafficSelector of(IpRange range, int protocol, int startPort, int endPort) {
        Objects.requireNonNull(range, "range");
        if (protocol < 0 || protocol > 255) {
            throw new IllegalArgumentException("protocol " + protocol + " is out of range 0-255");
        }
        if (startPort < 0 || startPort > MAX_PORT || endPort < 0 || endPort > MAX_PORT) {
            throw new IllegalArgumentException("port range " + startPort + "-" + endPort
                    + " is out of range 0-65535");
        }
        boolean any = startPort == 0 && endPort == MAX_PORT;
        boolean opaque = startPort == MAX_PORT && endPort == 0;
        if (!opaque && startPort > endPort) {
            throw new IllegalArgumentException("port range " + startPort + "-" + endPort
                    + " is reversed (only 65535-0, OPAQUE, may be)");
        }
        if (!any && !opaque && !Protocols.hasPorts(protocol)) {
            // RFC 7296 §3.13.1: ports MUST be 0-65535 where the protocol has none, including protocol 0.
            throw new IllegalArgumentException(protocol == ANY_PROTOCOL
                    ? "a port restriction needs a protocol with ports, e.g. tcp or udp, not any protocol"
                    : "protocol " + Protocols.name(protocol) + " (" + protocol
                            + ") has no ports; only any or opaque ports are allowed");
        }
        return new TrafficSelector(range, protocol, startPort, endPort);
    }

    /** As {@link #of(IpRange, int, int, int)} with the range {@code start..end} (e.g. from the wire). */
    public static TrafficSelector of(IpAddress start, IpAddress end, int protocol, int startPort, int endPort) {
        return of(IpRange.of(start, end), protocol, startPort, endPort);
    }

    /** All protocols and ports to and from {@code range}. */
    public static TrafficSelector of(IpRange range) {
        return of(range, ANY_PROTOCOL, 0, MAX_PORT);
    }

    /** All protocols and ports to and from {@code prefix}. */
    public static TrafficSelector of(IpPrefix prefix) {
        return of(prefix.toRange());
    }

    /** All protocols and ports of one address: how a configuration layer resolves {@code dynamic}. */
    public static TrafficSelector host(IpAddress address) {
        return of(IpRange.of(address));
    }

    /** Every address, protocol and port of a family ({@code 0.0.0.0/0} or {@code ::/0}). */
    public static TrafficSelector all(IpFamily family) {
        return of(IpRange.all(family));
    }

    /** The 16-bit selector "port" for an ICMP or ICMPv6 message (RFC 7296 §3.13.1). */
    public static int icmpPort(int type, int code) {
        if ((type & ~0xFF) != 0 || (code & ~0xFF) != 0) {
            throw new IllegalArgumentException("ICMP type " + type + " or code " + code + " is out of range 0-255");
        }
        return type << 8 | code;
    }

    /**
     * Parses one selector in swanctl syntax: an address part (prefix, bare address as a host,
     * {@code start-end} or strongSwan's logged {@code start..end}) and an optional
     * {@code [protocol]} or {@code [protocol/port]} suffix. The protocol is {@code any}, a number
     * 0-255 or a name from a fixed table (tcp, udp, icmp, ipv6-icmp/icmp6, sctp, gre, esp, ...;
     * no system lookup). The port is {@code any}, {@code opaque}, a number or {@code a-b}; service
     * names are not accepted. For ICMP a port {@code T} is type T with code 0 (as in strongSwan),
     * {@code T(C)} gives the code, and numbers from 256 are raw {@code type<<8|code} values.
     * {@code %any} and {@code %opaque} are accepted as spellings of {@code any} and {@code opaque}.
     *
     * <p>{@code dynamic} is rejected: the configuration layer resolves it, with
     * {@link #parse(String, IpAddress)} or {@link #host(IpAddress)}.
     *
     * @throws IllegalArgumentException quoting the text and saying what is wrong
     */
    public static TrafficSelector parse(String text) {
        return parse(text, null);
    }

    /**
     * As {@link #parse(String)}, but an address part of {@code dynamic} stands for the single
     * address {@code dynamicAddress} (the tunnel's outer address or virtual IP), keeping any
     * protocol/port suffix. With a null {@code dynamicAddress}, {@code dynamic} is rejected.
     */
    public static TrafficSelector parse(String text, IpAddress dynamicAddress) {
        Objects.requireNonNull(text, "text");
        if (text.length() > MAX_TEXT_LENGTH) {
            throw invalid(text, "too long (at most " + MAX_TEXT_LENGTH + " characters)");
        }
        int open = text.indexOf('[');
        int close = text.indexOf(']');
        String addressText;
        String suffix = null;
        if (open < 0) {
            if (close >= 0) {
                throw invalid(text, "']' without '['");
            }
            addressText = text;
        } else {
            if (text.indexOf('[', open + 1) >= 0) {
                throw invalid(text, "more than one '['");
            }
            if (close < open) {
                throw invalid(text, "missing ']' after '['");
            }
            if (close != text.length() - 1) {
                throw invalid(text, "unexpected text after ']'");
            }
            addressText = text.substring(0, open);
            suffix = text.substring(open + 1, close);
        }
        IpRange range = parseAddresses(text, addressText, dynamicAddress);
        int protocol = ANY_PROTOCOL;
        int startPort = 0;
        int endPort = MAX_PORT;
        if (suffix != null) {
            int slash = suffix.indexOf('/');
            protocol = parseProtocol(text, slash < 0 ? suffix : suffix.substring(0, slash));
            if (slash >= 0) {
                String portText = suffix.substring(slash + 1);
                String word = portText.toLowerCase(Locale.ROOT);
                if (word.equals("any") || word.equals("%any")) {
                    // the default: all ports
                } else if (word.equals("opaque") || word.equals("%opaque")) {
                    startPort = MAX_PORT;
                    endPort = 0;
                } else {
                    int dash = portText.indexOf('-');
                    startPort = parsePort(text, dash < 0 ? portText : portText.substring(0, dash), protocol);
                    endPort = dash < 0 ? startPort : parsePort(text, portText.substring(dash + 1), protocol);
                    if (startPort > endPort) {
                        throw invalid(text, "port range " + ParseErrors.quote(portText) + " is reversed");
                    }
                }
            }
        }
        try {
            return of(range, protocol, startPort, endPort);
        } catch (IllegalArgumentException e) {
            throw invalid(text, e.getMessage());
        }
    }

    private static IpRange parseAddresses(String text, String a, IpAddress dynamicAddress) {
        if (a.isEmpty()) {
            throw invalid(text, "missing address; use 0.0.0.0/0 or ::/0 for any address");
        }
        if (a.equalsIgnoreCase("dynamic")) {
            if (dynamicAddress == null) {
                throw invalid(text, "'dynamic' must be resolved to the tunnel or virtual IP address first;"
                        + " use parse(text, address) or TrafficSelector.host(address)");
            }
            return IpRange.of(dynamicAddress);
        }
        if (a.equalsIgnoreCase("%any") || a.equalsIgnoreCase("any")) {
            throw invalid(text, "use 0.0.0.0/0 or ::/0 for any address");
        }
        try {
            int dots = a.indexOf("..");
            if (dots >= 0) {
                // strongSwan logs ranges as start..end; accept them so logged selectors paste back.
                return IpRange.of(IpAddress.parse(a.substring(0, dots)), IpAddress.parse(a.substring(dots + 2)));
            }
            if (a.indexOf('-') >= 0) {
                return IpRange.parse(a);
            }
            if (a.indexOf('/') >= 0) {
                return IpPrefix.parse(a).toRange();
            }
            return IpRange.of(IpAddress.parse(a));
        } catch (IllegalArgumentException e) {
            throw invalid(text, e.getMessage());
        }
    }

    private static int parseProtocol(String text, String p) {
        if (p.isEmpty()) {
            throw invalid(text, "missing protocol in '[...]'; use 'any' for all protocols");
        }
        if (p.equalsIgnoreCase("any") || p.equalsIgnoreCase("%any")) {
            return ANY_PROTOCOL;
        }
        if (p.charAt(0) >= '0' && p.charAt(0) <= '9') {
            return decimal(text, p, "protocol", 255, "");
        }
        int byName = Protocols.byName(p);
        if (byName < 0) {
            throw invalid(text, "unknown protocol " + ParseErrors.quote(p) + "; use a number 0-255, 'any' or one of: "
                    + Protocols.known());
        }
        return byName;
    }

    private static int parsePort(String text, String p, int protocol) {
        if (p.isEmpty()) {
            throw invalid(text, "missing port number");
        }
        if (Protocols.isIcmp(protocol)) {
            return parseIcmpPort(text, p);
        }
        return decimal(text, p, "port", MAX_PORT, " (service names are not supported)");
    }

    private static int parseIcmpPort(String text, String p) {
        int paren = p.indexOf('(');
        if (paren < 0) {
            int value = decimal(text, p, "ICMP type", MAX_PORT, "");
            // As strongSwan: below 256 is a type with code 0; from 256 a raw type<<8|code value.
            return value < 256 ? value << 8 : value;
        }
        if (!p.endsWith(")")) {
            throw invalid(text, "ICMP type(code) " + ParseErrors.quote(p) + " is missing its ')'");
        }
        int type = decimal(text, p.substring(0, paren), "ICMP type", 255, "");
        int code = decimal(text, p.substring(paren + 1, p.length() - 1), "ICMP code", 255, "");
        return type << 8 | code;
    }

    /** A plain decimal 0..max: ASCII digits, no sign, no leading zero (strtol would read it as octal). */
    private static int decimal(String text, String s, String what, int max, String hint) {
        if (s.isEmpty()) {
            throw invalid(text, "missing " + what);
        }
        long value = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                throw invalid(text, what + " " + ParseErrors.quote(s) + " is not a number" + hint);
            }
            value = Math.min(value * 10 + (c - '0'), Integer.MAX_VALUE);
        }
        if (s.length() > 1 && s.charAt(0) == '0') {
            throw invalid(text, what + " " + ParseErrors.quote(s) + " has a leading zero");
        }
        if (value > max) {
            throw invalid(text, what + " " + s + " is out of range 0-" + max);
        }
        return (int) value;
    }

    private static IllegalArgumentException invalid(String text, String reason) {
        return new IllegalArgumentException("invalid traffic selector " + ParseErrors.quote(text) + ": " + reason);
    }

    /** The TS type, from the address family. */
    public TsType type() {
        return TsType.of(range.family());
    }

    /** Whether this selects IPv6 addresses. */
    public boolean isIpv6() {
        return range.isIpv6();
    }

    /** The IP protocol number; 0 means any. */
    public int protocol() {
        return protocol;
    }

    /** The start port (65535 for OPAQUE). */
    public int startPort() {
        return startPort;
    }

    /** The end port (0 for OPAQUE). */
    public int endPort() {
        return endPort;
    }

    /** The first address. */
    public IpAddress startAddress() {
        return range.start();
    }

    /** The last address. */
    public IpAddress endAddress() {
        return range.end();
    }

    /** The address range. */
    public IpRange addressRange() {
        return range;
    }

    /** Whether all ports are selected (0-65535). */
    public boolean isAnyPort() {
        return startPort == 0 && endPort == MAX_PORT;
    }

    /** Whether this is the OPAQUE port selector (65535-0, RFC 4301 §4.4.1). */
    public boolean isOpaquePort() {
        return startPort == MAX_PORT && endPort == 0;
    }

    /** Whether this selects exactly one address. */
    public boolean isHost() {
        return range.isSingleAddress();
    }

    /**
     * Whether one side of a packet (its address and port) matches, without allocating.
     *
     * <p>Protocol 0 in the selector matches any {@code protocol}. Ports follow RFC 4301 §4.4.1:
     * pass {@link #NO_PORT} when the packet has no port information (a non-initial fragment); a
     * packet whose protocol has no ports (e.g. GRE, ESP) is treated the same whatever is passed.
     * Such a packet matches "any" and OPAQUE port selectors, never a port range; a packet with a
     * port matches "any" and ranges holding it, never OPAQUE. For ICMP/ICMPv6 pass
     * {@link #icmpPort icmpPort(type, code)} as the port of both sides.
     *
     * @param protocol the packet's upper-layer protocol
     * @param addr     buffer holding the address in network order
     * @param addrOff  offset of the 4 or 16 address bytes in {@code addr}
     * @param ipv6     whether the address is 16 bytes; a family mismatch never matches
     * @param port     0..65535, or {@link #NO_PORT}
     * @throws IndexOutOfBoundsException if the address does not fit in {@code addr}
     */
    public boolean matches(int protocol, byte[] addr, int addrOff, boolean ipv6, int port) {
        return (this.protocol == ANY_PROTOCOL || this.protocol == protocol)
                && portMatches(protocol, port)
                && range.contains(addr, addrOff, ipv6);
    }

    /** As {@link #matches(int, byte[], int, boolean, int)} for an {@link IpAddress}. */
    public boolean matches(int protocol, IpAddress address, int port) {
        return (this.protocol == ANY_PROTOCOL || this.protocol == protocol)
                && portMatches(protocol, port)
                && range.contains(address);
    }

    private boolean portMatches(int packetProtocol, int port) {
        if (startPort == 0 && endPort == MAX_PORT) {
            return true;
        }
        boolean noPort = port < 0 || !Protocols.hasPorts(packetProtocol);
        if (startPort > endPort) {
            return noPort; // OPAQUE
        }
        return !noPort && port >= startPort && port <= endPort;
    }

    /** Whether {@code address} is in the address range (protocol and ports ignored). */
    public boolean contains(IpAddress address) {
        return range.contains(address);
    }

    /**
     * Whether {@code other} lies within this selector: same family, address range within ours,
     * protocol equal or ours any, and ports within ours (OPAQUE lies within "any" and OPAQUE only).
     * Every packet side {@code other} matches is then matched by this selector.
     */
    public boolean contains(TrafficSelector other) {
        return range.contains(other.range)
                && (protocol == ANY_PROTOCOL || protocol == other.protocol)
                && portsContain(other);
    }

    private boolean portsContain(TrafficSelector other) {
        if (isAnyPort()) {
            return true;
        }
        if (isOpaquePort()) {
            return other.isOpaquePort();
        }
        return !other.isOpaquePort() && other.startPort >= startPort && other.endPort <= endPort;
    }

    /** Whether this selector is within {@code other}: {@code other.contains(this)}. */
    public boolean isSubsetOf(TrafficSelector other) {
        return other.contains(this);
    }

    /**
     * The selector matching exactly what both match, or empty (RFC 7296 §2.9 narrowing).
     * Commutative; the result is contained in both, and {@code a.contains(b)} iff
     * {@code a.intersect(b)} is {@code b}. OPAQUE intersected with "any" ports is OPAQUE.
     */
    public Optional<TrafficSelector> intersect(TrafficSelector other) {
        int p;
        if (protocol == ANY_PROTOCOL) {
            p = other.protocol;
        } else if (other.protocol == ANY_PROTOCOL || other.protocol == protocol) {
            p = protocol;
        } else {
            return Optional.empty();
        }
        int s;
        int e;
        if (isAnyPort()) {
            s = other.startPort;
            e = other.endPort;
        } else if (other.isAnyPort()) {
            s = startPort;
            e = endPort;
        } else if (isOpaquePort() || other.isOpaquePort()) {
            if (!(isOpaquePort() && other.isOpaquePort())) {
                return Optional.empty();
            }
            s = MAX_PORT;
            e = 0;
        } else {
            s = Math.max(startPort, other.startPort);
            e = Math.min(endPort, other.endPort);
            if (s > e) {
                return Optional.empty();
            }
        }
        // A restricted port range only comes from a selector whose protocol has ports, and p is that
        // protocol, so the result is valid without re-checking.
        return range.intersect(other.range).map(r -> new TrafficSelector(r, p, s, e));
    }

    /**
     * Orders as strongSwan does: IPv4 first, lower start address first, larger range first, then
     * lower protocol, lower start port, larger port range.
     */
    @Override
    public int compareTo(TrafficSelector o) {
        int c = range.compareTo(o.range);
        if (c == 0) {
            c = Integer.compare(protocol, o.protocol);
        }
        if (c == 0) {
            c = Integer.compare(startPort, o.startPort);
        }
        if (c == 0) {
            c = Integer.compare(o.endPort, endPort);
        }
        return c;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TrafficSelector t && t.protocol == protocol && t.startPort == startPort
                && t.endPort == endPort && t.range.equals(range);
    }

    @Override
    public int hashCode() {
        return (range.hashCode() * 31 + protocol) * 31 + (startPort << 16 | endPort);
    }

    /**
     * Canonical swanctl text: a prefix where the range is exactly one (hosts as /32 or /128),
     * else {@code start-end}; then {@code [protocol]} or {@code [protocol/ports]} unless both are any.
     */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(48);
        if (range.isPrefix()) {
            sb.append(range.toPrefix());
        } else {
            sb.append(range.start()).append('-').append(range.end());
        }
        if (protocol == ANY_PROTOCOL && isAnyPort()) {
            return sb.toString();
        }
        sb.append('[').append(protocol == ANY_PROTOCOL ? "any" : Protocols.name(protocol));
        if (isOpaquePort()) {
            sb.append("/opaque");
        } else if (!isAnyPort()) {
            sb.append('/');
            appendPort(sb, startPort);
            if (endPort != startPort) {
                sb.append('-');
                appendPort(sb, endPort);
            }
        }
        return sb.append(']').toString();
    }

    private void appendPort(StringBuilder sb, int port) {
        if (Protocols.isIcmp(protocol)) {
            sb.append(port >>> 8);
            if ((port & 0xFF) != 0) {
                sb.append('(').append(port & 0xFF).append(')');
            }
        } else {
            sb.append(port);
        }
    }
}
