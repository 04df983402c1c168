package dev.keel.gateway.ha;

import dev.keel.gateway.interop.KeelGatewayProcess;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.ListChildSasRequest;
import dev.keel.proto.v1.ListChildSasResponse;
import dev.keel.proto.v1.SaServiceGrpc;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One node of the HA pair: a full Keel gateway (the one-process form) in its own JVM in the
 * node's namespace, so that {@code kill -9} is real. Both nodes get the same anycast outer
 * address, IKE identity, PSK and connections, and one Hazelcast cluster over the cluster link
 * ({@code gateway.cluster.members} naming both, one KEK file, 0600). Each start is a new
 * incarnation with its own log and key export directory, so the keys an earlier incarnation
 * exported survive its restart.
 */
final class HaGateway implements AutoCloseable {

    /** The pair's IKE identity and the peer's. */
    static final String GATEWAY_ID = "gw.keel.test";
    static final String PEER_ID = "peer.keel.test";
    /** The second peer's identity (a network with a second peer: {@link AnycastPairNetns#hasSecondPeer()}). */
    static final String PEER2_ID = "peer2.keel.test";

    private final AnycastPairNetns net;
    private final AnycastPairNetns.Node node;
    private final Path dir;
    private final HaSettings settings;
    private final List<Path> logs = new ArrayList<>();
    private final List<Path> keyDirs = new ArrayList<>();
    private KeelGatewayProcess process;

    private HaGateway(AnycastPairNetns net, AnycastPairNetns.Node node, Path dir, HaSettings settings) {
        this.net = net;
        this.node = node;
        this.dir = dir;
        this.settings = settings;
    }

    /**
     * Prepares node {@code node}'s directory under {@code work}: its KEK (a copy of
     * {@code kek}, 0600) and PSK files. Nothing runs yet.
     */
    static HaGateway prepare(AnycastPairNetns net, AnycastPairNetns.Node node, Path work, Path kek, HaSettings settings)
            throws IOException {
        Path dir = Files.createDirectories(work.resolve("node-" + node.name()));
        Path kekCopy = dir.resolve("kek.hex");
        Files.copy(kek, kekCopy, StandardCopyOption.REPLACE_EXISTING);
        Files.setPosixFilePermissions(kekCopy, PosixFilePermissions.fromString("rw-------"));
        Path psk = dir.resolve("psk.txt");
        Files.writeString(psk, settings.psk(), StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(psk, PosixFilePermissions.fromString("rw-------"));
        return new HaGateway(net, node, dir, settings);
    }

    /** Starts a new incarnation and waits until it says it started (a Hazelcast join: seconds). */
    void start() throws IOException, InterruptedException {
        if (running()) {
            throw new IllegalStateException("node " + node.name() + " already runs");
        }
        int n = logs.size() + 1;
        Path keys = dir.resolve("keys-" + n);
        Path config = dir.resolve("keel-" + n + ".yaml");
        Files.writeString(config, yaml(keys));
        Path log = dir.resolve("keel-" + n + ".log");
        logs.add(log);
        keyDirs.add(keys);
        List<String> jvm = new ArrayList<>();
        String extra = System.getProperty("keel.ha.keelJvmArgs", "").strip();
        if (!extra.isEmpty()) {
            jvm.addAll(List.of(extra.split("\\s+")));
        }
        process = KeelGatewayProcess.start(node.namespace(), config, log, keys, jvm);
    }

    private String yaml(Path keys) {
        StringBuilder children = new StringBuilder();
        children.append(child("net", AnycastPairNetns.PEER_SUBNET));
        for (int i = 1; i <= settings.extraTunnels(); i++) {
            children.append(child("t" + i, HaSettings.tunnelSubnet(i)));
        }
        return """
                gateway:
                  address: %s
                  loops: 2
                  key_export: %s
                  admin: {socket: admin/keel.sock}
                  plaintext:
                    tun: {name: %s, mtu: 1400, addresses: [%s/32]}
                  cluster:
                    node_id: gw-%s
                    name: keel-ha
                    bind: %s:5701
                    members: [%s:5701, %s:5701]
                    kek_file: kek.hex
                secrets:
                  psk: {file: psk.txt}
                connections:
                %s%s""".formatted(AnycastPairNetns.ANYCAST, keys, AnycastPairNetns.TUN, AnycastPairNetns.ANYCAST,
                node.name(), node.cluster(), net.a().cluster(), net.b().cluster(),
                connection("peer", AnycastPairNetns.PEER_ADDRESS, PEER_ID, children.toString()),
                net.hasSecondPeer() ? connection("peer2", AnycastPairNetns.PEER2_ADDRESS, PEER2_ID,
                        child("net2", AnycastPairNetns.PEER2_SUBNET)) : "");
    }

    private String connection(String name, String peerAddress, String peerId, String children) {
        return """
                  %s:
                    local_addrs: %s
                    remote_addrs: %s
                    local: {auth: psk, id: %s, secret: psk}
                    remote: {auth: psk, id: %s}
                    proposals: %s
                    dpd_delay: %s
                    children:
                %s""".formatted(name, AnycastPairNetns.ANYCAST, peerAddress, GATEWAY_ID, peerId,
                HaSettings.IKE_PROPOSAL, settings.keelDpd(), children);
    }

    private String child(String name, String remoteTs) {
        return """
                      %s:
                        local_ts: [%s]
                        remote_ts: [%s]
                        esp_proposals: %s
                        rekey_time: %s
                        start_action: none
                """.formatted(name, AnycastPairNetns.LAN_SUBNET, remoteTs, HaSettings.ESP_PROPOSAL,
                settings.childRekey());
    }

    /** The node in the topology. */
    AnycastPairNetns.Node node() {
        return node;
    }

    /** The node's name, {@code a} or {@code b}. */
    String name() {
        return node.name();
    }

    /** Its SAD node id. */
    String nodeId() {
        return "gw-" + node.name();
    }

    boolean running() {
        return process != null && process.process().isAlive();
    }

    /**
     * {@code kill -9} of the Keel process; returns the instant just before the signal went out,
     * once the process is gone. The node's BIRD stays up: the announcement goes away because the
     * TUN interface does.
     */
    Instant kill() throws InterruptedException {
        Instant at = Instant.now();
        process.kill();
        return at;
    }

    /**
     * SIGTERM of the Keel process (an operator's stop: the node leaves its SAs to the other member);
     * returns the instant just before the signal went out, once the process is gone (bounded).
     */
    Instant stop() throws InterruptedException {
        Instant at = Instant.now();
        process.close();
        return at;
    }

    /** Forgets the current process after something else killed it (the whole node died). */
    void markDead() throws InterruptedException {
        if (process != null) {
            process.kill(); // already gone; reaps it
        }
    }

    /** Every key export directory this node had, one per incarnation. */
    List<Path> keyDirectories() {
        return List.copyOf(keyDirs);
    }

    /** The current incarnation's log. */
    String log() throws IOException {
        return process == null ? "" : process.log();
    }

    /** The tail of every incarnation's log, for a failure message. */
    String logs(int charsEach) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < logs.size(); i++) {
            sb.append("--- Keel node ").append(node.name()).append(" #").append(i + 1).append(" ---\n");
            try {
                sb.append(AnycastPairNetns.tail(Files.readString(logs.get(i), StandardCharsets.UTF_8), charsEach));
            } catch (IOException e) {
                sb.append("(").append(e.getMessage()).append(")\n");
            }
        }
        return sb.toString();
    }

    /** Waits until the current incarnation's log contains {@code text}. */
    void awaitLog(String text, Duration timeout) throws IOException, InterruptedException {
        process.awaitLog(text, timeout);
    }

    /** The CHILD SA records of the SAD (every owner), through this node's admin API. */
    List<ChildSaRecord> childSas() {
        ManagedChannel ch = Grpc.newChannelBuilder("unix:" + dir.resolve("admin/keel.sock"),
                InsecureChannelCredentials.create()).build();
        try {
            List<ChildSaRecord> all = new ArrayList<>();
            String token = "";
            do {
                ListChildSasResponse page = SaServiceGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
                        .listChildSas(ListChildSasRequest.newBuilder().setPageSize(1000).setPageToken(token).build());
                all.addAll(page.getChildSasList());
                token = page.getNextPageToken();
            } while (!token.isEmpty());
            return all;
        } finally {
            ch.shutdownNow();
        }
    }

    /** Stops the current incarnation (SIGTERM: it deletes its IKE SAs), if it runs. */
    @Override
    public void close() throws InterruptedException {
        if (process != null) {
            process.close();
        }
    }
}
