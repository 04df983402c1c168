package dev.keel.esp.export;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Appends IKE and ESP SA keys to Wireshark's {@code ikev2_decryption_table} and {@code esp_sa}
 * files, as strongSwan's save-keys plugin does. Safe to call from any thread; each line is
 * written whole under a per-file lock, so concurrent writers never interleave within a line.
 *
 * <p>Files are opened for each line and closed again, so they may be moved away or deleted
 * while Keel runs. New files (and a new directory) are created readable by the owner only.
 * This does file I/O: call it where SAs are installed, never on an event loop's packet path.
 *
 * <p>Keys reach the files and nowhere else: log lines name files and SPIs, never key bytes.
 */
public final class WiresharkKeyWriter {

    private static final Logger LOG = LoggerFactory.getLogger(WiresharkKeyWriter.class);

    private static final WiresharkKeyWriter DISABLED = new WiresharkKeyWriter(KeyExportConfig.disabled());

    private static final Set<OpenOption> APPEND = Set.of(
            StandardOpenOption.WRITE, StandardOpenOption.CREATE, StandardOpenOption.APPEND);

    /** One lock per file for the whole JVM, so writers made from equal configs never interleave. */
    private static final ConcurrentMap<Path, ReentrantLock> LOCKS = new ConcurrentHashMap<>();

    private final KeyExportConfig config;

    private WiresharkKeyWriter(KeyExportConfig config) {
        this.config = config;
    }

    /**
     * A writer for {@code config}. When export is enabled this creates the directory if it is
     * missing and logs a WARN that keys are being written in plaintext, and where.
     *
     * @throws IOException when the directory cannot be created
     */
    public static WiresharkKeyWriter open(KeyExportConfig config) throws IOException {
        if (!config.enabled()) {
            return DISABLED;
        }
        Path dir = config.directory().toAbsolutePath();
        if (!Files.isDirectory(dir)) {
            Files.createDirectories(dir, ownerOnly(true));
        }
        LOG.warn("KEY EXPORT IS ON: {} keys are written IN PLAINTEXT to {} ({}). Anyone who can read "
                + "these files can decrypt this gateway's traffic. Use it for debugging only and "
                + "turn it off afterwards.",
                config.ike() && config.esp() ? "IKE and ESP" : config.ike() ? "IKE" : "ESP",
                dir, fileNames(config));
        return new WiresharkKeyWriter(new KeyExportConfig(dir, config.ike(), config.esp()));
    }

    /** The writer that writes nothing. */
    public static WiresharkKeyWriter disabled() {
        return DISABLED;
    }

    /** The configuration in force (directory made absolute). */
    public KeyExportConfig config() {
        return config;
    }

    /** True when ESP SA keys are written. */
    public boolean exportsEsp() {
        return config.esp();
    }

    /** True when IKE SA keys are written. */
    public boolean exportsIke() {
        return config.ike();
    }

    /** The {@code esp_sa} file, or null when ESP export is off. */
    public Path espSaFile() {
        return config.esp() ? config.directory().resolve(EspSaTable.FILE_NAME) : null;
    }

    /** The {@code ikev2_decryption_table} file, or null when IKE export is off. */
    public Path ikeTableFile() {
        return config.ike() ? config.directory().resolve(IkeDecryptionTable.FILE_NAME) : null;
    }

    /**
     * Appends one ESP SA (one direction) to {@code esp_sa}.
     *
     * @return true when the line was written; false when ESP export is off, Wireshark has no
     *     name for the SA's algorithms, or the file could not be written (logged at WARN)
     */
    public boolean writeEsp(EspSaKeys sa) {
        if (!config.esp()) {
            return false;
        }
        String line;
        try {
            line = EspSaTable.format(sa);
        } catch (IllegalArgumentException e) {
            LOG.warn("ESP SA spi=0x{} not exported for Wireshark: {}", Integer.toHexString(sa.spi()),
                    e.getMessage());
            return false;
        }
        return append(espSaFile(), line, "ESP SA spi=0x" + Integer.toHexString(sa.spi()));
    }

    /**
     * Appends one IKE SA to {@code ikev2_decryption_table}.
     *
     * @return true when the line was written; false as for {@link #writeEsp(EspSaKeys)}
     */
    public boolean writeIke(IkeSaKeys sa) {
        if (!config.ike()) {
            return false;
        }
        String id = String.format("IKE SA %016x_i %016x_r", sa.initiatorSpi(), sa.responderSpi());
        String line;
        try {
            line = IkeDecryptionTable.format(sa);
        } catch (IllegalArgumentException e) {
            LOG.warn("{} not exported for Wireshark: {}", id, e.getMessage());
            return false;
        }
        return append(ikeTableFile(), line, id);
    }

    private static boolean append(Path file, String line, String what) {
        byte[] bytes = (line + "\n").getBytes(StandardCharsets.US_ASCII);
        ReentrantLock lock = LOCKS.computeIfAbsent(file, f -> new ReentrantLock());
        lock.lock();
        try (FileChannel ch = FileChannel.open(file, APPEND, ownerOnly(false))) {
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

    private static FileAttribute<?>[] ownerOnly(boolean directory) {
        if (!FileSystems.getDefault().supportedFileAttributeViews().contains("posix")) {
            return new FileAttribute<?>[0];
        }
        return new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString(directory ? "rwx------" : "rw-------"))};
    }

    private static String fileNames(KeyExportConfig c) {
        if (c.ike() && c.esp()) {
            return IkeDecryptionTable.FILE_NAME + ", " + EspSaTable.FILE_NAME;
        }
        return c.ike() ? IkeDecryptionTable.FILE_NAME : EspSaTable.FILE_NAME;
    }
}
