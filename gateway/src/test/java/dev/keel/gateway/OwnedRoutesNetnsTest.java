package dev.keel.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.keel.core.ts.TrafficSelector;
import dev.keel.esp.config.PlaintextConfig;
import dev.keel.esp.packet.Suites;
import dev.keel.esp.wire.BoundedCommand;
import dev.keel.esp.wire.SystemTests;
import dev.keel.gateway.interop.KeelGatewayProcess;
import dev.keel.proto.CoreMapping;
import dev.keel.proto.v1.ChildSaKeys;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.ClaimOwnershipRequest;
import dev.keel.proto.v1.DeleteChildSaRequest;
import dev.keel.proto.v1.Direction;
import dev.keel.proto.v1.InstallChildSaRequest;
import dev.keel.proto.v1.IpsecMode;
import dev.keel.proto.v1.IpsecProtocol;
import dev.keel.proto.v1.SaServiceGrpc;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code routes: owner_preferred} on real gateways (issue 20 item 8): two Keel nodes of one
 * cluster, each in a network namespace of its own with its TUN interface, linked by their cluster
 * link; their files set no {@code routes}, so a cluster naming both members prefers the owner.
 * CHILD SAs come and go through the admin API as IKE, a claim and a takeover make them, and each
 * node's kernel routes are watched. Every child's subnet is routed through both TUNs at the standby
 * metric from start to end; the peer's subnet has the owner's route (metric 100) through a node's
 * TUN exactly while that node owns an outbound SA of the child: on neither at start; on A from the
 * install; on B, not A, after B's claim; on A again after A's claim back, unbroken across a rekey;
 * on neither after the delete; on B after A is killed with an SA. {@code ip monitor} shows every
 * change happening once.
 */
class OwnedRoutesNetnsTest {

    private static final String PEER_SUBNET = "10.2.0.0/24";
    private static final String TRAPPED_SUBNET = "10.3.0.0/24";
    private static final String STANDBY = " scope link metric " + PlaintextConfig.Routes.STANDBY_METRIC;
    private static final String OWNER = " scope link metric " + PlaintextConfig.Routes.OWNER_METRIC;
    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    /** One gateway: its namespace, cluster address, directory, process and admin channel. */
    private final class Node implements AutoCloseable {
        final String id;
        final String ns;
        final String address;
        final Path home;
        KeelGatewayProcess keel;
        ManagedChannel admin;
        Process monitor;

        Node(String name, String prefix, String address) throws IOException {
            this.id = "gw-" + name;
            this.ns = prefix + "-" + name;
            this.address = address;
            this.home = Files.createDirectories(dir.resolve(name));
        }

        void start(Path kek, String otherAddress) throws Exception {
            Files.copy(kek, home.resolve("kek.hex"));
            Files.setPosixFilePermissions(home.resolve("kek.hex"), PosixFilePermissions.fromString("rw-------"));
            Files.writeString(home.resolve("psk.txt"), "keel-routes-psk-0123456789abcdef");
            Path config = home.resolve("keel.yaml");
            Files.writeString(config, """
                    gateway:
                      address: %s
                      loops: 1
                      admin: {socket: admin/keel.sock}
                      plaintext:
                        tun: {name: keel0, mtu: 1400, addresses: [192.0.2.10/32]}
                      cluster:
                        node_id: %s
                        name: keel-routes
                        bind: %s:5701
                        members: [%s:5701, %s:5701]
                        kek_file: kek.hex
                    secrets:
                      psk: {file: psk.txt}
                    connections:
                      peer:
                        local_addrs: %s
                        remote_addrs: 198.51.100.2
                        local: {auth: psk, id: gw.keel.test, secret: psk}
                        remote: {auth: psk, id: peer.keel.test}
                        children:
                          net: {local_ts: [10.1.0.0/24], remote_ts: [%s], start_action: none}
                          trapped: {local_ts: [10.1.0.0/24], remote_ts: [%s], start_action: trap}
                    """.formatted(address, id, address, address, otherAddress, address, PEER_SUBNET,
                    TRAPPED_SUBNET));
            keel = KeelGatewayProcess.start(ns, config, home.resolve("keel.log"), home.resolve("keys"), List.of());
            admin = Grpc.newChannelBuilder("unix:" + home.resolve("admin/keel.sock"),
                    InsecureChannelCredentials.create()).build();
        }

        SaServiceGrpc.SaServiceBlockingStub sad() {
            return SaServiceGrpc.newBlockingStub(admin).withDeadlineAfter(30, TimeUnit.SECONDS);
        }

        void monitor() throws IOException {
            monitor = new ProcessBuilder("ip", "-n", ns, "monitor", "route").redirectErrorStream(true)
                    .redirectOutput(home.resolve("monitor.txt").toFile()).start();
        }

        /** The changes {@code ip monitor} saw to the owner's route of the peer's subnet: "added" or "deleted", in order. */
        List<String> peerRouteChanges() throws Exception {
            monitor.destroy();
            monitor.waitFor(5, TimeUnit.SECONDS);
            return Files.readAllLines(home.resolve("monitor.txt")).stream()
                    .filter(l -> l.contains(PEER_SUBNET + " dev keel0" + OWNER))
                    .map(l -> l.startsWith("Deleted") ? "deleted" : "added").toList();
        }

        /** The routes through the TUN interface, one a line. */
        String routes() throws IOException {
            return BoundedCommand.run(WAIT, List.of("ip", "-n", ns, "route", "show", "dev", "keel0")).requireOk()
                    .output();
        }

        /** Whether the peer's subnet has the owner's route here. */
        boolean routed() throws IOException {
            return routes().contains(PEER_SUBNET + OWNER);
        }

        /** Waits until the peer's subnet has the owner's route here, or not; prints how long that took. */
        void awaitRouted(boolean routed, String why) throws Exception {
            long start = System.nanoTime();
            long deadline = start + WAIT.toNanos();
            while (routed() != routed) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError(PEER_SUBNET + (routed ? " without" : " still with") + " the owner's route through "
                            + id + "'s TUN " + WAIT.toSeconds() + " s after " + why + ":\n" + routes() + "\n"
                            + keel.log());
                }
                Thread.sleep(5);
            }
            System.out.printf("%s: %s owner's route %s %.0f ms after %s%n", id, PEER_SUBNET, routed ? "added" : "gone",
                    (System.nanoTime() - start) / 1e6, why);
        }

        @Override
        public void close() throws Exception {
            if (monitor != null) {
                monitor.destroyForcibly();
            }
            if (admin != null) {
                admin.shutdownNow();
            }
            if (keel != null) {
                keel.close();
            }
        }
    }

    @Test
    void thePeersSubnetIsRoutedThroughTheTunOfTheNodeThatOwnsAnOutboundSaOfItsChild() throws Exception {
        SystemTests.assumeIpNetns();
        String prefix = "keel-rt-" + ProcessHandle.current().pid() + "-"
                + Integer.toHexString(ThreadLocalRandom.current().nextInt(1 << 20));
        Node a = new Node("a", prefix, "10.255.0.1");
        Node b = new Node("b", prefix, "10.255.0.2");
        List<String> created = new ArrayList<>();
        try {
            for (Node n : List.of(a, b)) {
                ip("netns", "add", n.ns);
                created.add(n.ns);
                ip("-n", n.ns, "link", "set", "lo", "up");
            }
            ip("-n", a.ns, "link", "add", "cluster", "type", "veth", "peer", "name", "cluster", "netns", b.ns);
            for (Node n : List.of(a, b)) {
                ip("-n", n.ns, "addr", "add", n.address + "/30", "dev", "cluster");
                ip("-n", n.ns, "link", "set", "cluster", "up");
            }
            byte[] key = new byte[32];
            new SecureRandom().nextBytes(key);
            Path kek = Files.writeString(dir.resolve("kek.hex"), HexFormat.of().formatHex(key) + "\n");
            a.start(kek, b.address);
            b.start(kek, a.address);
            for (Node n : List.of(a, b)) {
                assertThat(n.routes()).as("%s from start: every child's subnet at the standby metric", n.id)
                        .contains(PEER_SUBNET + STANDBY, TRAPPED_SUBNET + STANDBY).doesNotContain(OWNER);
                n.monitor();
            }
            Thread.sleep(200); // the monitors subscribed

            String out1 = install(a, 0x3001);
            a.awaitRouted(true, "the outbound SA was installed on A");
            assertThat(b.routed()).isFalse();

            claim(b, out1, a.id); // as B's SadSaClaimer does when the peer's packets reach B
            b.awaitRouted(true, "B claimed the SA");
            a.awaitRouted(false, "B claimed the SA");
            claim(a, out1, b.id);
            a.awaitRouted(true, "A claimed the SA back");
            b.awaitRouted(false, "A claimed the SA back");

            // A rekey: the new SA is installed before the old one is deleted.
            String out2 = install(a, 0x3002);
            delete(a, out1);
            Thread.sleep(500);
            assertThat(a.routed()).as("across the rekey").isTrue();

            delete(a, out2);
            a.awaitRouted(false, "the last outbound SA of the child was deleted");
            Thread.sleep(300); // the monitors print
            assertThat(a.peerRouteChanges()).as("A: each change once, none across the rekey")
                    .containsExactly("added", "deleted", "added", "deleted");
            assertThat(b.peerRouteChanges()).as("B: each change once").containsExactly("added", "deleted");

            // A dies with an SA: B takes it over, and with it the route.
            install(a, 0x3003);
            a.awaitRouted(true, "the outbound SA was installed on A");
            a.keel.kill();
            b.awaitRouted(true, "A was killed");
            assertThat(b.routes()).as("the standby routes stay").contains(PEER_SUBNET + STANDBY,
                    TRAPPED_SUBNET + STANDBY);
        } finally {
            try (a; b) {
                // closed in reverse order
            } finally {
                for (String ns : created) {
                    BoundedCommand.run(WAIT, List.of("ip", "netns", "del", ns));
                }
            }
        }
    }

    /** Installs an outbound AES-GCM CHILD SA of {@code peer/net} owned by {@code owner}; returns its id. */
    private static String install(Node owner, int spi) throws Exception {
        Suites s = Suites.AES128_GCM16;
        ChildSaRecord.Builder r = ChildSaRecord.newBuilder().setConnection("peer").setChild("net").setSpi(spi)
                .setDirection(Direction.DIRECTION_OUTBOUND).setProtocol(IpsecProtocol.IPSEC_PROTOCOL_ESP)
                .setMode(IpsecMode.IPSEC_MODE_TUNNEL)
                .setLocal(CoreMapping.endpoint(InetAddress.getByName(owner.address), 4500))
                .setPeer(CoreMapping.endpoint(InetAddress.getByName("198.51.100.2"), 4500))
                .setEncryptionTransform(s.encryption.id()).setEncryptionKeyLength(s.keyLength + 4)
                .addLocalTs(CoreMapping.selector(TrafficSelector.parse("10.1.0.0/24")))
                .addRemoteTs(CoreMapping.selector(TrafficSelector.parse(PEER_SUBNET)));
        return owner.sad().installChildSa(InstallChildSaRequest.newBuilder().setChildSa(r).setOwnerNodeId(owner.id)
                .setKeys(ChildSaKeys.newBuilder().setEncryption(ByteString.copyFrom(s.encryptionKey(spi)))).build())
                .getChildSa().getId();
    }

    /** {@code node} claims the SA {@code expected} owns. */
    private static void claim(Node node, String id, String expected) {
        node.sad().claimOwnership(ClaimOwnershipRequest.newBuilder().setSaId(id).setNodeId(node.id)
                .setExpectedOwnerNodeId(expected).build());
    }

    private static void delete(Node via, String id) {
        via.sad().deleteChildSa(DeleteChildSaRequest.newBuilder().setId(id).build());
    }

    private static void ip(String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of("ip"));
        command.addAll(List.of(args));
        BoundedCommand.run(WAIT, command).requireOk();
    }
}
