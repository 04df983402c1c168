package dev.keel.sad.keys;

import dev.keel.proto.KekId;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.Set;
import javax.crypto.KDF;
import javax.crypto.SecretKey;
import javax.crypto.spec.HKDFParameterSpec;

/**
 * The cluster key-encryption key (KEK): 32 bytes (AES-256) every sad-service member shares,
 * under which SA keys are wrapped before they enter Hazelcast.
 *
 * <p>File format: exactly 64 hexadecimal digits (upper or lower case), optionally followed by
 * one newline; nothing else. Generate one with {@code openssl rand -hex 32 > kek.hex} and
 * {@code chmod 600}. Hex rather than raw bytes so that a truncated or mangled file is always
 * detected (a raw 32-byte file cannot tell a stray newline from a key byte). A file that its group
 * or other users may read, write or execute is refused: whoever reads the KEK unwraps every SA
 * key and forges SA records (docs/sad.md, "What a member-level attacker can and cannot do").
 *
 * <p>Other keys are derived from the KEK with HKDF-SHA256 (RFC 5869), one label each
 * ({@link #deriveKey}, {@link #deriveBytes}); the KEK itself only wraps keys.
 */
public final class KeyEncryptionKey implements AutoCloseable {

    /** Bytes of a KEK. */
    public static final int LENGTH = 32;

    private final byte[] key;
    private final int id;

    private KeyEncryptionKey(byte[] key) {
        this.key = key;
        this.id = KekId.of(key);
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
        checkPermissions(file);
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

    /** Permission bits that make a KEK file readable, writable or executable by anyone but its owner. */
    private static final Set<PosixFilePermission> NOT_OWNER = EnumSet.of(
            PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_EXECUTE,
            PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_EXECUTE);

    /**
     * Refuses a KEK file its group or other users have any permission on (a file system without
     * POSIX permissions is not checked).
     *
     * @throws IllegalArgumentException naming the file, its mode and the fix
     */
    static void checkPermissions(Path file) {
        PosixFileAttributeView view = Files.getFileAttributeView(file, PosixFileAttributeView.class);
        if (view == null) {
            return;
        }
        Set<PosixFilePermission> perms;
        try {
            perms = view.readAttributes().permissions();
        } catch (IOException e) {
            throw new IllegalArgumentException("KEK file " + file + ": cannot read it ("
                    + e.getClass().getSimpleName() + ": " + e.getMessage() + ")");
        }
        Set<PosixFilePermission> extra = EnumSet.noneOf(PosixFilePermission.class);
        extra.addAll(perms);
        extra.retainAll(NOT_OWNER);
        if (!extra.isEmpty()) {
            throw new IllegalArgumentException("KEK file " + file + ": permissions " + PosixFilePermissions.toString(perms)
                    + " let its group or other users " + (extra.contains(PosixFilePermission.GROUP_READ)
                            || extra.contains(PosixFilePermission.OTHERS_READ) ? "read" : "change")
                    + " it; allow its owner only (chmod 600 " + file + ")");
        }
    }

    /**
     * Writes a KEK file in the format {@link #load} reads, readable and writable by its owner only
     * (tests, tooling).
     */
    public static void write(Path file, byte[] key) throws IOException {
        Files.deleteIfExists(file);
        try {
            Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } catch (UnsupportedOperationException e) {
            Files.createFile(file); // no POSIX permissions on this file system
        }
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

    /** The KEK id stored next to wrapped keys ({@link KekId}). */
    public int id() {
        return id;
    }

    /**
     * A key derived from the KEK for one purpose: HKDF-SHA256 (RFC 5869) with the KEK as input
     * keying material, no salt (the KEK is uniformly random) and {@code label} as info.
     *
     * @param algorithm the JCA algorithm of the result, e.g. "HmacSHA256"
     */
    public SecretKey deriveKey(String label, String algorithm, int length) {
        try {
            return KDF.getInstance("HKDF-SHA256").deriveKey(algorithm, hkdf(label, length));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HKDF-SHA256 unavailable: " + e.getClass().getSimpleName());
        }
    }

    /** As {@link #deriveKey}, as bytes (for values that are not secret themselves, e.g. a name). */
    public byte[] deriveBytes(String label, int length) {
        try {
            return KDF.getInstance("HKDF-SHA256").deriveData(hkdf(label, length));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HKDF-SHA256 unavailable: " + e.getClass().getSimpleName());
        }
    }

    private HKDFParameterSpec hkdf(String label, int length) {
        return HKDFParameterSpec.ofExtract().addIKM(key).thenExpand(label.getBytes(StandardCharsets.US_ASCII), length);
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
