package dev.keel.sad.keys;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * The cluster key-encryption key (KEK): 32 bytes (AES-256) every sad-service member shares,
 * under which SA keys are wrapped before they enter Hazelcast.
 *
 * <p>File format: exactly 64 hexadecimal digits (upper or lower case), optionally followed by
 * one newline; nothing else. Generate one with {@code openssl rand -hex 32 > kek.hex} and
 * {@code chmod 600}. Hex rather than raw bytes so that a truncated or mangled file is always
 * detected (a raw 32-byte file cannot tell a stray newline from a key byte).
 */
public final class KeyEncryptionKey implements AutoCloseable {

    /** Bytes of a KEK. */
    public static final int LENGTH = 32;

    private final byte[] key;
    private final int id;

    private KeyEncryptionKey(byte[] key) {
        this.key = key;
        this.id = idOf(key);
    }

    /** A KEK from raw bytes (16, 24 or 32; tests use the RFC 5649 192-bit KEK). Copies. */
    public static KeyEncryptionKey of(byte[] key) {
        if (key.length != 16 && key.length != 24 && key.length != 32) {
            throw new IllegalArgumentException("KEK must be 16, 24 or 32 bytes, got " + key.length);
        }
        return new KeyEncryptionKey(key.clone());
    }

    /**
     * Loads a KEK file.
     *
     * @throws IllegalArgumentException naming the file and what is wrong with it (never its content)
     */
    public static KeyEncryptionKey load(Path file) {
        byte[] raw;
        try {
            raw = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new IllegalArgumentException("KEK file " + file + ": cannot read it ("
                    + e.getClass().getSimpleName() + ": " + e.getMessage() + ")");
        }
        try {
            int len = raw.length;
            if (len > 0 && raw[len - 1] == '\n') {
                len--;
            }
            if (len > 0 && raw[len - 1] == '\r') {
                len--;
            }
            if (len != 2 * LENGTH) {
                throw new IllegalArgumentException("KEK file " + file + ": expected " + (2 * LENGTH)
                        + " hexadecimal digits (" + LENGTH + " bytes, e.g. `openssl rand -hex 32`), found "
                        + len + " characters");
            }
            byte[] key = new byte[LENGTH];
            for (int i = 0; i < LENGTH; i++) {
                int hi = Character.digit(raw[2 * i], 16);
                int lo = Character.digit(raw[2 * i + 1], 16);
                if (hi < 0 || lo < 0) {
                    Arrays.fill(key, (byte) 0);
                    throw new IllegalArgumentException("KEK file " + file
                            + ": not hexadecimal at character " + (hi < 0 ? 2 * i + 1 : 2 * i + 2));
                }
                key[i] = (byte) (hi << 4 | lo);
            }
            if (allSame(key)) {
                Arrays.fill(key, (byte) 0);
                throw new IllegalArgumentException("KEK file " + file + ": key bytes are all equal; generate a random key");
            }
            return new KeyEncryptionKey(key);
        } finally {
            Arrays.fill(raw, (byte) 0);
        }
    }

    /** Writes a KEK file in the format {@link #load} reads (tests, tooling). */
    public static void write(Path file, byte[] key) throws IOException {
        Files.writeString(file, HexFormat.of().formatHex(key) + "\n", StandardCharsets.US_ASCII);
    }

    private static boolean allSame(byte[] b) {
        for (byte x : b) {
            if (x != b[0]) {
                return false;
            }
        }
        return true;
    }

    private static int idOf(byte[] key) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update("keel-kek-id".getBytes(StandardCharsets.US_ASCII));
            byte[] d = sha.digest(key);
            return (d[0] & 0xff) << 24 | (d[1] & 0xff) << 16 | (d[2] & 0xff) << 8 | (d[3] & 0xff);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The KEK id stored next to wrapped keys: first 4 bytes of SHA-256("keel-kek-id" || KEK). */
    public int id() {
        return id;
    }

    /** The key bytes; only {@link KeyWrap} reads them. */
    byte[] bytes() {
        return key;
    }

    /** Zeroizes the key. */
    @Override
    public void close() {
        Arrays.fill(key, (byte) 0);
    }

    @Override
    public String toString() {
        return "KeyEncryptionKey[id=" + String.format("%08x", id) + "]";
    }
}
