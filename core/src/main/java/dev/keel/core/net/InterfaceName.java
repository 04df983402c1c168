package dev.keel.core.net;

/** What Linux accepts as a network interface name ({@code dev_valid_name} in net/core/dev.c). */
public final class InterfaceName {

    /** IFNAMSIZ less the terminating NUL. */
    public static final int MAX_LENGTH = 15;

    private InterfaceName() {
    }

    /** Why the kernel would refuse {@code name}, or null when it takes it. */
    public static String problem(String name) {
        if (name.isEmpty() || name.length() > MAX_LENGTH || name.equals(".") || name.equals("..")
                || name.contains("/") || name.contains(":") || name.chars().anyMatch(c -> c <= ' ' || c >= 0x7f)) {
            return "'" + name + "' is not a Linux interface name (1 to " + MAX_LENGTH
                    + " printable ASCII characters without '/', ':' or spaces, not '.' or '..')";
        }
        return null;
    }
}
