package dev.keel.policy.config;

import java.util.Arrays;
import java.util.Objects;

/**
 * Secret material resolved from a file or an environment variable. Its {@link #toString()}
 * names it and says where it came from, never what it is; only {@link #copy()} gives the bytes.
 */
public final class Secret {

    private final String name;
    private final String origin;
    private final byte[] value;

    Secret(String name, String origin, byte[] value) {
        this.name = Objects.requireNonNull(name, "name");
        this.origin = Objects.requireNonNull(origin, "origin");
        this.value = value.clone();
    }

    /** The name under {@code secrets:}. */
    public String name() {
        return name;
    }

    /** Where it was read from, e.g. {@code file /etc/keel/psk} or {@code env KEEL_PSK}. */
    public String origin() {
        return origin;
    }

    /** How many bytes it holds (never what they are). */
    public int length() {
        return value.length;
    }

    /** A copy of the secret bytes; the caller clears it when done. */
    public byte[] copy() {
        return value.clone();
    }

    /** Whether two secrets hold the same bytes, in constant time. */
    boolean sameValue(Secret other) {
        return java.security.MessageDigest.isEqual(value, other.value);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Secret s && s.name.equals(name) && s.origin.equals(origin) && sameValue(s);
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + origin.hashCode();
    }

    /** Name and origin only. */
    @Override
    public String toString() {
        return "Secret[" + name + " from " + origin + ", " + value.length + " bytes, redacted]";
    }

    /** Overwrites the bytes; for when a configuration is discarded. */
    void clear() {
        Arrays.fill(value, (byte) 0);
    }
}
