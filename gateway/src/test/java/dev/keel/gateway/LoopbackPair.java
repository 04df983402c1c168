package dev.keel.gateway;

import static dev.keel.gateway.LoopbackTesting.address;
import static dev.keel.gateway.LoopbackTesting.await;
import static dev.keel.gateway.LoopbackTesting.freeTcpPort;
import static dev.keel.gateway.LoopbackTesting.ikePortPair;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.policy.config.ConfigLoader;
import dev.keel.policy.config.ConfigResult;
import dev.keel.policy.config.PolicyConfig;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.IkeSaRecord;
import dev.keel.sad.keys.KeyEncryptionKey;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.DatagramChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * An HA pair and its peer on loopback, for the failover tests (docs/ha.md): gateways A
 * (127.0.0.1) and B (127.0.0.3) of one cluster, A in this JVM or in a process of its own, and a
 * peer P (127.0.0.2, a Keel gateway with a cluster of its own) talking to the pair's "anycast"
 * address 127.0.0.10, which an {@link UdpRelay} forwards to A until told otherwise. Each node
 * has a virtual wire with a host behind it ({@link Lan}). Closing it kills A's process and closes
 * everything else it started or was handed, whatever failed before.
 */
final class LoopbackPair implements AutoCloseable {

    static final InetAddress A = address("127.0.0.1");
    static final InetAddress B = address("127.0.0.3");
    static final InetAddress ANYCAST = address("127.0.0.10");
    /** The pair's own two addresses, standing for the one anycast address both would have (claims check it). */
    static final String PAIR_ADDRS = "[127.0.0.1, 127.0.0.3]";

    private static final String PEER = "127.0.0.2";
    /** The PSK of every connection here (KEEL_TEST_PSK). */
    static final String PSK = "loopback pair secret";

    /** A gateway's plaintext side: its virtual wire and the host behind it. */
    record Lan(InetSocketAddress wire, DatagramChannel host) {
    }

    private final List<GatewayNode> nodes = new ArrayList<>();
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private final Path dir;
    private final Vertx vertx;
    /** The IKE port of every node and of the anycast address; NAT-T is the port after it. */
    final int ikePort;
    private final int hzA;
    private final int hzB;
    private final Path kek;
    /** "The network": which node the anycast address's packets reach. */
    final UdpRelay relay;
    final Lan lanA;
    final Lan lanB;
    final Lan lanPeer;
    private Process processA;

    /**
     * Binds the relay (to A) and the three virtual wires' hosts; files go to a temporary directory
     * named {@code prefix}. Throws only unchecked exceptions, so that a test can make it in a
     * field's initializer (and have JUnit close it: {@code @AutoClose}).
     */
    LoopbackPair(String prefix) {
        try {
            dir = Files.createTempDirectory(prefix);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true).setEventLoopPoolSize(2));
        try {
            ikePort = ikePortPair(List.of(A.getHostAddress(), PEER, B.getHostAddress(), ANYCAST.getHostAddress()), -1);
            hzA = freeTcpPort();
            hzB = freeTcpPort();
            kek = dir.resolve("pair-kek.hex");
            byte[] k = new byte[KeyEncryptionKey.LENGTH];
            new SecureRandom().nextBytes(k);
            KeyEncryptionKey.write(kek, k);
            relay = UdpRelay.anycast(ANYCAST, A, ikePort, ikePort + 1);
            lanA = lan(A.getHostAddress());
            lanB = lan(B.getHostAddress());
            lanPeer = lan(PEER);
        } catch (IOException e) {
            throw closedAfter(new UncheckedIOException(e));
        } catch (RuntimeException e) {
            throw closedAfter(e);
        } catch (Error e) {
            throw closedAfter(e);
        }
    }

    /** Closes what the constructor made before it failed with {@code failure}; returns that. */
    private <T extends Throwable> T closedAfter(T failure) {
        try {
            close();
        } catch (Exception e) {
            failure.addSuppressed(e);
        }
        return failure;
    }

    /** Starts A in this JVM with {@code connections} (YAML under {@code connections:}). */
    GatewayNode startA(String connections) throws Exception {
        return start("gwa", config(A.getHostAddress(), pairCluster("gwa", hzA), lanA, connections));
    }

    /** Starts B in this JVM with {@code connections}. */
    GatewayNode startB(String connections) throws Exception {
        return start("gwb", config(B.getHostAddress(), pairCluster("gwb", hzB), lanB, connections));
    }

    /** Starts the peer in this JVM with {@code connections}, in a cluster of its own. */
    GatewayNode startPeer(String connections) throws Exception {
        return start("peer", config(PEER, "cluster: {node_id: peer, bind: 127.0.0.1:" + freeTcpPort() + "}", lanPeer,
                connections));
    }

    /**
     * Starts A in a JVM of its own ({@link GatewayMain}, heap {@code maxHeap}, e.g. "384m") and
     * returns once it says it started; {@link #killA} or {@link #close} ends it.
     */
    void startAInProcess(String connections, String maxHeap) throws Exception {
        startAProcess(config(A.getHostAddress(), pairCluster("gwa", hzA), lanA, connections), maxHeap);
    }

    /**
     * As {@link #startAInProcess(String, String)}, but A alone (no cluster: B is not started) and
     * serving Prometheus metrics on {@code 127.0.0.1:metricsPort}: the soak's gateway under test.
     */
    void startAAloneInProcess(String connections, String maxHeap, int metricsPort) throws Exception {
        String text = config(A.getHostAddress(), "", lanA, connections)
                .replace("secrets:", "metrics: {listen: 127.0.0.1:" + metricsPort + "}\nsecrets:");
        startAProcess(text, maxHeap);
    }

    private void startAProcess(String configText, String maxHeap) throws Exception {
        Path file = write("gwa", configText);
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (arg.startsWith("--enable-native-access") || arg.startsWith("--add-opens")
                    || arg.startsWith("--add-exports") || arg.startsWith("--sun-misc") || arg.startsWith("-Dio.netty")) {
                cmd.add(arg);
            }
        }
        cmd.addAll(List.of("-Xmx" + maxHeap, "-cp", System.getProperty("java.class.path"), GatewayMain.class.getName(),
                "--config", file.toString()));
        Path log = dir.resolve("gwa.log");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("KEEL_TEST_PSK", PSK);
        processA = pb.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!Files.readString(log).contains("keel-gateway: started")) {
            if (!processA.isAlive() || System.nanoTime() > deadline) {
                throw new AssertionError("gwa did not start:\n" + Files.readString(log));
            }
            Thread.sleep(100);
        }
    }

    /** A's process id (A started in a process of its own). */
    long pidA() {
        return processA.pid();
    }

    /** A's log (its standard output and error), A started in a process of its own. */
    Path logA() {
        return dir.resolve("gwa.log");
    }

    /** {@code kill -9} of A's process: no delete, no goodbye. */
    void killA() {
        processA.destroyForcibly();
    }

    /** Waits until {@code node}'s cluster has both nodes of the pair. */
    static void awaitOneCluster(GatewayNode node) throws InterruptedException {
        await(() -> node.sad().cluster().memberCount() == 2, 60_000, "A and B form one cluster");
    }

    /** Closes {@code resource} when the pair closes, before the relay and the nodes; returns it. */
    <T extends AutoCloseable> T closeAtEnd(T resource) {
        closeables.add(resource);
        return resource;
    }

    /** A connection of a node of the pair, as ha.example, to the peer {@code peerId} whose side is {@code peerTs}. */
    static String pairConnection(String name, String localAddrs, String peerId, String peerTs) {
        return pairConnection(name, localAddrs, peerId, peerTs, "0s", "");
    }

    /**
     * As {@link #pairConnection(String, String, String, String)}, with DPD every {@code dpd} and
     * {@code childOptions} (YAML flow-map entries, e.g. {@code "rekey_time: 60s"}) on its child.
     */
    static String pairConnection(String name, String localAddrs, String peerId, String peerTs, String dpd,
            String childOptions) {
        return connection(name, localAddrs, "ha.example", peerId, dpd, "10.1.0.0/16", peerTs, "none", childOptions);
    }

    /** A connection of the peer's, as {@code id} with {@code ts} on its side, to the pair (ha.example, 10.1.0.0/16). */
    static String peerConnection(String name, String id, String ts, String dpd, String startAction) {
        return connection(name, PEER, id, "ha.example", dpd, ts, "10.1.0.0/16", startAction, "");
    }

    private static String connection(String name, String localAddrs, String localId, String remoteId, String dpd,
            String localTs, String remoteTs, String startAction, String childOptions) {
        return """
                  %s:
                    local_addrs: %s
                    remote_addrs: %s
                    local:  {auth: psk, id: %s, secret: psk}
                    remote: {auth: psk, id: %s}
                    proposals: aes256gcm16-prfsha256-x25519
                    dpd_delay: %s
                    children:
                      lan: {local_ts: %s, remote_ts: %s, esp_proposals: aes256gcm16, start_action: %s%s}
                """.formatted(name, localAddrs, ANYCAST.getHostAddress(), localId, remoteId, dpd, localTs, remoteTs,
                startAction, childOptions.isEmpty() ? "" : ", " + childOptions);
    }

    /** The IKE SA record {@code id} as {@code node}'s SAD member sees it, if there is one. */
    static Optional<IkeSaRecord> ikeRecord(GatewayNode node, String id) {
        return sadRecord(id, i -> node.sad().database().getIkeSa(i, false));
    }

    /** The CHILD SA record {@code id} as {@code node}'s SAD member sees it, if there is one. */
    static Optional<ChildSaRecord> childRecord(GatewayNode node, String id) {
        return sadRecord(id, i -> node.sad().database().getChildSa(i, false));
    }

    private static <R> Optional<R> sadRecord(String id, Function<String, R> get) {
        try {
            return Optional.of(get.apply(id));
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    private String pairCluster(String nodeId, int hz) {
        return "cluster: {node_id: %s, name: pair-%d, bind: 127.0.0.1:%d, members: [127.0.0.1:%d, 127.0.0.1:%d],"
                .formatted(nodeId, hzA, hz, hzA, hzB) + " kek_file: " + kek + "}";
    }

    private String config(String address, String cluster, Lan lan, String connections) throws IOException {
        InetSocketAddress host = (InetSocketAddress) lan.host().getLocalAddress();
        return """
                gateway:
                  address: %s
                  ike_port: %d
                  nat_t_port: %d
                  %s
                  admin: off
                  plaintext:
                    virtual_wire: {bind: %s:%d, host: %s:%d}
                secrets:
                  psk: {env: KEEL_TEST_PSK}
                connections:
                """.formatted(address, ikePort, ikePort + 1, cluster, address, lan.wire().getPort(),
                host.getHostString(), host.getPort()) + connections;
    }

    private GatewayNode start(String name, String text) throws Exception {
        Path file = write(name, text);
        ConfigResult policy = new ConfigLoader(Map.of("KEEL_TEST_PSK", PSK)::get).loadFile(file);
        assertThat(policy).as(String.valueOf(policy)).isInstanceOf(ConfigResult.Valid.class);
        PolicyConfig pc = ((ConfigResult.Valid) policy).config();
        var read = GatewaySettingsReader.read(file);
        assertThat(read).as(String.valueOf(read)).isInstanceOf(GatewaySettingsReader.Result.Valid.class);
        GatewaySettings gs = ((GatewaySettingsReader.Result.Valid) read).settings();
        GatewayNode node = GatewayNode.start(vertx, gs, pc, GatewayNode.openPlaintext(vertx, gs, pc))
                .await(120, TimeUnit.SECONDS);
        nodes.add(node);
        return node;
    }

    private Path write(String name, String text) throws IOException {
        Path file = dir.resolve(name + ".yaml");
        Files.writeString(file, text);
        return file;
    }

    /** A virtual wire on {@code address} and its host, both on free ports. */
    private Lan lan(String address) throws IOException {
        int wire;
        try (DatagramSocket w = new DatagramSocket(new InetSocketAddress(address, 0))) {
            wire = w.getLocalPort();
        }
        DatagramChannel host = DatagramChannel.open().bind(new InetSocketAddress(address, 0));
        host.configureBlocking(false);
        return new Lan(new InetSocketAddress(address, wire), host);
    }

    @Override
    public void close() throws Exception {
        List<AutoCloseable> all = new ArrayList<>();
        all.add(() -> {
            if (processA != null) {
                processA.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        });
        all.addAll(closeables.reversed());
        all.add(relay);
        for (GatewayNode n : nodes.reversed()) {
            all.add(() -> {
                try {
                    n.close().await(30, TimeUnit.SECONDS);
                } catch (Exception e) {
                    // not what these tests check (a node may time out leaving a partner killed): close the rest
                }
            });
        }
        for (Lan lan : new Lan[] {lanA, lanB, lanPeer}) {
            all.add(lan == null ? null : lan.host());
        }
        all.add(() -> vertx.close().await(10, TimeUnit.SECONDS));
        all.add(() -> {
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        });
        Exception failed = null;
        for (AutoCloseable c : all) {
            try {
                if (c != null) {
                    c.close();
                }
            } catch (Exception e) {
                if (failed == null) {
                    failed = e;
                } else {
                    failed.addSuppressed(e);
                }
            }
        }
        if (failed != null) {
            throw failed;
        }
    }
}
