package dev.keel.gateway.interop;

import dev.keel.gateway.GatewayMain;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A Keel gateway node ({@link GatewayMain}) running in a child JVM inside one gateway namespace
 * of a {@link NetnsTopology}, configured like the charon it replaces: the same addresses,
 * identities, PSK, proposals and selectors as {@link ConnectionSpec}, a TUN interface for the
 * plaintext side, and key export for tshark.
 */
public final class KeelGatewayProcess implements AutoCloseable {

    private final Process process;
    private final Path log;
    private final Path keys;

    private KeelGatewayProcess(Process process, Path log, Path keys) {
        this.process = process;
        this.log = log;
        this.keys = keys;
    }

    /** Starts Keel in {@code site}'s gateway namespace for {@code spec}; waits until it says it started. */
    static KeelGatewayProcess start(NetnsTopology topo, NetnsTopology.Site site, ConnectionSpec spec, Path dir)
            throws IOException, InterruptedException {
        Files.createDirectories(dir);
        String secret;
        String localAuth;
        String remoteAuth;
        switch (spec.auth()) {
            case PeerAuth.Psk psk -> {
                Files.writeString(dir.resolve("psk.txt"), psk.secret());
                secret = "psk.txt";
                localAuth = "auth: psk";
                remoteAuth = "auth: psk";
            }
            case PeerAuth.Certificates c -> {
                Files.copy(c.localPrivateKey(), dir.resolve("key.pem"));
                Files.copy(c.localCertificate(), dir.resolve("cert.pem"));
                for (int i = 0; i < c.caCertificates().size(); i++) {
                    Files.copy(c.caCertificates().get(i), dir.resolve("ca" + i + ".pem"));
                }
                secret = "key.pem";
                localAuth = "auth: pubkey, certs: [cert.pem]";
                remoteAuth = "auth: pubkey, cacerts: ["
                        + String.join(", ", java.util.stream.IntStream.range(0, c.caCertificates().size())
                                .mapToObj(i -> "ca" + i + ".pem").toList()) + "]";
            }
        }
        Path keys = dir.resolve("keys");
        Path config = dir.resolve("keel.yaml");
        Files.writeString(config, yaml(spec, keys, secret, localAuth, remoteAuth));
        return start(site.gatewayNamespace(), config, dir.resolve("keel.log"), keys, List.of());
    }

    /**
     * Starts Keel ({@link GatewayMain}) with the configuration file {@code config} in a child JVM
     * in {@code namespace} (this JVM's class path and module flags, {@code jvmArgs} added), its
     * output to {@code log}; waits until it says it started. {@code keys} is its key export
     * directory, if the file sets one.
     */
    public static KeelGatewayProcess start(String namespace, Path config, Path log, Path keys, List<String> jvmArgs)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", namespace,
                Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (arg.startsWith("--enable-native-access") || arg.startsWith("--add-opens")
                    || arg.startsWith("--add-exports") || arg.startsWith("--sun-misc") || arg.startsWith("-Dio.netty")) {
                cmd.add(arg);
            }
        }
        cmd.add("-Xmx512m");
        cmd.addAll(jvmArgs);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), GatewayMain.class.getName(),
                "--config", config.toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        KeelGatewayProcess keel = new KeelGatewayProcess(p, log, keys);
        try {
            keel.awaitLog("keel-gateway: started", Duration.ofSeconds(120)); // a Hazelcast member joins first
        } catch (IOException | RuntimeException | AssertionError e) {
            keel.close();
            throw e;
        }
        return keel;
    }

    private static String yaml(ConnectionSpec s, Path keys, String secret, String localAuth, String remoteAuth) {
        return """
                gateway:
                  address: %s
                  loops: 2
                  key_export: %s
                  # per run: runs in other namespaces share /run/keel, and their node ids (gw-192.0.2.1-500)
                  admin: {socket: admin/keel.sock}
                  plaintext:
                    tun: {name: keel0, mtu: 1400}
                secrets:
                  local: {file: %s}
                connections:
                  %s:
                    local_addrs: %s
                    remote_addrs: %s
                    local:  {%s, id: "%s", secret: local}
                    remote: {%s, id: "%s"}
                    proposals: %s
                    children:
                      %s:
                        mode: %s
                        local_ts: [%s]
                        remote_ts: [%s]
                        esp_proposals: %s
                        start_action: %s
                """.formatted(s.localAddress(), keys, secret, s.name(), s.localAddress(), s.remoteAddress(), localAuth,
                s.localId(), remoteAuth, s.remoteId(), s.ikeProposal(), s.childName(), s.mode().toLowerCase(), String.join(", ", s.localTs()),
                String.join(", ", s.remoteTs()), s.espProposal(), s.startAction().equals("start") ? "start" : "none");
    }

    /** Waits until the log contains {@code text}; fails with the log when the process dies or time runs out. */
    public void awaitLog(String text, Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!log().contains(text)) {
            if (!process.isAlive()) {
                throw new AssertionError("Keel exited (" + process.exitValue() + ") before '" + text + "':\n" + log());
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no '" + text + "' from Keel within " + timeout + ":\n" + log());
            }
            Thread.sleep(50);
        }
    }

    /** Everything Keel printed so far. */
    public String log() throws IOException {
        return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
    }

    /** The directory holding esp_sa and ikev2_decryption_table. */
    public Path keys() {
        return keys;
    }

    /**
     * The JVM's process: the child of {@code ip netns exec}, which execs into java, so this is
     * the Keel process itself.
     */
    public ProcessHandle process() {
        return process.toHandle();
    }

    /** SIGKILL ({@code kill -9}): no shutdown hook, no Delete to the peer; returns once it is gone (bounded). */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    /** SIGTERM (Keel deletes its SAs, telling the peer), then SIGKILL after 10 s. */
    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
            process.waitFor(5, TimeUnit.SECONDS);
        }
    }
}
