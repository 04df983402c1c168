package dev.keel.core.net;

import java.util.Objects;

/**
 * An IP network: an address with no host bits set and a prefix length, e.g. {@code 10.1.0.0/16}.
 *
 * @param address the network address (host bits all zero)
 * @param length  the prefix length, 0..32 for IPv4 or 0..128 for IPv6
 */
public record IpPrefix(IpAddress address, int length) implements Comparable<IpPrefix> {

    /** Validates the length and that no host bits are set. */
    public IpPrefix {
        Objects.requireNonNull(address, "address");
        int bits = address.family().bitLength();
        if (length < 0 || length > bits) {
            throw new IllegalArgumentException("prefix length " + length + " is out of range 0-" + bits
                    + " for " + address.family().displayName());
        }
        int host = bits - length;
        if ((address.highBits() & U128.lowMaskHi(host)) != 0 || (address.lowBits() & U128.lowMaskLo(host)) != 0) {
            throw new IllegalArgumentException(hostBitsMessage(address, length));
        }
    }

    private static String hostBitsMessage(IpAddress address, int length) {
        return address + "/" + length + " has host bits set; the network is " + containing(address, length);
    }

    /** The prefix {@code address/length}; the address must have no host bits set. */
    public static IpPrefix of(IpAddress address, int length) {
        return new IpPrefix(address, length);
    }

    /** The prefix of the given length that contains {@code address} (host bits cleared). */
    public static IpPrefix containing(IpAddress address, int length) {
        int bits = address.family().bitLength();
        if (length < 0 || length > bits) {
            throw new IllegalArgumentException("prefix length " + length + " is out of range 0-" + bits
                    + " for " + address.family().displayName());
        }
        int host = bits - length;
        IpAddress network = IpAddress.of(address.isIpv6(),
                address.highBits() & ~U128.lowMaskHi(host), address.lowBits() & ~U128.lowMaskLo(host));
        return new IpPrefix(network, length);
    }

    /**
     * Parses {@code address/length}; a bare address is a /32 or /128 host prefix.
     *
     * @throws IllegalArgumentException quoting the text and saying what is wrong, including
     *         host bits set (the message names the proper network)
     */
    public static IpPrefix parse(String text) {
        Objects.requireNonNull(text, "text");
        int slash = text.indexOf('/');
        if (slash < 0) {
            IpAddress a = IpAddress.parse(text, 0, text.length(), "IP prefix", text);
            return new IpPrefix(a, a.family().bitLength());
        }
        if (text.indexOf('/', slash + 1) >= 0) {
            throw ParseErrors.invalid("IP prefix", text, "more than one '/'");
        }
        IpAddress a = IpAddress.parse(text, 0, slash, "IP prefix", text);
        int bits = a.family().bitLength();
        String lenText = text.substring(slash + 1);
        if (lenText.isEmpty()) {
            throw ParseErrors.invalid("IP prefix", text, "missing prefix length after '/'");
        }
        int len = 0;
        for (int i = 0; i < lenText.length(); i++) {
            char c = lenText.charAt(i);
            if (c < '0' || c > '9' || i >= 3) {
                throw ParseErrors.invalid("IP prefix", text, "prefix length " + ParseErrors.quote(lenText)
                        + " is not a number 0-" + bits);
            }
            len = len * 10 + (c - '0');
        }
        if (lenText.length() > 1 && lenText.charAt(0) == '0') {
            throw ParseErrors.invalid("IP prefix", text, "prefix length " + lenText + " has a leading zero");
        }
        if (len > bits) {
            throw ParseErrors.invalid("IP prefix", text, "prefix length " + len + " is out of range 0-" + bits
                    + " for " + a.family().displayName());
        }
        int host = bits - len;
        if ((a.highBits() & U128.lowMaskHi(host)) != 0 || (a.lowBits() & U128.lowMaskLo(host)) != 0) {
            throw ParseErrors.invalid("IP prefix", text, "host bits are set; the network is " + containing(a, len));
        }
        return new IpPrefix(a, len);
    }

    /** The address family. */
    public IpFamily family() {
        return address.family();
    }

    /** The first address of the prefix (the network address). */
    public IpAddress first() {
        return address;
    }

    /** The last address of the prefix (all host bits set). */
    public IpAddress last() {
        int host = address.family().bitLength() - length;
        return IpAddress.of(address.isIpv6(),
                address.highBits() | U128.lowMaskHi(host), address.lowBits() | U128.lowMaskLo(host));
    }

    /** Whether {@code a} is of the same family and inside this prefix. */
    public boolean contains(IpAddress a) {
        if (a.isIpv6() != address.isIpv6()) {
            return false;
        }
        int host = address.family().bitLength() - length;
        return (a.highBits() & ~U128.lowMaskHi(host)) == address.highBits()
                && (a.lowBits() & ~U128.lowMaskLo(host)) == address.lowBits();
    }

    /** Whether {@code other} is of the same family and entirely inside this prefix. */
    public boolean contains(IpPrefix other) {
        return other.length >= length && contains(other.address);
    }

    /** The inclusive address range {@code first()..last()}. */
    public IpRange toRange() {
        return new IpRange(first(), last());
    }

    /** Orders by network address (IPv4 first), then shorter (larger) prefixes first. */
    @Override
    public int compareTo(IpPrefix o) {
        int c = address.compareTo(o.address);
        return c != 0 ? c : Integer.compare(length, o.length);
    }

    /** {@code address/length}, always with the length. */
    @Override
    public String toString() {
        return address + "/" + length;
    }
}
