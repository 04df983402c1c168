package dev.keel.core.net;

import dev.keel.core.packet.BigEndian;
import java.util.Objects;

/**
 * An immutable IPv4 or IPv6 address, stored as two longs; IPv4 sorts before IPv6.
 *
 * <p>Parsing is strict and never resolves names: dotted-quad IPv4 (no leading zeros, which some
 * parsers read as octal) and the RFC 4291 §2.2 IPv6 text forms, including {@code ::} and a
 * trailing dotted quad. Zone ids, brackets, whitespace and anything else are rejected.
 * {@link #toString()} is canonical: dotted quad, or RFC 5952 for IPv6.
 */
public final class IpAddress implements Comparable<IpAddress> {

    private static final long V4_MASK = 0xFFFF_FFFFL;
    /** Longest valid text form: "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255". */
    private static final int MAX_TEXT_LENGTH = 45;

    private static final IpAddress V4_MIN = new IpAddress(false, 0, 0);
    private static final IpAddress V4_MAX = new IpAddress(false, 0, V4_MASK);
    private static final IpAddress V6_MIN = new IpAddress(true, 0, 0);
    private static final IpAddress V6_MAX = new IpAddress(true, -1L, -1L);

    private final boolean ipv6;
    /** Upper 64 bits of an IPv6 address; always 0 for IPv4. */
    private final long hi;
    /** Lower 64 bits of an IPv6 address, or the IPv4 address as an unsigned 32-bit value. */
    private final long lo;

    private IpAddress(boolean ipv6, long hi, long lo) {
        this.ipv6 = ipv6;
        this.hi = hi;
        this.lo = lo;
    }

    static IpAddress of(boolean ipv6, long hi, long lo) {
        return ipv6 ? new IpAddress(true, hi, lo) : new IpAddress(false, 0, lo & V4_MASK);
    }

    /** The IPv4 address whose 32 bits, most significant first, are {@code bits}. */
    public static IpAddress ofIpv4(int bits) {
        return new IpAddress(false, 0, bits & V4_MASK);
    }

    /** The IPv6 address with the given upper and lower 64 bits. */
    public static IpAddress ofIpv6(long high, long low) {
        return new IpAddress(true, high, low);
    }

    /** The all-zeros address of a family ({@code 0.0.0.0} or {@code ::}). */
    public static IpAddress min(IpFamily family) {
        return family == IpFamily.IPV4 ? V4_MIN : V6_MIN;
    }

    /** The all-ones address of a family ({@code 255.255.255.255} or {@code ffff:...:ffff}). */
    public static IpAddress max(IpFamily family) {
        return family == IpFamily.IPV4 ? V4_MAX : V6_MAX;
    }

    /** An address from its network-order bytes: 4 for IPv4, 16 for IPv6. */
    public static IpAddress fromBytes(byte[] bytes) {
        Objects.requireNonNull(bytes, "bytes");
        return switch (bytes.length) {
            case 4 -> fromBytes(bytes, 0, false);
            case 16 -> fromBytes(bytes, 0, true);
            default -> throw new IllegalArgumentException(
                    "an IP address is 4 or 16 bytes long, not " + bytes.length);
        };
    }

    /**
     * An address from 4 (IPv4) or 16 (IPv6) network-order bytes at {@code offset}.
     *
     * @throws IndexOutOfBoundsException if the bytes do not fit in {@code src}
     */
    public static IpAddress fromBytes(byte[] src, int offset, boolean ipv6) {
        if (ipv6) {
            return new IpAddress(true, BigEndian.getLong(src, offset), BigEndian.getLong(src, offset + 8));
        }
        return new IpAddress(false, 0, BigEndian.getInt(src, offset) & V4_MASK);
    }

    /**
     * Parses an IPv4 or IPv6 address without any name lookup.
     *
     * @throws IllegalArgumentException quoting the text and saying what is wrong with it
     */
    public static IpAddress parse(String text) {
        Objects.requireNonNull(text, "text");
        return parse(text, 0, text.length(), "IP address", text);
    }

    /** Parses {@code s[from, to)}; errors say {@code invalid <what> "<whole>": reason}. */
    static IpAddress parse(String s, int from, int to, String what, String whole) {
        if (from == to) {
            throw ParseErrors.invalid(what, whole, "the address is empty");
        }
        if (to - from > MAX_TEXT_LENGTH) {
            throw ParseErrors.invalid(what, whole, "too long for an IP address");
        }
        boolean colon = false;
        for (int i = from; i < to; i++) {
            char c = s.charAt(i);
            if (c == '%') {
                throw ParseErrors.invalid(what, whole, "zone ids ('%...') are not allowed");
            }
            if (c == '[' || c == ']') {
                throw ParseErrors.invalid(what, whole, "brackets are not allowed around an address");
            }
            if (Character.isWhitespace(c)) {
                throw ParseErrors.invalid(what, whole, "whitespace is not allowed");
            }
            colon |= c == ':';
        }
        if (colon) {
            return parseIpv6(s, from, to, what, whole);
        }
        return new IpAddress(false, 0, parseIpv4(s, from, to, what, whole) & V4_MASK);
    }

    private static int parseIpv4(String s, int from, int to, String what, String whole) {
        int value = 0;
        int octets = 0;
        int i = from;
        while (true) {
            int start = i;
            int octet = 0;
            while (i < to && i - start < 4 && isDigit(s.charAt(i))) {
                octet = octet * 10 + (s.charAt(i) - '0');
                i++;
            }
            int digits = i - start;
            if (digits == 0) {
                if (i < to && s.charAt(i) != '.') {
                    throw ParseErrors.invalid(what, whole, "unexpected character " + ParseErrors.quoteChar(s.charAt(i))
                            + " in an IPv4 address");
                }
                throw ParseErrors.invalid(what, whole, "empty octet; expected four dotted decimal octets");
            }
            String octetText = s.substring(start, i);
            if (digits > 3 || octet > 255) {
                throw ParseErrors.invalid(what, whole, "octet " + octetText + " is out of range 0-255");
            }
            if (digits > 1 && s.charAt(start) == '0') {
                // Rejected rather than guessed: inet_aton would read "010" as octal 8.
                throw ParseErrors.invalid(what, whole, "octet " + octetText + " has a leading zero");
            }
            value = value << 8 | octet;
            octets++;
            if (i == to) {
                break;
            }
            char c = s.charAt(i);
            if (c != '.') {
                throw ParseErrors.invalid(what, whole, "unexpected character " + ParseErrors.quoteChar(c)
                        + " in an IPv4 address");
            }
            if (octets == 4) {
                throw ParseErrors.invalid(what, whole, "more than four octets");
            }
            i++;
        }
        if (octets != 4) {
            throw ParseErrors.invalid(what, whole, "has " + octets + " octet" + (octets == 1 ? "" : "s")
                    + "; expected four dotted decimal octets");
        }
        return value;
    }

    // RFC 4291 §2.2: x:x:x:x:x:x:x:x, "::" for one or more zero groups, x:x:x:x:x:x:d.d.d.d.
    private static IpAddress parseIpv6(String s, int from, int to, String what, String whole) {
        int[] groups = new int[8];
        int count = 0;
        int gapAt = -1;
        int i = from;
        if (s.charAt(i) == ':') {
            if (i + 1 >= to || s.charAt(i + 1) != ':') {
                throw ParseErrors.invalid(what, whole, "starts with a single ':'");
            }
            gapAt = 0;
            i += 2;
        }
        while (i < to) {
            int start = i;
            int group = 0;
            while (i < to && Character.digit(s.charAt(i), 16) >= 0 && s.charAt(i) < 0x80) {
                group = (group << 4 | Character.digit(s.charAt(i), 16)) & 0xFFFFF;
                i++;
                if (i - start > 4) {
                    break;
                }
            }
            if (i < to && s.charAt(i) == '.') {
                if (count > 6) {
                    throw ParseErrors.invalid(what, whole, "the embedded IPv4 address must be in the last 32 bits");
                }
                int v4 = parseIpv4(s, start, to, what, whole);
                groups[count++] = v4 >>> 16;
                groups[count++] = v4 & 0xFFFF;
                i = to;
                break;
            }
            int digits = i - start;
            if (digits == 0) {
                char c = s.charAt(i);
                throw ParseErrors.invalid(what, whole, c == ':'
                        ? "empty group (':::' or a second '::' is not allowed)"
                        : "unexpected character " + ParseErrors.quoteChar(c) + " in an IPv6 address");
            }
            if (digits > 4) {
                int runEnd = i;
                while (runEnd < to && runEnd - start < 8 && Character.digit(s.charAt(runEnd), 16) >= 0) {
                    runEnd++;
                }
                throw ParseErrors.invalid(what, whole, "group " + s.substring(start, runEnd)
                        + " has more than four hex digits");
            }
            if (count == 8) {
                throw ParseErrors.invalid(what, whole, "more than eight groups");
            }
            groups[count++] = group;
            if (i == to) {
                break;
            }
            char c = s.charAt(i);
            if (c != ':') {
                throw ParseErrors.invalid(what, whole, "unexpected character " + ParseErrors.quoteChar(c)
                        + " in an IPv6 address");
            }
            i++;
            if (i == to) {
                throw ParseErrors.invalid(what, whole, "ends with a single ':'");
            }
            if (s.charAt(i) == ':') {
                if (gapAt >= 0) {
                    throw ParseErrors.invalid(what, whole, "'::' may appear only once");
                }
                gapAt = count;
                i++;
            }
        }
        if (gapAt < 0 && count != 8) {
            throw ParseErrors.invalid(what, whole, "has " + count + " groups; expected eight, or '::' for zeros");
        }
        if (gapAt >= 0 && count == 8) {
            throw ParseErrors.invalid(what, whole, "'::' must stand for at least one zero group (RFC 4291 §2.2)");
        }
        long hi = 0;
        long lo = 0;
        int fill = 8 - count;
        int out = 0;
        for (int g = 0; g <= count; g++) {
            if (g == gapAt) {
                out += fill;
            }
            if (g == count) {
                break;
            }
            int bitPos = 7 - out;
            if (bitPos >= 4) {
                hi |= (long) groups[g] << ((bitPos - 4) * 16);
            } else {
                lo |= (long) groups[g] << (bitPos * 16);
            }
            out++;
        }
        return new IpAddress(true, hi, lo);
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    /** The address family. */
    public IpFamily family() {
        return ipv6 ? IpFamily.IPV6 : IpFamily.IPV4;
    }

    /** Whether this is an IPv4 address. */
    public boolean isIpv4() {
        return !ipv6;
    }

    /** Whether this is an IPv6 address. */
    public boolean isIpv6() {
        return ipv6;
    }

    /** Upper 64 bits of an IPv6 address; 0 for IPv4. */
    public long highBits() {
        return hi;
    }

    /** Lower 64 bits of an IPv6 address; for IPv4 the 32-bit address as an unsigned value. */
    public long lowBits() {
        return lo;
    }

    /** A fresh copy of the address in network byte order: 4 or 16 bytes. */
    public byte[] bytes() {
        byte[] out = new byte[ipv6 ? 16 : 4];
        copyTo(out, 0);
        return out;
    }

    /** Writes the 4 or 16 network-order bytes into {@code dst} at {@code offset}. */
    public void copyTo(byte[] dst, int offset) {
        if (ipv6) {
            BigEndian.putLong(dst, offset, hi);
            BigEndian.putLong(dst, offset + 8, lo);
        } else {
            BigEndian.putInt(dst, offset, (int) lo);
        }
    }

    /** The following address, or {@code null} if this is the family's maximum. */
    public IpAddress next() {
        if (ipv6) {
            if (lo != -1L) {
                return new IpAddress(true, hi, lo + 1);
            }
            return hi == -1L ? null : new IpAddress(true, hi + 1, 0);
        }
        return lo == V4_MASK ? null : new IpAddress(false, 0, lo + 1);
    }

    /** The preceding address, or {@code null} if this is the family's minimum. */
    public IpAddress previous() {
        if (ipv6) {
            if (lo != 0) {
                return new IpAddress(true, hi, lo - 1);
            }
            return hi == 0 ? null : new IpAddress(true, hi - 1, -1L);
        }
        return lo == 0 ? null : new IpAddress(false, 0, lo - 1);
    }

    /** Orders IPv4 before IPv6, then by unsigned numeric value. */
    @Override
    public int compareTo(IpAddress o) {
        if (ipv6 != o.ipv6) {
            return ipv6 ? 1 : -1;
        }
        int c = Long.compareUnsigned(hi, o.hi);
        return c != 0 ? c : Long.compareUnsigned(lo, o.lo);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof IpAddress a && a.ipv6 == ipv6 && a.hi == hi && a.lo == lo;
    }

    @Override
    public int hashCode() {
        return Long.hashCode(hi * 31 + lo) ^ (ipv6 ? 0x5bd1e995 : 0);
    }

    /** Dotted quad for IPv4; RFC 5952 canonical text for IPv6. */
    @Override
    public String toString() {
        return ipv6 ? ipv6Text() : ipv4Text(lo);
    }

    private static String ipv4Text(long v) {
        return ((v >>> 24) & 0xFF) + "." + ((v >>> 16) & 0xFF) + "." + ((v >>> 8) & 0xFF) + "." + (v & 0xFF);
    }

    private int group(int g) {
        return (int) ((g < 4 ? hi >>> ((3 - g) * 16) : lo >>> ((7 - g) * 16)) & 0xFFFF);
    }

    private String ipv6Text() {
        // RFC 5952 §5: IPv4-mapped addresses (::ffff:0:0/96) keep their dotted-quad tail.
        if (hi == 0 && (lo >>> 32) == 0xFFFFL) {
            return "::ffff:" + ipv4Text(lo & V4_MASK);
        }
        // RFC 5952 §4.2: compress the longest run (first on a tie) of two or more zero groups.
        int bestStart = -1;
        int bestLen = 1;
        for (int g = 0; g < 8; ) {
            if (group(g) != 0) {
                g++;
                continue;
            }
            int start = g;
            while (g < 8 && group(g) == 0) {
                g++;
            }
            if (g - start > bestLen) {
                bestStart = start;
                bestLen = g - start;
            }
        }
        StringBuilder sb = new StringBuilder(39);
        for (int g = 0; g < 8; g++) {
            if (g == bestStart) {
                sb.append("::");
                g += bestLen - 1;
                continue;
            }
            if (!sb.isEmpty() && sb.charAt(sb.length() - 1) != ':') {
                sb.append(':');
            }
            // RFC 5952 §4.1, §4.3: no leading zeros, lowercase.
            sb.append(Integer.toHexString(group(g)));
        }
        return sb.toString();
    }
}
