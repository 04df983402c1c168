package dev.keel.esp.export;

import java.nio.file.Path;
import java.util.Objects;

/**
 * Whether and where to export keys for Wireshark; the counterpart of strongSwan's
 * {@code charon.plugins.save-keys} options ({@code wireshark_keys}, {@code ike}, {@code esp}).
 * Off by default.
 *
 * @param directory where {@code esp_sa} and {@code ikev2_decryption_table} are appended to
 *     (a Wireshark configuration directory, or anywhere to copy them from); null when off
 * @param ike whether IKE SA keys are written
 * @param esp whether ESP SA keys are written
 */
public record KeyExportConfig(Path directory, boolean ike, boolean esp) {

    private static final KeyExportConfig DISABLED = new KeyExportConfig(null, false, false);

    public KeyExportConfig {
        if ((ike || esp) && directory == null) {
            throw new IllegalArgumentException("key export needs a directory");
        }
    }

    /** The default: nothing is written. */
    public static KeyExportConfig disabled() {
        return DISABLED;
    }

    /** IKE and ESP keys, both written to {@code directory}. */
    public static KeyExportConfig toDirectory(Path directory) {
        return new KeyExportConfig(Objects.requireNonNull(directory, "directory"), true, true);
    }

    /** True when any key is written. */
    public boolean enabled() {
        return ike || esp;
    }
}
