package dev.keel.proto;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Set;
import javax.crypto.Cipher;
import javax.crypto.spec.SecretKeySpec;

/**
 * Unwraps CHILD SA keys that sad-service wrapped under the cluster key-encryption key: AES Key
 * Wrap with Padding (RFC 5649, the JDK's {@code AES/KWP/NoPadding}), KEK identified by its
 * {@link KekId}. Only the owning worker holds one (DESIGN §5).
 */
public final class ChildKeyUnwrapper implements AutoCloseable {

    private final byte[] kek;
    private final int kekId;
    /**
     * Each thread's unwrap cipher, initialized once: a doFinal returns it to that state, and a
     * takeover unwraps thousands of keys (the provider lookup and key schedule per key were a
     * quarter of the feed's install time). Dropped after a failure.
     */
    private final ThreadLocal<Cipher> ciphers = new ThreadLocal<>();
    private volatile boolean closed;

    /** Copies {@code kek} (16, 24 or 32 bytes: the same KEK file every sad-service member loads). */
    public ChildKeyUnwrapper(byte[] kek) {
        if (kek.length != 16 && kek.length != 24 && kek.length != 32) {
            throw new IllegalArgumentException("KEK must be 16, 24 or 32 bytes, got " + kek.length);
        }
        this.kek = kek.clone();
        this.kekId = KekId.of(this.kek);
    }

    /**
     * The KEK in {@code file} (hex of 16, 24 or 32 bytes, as the sad-service members load it); the
     * file's bytes are wiped. A file its group or other users may access is refused: whoever reads
     * it unwraps every SA key.
     *
     * @throws IllegalArgumentException naming the file and what is wrong (never its content)
     */
    public static ChildKeyUnwrapper load(Path file) {
        byte[] raw = null;
        byte[] kek = null;
        try {
            PosixFileAttributeView view = Files.getFileAttributeView(file, PosixFileAttributeView.class);
            if (view != null) {
                Set<PosixFilePermission> perms = view.readAttributes().permissions();
                if (perms.stream().anyMatch(p -> !p.name().startsWith("OWNER_"))) {
                    throw new IllegalArgumentException(file + ": permissions " + PosixFilePermissions.toString(perms)
                            + " let its group or other users at it; allow its owner only (chmod 600 " + file + ")");
                }
            }
            raw = Files.readAllBytes(file);
            kek = HexFormat.of().parseHex(new String(raw, StandardCharsets.US_ASCII).strip());
            return new ChildKeyUnwrapper(kek);
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": cannot be read (" + e.getClass().getSimpleName() + ")");
        } catch (IllegalArgumentException e) {
            if (e.getMessage() != null && e.getMessage().startsWith(file.toString())) {
                throw e;
            }
            throw new IllegalArgumentException(file + ": not the hex of a 16, 24 or 32 byte KEK (the file the"
                    + " sad-service members load)");
        } finally {
            if (raw != null) {
                Arrays.fill(raw, (byte) 0);
            }
            if (kek != null) {
                Arrays.fill(kek, (byte) 0);
            }
        }
    }

    public int kekId() {
        return kekId;
    }

    /**
     * The plaintext key; empty for an empty wrapped key (ENCR_NULL, AEAD integrity).
     *
     * @throws IllegalStateException for another KEK's id or a failed integrity check (no key bytes in the message)
     */
    public byte[] unwrap(byte[] wrapped, int wrappedKekId) {
        if (wrappedKekId != kekId) {
            throw new IllegalStateException(String.format("key wrapped under KEK %08x, this worker holds KEK %08x",
                    wrappedKekId, kekId));
        }
        if (wrapped.length == 0) {
            return new byte[0];
        }
        if (closed) {
            throw new IllegalStateException("the KEK was closed");
        }
        try {
            Cipher c = ciphers.get();
            if (c == null) {
                c = Cipher.getInstance("AES/KWP/NoPadding");
                // Decrypt mode of the KWP cipher is the RFC 5649 unwrap, giving the key bytes themselves.
                c.init(Cipher.DECRYPT_MODE, new SecretKeySpec(kek, "AES"));
                ciphers.set(c);
            }
            return c.doFinal(wrapped);
        } catch (GeneralSecurityException e) {
            ciphers.remove(); // its state after a failure is not specified
            throw new IllegalStateException("wrapped key failed the RFC 5649 integrity check");
        }
    }

    @Override
    public void close() {
        closed = true;
        Arrays.fill(kek, (byte) 0);
    }

    @Override
    public String toString() {
        return "ChildKeyUnwrapper[kek=" + String.format("%08x", kekId) + "]";
    }
}
