package dev.keel.core.net;

/** An IP address family: IPv4 (32-bit) or IPv6 (128-bit). */
public enum IpFamily {
    IPV4(4),
    IPV6(16);

    private final int byteLength;

    IpFamily(int byteLength) {
        this.byteLength = byteLength;
    }

    /** Address length in bytes: 4 or 16. */
    public int byteLength() {
        return byteLength;
    }

    /** Address length in bits: 32 or 128. */
    public int bitLength() {
        return byteLength * 8;
    }

    /** "IPv4" or "IPv6", for messages. */
    public String displayName() {
        return this == IPV4 ? "IPv4" : "IPv6";
    }

    /** The all-zeros address of this family. */
    public IpAddress min() {
        return IpAddress.min(this);
    }

    /** The all-ones address of this family. */
    public IpAddress max() {
        return IpAddress.max(this);
    }
}
