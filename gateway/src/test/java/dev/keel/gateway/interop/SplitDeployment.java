package dev.keel.gateway.interop;

import dev.keel.esp.fed.FedWorkerMain;
import dev.keel.ike.service.IkeServiceMain;
import dev.keel.policy.PolicyServiceMain;
import dev.keel.sad.SadMain;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.security.SecureRandom;

/**
 * Keel as separate processes in site A's gateway namespace of a {@link NetnsTopology}, each
 * service its own JVM: two sad-service members, policy-service, ike-service behind the
 * esp-workers (IKE relay) and esp-workers fed by the SAD that own UDP 500 and 4500 on the outer
 * address and a TUN interface each. The services talk plaintext gRPC on the namespace's loopback
 * (each main refuses plaintext elsewhere); docs/gateway.md, "The services apart".
 */
final class SplitDeployment implements AutoCloseable {

    static final int POLICY_PORT = 7420;
    static final int IKE_RELAY_PORT = 7450;
    static final List<Integer> SAD_GRPC = List.of(7443, 7444);
    static final List<Integer> SAD_HAZELCAST = List.of(5701, 5702);
    static final List<String> SAD_NODES = List.of("sad-a", "sad-b");
    static final String PSK_ENV = "KEEL_SPLIT_PSK";
    private static final Duration START = Duration.ofSeconds(120);
    private static final List<String> SMALL_JVM = List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-Dhazelcast.phone.home.enabled=false");

    private final String namespace;
    private final String address;
    private final ConnectionSpec spec;
    private final Path dir;
    /** Every service started, by name; closed in reverse order. */
    private final Map<String, ServiceProcess> services = new LinkedHashMap<>();

    private SplitDeployment(String namespace, String address, ConnectionSpec spec, Path dir) {
        this.namespace = namespace;
        this.address = address;
        this.spec = spec;
        this.dir = dir;
    }

    /**
     * Writes the configuration for {@code spec} (this side's view) into {@code dir} and starts the
     * SAD members and policy-service in {@code site}'s gateway namespace; ike-service and the
     * workers are started by the test ({@link #startIkeService}, {@link #startWorker}).
     */
    static SplitDeployment start(NetnsTopology.Site site, ConnectionSpec spec, Path dir)
            throws IOException, InterruptedException {
        Files.createDirectories(dir);
        byte[] kek = new byte[32];
        new SecureRandom().nextBytes(kek);
        Path kekFile = dir.resolve("kek.hex");
        Files.writeString(kekFile, HexFormat.of().formatHex(kek));
        Files.setPosixFilePermissions(kekFile, PosixFilePermissions.fromString("rw-------"));
        Files.writeString(dir.resolve("policy.yaml"), KeelGatewayProcess.policyYaml(spec, dir));
        SplitDeployment d = new SplitDeployment(site.gatewayNamespace(), site.outerAddress(), spec, dir);
        try {
            for (int i = 0; i < SAD_NODES.size(); i++) {
                d.startSad(i);
            }
            d.start("policy-service", PolicyServiceMain.class, List.of("--config", dir.resolve("policy.yaml").toString(),
                    "--listen", "127.0.0.1:" + POLICY_PORT, "--plaintext"), Map.of(), "policy-service serving");
            return d;
        } catch (IOException | RuntimeException | Error | InterruptedException e) {
            d.close();
            throw e;
        }
    }

    /** Starts SAD member {@code i} (sad-a, sad-b), which joins the other if it runs. */
    ServiceProcess startSad(int i) throws IOException, InterruptedException {
        String members = String.join(",", SAD_HAZELCAST.stream().map(p -> "127.0.0.1:" + p).toList());
        return start(SAD_NODES.get(i), SadMain.class, List.of("--node-id", SAD_NODES.get(i), "--kek-file",
                dir.resolve("kek.hex").toString(), "--cluster-name", "split", "--bind-host", "127.0.0.1",
                "--hazelcast-port", Integer.toString(SAD_HAZELCAST.get(i)), "--members", members, "--grpc-port",
                Integer.toString(SAD_GRPC.get(i)), "--maintenance-interval-millis", "1000"), Map.of(), "keel-sad ready");
    }

    /**
     * Starts ike-service in relay mode (no UDP socket of its own), its SAs installed for the SAD
     * node {@code owner}, or with null for the node of the worker each peer's IKE came through;
     * the PSK comes from the environment, a private key from its file. Its IKE SAs are stored in
     * the SAD (the cluster KEK), so a restarted one takes them over.
     */
    ServiceProcess startIkeService(String owner) throws IOException, InterruptedException {
        List<String> args = new ArrayList<>(List.of("--address", address, "--policy", "127.0.0.1:" + POLICY_PORT,
                "--sad", sadEndpoints(), "--node-id", "ike1", "--relay-listen", "127.0.0.1:" + IKE_RELAY_PORT,
                "--loops", "2", "--kek-file", dir.resolve("kek.hex").toString()));
        if (owner != null) {
            args.addAll(List.of("--owner-node", owner));
        }
        Map<String, String> env = Map.of();
        switch (spec.auth()) {
            case PeerAuth.Psk psk -> {
                args.addAll(List.of("--psk", "local=" + PSK_ENV));
                env = Map.of(PSK_ENV, psk.secret());
            }
            case PeerAuth.Certificates c -> args.addAll(List.of("--key", "local=" + dir.resolve("key.pem")));
        }
        return start("ike-service", IkeServiceMain.class, args, env, "keel-ike-service ready");
    }

    /**
     * Starts the esp-worker of SAD node {@code node} on the outer address's 4500 (and 500 for
     * IKE), its plaintext on TUN {@code tun}, every remote selector routed through it; several
     * workers share the ports (SO_REUSEPORT), and each routes the remote selectors of the SAs it
     * holds at the owner's metric (docs/esp-worker.md, "Several workers per address").
     */
    ServiceProcess startWorker(String node, String tun) throws IOException, InterruptedException {
        Path config = dir.resolve("worker-" + node + ".yaml");
        Files.writeString(config, """
                node_id: %s
                listen: %s:4500
                loops: 2
                plaintext:
                  tun: {name: %s, mtu: 1400, routes: owner_preferred}
                sad:
                  endpoints: "%s"
                policy:
                  endpoint: "127.0.0.1:%d"
                kek_file: kek.hex
                ike:
                  relay: "127.0.0.1:%d"
                  port: 500
                """.formatted(node, address, tun, sadEndpoints(), POLICY_PORT, IKE_RELAY_PORT));
        return start("esp-worker " + node, FedWorkerMain.class, List.of("--config", config.toString()), Map.of(),
                "keel-esp-worker: started");
    }

    /**
     * The SAD members as clients list them: sad-b first, so the member the test kills is the one
     * ike-service and the workers call and watch until then.
     */
    private static String sadEndpoints() {
        return String.join(",", SAD_GRPC.reversed().stream().map(p -> "127.0.0.1:" + p).toList());
    }

    private ServiceProcess start(String name, Class<?> main, List<String> args, Map<String, String> env, String ready)
            throws IOException, InterruptedException {
        ServiceProcess old = services.remove(name);
        if (old != null) {
            old.close();
        }
        ServiceProcess p = ServiceProcess.start(name, namespace, main, args, SMALL_JVM, env,
                dir.resolve(name.replace(' ', '-') + "-" + System.nanoTime() + ".log"), ready, START);
        services.put(name, p);
        return p;
    }

    /** The running service called {@code name} ("sad-a", "policy-service", "ike-service", "esp-worker sad-a"). */
    ServiceProcess service(String name) {
        ServiceProcess p = services.get(name);
        if (p == null) {
            throw new IllegalArgumentException("no service " + name + " started; have " + services.keySet());
        }
        return p;
    }

    /** The logs of every service, for a failure report. */
    String logs() throws IOException {
        StringBuilder b = new StringBuilder();
        for (ServiceProcess p : services.values()) {
            String log = p.log();
            b.append("==== ").append(p.name()).append(p.isAlive() ? "" : " (exited)").append(" ====\n")
                    .append(log.length() > 6_000 ? "...\n" + log.substring(log.length() - 6_000) : log).append('\n');
        }
        return b.toString();
    }

    /**
     * Stops every service (SIGTERM, then SIGKILL), the last started first; their logs stay
     * readable ({@link #logs}, with the counters each prints when it stops).
     */
    @Override
    public void close() throws InterruptedException {
        List<ServiceProcess> all = new ArrayList<>(services.values());
        for (ServiceProcess p : all.reversed()) {
            p.close();
        }
    }
}
