/**
 * Key export for Wireshark, the feature strongSwan's {@code save-keys} plugin offers: SA keys
 * appended, in plaintext, to Wireshark's key tables so a capture of Keel's traffic can be
 * decrypted. Off by default; a debugging aid, never for production gateways.
 *
 * <p>{@link dev.keel.esp.export.EspSaTable} is a pure formatter (ESP SA in, {@code esp_sa} line
 * out); the IKE table's formatter is ike-service's {@code dev.keel.ike.export.IkeDecryptionTable},
 * where IKE keys live (the data plane never sees them). {@link dev.keel.esp.export.WiresharkKeyWriter}
 * appends the lines of both to files in the directory a
 * {@link dev.keel.esp.export.KeyExportConfig} names, with the one set of file-hygiene rules.
 */
package dev.keel.esp.export;
