package dev.keel.esp.export;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.HexFormat;

/**
 * Lines of Wireshark's {@code esp_sa} table (Preferences, Protocols, ESP, ESP SAs; the file
 * {@code esp_sa} in the Wireshark configuration directory, or tshark's
 * {@code -o "uat:esp_sa:<line>"}).
 *
 * <p>Eight quoted, comma-separated fields, as Wireshark 3.x and 4.x define them:
 * <pre>"IPv4","192.0.2.1","192.0.2.2","0x0000c001","AES-GCM with 16 octet ICV [RFC4106]","0x&lt;key||salt&gt;","NULL","0x"</pre>
 * Protocol ({@code IPv4}/{@code IPv6}), source, destination, SPI as {@code 0x} and 8 hex
 * digits, encryption name, encryption key (with the salt of an AEAD cipher), authentication
 * name, authentication key. An empty key is written {@code 0x}, as strongSwan does.
 */
public final class EspSaTable {

    /** The file name Wireshark reads the table from. */
    public static final String FILE_NAME = "esp_sa";

    private static final HexFormat HEX = HexFormat.of();

    private EspSaTable() {
    }

    /**
     * Formats one SA as one table line, without the line terminator.
     *
     * @throws IllegalArgumentException when Wireshark has no name for an algorithm of the SA
     */
    public static String format(EspSaKeys sa) {
        String encr = WiresharkNames.espEncryption(sa.encryption()).orElseThrow(
                () -> new IllegalArgumentException("Wireshark's esp_sa has no name for "
                        + sa.encryption().ianaName()));
        String auth = WiresharkNames.espIntegrity(sa.integrity()).orElseThrow(
                () -> new IllegalArgumentException("Wireshark's esp_sa has no name for "
                        + sa.integrity().ianaName()));
        return new StringBuilder(160)
                .append('"').append(sa.ipv6() ? "IPv6" : "IPv4").append("\",")
                .append('"').append(address(sa.source())).append("\",")
                .append('"').append(address(sa.destination())).append("\",")
                .append("\"0x").append(HEX.toHexDigits(sa.spi())).append("\",")
                .append('"').append(encr).append("\",")
                .append("\"0x").append(HEX.formatHex(sa.encryptionKey())).append("\",")
                .append('"').append(auth).append("\",")
                .append("\"0x").append(HEX.formatHex(sa.integrityKey())).append('"')
                .toString();
    }

    /** The tshark option that loads one line into the table: {@code uat:esp_sa:<line>}. */
    public static String tsharkOption(EspSaKeys sa) {
        return "uat:" + FILE_NAME + ":" + format(sa);
    }

    /** Dotted quad, or the RFC 5952 text form of an IPv6 address (no zone). */
    static String address(InetAddress a) {
        if (!(a instanceof Inet6Address)) {
            return a.getHostAddress();
        }
        byte[] b = a.getAddress();
        int[] groups = new int[8];
        for (int i = 0; i < 8; i++) {
            groups[i] = ((b[2 * i] & 0xff) << 8) | (b[2 * i + 1] & 0xff);
        }
        // RFC 5952 §4.2: the longest run (first if tied) of two or more zero groups becomes "::".
        int bestStart = -1;
        int bestLen = 1;
        for (int i = 0; i < 8; ) {
            if (groups[i] != 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < 8 && groups[j] == 0) {
                j++;
            }
            if (j - i > bestLen) {
                bestStart = i;
                bestLen = j - i;
            }
            i = j;
        }
        StringBuilder sb = new StringBuilder(39);
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                sb.append("::");
                i += bestLen - 1;
                continue;
            }
            if (sb.length() > 0 && sb.charAt(sb.length() - 1) != ':') {
                sb.append(':');
            }
            sb.append(Integer.toHexString(groups[i]));
        }
        return sb.toString();
    }
}
