package dev.keel.gateway.interop;

import dev.keel.gateway.GatewayMain;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.Map;

/**
 * A Keel gateway node ({@link GatewayMain}) running in a child JVM inside one gateway namespace
 * of a {@link NetnsTopology}, configured like the charon it replaces: the same addresses,
 * identities, PSK, proposals and selectors as {@link ConnectionSpec}, a TUN interface for the
 * plaintext side, and key export for tshark.
 */
public final class KeelGatewayProcess implements AutoCloseable {

    private final ServiceProcess process;
    private final Path keys;

    private KeelGatewayProcess(ServiceProcess process, Path keys) {
        this.process = process;
        this.keys = keys;
    }

    /** Starts Keel in {@code site}'s gateway namespace for {@code spec}; waits until it says it started. */
    static KeelGatewayProcess start(NetnsTopology topo, NetnsTopology.Site site, ConnectionSpec spec, Path dir)
            throws IOException, InterruptedException {
        return start(site, dir, UnaryOperator.identity(), spec);
    }

    /**
     * As {@link #start(NetnsTopology, NetnsTopology.Site, ConnectionSpec, Path)} with the policy
     * part of the file passed through {@code policyEdit} (e.g. to add connection keys).
     */
    static KeelGatewayProcess start(NetnsTopology.Site site, Path dir, UnaryOperator<String> policyEdit,
            ConnectionSpec spec) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        Path keys = dir.resolve("keys");
        Path config = dir.resolve("keel.yaml");
        Files.writeString(config, gatewayYaml(spec.localAddress(), keys) + policyEdit.apply(policyYaml(spec, dir)));
        return start(site.gatewayNamespace(), config, dir.resolve("keel.log"), keys, List.of());
    }

    /** The {@code gateway:} section of a test gateway on {@code address}: two loops, keys exported to {@code keys}, TUN keel0. */
    static String gatewayYaml(String address, Path keys) {
        return """
                gateway:
                  address: %s
                  loops: 2
                  key_export: %s
                  # per run: runs in other namespaces share /run/keel, and their node ids (gw-192.0.2.1-500)
                  admin: {socket: admin/keel.sock}
                  plaintext:
                    tun: {name: keel0, mtu: 1400}
                """.formatted(address, keys);
    }

    /**
     * The policy-service part of Keel's configuration for {@code spec} ({@code secrets} and
     * {@code connections}, with {@code start_action} as given: none, trap or start); the PSK, or the key, certificate
     * and CA certificates, are written into {@code dir} as the files it names. The secret is
     * called {@code local}.
     */
    static String policyYaml(ConnectionSpec spec, Path dir) throws IOException {
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
                for (int i = 0; i < c.crls().size(); i++) {
                    Files.copy(c.crls().get(i), dir.resolve("crl" + i + ".pem"));
                }
                secret = "key.pem";
                localAuth = "auth: " + c.localAuth() + ", certs: [cert.pem]";
                remoteAuth = "auth: " + c.remoteAuth() + ", cacerts: " + numbered("ca", c.caCertificates().size())
                        + (c.crls().isEmpty() ? "" : ", crls: " + numbered("crl", c.crls().size()));
            }
        }
        return """
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
                """.formatted(secret, spec.name(), spec.localAddress(), spec.remoteAddress(), localAuth,
                spec.localId(), remoteAuth, spec.remoteId(), spec.ikeProposal(), spec.childName(),
                spec.mode().toLowerCase(), quoted(spec.localTs()), quoted(spec.remoteTs()),
                spec.espProposal(), spec.startAction());
    }

    /** Selectors as YAML strings: a protocol suffix ({@code 10.1.0.2/32[gre]}) is not a plain flow scalar. */
    private static String quoted(List<String> selectors) {
        return String.join(", ", selectors.stream().map(t -> "\"" + t + "\"").toList());
    }

    /** {@code [<prefix>0.pem, <prefix>1.pem, ...]}: {@code count} files as {@link #policyYaml} names them. */
    private static String numbered(String prefix, int count) {
        return java.util.stream.IntStream.range(0, count).mapToObj(i -> prefix + i + ".pem").toList().toString();
    }

    /**
     * Starts Keel ({@link GatewayMain}) with the configuration file {@code config} in a child JVM
     * in {@code namespace} (this JVM's class path and module flags, {@code jvmArgs} added), its
     * output to {@code log}; waits until it says it started. {@code keys} is its key export
     * directory, if the file sets one.
     */
    public static KeelGatewayProcess start(String namespace, Path config, Path log, Path keys, List<String> jvmArgs)
            throws IOException, InterruptedException {
        List<String> args = new ArrayList<>(List.of("-Xmx512m"));
        args.addAll(jvmArgs);
        // a Hazelcast member joins first
        return new KeelGatewayProcess(ServiceProcess.start("Keel", namespace, GatewayMain.class,
                List.of("--config", config.toString()), args, Map.of(), log, "keel-gateway: started",
                Duration.ofSeconds(120)), keys);
    }

    /**
     * tshark's {@code -o} preferences that decrypt IKE and ESP with the keys a Keel gateway
     * exported into {@code keys} (its {@code ikev2_decryption_table} and {@code esp_sa}), with
     * ESP decryption and ICV checking on.
     */
    static List<String> tsharkPreferences(Path keys) throws IOException {
        List<String> prefs = new ArrayList<>();
        for (String line : Files.readAllLines(keys.resolve("ikev2_decryption_table"))) {
            prefs.add("uat:ikev2_decryption_table:" + line);
        }
        for (String line : Files.readAllLines(keys.resolve("esp_sa"))) {
            prefs.add("uat:esp_sa:" + line);
        }
        prefs.add("esp.enable_encryption_decode:TRUE");
        prefs.add("esp.enable_authentication_check:TRUE");
        return prefs;
    }

    /** Waits until the log contains {@code text}; fails with the log when the process dies or time runs out. */
    public void awaitLog(String text, Duration timeout) throws IOException, InterruptedException {
        process.awaitLog(text, timeout);
    }

    /** Everything Keel printed so far. */
    public String log() throws IOException {
        return process.log();
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
        return process.process();
    }

    /** SIGKILL ({@code kill -9}): no shutdown hook, no Delete to the peer; returns once it is gone (bounded). */
    public void kill() throws InterruptedException {
        process.kill();
    }

    /**
     * SIGTERM (a node alone deletes its SAs, telling the peer; a cluster member leaves them to the
     * others), then SIGKILL after 10 s.
     */
    @Override
    public void close() throws InterruptedException {
        process.close();
    }
}
