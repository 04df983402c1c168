package dev.keel.ike.export;

import dev.keel.core.proposal.EncryptionAlgorithm;
import dev.keel.core.transform.IntegrityTransform;
import dev.keel.ike.crypto.IkeSaKeys;
import dev.keel.ike.crypto.IkeSuite;
import dev.keel.ike.session.IkeSa;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;
import java.util.Optional;

/**
 * Lines of Wireshark's {@code ikev2_decryption_table} (Preferences, Protocols, ISAKMP, IKEv2
 * Decryption Table; the file of that name in the Wireshark configuration directory): the IKE half
 * of the key export strongSwan's save-keys plugin offers. It lives where IKE keys live; the
 * gateway appends its lines through esp-worker's {@code WiresharkKeyWriter}, which keeps the file
 * hygiene of every key table in one place.
 *
 * <p>Eight comma-separated fields; hex fields are bare, the two names are quoted:
 * <pre>&lt;SPIi 16 hex&gt;,&lt;SPIr 16 hex&gt;,&lt;SK_ei&gt;,&lt;SK_er&gt;,"AES-CBC-256 [RFC3602]",&lt;SK_ai&gt;,&lt;SK_ar&gt;,"HMAC_SHA2_256_128 [RFC4868]"</pre>
 * With a combined-mode cipher SK_ai and SK_ar are empty and the integrity name is
 * {@code NONE [RFC4306]}, as in strongSwan's save-keys output.
 *
 * <p>Names are Wireshark's value-string labels, checked against {@code packet-isakmp.c}
 * ({@code vs_ikev2_encr_algs}, {@code vs_ikev2_auth_algs}), the strings in Debian's libwireshark
 * 4.0.17 and strongSwan's {@code save_keys_listener.c}. A name Wireshark does not know makes tshark
 * reject the whole {@code -o uat:} option, so an algorithm without a name is refused, never guessed.
 */
public final class IkeDecryptionTable {

    /** The file name Wireshark reads the table from. */
    public static final String FILE_NAME = "ikev2_decryption_table";

    private static final HexFormat HEX = HexFormat.of();

    private IkeDecryptionTable() {
    }

    /**
     * What Wireshark needs to decrypt one IKEv2 SA: the two SPIs, the negotiated algorithms and
     * the four keys of RFC 7296 §2.14 (SK_d and SK_p are not needed). The arrays are held, not
     * copied; {@link #wipe()} zeroizes them; {@link #toString()} names no key.
     *
     * @param initiatorSpi the IKE SA initiator's SPI, as on the wire (big-endian)
     * @param responderSpi the IKE SA responder's SPI
     * @param suite the IKE SA's algorithms (the cipher with its key length)
     * @param skEi SK_ei: cipher key plus salt for an AEAD transform (RFC 5282 §7.1)
     * @param skEr SK_er
     * @param skAi SK_ai, empty with a combined-mode cipher
     * @param skAr SK_ar
     */
    public record Row(long initiatorSpi, long responderSpi, IkeSuite suite, byte[] skEi, byte[] skEr,
            byte[] skAi, byte[] skAr) {

        /** Checks every key's length against the suite. Messages never carry key bytes. */
        public Row {
            Objects.requireNonNull(suite, "suite");
            length("SK_ei", skEi, suite.encryptionKeyLength());
            length("SK_er", skEr, suite.encryptionKeyLength());
            length("SK_ai", skAi, suite.integrityKeyLength());
            length("SK_ar", skAr, suite.integrityKeyLength());
        }

        /** The row of an established IKE SA, holding copies of its keys (wipe them after use). */
        public static Row of(IkeSa sa) {
            IkeSaKeys k = sa.keys();
            return new Row(sa.spiI(), sa.spiR(), sa.suite(), k.skEi(), k.skEr(), k.skAi(), k.skAr());
        }

        private static void length(String what, byte[] key, int want) {
            Objects.requireNonNull(key, what);
            if (key.length != want) {
                throw new IllegalArgumentException(what + " is " + key.length + " bytes, the suite takes " + want);
            }
        }

        /** The SA as log lines name it: both SPIs. */
        public String id() {
            return String.format("IKE SA %016x_i %016x_r", initiatorSpi, responderSpi);
        }

        /** Zeroizes the four keys. */
        public void wipe() {
            for (byte[] k : new byte[][] {skEi, skEr, skAi, skAr}) {
                Arrays.fill(k, (byte) 0);
            }
        }

        @Override
        public String toString() {
            return "IkeDecryptionTable.Row[" + String.format("%016x_i %016x_r", initiatorSpi, responderSpi) + ", "
                    + suite.encryption().transform().ianaName() + "/" + suite.integrity().ianaName()
                    + ", keys redacted]";
        }
    }

    /**
     * Formats one IKE SA as one table line, without the line terminator.
     *
     * @throws IllegalArgumentException when Wireshark has no name for an algorithm of the SA
     *     (ChaCha20-Poly1305: Wireshark's IKEv2 table has none)
     */
    public static String format(Row sa) {
        EncryptionAlgorithm enc = sa.suite().encryption();
        String encr = encryptionName(enc).orElseThrow(() -> new IllegalArgumentException(
                "Wireshark's ikev2_decryption_table has no name for " + enc.transform().ianaName()));
        return new StringBuilder(256)
                .append(HEX.toHexDigits(sa.initiatorSpi())).append(',')
                .append(HEX.toHexDigits(sa.responderSpi())).append(',')
                .append(HEX.formatHex(sa.skEi())).append(',')
                .append(HEX.formatHex(sa.skEr())).append(',')
                .append('"').append(encr).append("\",")
                .append(HEX.formatHex(sa.skAi())).append(',')
                .append(HEX.formatHex(sa.skAr())).append(',')
                .append('"').append(integrityName(sa.suite().integrity())).append('"')
                .toString();
    }

    /** The tshark option that loads one line into the table. */
    public static String tsharkOption(Row sa) {
        return "uat:" + FILE_NAME + ":" + format(sa);
    }

    /** The encryption label, which names the key size (without the salt). */
    private static Optional<String> encryptionName(EncryptionAlgorithm enc) {
        int bits = enc.keyBytes() * 8;
        return switch (enc.transform()) {
            case NULL -> Optional.of("NULL [RFC2410]");
            case AES_CBC -> Optional.of("AES-CBC-" + bits + " [RFC3602]");
            case AES_GCM_8 -> Optional.of("AES-GCM-" + bits + " with 8 octet ICV [RFC5282]");
            case AES_GCM_12 -> Optional.of("AES-GCM-" + bits + " with 12 octet ICV [RFC5282]");
            case AES_GCM_16 -> Optional.of("AES-GCM-" + bits + " with 16 octet ICV [RFC5282]");
            // Wireshark's IKEv2 table has no ChaCha20-Poly1305 entry.
            case CHACHA20_POLY1305 -> Optional.empty();
        };
    }

    /** The integrity label; combined-mode ciphers pair with NONE. */
    private static String integrityName(IntegrityTransform t) {
        return switch (t) {
            case NONE -> "NONE [RFC4306]";
            case HMAC_SHA1_96 -> "HMAC_SHA1_96 [RFC2404]";
            case HMAC_SHA2_256_128 -> "HMAC_SHA2_256_128 [RFC4868]";
            case HMAC_SHA2_384_192 -> "HMAC_SHA2_384_192 [RFC4868]";
            case HMAC_SHA2_512_256 -> "HMAC_SHA2_512_256 [RFC4868]";
        };
    }
}
