package dev.keel.core.net;

import dev.keel.core.packet.BigEndian;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * An inclusive range {@code start..end} of addresses of one family, {@code start <= end}.
 *
 * @param start the first address
 * @param end   the last address, same family, not below {@code start}
 */
public record IpRange(IpAddress start, IpAddress end) implements Comparable<IpRange> {

    /** Validates that both ends are of one family and in order. */
    public IpRange {
        Objects.requireNonNull(start, "start");
        Objects.requireNonNull(end, "end");
        if (start.isIpv6() != end.isIpv6()) {
            throw new IllegalArgumentException("range " + start + "-" + end + " mixes IPv4 and IPv6");
        }
        if (start.compareTo(end) > 0) {
            throw new IllegalArgumentException("range start " + start + " is above its end " + end);
        }
    }

    /** The range {@code start..end}. */
    public static IpRange of(IpAddress start, IpAddress end) {
        return new IpRange(start, end);
    }

    /** The range holding only {@code address}. */
    public static IpRange of(IpAddress address) {
        return new IpRange(address, address);
    }

    /** Every address of a family ({@code 0.0.0.0/0} or {@code ::/0}). */
    public static IpRange all(IpFamily family) {
        return new IpRange(family.min(), family.max());
    }

    /**
     * Parses {@code start-end} (both of one family, start not above end) or a single address.
     *
     * @throws IllegalArgumentException quoting the text and saying what is wrong
     */
    public static IpRange parse(String text) {
        Objects.requireNonNull(text, "text");
        int dash = text.indexOf('-');
        if (dash < 0) {
            return of(IpAddress.parse(text, 0, text.length(), "IP range", text));
        }
        if (text.indexOf('-', dash + 1) >= 0) {
            throw ParseErrors.invalid("IP range", text, "more than one '-'");
        }
        IpAddress s = IpAddress.parse(text, 0, dash, "IP range", text);
        IpAddress e = IpAddress.parse(text, dash + 1, text.length(), "IP range", text);
        if (s.isIpv6() != e.isIpv6()) {
            throw ParseErrors.invalid("IP range", text, "mixes IPv4 and IPv6");
        }
        if (s.compareTo(e) > 0) {
            throw ParseErrors.invalid("IP range", text, "start " + s + " is above end " + e);
        }
        return new IpRange(s, e);
    }

    /** The address family. */
    public IpFamily family() {
        return start.family();
    }

    /** Whether this is an IPv6 range. */
    public boolean isIpv6() {
        return start.isIpv6();
    }

    /** Whether the range holds exactly one address. */
    public boolean isSingleAddress() {
        return start.equals(end);
    }

    /** Whether {@code a} is of the same family and within the range. */
    public boolean contains(IpAddress a) {
        return a.isIpv6() == start.isIpv6() && start.compareTo(a) <= 0 && end.compareTo(a) >= 0;
    }

    /**
     * Whether the address stored at {@code addr[offset]} (4 bytes, or 16 if {@code ipv6}) is in
     * the range. Allocation-free, for the packet path; a family mismatch is simply no match.
     *
     * @throws IndexOutOfBoundsException if the address does not fit in {@code addr}
     */
    public boolean contains(byte[] addr, int offset, boolean ipv6) {
        if (ipv6 != start.isIpv6()) {
            return false;
        }
        if (ipv6) {
            long hi = BigEndian.getLong(addr, offset);
            long lo = BigEndian.getLong(addr, offset + 8);
            return U128.compare(start.highBits(), start.lowBits(), hi, lo) <= 0
                    && U128.compare(end.highBits(), end.lowBits(), hi, lo) >= 0;
        }
        long v = BigEndian.getInt(addr, offset) & 0xFFFF_FFFFL;
        // IPv4 values are non-negative longs, so a signed comparison is exact.
        return start.lowBits() <= v && v <= end.lowBits();
    }

    /** Whether {@code other} is of the same family and entirely within this range. */
    public boolean contains(IpRange other) {
        return other.isIpv6() == isIpv6() && start.compareTo(other.start) <= 0 && end.compareTo(other.end) >= 0;
    }

    /** Whether the two ranges share at least one address. */
    public boolean overlaps(IpRange other) {
        return other.isIpv6() == isIpv6() && start.compareTo(other.end) <= 0 && other.start.compareTo(end) <= 0;
    }

    /** The addresses in both ranges, or empty if they are disjoint or of different families. */
    public Optional<IpRange> intersect(IpRange other) {
        if (!overlaps(other)) {
            return Optional.empty();
        }
        IpAddress s = start.compareTo(other.start) >= 0 ? start : other.start;
        IpAddress e = end.compareTo(other.end) <= 0 ? end : other.end;
        return Optional.of(new IpRange(s, e));
    }

    /** Whether the range is exactly one CIDR prefix. */
    public boolean isPrefix() {
        return prefixLength() >= 0;
    }

    /**
     * The prefix equal to this range.
     *
     * @throws IllegalStateException if the range is not exactly one prefix (see {@link #toPrefixes()})
     */
    public IpPrefix toPrefix() {
        int len = prefixLength();
        if (len < 0) {
            throw new IllegalStateException("range " + this + " is not a single prefix");
        }
        return new IpPrefix(start, len);
    }

    /** The prefix length if this range is exactly one prefix, else -1. */
    private int prefixLength() {
        // A prefix iff start ^ end is a run of low one bits that start has all clear.
        long xHi = start.highBits() ^ end.highBits();
        long xLo = start.lowBits() ^ end.lowBits();
        boolean lowOnes = xHi != 0 ? xLo == -1L && (xHi & (xHi + 1)) == 0 : (xLo & (xLo + 1)) == 0;
        if (!lowOnes || (start.highBits() & xHi) != 0 || (start.lowBits() & xLo) != 0) {
            return -1;
        }
        return family().bitLength() - Long.bitCount(xHi) - Long.bitCount(xLo);
    }

    /** The fewest prefixes that exactly cover the range, in address order (at most 2 x bits). */
    public List<IpPrefix> toPrefixes() {
        int bits = family().bitLength();
        List<IpPrefix> out = new ArrayList<>();
        IpAddress cur = start;
        while (cur != null) {
            // Largest block aligned at cur that does not pass end.
            int k = U128.trailingZeros(cur.highBits(), cur.lowBits(), bits);
            long lastHi;
            long lastLo;
            while (true) {
                lastHi = cur.highBits() | U128.lowMaskHi(k);
                lastLo = cur.lowBits() | U128.lowMaskLo(k);
                if (!isIpv6()) {
                    lastLo &= 0xFFFF_FFFFL;
                }
                if (U128.compare(lastHi, lastLo, end.highBits(), end.lowBits()) <= 0) {
                    break;
                }
                k--;
            }
            out.add(new IpPrefix(cur, bits - k));
            if (lastHi == end.highBits() && lastLo == end.lowBits()) {
                break;
            }
            cur = IpAddress.of(isIpv6(), lastHi, lastLo).next();
        }
        return out;
    }

    /** Orders by start (IPv4 first), then larger ranges first. */
    @Override
    public int compareTo(IpRange o) {
        int c = start.compareTo(o.start);
        return c != 0 ? c : o.end.compareTo(end);
    }

    /** {@code start-end}, or just the address for a single-address range. */
    @Override
    public String toString() {
        return isSingleAddress() ? start.toString() : start + "-" + end;
    }
}
