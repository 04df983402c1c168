package dev.keel.esp.tun;

import dev.keel.esp.wire.BoundedCommand;
import dev.keel.esp.wire.BoundedCommand.Result;
import dev.keel.esp.wire.SystemTests;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A network namespace a test creates for itself, with a unique name, and removes in
 * {@link #close()}; plus bounded process runs ({@link #run}): every wait has a timeout and a
 * process that outlives it is killed.
 */
public final class Netns implements AutoCloseable {

    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);

    private final String name;
    private boolean removed;

    private Netns(String name) {
        this.name = name;
    }

    /** Skips or fails (see {@link SystemTests}) unless 'ip netns' works; then creates a namespace. */
    static Netns create(String purpose) throws IOException {
        SystemTests.assumeIpNetns();
        String name = "keel-tun-" + purpose + "-" + ProcessHandle.current().pid() + "-"
                + Integer.toHexString(ThreadLocalRandom.current().nextInt(1 << 20));
        run(DEFAULT_TIMEOUT, "ip", "netns", "add", name).requireOk();
        return new Netns(name);
    }

    /** A unique interface name with {@code prefix} (at most 15 characters). */
    static String uniqueIfName(String prefix) {
        String suffix = Integer.toString(ThreadLocalRandom.current().nextInt(1 << 30), 36);
        String n = prefix + suffix;
        return n.length() > 15 ? n.substring(0, 15) : n;
    }

    String name() {
        return name;
    }

    /** Moves {@code ifName} from the caller's namespace into this one. */
    void adopt(String ifName) throws IOException {
        run(DEFAULT_TIMEOUT, "ip", "link", "set", "dev", ifName, "netns", name).requireOk();
    }

    /** Runs {@code command} inside the namespace ({@code ip netns exec}). */
    Result exec(Duration timeout, String... command) throws IOException {
        List<String> c = new ArrayList<>(List.of("ip", "netns", "exec", name));
        c.addAll(List.of(command));
        return run(timeout, c.toArray(String[]::new));
    }

    /** Runs {@code command} inside the namespace with the default timeout and requires exit 0. */
    Result execOk(String... command) throws IOException {
        return exec(DEFAULT_TIMEOUT, command).requireOk();
    }

    /** Runs {@code command}, waiting at most {@code timeout} (see {@link BoundedCommand}). */
    public static Result run(Duration timeout, String... command) throws IOException {
        return BoundedCommand.run(timeout, List.of(command));
    }

    /** Deletes the namespace (and with it any device still in it); idempotent. */
    @Override
    public void close() throws IOException {
        if (removed) {
            return;
        }
        removed = true;
        Result r = run(DEFAULT_TIMEOUT, "ip", "netns", "del", name);
        if (!r.ok()) {
            throw new IOException("could not remove network namespace: " + r);
        }
    }
}
