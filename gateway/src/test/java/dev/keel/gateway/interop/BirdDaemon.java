package dev.keel.gateway.interop;

import dev.keel.esp.wire.BoundedCommand;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One BIRD 2 daemon in the foreground in a network namespace of a {@link NetnsTopology}, with its
 * configuration, control socket and log in one directory; stopped on close (and with the namespace).
 */
record BirdDaemon(Process process, Path birdc, Path socket, Path log) implements AutoCloseable {

    /** Writes {@code config} into {@code dir}, starts {@code bird -f} in {@code namespace} and waits (20 s at most) for its socket. */
    static BirdDaemon start(NetnsTopology topo, String namespace, Path bird, Path birdc, Path dir, String config)
            throws IOException, InterruptedException {
        Files.createDirectories(dir);
        Path conf = dir.resolve("bird.conf");
        Files.writeString(conf, config);
        Path socket = dir.resolve("bird.ctl");
        Path log = dir.resolve("bird.log");
        Process p = topo.startInBackground(namespace, log, bird.toString(), "-f", "-c", conf.toString(), "-s",
                socket.toString(), "-P", dir.resolve("bird.pid").toString());
        BirdDaemon b = new BirdDaemon(p, birdc, socket, log);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!Files.exists(socket)) {
            if (!p.isAlive() || System.nanoTime() > deadline) {
                b.close();
                throw new AssertionError("BIRD did not start in " + namespace + ":\n" + b.logText());
            }
            Thread.sleep(50);
        }
        return b;
    }

    /** {@code birdc show <what...>}'s output (or the failure, as text: it goes into assertion messages). */
    String show(String... what) {
        try {
            List<String> c = new java.util.ArrayList<>(List.of(birdc.toString(), "-s", socket.toString(), "show"));
            c.addAll(List.of(what));
            return BoundedCommand.run(Duration.ofSeconds(10), c).output();
        } catch (IOException e) {
            return e.toString();
        }
    }

    /** {@code birdc show protocols}. */
    String protocols() {
        return show("protocols");
    }

    /** True once BGP protocol {@code protocol} is Established. */
    boolean established(String protocol) {
        return protocols().lines().anyMatch(l -> l.startsWith(protocol + " ") && l.contains("Established"));
    }

    /** What BIRD logged so far. */
    String logText() {
        try {
            return Files.exists(log) ? Files.readString(log) : "";
        } catch (IOException e) {
            return e.toString();
        }
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }
}
