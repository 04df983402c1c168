package dev.keel.policy.config;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Where the file names in a configuration lead: resolved against the configuration's directory
 * and, for a configuration an admin API client sent (LoadConfig, ValidateConfig), confined to the
 * service's configuration directory, so a client cannot make the service read the host's other
 * files as secrets, certificates or CRLs (docs/security.md, "Admin API").
 */
public final class ConfigFiles {

    private final Path baseDir;
    /** The real path of the only directory files may be read from; null: anywhere, or nowhere. */
    private final Path root;
    private final boolean none;

    private ConfigFiles(Path baseDir, Path root, boolean none) {
        this.baseDir = baseDir;
        this.root = root;
        this.none = none;
    }

    /** Files anywhere, relative names resolved against {@code baseDir} (a file the node started with). */
    public static ConfigFiles under(Path baseDir) {
        return new ConfigFiles(Objects.requireNonNull(baseDir, "baseDir"), null, false);
    }

    /** Files only inside {@code root} (a real path), relative names resolved against it. */
    public static ConfigFiles confinedTo(Path root) {
        return new ConfigFiles(Objects.requireNonNull(root, "root"), root, false);
    }

    /** No file at all (a service with no configuration directory). */
    public static ConfigFiles none() {
        return new ConfigFiles(Path.of("").toAbsolutePath(), null, true);
    }

    /** What relative names are resolved against. */
    public Path baseDir() {
        return baseDir;
    }

    /**
     * Why {@code file} may not be read, or null when it may: its real path (every symbolic link
     * followed) is outside the directory files are confined to.
     */
    public String refusal(Path file) {
        if (none) {
            return file + ": this service has no configuration directory, so a configuration sent through"
                    + " the admin API names no files";
        }
        if (root == null) {
            return null;
        }
        Path real = realPath(file.toAbsolutePath().normalize());
        if (real.startsWith(root)) {
            return null;
        }
        return file + (real.equals(file) ? "" : " (really " + real + ")") + " is outside the configuration directory "
                + root + "; a configuration sent through the admin API names files only there";
    }

    /**
     * {@code file} with every symbolic link resolved; for a file that does not exist, its nearest
     * existing ancestor's real path followed by the remaining names.
     */
    public static Path realPath(Path file) {
        Path existing = file;
        while (existing != null) {
            try {
                Path real = existing.toRealPath();
                return real.resolve(existing.relativize(file)).normalize();
            } catch (IOException e) {
                existing = existing.getParent();
            }
        }
        return file;
    }
}
