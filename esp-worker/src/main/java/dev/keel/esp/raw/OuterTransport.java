package dev.keel.esp.raw;

import java.util.Arrays;
import java.util.stream.Collectors;

/** How ESP packets travel between the gateways: the worker config's {@code transport} key. */
public enum OuterTransport {
    /** ESP in UDP on port 4500 (RFC 3948): passes NAT; carries IKE and NAT keepalives too. */
    UDP_ENCAP("udp-encap", 8),
    /** ESP directly over IP, protocol 50 (RFC 4303): no UDP header, no NAT traversal. */
    RAW_ESP("raw-esp", 0);

    private final String configName;
    private final int headerBytes;

    OuterTransport(String configName, int headerBytes) {
        this.configName = configName;
        this.headerBytes = headerBytes;
    }

    /** Bytes this transport puts between the outer IP header and the ESP header. */
    public int headerBytes() {
        return headerBytes;
    }

    /** The spelling in the configuration file. */
    public String configName() {
        return configName;
    }

    /** The transport spelled {@code name} in the configuration, or null. */
    public static OuterTransport fromConfig(String name) {
        for (OuterTransport t : values()) {
            if (t.configName.equals(name)) {
                return t;
            }
        }
        return null;
    }

    /** The accepted spellings, for problem messages. */
    public static String choices() {
        return Arrays.stream(values()).map(t -> "'" + t.configName + "'").collect(Collectors.joining(" or "));
    }
}
