package dev.keel.core.net;

/** An address on an interface with its prefix length, as {@code ip addr add 192.168.1.1/24} takes it. */
public record InterfaceAddress(IpAddress address, int prefixLength) {

    /** Checks the prefix length against the family. */
    public InterfaceAddress {
        java.util.Objects.requireNonNull(address, "address");
        int max = address.isIpv4() ? 32 : 128;
        if (prefixLength < 0 || prefixLength > max) {
            throw new IllegalArgumentException(address + "/" + prefixLength + ": prefix length outside 0-" + max);
        }
    }

    /** An interface address with prefix length, e.g. {@code 192.168.1.1/24}; the host bits stay. */
    public static InterfaceAddress parse(String text) {
        int slash = text.indexOf('/');
        if (slash < 0) {
            throw new IllegalArgumentException("'" + text + "' needs a prefix length, e.g. " + text + "/24");
        }
        IpAddress a = IpAddress.parse(text.substring(0, slash));
        int len;
        try {
            len = Integer.parseInt(text.substring(slash + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "': prefix length is not a number");
        }
        int max = a.isIpv4() ? 32 : 128;
        if (len < 0 || len > max) {
            throw new IllegalArgumentException("'" + text + "': prefix length outside 0-" + max);
        }
        return new InterfaceAddress(a, len);
    }

    @Override
    public String toString() {
        return address + "/" + prefixLength;
    }
}
