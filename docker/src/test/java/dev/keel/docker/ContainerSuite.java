package dev.keel.docker;

import static org.junit.jupiter.api.Assertions.fail;

import dev.keel.esp.wire.SystemTests;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.ContainerState;
import org.testcontainers.containers.DockerComposeContainer;

/**
 * What every container test needs first: a Docker engine that answers, docker-compose, and images
 * built from this checkout (docker/build.sh, a few seconds when nothing changed). Where the engine
 * or a tool is missing the test is skipped with the reason, or fails under
 * {@code KEEL_REQUIRE_SYSTEM_TESTS=1} (as {@link SystemTests}).
 */
final class ContainerSuite {

    /** build.sh's exit status for "cannot build here" (no engine, no root or debootstrap for the base). */
    static final int BUILD_UNAVAILABLE = 3;
    /** A cold build (debootstrap, jlink, apt for strongSwan) took 5 min on the 2-core CI machine. */
    static final Duration BUILD_TIMEOUT = Duration.ofMinutes(10);

    private static boolean built;

    private ContainerSuite() {}

    /** The repository root (the surefire configuration passes it). */
    static Path repoRoot() {
        return Path.of(System.getProperty("keel.repo.root", "..")).toAbsolutePath().normalize();
    }

    /** Skips or fails unless a Docker engine answers and docker-compose is installed. */
    static void requireDockerAndCompose() {
        boolean available;
        try {
            available = DockerClientFactory.instance().isDockerAvailable();
        } catch (RuntimeException e) {
            available = false;
        }
        if (!available) {
            unavailable("no Docker engine answers (DOCKER_HOST or /var/run/docker.sock)");
        }
        SystemTests.assumeTool("docker-compose");
        SystemTests.assumeTool("docker");
    }

    /** Runs docker/build.sh once per JVM (a no-op in seconds when nothing changed): the images then hold this checkout's jars. */
    static synchronized void buildImages() throws IOException, InterruptedException {
        if (built) {
            return;
        }
        Path script = repoRoot().resolve("docker/build.sh");
        Path log = Files.createTempFile("keel-docker-build", ".log");
        long start = System.nanoTime();
        Process p = new ProcessBuilder("bash", script.toString()).directory(repoRoot().toFile())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            if (!p.waitFor(BUILD_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                fail("docker/build.sh did not finish within " + BUILD_TIMEOUT + "; its output:\n" + Files.readString(log));
            }
            String out = Files.readString(log);
            System.out.print(out);
            System.out.printf("docker/build.sh: %.1f s%n", (System.nanoTime() - start) / 1e9);
            if (p.exitValue() == BUILD_UNAVAILABLE) {
                unavailable("docker/build.sh cannot build the images here: " + lastLine(out));
            }
            if (p.exitValue() != 0) {
                fail("docker/build.sh exited with " + p.exitValue() + ":\n" + out);
            }
            built = true;
        } finally {
            Files.deleteIfExists(log);
        }
    }

    /**
     * Calls {@code condition} about every {@code period} until it is true; fails with {@code what}
     * after {@code timeout}. Bounded in time and in tries.
     */
    static void await(String what, Duration timeout, Duration period, Check condition) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        long tries = timeout.toMillis() / Math.max(1, period.toMillis()) + 1;
        for (long i = 0; i < tries && System.nanoTime() < deadline; i++) {
            if (condition.ok()) {
                return;
            }
            Thread.sleep(period.toMillis());
        }
        if (!condition.ok()) {
            fail(what + " did not happen within " + timeout);
        }
    }

    /** A condition {@link #await} polls. */
    @FunctionalInterface
    interface Check {
        boolean ok() throws Exception;
    }

    /** The container of a compose service ({@code gw-a}, or {@code gw-a_1} as docker-compose 1.x names it). */
    static ContainerState container(DockerComposeContainer<?> compose, String service) {
        Optional<ContainerState> c = compose.getContainerByServiceName(service);
        if (c.isEmpty()) {
            c = compose.getContainerByServiceName(service + "_1");
        }
        return c.orElseThrow(() -> new AssertionError("no container of service " + service));
    }

    /**
     * Brings compose project {@code project} up from {@code composeFile} (relative to the
     * repository) with the images this build made, after removing what an earlier run of it left;
     * hands it to {@code started} once its containers run, then waits for {@code ready} (described
     * by {@code what}, asked every {@code period}) at most {@code timeout}. On any failure prints the
     * logs ({@code printLogs}), takes it down again ({@link #down}) and rethrows.
     */
    static void up(String project, String composeFile, java.util.function.Consumer<DockerComposeContainer<?>> started,
            String what, Duration timeout, Duration period, Check ready, Runnable printLogs) throws Exception {
        requireDockerAndCompose();
        buildImages();
        removeLeftovers(project);
        java.io.File file = repoRoot().resolve(composeFile).toFile();
        DockerComposeContainer<?> compose = new DockerComposeContainer<>(project, List.of(file)).withPull(false)
                .withRemoveVolumes(true);
        try {
            compose.start();
            started.accept(compose);
            await(what, timeout, period, ready);
        } catch (Throwable t) {
            printLogs.run();
            down(compose, project);
            throw t;
        }
    }

    /**
     * {@code docker-compose down -v} of {@code compose} (containers, networks, volumes); whatever it
     * leaves (a container it could not stop) is removed through the Docker API. Null: nothing.
     */
    static void down(DockerComposeContainer<?> compose, String project) {
        if (compose == null) {
            return;
        }
        try {
            compose.stop();
        } catch (RuntimeException e) {
            System.out.println("docker-compose down failed (" + e.getMessage() + "); removing the project directly");
        } finally {
            removeLeftovers(project);
        }
    }

    /**
     * Removes the containers, networks and volumes of compose projects named {@code prefix}… that
     * an earlier run left when it was killed before its clean-up (their fixed subnets would
     * collide with this run's).
     */
    static void removeLeftovers(String prefix) {
        var docker = DockerClientFactory.instance().client();
        String label = "com.docker.compose.project";
        java.util.function.Predicate<Map<String, String>> ours =
                labels -> labels != null && labels.getOrDefault(label, "").startsWith(prefix);
        docker.listContainersCmd().withShowAll(true).exec().stream().filter(c -> ours.test(c.getLabels()))
                .forEach(c -> docker.removeContainerCmd(c.getId()).withForce(true).withRemoveVolumes(true).exec());
        docker.listNetworksCmd().exec().stream().filter(n -> ours.test(n.getLabels()))
                .forEach(n -> docker.removeNetworkCmd(n.getId()).exec());
        var volumes = docker.listVolumesCmd().exec().getVolumes();
        if (volumes != null) {
            volumes.stream().filter(v -> ours.test(v.getLabels()))
                    .forEach(v -> docker.removeVolumeCmd(v.getName()).exec());
        }
    }

    private static String lastLine(String out) {
        List<String> lines = out.lines().filter(l -> !l.isBlank()).toList();
        return lines.isEmpty() ? "(no output)" : lines.getLast();
    }

    private static void unavailable(String reason) {
        if (SystemTests.required()) {
            fail(reason + " and " + SystemTests.REQUIRE_ENV + "=1 forbids skipping");
        }
        Assumptions.abort("skipped: " + reason + " (set " + SystemTests.REQUIRE_ENV + "=1 to fail instead)");
    }
}
