package dev.keel.esp.tun;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Adds and removes routes of one metric through one device with iproute2: every change of a batch in one
 * {@code ip -batch -} (one process whatever the number of changes: a takeover of many SAs moves
 * their routes at once), and only when that fails one {@code ip} per change, to find which
 * failed. Adding is {@code route replace} (idempotent); removing a route that is gone already
 * counts as done. Blocks: call it off the event loops.
 */
public final class IpRoutes implements OwnedRoutes.Applier {

    private static final Logger LOG = LoggerFactory.getLogger(IpRoutes.class);
    private static final long TIMEOUT_SECONDS = 10;

    private final String device;
    private final int metric;
    private final List<String> ip;

    /** Routes through {@code device} at {@code metric} with {@code ip} from the PATH. */
    public IpRoutes(String device, int metric) {
        this(device, metric, List.of("ip"));
    }

    /**
     * Routes through {@code device} at {@code metric} with {@code ip}, the command and its first
     * arguments (e.g. {@code ip -n NS}).
     */
    public IpRoutes(String device, int metric, List<String> ip) {
        this.device = device;
        this.metric = metric;
        this.ip = List.copyOf(ip);
    }

    @Override
    public List<OwnedRoutes.Change> apply(List<OwnedRoutes.Change> changes) throws InterruptedException {
        long start = System.nanoTime();
        if (changes.size() > 1) {
            StringBuilder lines = new StringBuilder();
            for (OwnedRoutes.Change c : changes) {
                lines.append(String.join(" ", args(c))).append('\n');
            }
            Result batch = run(List.of("-batch", "-"), lines.toString());
            if (batch.ok()) {
                logDone(changes, start);
                return List.of();
            }
            // It stops at the failing line; the lines before it are done, and doing them again is harmless.
            LOG.debug("ip -batch failed ({}); one change at a time", batch.output());
        }
        List<OwnedRoutes.Change> failed = new ArrayList<>();
        for (OwnedRoutes.Change c : changes) {
            Result r = run(args(c), null);
            if (!r.ok() && !(!c.add() && r.output().contains("No such process"))) {
                LOG.warn("{} {}: {}", String.join(" ", ip), String.join(" ", args(c)), r.output());
                failed.add(c);
            }
        }
        if (failed.size() < changes.size()) {
            logDone(changes.stream().filter(c -> !failed.contains(c)).toList(), start);
        }
        return failed;
    }

    /**
     * Runs {@code ip -batch -} with nothing to do: the JVM's first process start loads and links
     * what every later one reuses (100-300 ms seen on a loaded machine), which would otherwise fall
     * on the first route change, a takeover's, on the failover path.
     */
    public void warmUp() throws InterruptedException {
        long start = System.nanoTime();
        Result r = run(List.of("-batch", "-"), "");
        LOG.debug("ip warmed up in {} ms: {}", (System.nanoTime() - start) / 1_000_000, r.ok() ? "ok" : r.output());
    }

    private void logDone(List<OwnedRoutes.Change> done, long startNanos) {
        LOG.info("routes through {} at metric {}: {} ({} ms)", device, metric, done, (System.nanoTime() - startNanos) / 1_000_000);
    }

    private List<String> args(OwnedRoutes.Change c) {
        return List.of("route", c.add() ? "replace" : "del", c.prefix().toString(), "dev", device, "metric",
                Integer.toString(metric));
    }

    private record Result(boolean ok, String output) {
    }

    private Result run(List<String> args, String stdin) throws InterruptedException {
        List<String> cmd = new ArrayList<>(ip);
        cmd.addAll(args);
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (IOException e) {
            return new Result(false, e.getMessage());
        }
        try (OutputStream in = p.getOutputStream()) {
            if (stdin != null) {
                in.write(stdin.getBytes(StandardCharsets.US_ASCII));
            }
        } catch (IOException e) {
            LOG.debug("{}: writing its input: {}", cmd, e.toString()); // it ended early: its exit status says why
        }
        if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return new Result(false, "no answer in " + TIMEOUT_SECONDS + " s");
        }
        String output;
        try {
            output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            output = e.getMessage();
        }
        return new Result(p.exitValue() == 0, output.isEmpty() ? "exit " + p.exitValue() : output);
    }
}
