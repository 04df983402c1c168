package dev.keel.gateway;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * What a soak reads of a gateway in a process of its own, from outside it as an operator would:
 * heap in use right after a full GC ({@code jcmd PID -f} running GC.run then GC.heap_info, one
 * attach), open file descriptors and threads ({@code /proc/PID/fd}, {@code /proc/PID/status}), its
 * Prometheus metrics (docs/operations.md) and the event-loop-blocked warnings in its log.
 */
final class GatewayProcessProbe implements AutoCloseable {

    /** Vert.x's warning for a loop or worker thread held too long (BlockedThreadChecker). */
    static final String BLOCKED = "has been blocked for";

    private static final Pattern USED = Pattern.compile("used (\\d+)K");

    private final long pid;
    private final Path log;
    private final URI metrics;
    private final Path gcCommands;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    GatewayProcessProbe(long pid, Path log, int metricsPort, Path dir) throws IOException {
        this.pid = pid;
        this.log = log;
        this.metrics = URI.create("http://127.0.0.1:" + metricsPort + "/metrics");
        this.gcCommands = Files.writeString(dir.resolve("gc-then-heap.jcmd"), "GC.run\nGC.heap_info\n");
    }

    /**
     * Bytes of heap in use right after a full GC: the "used" of the heap's lines of GC.heap_info
     * (G1: one line; generational collectors: one per generation), Metaspace left out.
     */
    long heapAfterGc() throws IOException, InterruptedException {
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        Process p = new ProcessBuilder(jcmd.toString(), Long.toString(pid), "-f", gcCommands.toString())
                .redirectErrorStream(true).start();
        String out;
        try {
            out = new String(p.getInputStream().readAllBytes());
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new AssertionError("jcmd " + pid + " failed:\n" + out);
            }
        } finally {
            p.destroyForcibly();
        }
        String heap = out.contains("Metaspace") ? out.substring(0, out.indexOf("Metaspace")) : out;
        long kib = 0;
        boolean any = false;
        for (Matcher m = USED.matcher(heap); m.find(); any = true) {
            kib += Long.parseLong(m.group(1));
        }
        if (!any) {
            throw new AssertionError("no heap use in jcmd's GC.heap_info:\n" + out);
        }
        return kib * 1024;
    }

    /** Open file descriptors of the process. */
    int fds() throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
            return (int) fds.count();
        }
    }

    /** Threads of the process (the kernel's count: the JVM's own included). */
    int threads() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
            if (line.startsWith("Threads:")) {
                return Integer.parseInt(line.substring("Threads:".length()).strip());
            }
        }
        throw new AssertionError("no Threads: line in /proc/" + pid + "/status");
    }

    /**
     * The process's threads by name, digits dropped (the kernel's names: the first 15 characters
     * of the JVM's, {@code /proc/PID/task/TID/comm}), for telling which kind of thread came or went.
     */
    Map<String, Integer> threadKinds() throws IOException {
        Map<String, Integer> kinds = new TreeMap<>();
        try (Stream<Path> tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
            for (Path t : tasks.toList()) {
                try {
                    kinds.merge(Files.readString(t.resolve("comm")).strip().replaceAll("[0-9]+", "#"), 1,
                            Integer::sum);
                } catch (NoSuchFileException ended) {
                    // the thread ended while listed
                }
            }
        }
        return kinds;
    }

    /**
     * The stacks of the process's threads whose name starts with {@code prefix} (jcmd Thread.print),
     * the top {@code frames} frames of each, alike ones counted once: what the threads that grew do.
     */
    Map<String, Integer> stacks(String prefix, int frames) throws IOException, InterruptedException {
        Map<String, Integer> stacks = new TreeMap<>();
        for (String thread : threadDump()) {
            if (thread.startsWith("\"" + prefix)) {
                List<String> lines = thread.lines().skip(1).filter(l -> l.strip().startsWith("at ")
                        || l.contains("State:")).limit(frames + 1).map(String::strip).toList();
                stacks.merge(String.join(" | ", lines), 1, Integer::sum);
            }
        }
        return stacks;
    }

    /**
     * The process's Java threads idle in a pool, waiting for a task ({@code ThreadPoolExecutor.getTask},
     * {@code ForkJoinPool.awaitWork}): a cached pool keeps as many as its busiest moment needed until
     * they have been idle for their keep-alive (gRPC's default executor: 60 s), which is no leak.
     */
    int idlePooledThreads() throws IOException, InterruptedException {
        int idle = 0;
        for (String thread : threadDump()) {
            if (thread.contains("ThreadPoolExecutor.getTask") || thread.contains("ForkJoinPool.awaitWork")) {
                idle++;
            }
        }
        return idle;
    }

    /** jcmd Thread.print, one entry per thread (its header line and stack). */
    private List<String> threadDump() throws IOException, InterruptedException {
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                Long.toString(pid), "Thread.print").redirectErrorStream(true).start();
        String out;
        try {
            out = new String(p.getInputStream().readAllBytes());
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new AssertionError("jcmd " + pid + " Thread.print failed:\n" + out);
            }
        } finally {
            p.destroyForcibly();
        }
        return List.of(out.split("\n\n"));
    }

    /** Lines of the process's log with Vert.x's blocked-thread warning. */
    long blockedWarnings() throws IOException {
        try (Stream<String> lines = Files.lines(log)) {
            return lines.filter(l -> l.contains(BLOCKED)).count();
        }
    }

    /**
     * The lines of the process's log with Vert.x's blocked-thread warning, the first {@code max}:
     * every one for an event loop, and for a worker thread those logged from {@code workersFrom} on
     * (before it, a worker runs the node's start, which waits for Hazelcast's join and may pass
     * Vert.x's 60 s on a loaded machine).
     */
    List<String> blockedLines(int max, Instant workersFrom) throws IOException {
        try (Stream<String> lines = Files.lines(log)) {
            return lines.filter(l -> l.contains(BLOCKED))
                    .filter(l -> !l.contains("vert.x-worker-thread") || !loggedAt(l).isBefore(workersFrom))
                    .limit(max).toList();
        }
    }

    /** A log line's time stamp (its first word, ISO-8601), or the end of time when it has none. */
    private static Instant loggedAt(String line) {
        try {
            return Instant.parse(line.substring(0, Math.max(0, line.indexOf(' '))));
        } catch (DateTimeParseException e) {
            return Instant.MAX;
        }
    }

    /** One scrape of the metrics endpoint. */
    Metrics scrape() throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(metrics).timeout(Duration.ofSeconds(20)).build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new AssertionError("GET " + metrics + ": " + r.statusCode());
        }
        return new Metrics(r.body());
    }

    /** A scrape in Prometheus' text format. */
    record Metrics(String text) {
        /**
         * The sum of the series named {@code name} whose labels contain each of {@code labels}
         * (e.g. {@code sa="child"}); 0 when there is none.
         */
        double sum(String name, String... labels) {
            double total = 0;
            for (String line : text.split("\n")) {
                if (line.startsWith("#") || !line.startsWith(name)) {
                    continue;
                }
                int sp = line.lastIndexOf(' ');
                String series = line.substring(0, sp);
                String bare = series.contains("{") ? series.substring(0, series.indexOf('{')) : series;
                if (!bare.equals(name)) {
                    continue;
                }
                boolean all = true;
                for (String l : labels) {
                    all &= series.contains(l);
                }
                if (all) {
                    total += Double.parseDouble(line.substring(sp + 1));
                }
            }
            return total;
        }
    }

    @Override
    public void close() {
        http.close();
    }
}
