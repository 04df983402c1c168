package dev.keel.esp.export;

import java.util.HexFormat;

/**
 * Lines of Wireshark's {@code ikev2_decryption_table} (Preferences, Protocols, ISAKMP, IKEv2
 * Decryption Table; the file of that name in the Wireshark configuration directory).
 *
 * <p>Eight comma-separated fields; hex fields are bare, the two names are quoted:
 * <pre>&lt;SPIi 16 hex&gt;,&lt;SPIr 16 hex&gt;,&lt;SK_ei&gt;,&lt;SK_er&gt;,"AES-CBC-256 [RFC3602]",&lt;SK_ai&gt;,&lt;SK_ar&gt;,"HMAC_SHA2_256_128 [RFC4868]"</pre>
 * With a combined-mode cipher SK_ai and SK_ar are empty and the integrity name is
 * {@code NONE [RFC4306]}, as in strongSwan's save-keys output.
 */
public final class IkeDecryptionTable {

    /** The file name Wireshark reads the table from. */
    public static final String FILE_NAME = "ikev2_decryption_table";

    private static final HexFormat HEX = HexFormat.of();

    private IkeDecryptionTable() {
    }

    /**
     * Formats one IKE SA as one table line, without the line terminator.
     *
     * @throws IllegalArgumentException when Wireshark has no name for an algorithm of the SA
     *     (ChaCha20-Poly1305: Wireshark's IKEv2 table has none)
     */
    public static String format(IkeSaKeys sa) {
        String encr = WiresharkNames.ikeEncryption(sa.encryption(), sa.cipherKeyLength()).orElseThrow(
                () -> new IllegalArgumentException("Wireshark's ikev2_decryption_table has no name for "
                        + sa.encryption().ianaName()));
        String integ = WiresharkNames.ikeIntegrity(sa.integrity()).orElseThrow(
                () -> new IllegalArgumentException("Wireshark's ikev2_decryption_table has no name for "
                        + sa.integrity().ianaName()));
        return new StringBuilder(256)
                .append(HEX.toHexDigits(sa.initiatorSpi())).append(',')
                .append(HEX.toHexDigits(sa.responderSpi())).append(',')
                .append(HEX.formatHex(sa.skEi())).append(',')
                .append(HEX.formatHex(sa.skEr())).append(',')
                .append('"').append(encr).append("\",")
                .append(HEX.formatHex(sa.skAi())).append(',')
                .append(HEX.formatHex(sa.skAr())).append(',')
                .append('"').append(integ).append('"')
                .toString();
    }

    /** The tshark option that loads one line into the table. */
    public static String tsharkOption(IkeSaKeys sa) {
        return "uat:" + FILE_NAME + ":" + format(sa);
    }
}
