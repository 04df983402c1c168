/**
 * Key export for Wireshark, the feature strongSwan's {@code save-keys} plugin offers: IKE and
 * ESP keys appended, in plaintext, to Wireshark's {@code ikev2_decryption_table} and
 * {@code esp_sa} tables so a capture of Keel's traffic can be decrypted. Off by default; a
 * debugging aid, never for production gateways.
 *
 * <p>{@link dev.keel.esp.export.EspSaTable} and {@link dev.keel.esp.export.IkeDecryptionTable}
 * are pure formatters (record in, line out); {@link dev.keel.esp.export.WiresharkKeyWriter}
 * appends their lines to files in the directory a {@link dev.keel.esp.export.KeyExportConfig}
 * names.
 */
package dev.keel.esp.export;
