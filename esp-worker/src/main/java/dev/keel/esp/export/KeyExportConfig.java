package dev.keel.esp.export;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * Whether and where to export keys for Wireshark; the counterpart of strongSwan's
 * {@code charon.plugins.save-keys} options ({@code wireshark_keys}, {@code ike}, {@code esp}).
 * Off by default.
 *
 * @param directory where the tables are appended to (a Wireshark configuration directory, or
 *     anywhere to copy them from); null when off
 * @param tables the file names of the tables written, e.g. {@link EspSaTable#FILE_NAME} and
 *     ike-service's {@code ikev2_decryption_table}; empty when off
 */
public record KeyExportConfig(Path directory, List<String> tables) {

    private static final KeyExportConfig DISABLED = new KeyExportConfig(null, List.of());

    public KeyExportConfig {
        tables = List.copyOf(tables);
        if (!tables.isEmpty() && directory == null) {
            throw new IllegalArgumentException("key export needs a directory");
        }
        for (String t : tables) {
            if (t.isEmpty() || t.contains("/") || t.startsWith(".")) {
                throw new IllegalArgumentException("key table '" + t + "' is not a plain file name");
            }
        }
    }

    /** The default: nothing is written. */
    public static KeyExportConfig disabled() {
        return DISABLED;
    }

    /** The given tables, written to {@code directory}. */
    public static KeyExportConfig of(Path directory, String... tables) {
        return new KeyExportConfig(Objects.requireNonNull(directory, "directory"), List.of(tables));
    }

    /** True when any key is written. */
    public boolean enabled() {
        return !tables.isEmpty();
    }

    /** True when {@code table} is written. */
    public boolean writes(String table) {
        return tables.contains(table);
    }
}
