package dev.keel.esp.export;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Appends SA keys to Wireshark's key tables, as strongSwan's save-keys plugin does: lines of
 * {@code esp_sa} ({@link #writeEsp}) and of any other table the configuration names, formatted by
 * whoever holds those keys (ike-service's {@code ikev2_decryption_table}, through
 * {@link #append}). Safe to call from any thread; each line is written whole under a per-file
 * lock, so concurrent writers never interleave within a line.
 *
 * <p>Files are opened for each line and closed again, so they may be moved away or deleted
 * while Keel runs. The directory is created 0700; an existing one must be a real directory (no
 * symbolic link) owned by this process's user that neither group nor others may write, so
 * nobody else can plant or swap a file in it. The files are 0600, made so when they existed
 * with wider permissions, and never opened through a symbolic link (a link or anything but a
 * regular file in their place is refused). This does file I/O: call it where SAs are
 * installed, never on an event loop's packet path.
 *
 * <p>Keys reach the files and nowhere else: log lines name files and SAs, never key bytes.
 */
public final class WiresharkKeyWriter {

    private static final Logger LOG = LoggerFactory.getLogger(WiresharkKeyWriter.class);

    private static final WiresharkKeyWriter DISABLED = new WiresharkKeyWriter(KeyExportConfig.disabled());

    private static final Set<OpenOption> APPEND = Set.of(StandardOpenOption.WRITE, StandardOpenOption.CREATE,
            StandardOpenOption.APPEND, LinkOption.NOFOLLOW_LINKS);
    private static final Set<PosixFilePermission> OWNER_READ_WRITE = PosixFilePermissions.fromString("rw-------");

    /** One lock per file for the whole JVM, so writers made from equal configs never interleave. */
    private static final ConcurrentMap<Path, ReentrantLock> LOCKS = new ConcurrentHashMap<>();

    private final KeyExportConfig config;

    private WiresharkKeyWriter(KeyExportConfig config) {
        this.config = config;
    }

    /**
     * A writer for {@code config}. When export is enabled this creates the directory (0700) if it
     * is missing, checks it and any table file already in it (made 0600), and logs a WARN that
     * keys are being written in plaintext, and where.
     *
     * @throws IOException naming the path and the problem: the directory cannot be created, is a
     *     symbolic link, belongs to another user or is writable by group or others; a table file
     *     is a symbolic link or not a regular file
     */
    public static WiresharkKeyWriter open(KeyExportConfig config) throws IOException {
        if (!config.enabled()) {
            return DISABLED;
        }
        Path dir = config.directory().toAbsolutePath().normalize();
        privateDirectory(dir);
        for (String name : config.tables()) {
            Path file = dir.resolve(name);
            if (Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
                ownerOnlyFile(file);
            }
        }
        LOG.warn("KEY EXPORT IS ON: SA keys are written IN PLAINTEXT to {} ({}). Anyone who can read "
                + "these files can decrypt this gateway's traffic. Use it for debugging only and "
                + "turn it off afterwards.", dir, String.join(", ", config.tables()));
        return new WiresharkKeyWriter(new KeyExportConfig(dir, config.tables()));
    }

    /** The writer that writes nothing. */
    public static WiresharkKeyWriter disabled() {
        return DISABLED;
    }

    /** The configuration in force (directory made absolute). */
    public KeyExportConfig config() {
        return config;
    }

    /** True when lines of {@code table} are written. */
    public boolean writes(String table) {
        return config.writes(table);
    }

    /** The file of {@code table}, or null when that table is not written. */
    public Path file(String table) {
        return config.writes(table) ? config.directory().resolve(table) : null;
    }

    /** True when ESP SA keys are written. */
    public boolean exportsEsp() {
        return writes(EspSaTable.FILE_NAME);
    }

    /** The {@code esp_sa} file, or null when ESP export is off. */
    public Path espSaFile() {
        return file(EspSaTable.FILE_NAME);
    }

    /**
     * Appends one ESP SA (one direction) to {@code esp_sa}.
     *
     * @return as {@link #append}
     */
    public boolean writeEsp(EspSaKeys sa) {
        return append(EspSaTable.FILE_NAME, () -> EspSaTable.format(sa), "ESP SA spi=0x" + Integer.toHexString(sa.spi()));
    }

    /**
     * Appends one line to {@code table}.
     *
     * @param line formats the line (without terminator); called only when the table is written,
     *     and it throws {@link IllegalArgumentException} when Wireshark has no name for the SA's
     *     algorithms
     * @param what the SA as log lines name it, never a key
     * @return true when the line was written; false when the table is not exported, the line
     *     cannot be formatted, or the file could not be written (both logged at WARN)
     */
    public boolean append(String table, Supplier<String> line, String what) {
        if (!config.writes(table)) {
            return false;
        }
        String text;
        try {
            text = line.get();
        } catch (IllegalArgumentException e) {
            LOG.warn("{} not exported for Wireshark: {}", what, e.getMessage());
            return false;
        }
        return append(file(table), text, what);
    }

    private static boolean append(Path file, String line, String what) {
        byte[] bytes = (line + "\n").getBytes(StandardCharsets.US_ASCII);
        ReentrantLock lock = LOCKS.computeIfAbsent(file, f -> new ReentrantLock());
        lock.lock();
        try (FileChannel ch = openOwnerOnly(file)) {
            ByteBuffer buf = ByteBuffer.wrap(bytes);
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            return true;
        } catch (IOException | UnsupportedOperationException e) {
            LOG.warn("{} not exported for Wireshark: cannot append to {}: {}", what, file, e.toString());
            return false;
        } finally {
            lock.unlock();
            Arrays.fill(bytes, (byte) 0);
        }
    }

    /**
     * Opens {@code file} to append, created 0600, never through a symbolic link, and makes an
     * existing file 0600 before a byte is written to it.
     */
    private static FileChannel openOwnerOnly(Path file) throws IOException {
        if (Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
            ownerOnlyFile(file); // also refuses a FIFO, which would block the open
        }
        FileChannel ch = FileChannel.open(file, APPEND, PosixFilePermissions.asFileAttribute(OWNER_READ_WRITE));
        try {
            ownerOnlyFile(file);
            return ch;
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** {@code file} is a regular file, not a symbolic link; made 0600 when it is not already. */
    private static void ownerOnlyFile(Path file) throws IOException {
        PosixFileAttributes a = Files.readAttributes(file, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        if (!a.isRegularFile()) {
            throw new IOException("key export file " + file + ": " + (a.isSymbolicLink() ? "a symbolic link"
                    : "not a regular file") + "; not writing keys through it");
        }
        if (!a.permissions().equals(OWNER_READ_WRITE)) {
            // With NOFOLLOW_LINKS the JDK changes the mode through a descriptor opened O_NOFOLLOW.
            Files.getFileAttributeView(file, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
                    .setPermissions(OWNER_READ_WRITE);
            LOG.warn("key export file {} was {}; made it rw------- (owner only)", file,
                    PosixFilePermissions.toString(a.permissions()));
        }
    }

    /**
     * {@code dir} exists (created 0700 when missing), is a directory and no symbolic link, belongs
     * to this process's user, and neither group nor others may write to it.
     */
    private static void privateDirectory(Path dir) throws IOException {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rwx------")));
        }
        PosixFileAttributes a = Files.readAttributes(dir, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        if (!a.isDirectory()) {
            throw new IOException("key export directory " + dir + ": " + (a.isSymbolicLink()
                    ? "a symbolic link; give the real path" : "not a directory"));
        }
        int owner = (Integer) Files.getAttribute(dir, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        int self = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        if (owner != self) {
            throw new IOException("key export directory " + dir + ": owned by uid " + owner + ", not by this"
                    + " process's uid " + self + "; its owner could swap the key files");
        }
        Set<PosixFilePermission> p = a.permissions();
        if (p.contains(PosixFilePermission.GROUP_WRITE) || p.contains(PosixFilePermission.OTHERS_WRITE)) {
            throw new IOException("key export directory " + dir + ": mode " + PosixFilePermissions.toString(p)
                    + " lets group or others write to it; chmod 700, or name a new directory Keel creates");
        }
    }
}
