package dev.keel.gateway.interop;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import dev.keel.esp.wire.BoundedCommand;
import dev.keel.proto.v1.ChildSaInfo;
import dev.keel.proto.v1.ChildSaState;
import dev.keel.proto.v1.IkeSaInfo;
import dev.keel.proto.v1.IkeSaState;
import dev.keel.proto.v1.ListIkeSasResponse;
import dev.keel.proto.v1.StatsResponse;
import dev.keel.rpc.TestPki;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * keelctl against a running Keel gateway facing strongSwan (issue 14): Keel in site A's gateway
 * namespace with its admin API on loopback behind mutual TLS, charon in site B's. An operator
 * initiates the tunnel with keelctl and sees the node's log of it; {@code --list-sas} shows what
 * charon's {@code swanctl --list-sas} shows from the other side (the same SPIs, identities and
 * algorithms, traffic counted); {@code --rekey} replaces the CHILD SA on both sides;
 * {@code --stats} counts the SAs; a reader may list but not terminate (exit 4, nothing deleted);
 * the operator's {@code --terminate} deletes the SAs on both sides.
 *
 * <p>keelctl runs as an operator would run it: its own JVM inside the gateway's namespace
 * ({@code ip netns exec}), with its exit status and output.
 */
@Timeout(240)
class KeelctlInteropTest {

    private static final Duration WAIT = Duration.ofSeconds(30);
    /** keelctl's own JVM on a loaded machine, plus the call. */
    private static final Duration KEELCTL = Duration.ofSeconds(90);
    private static final String PSK = "keel-interop-psk-0123456";
    private static final String ADMIN_API = "127.0.0.1:7441";

    /** Configurations, logs and charon's files; JUnit removes it, also after a failure. */
    @TempDir
    Path work;
    private Path pki;

    @BeforeEach
    void requireTools() throws IOException {
        StrongSwanPeer.assumeAvailable();
        dev.keel.esp.wire.SystemTests.assumeTool("ping");
        pki = Files.createDirectories(work.resolve("pki"));
    }


    @Test
    void operatorInitiatesListsRekeysAndTerminatesAsCharonSeesItAndAReaderMayNotTerminate() throws Exception {
        TestPki.Issued ca = TestPki.ca(pki, "keel-admin-ca");
        TestPki.Issued server = TestPki.leaf(pki, ca, "gw-a-admin"); // IP SAN 127.0.0.1
        TestPki.Issued operator = TestPki.leaf(pki, ca, "ops");
        TestPki.Issued reader = TestPki.leaf(pki, ca, "monitor");
        String ike = "aes256gcm16-prfsha256-x25519";
        String esp = "aes256gcm16";
        try (NetnsTopology topo = NetnsTopology.create()) {
            ConnectionSpec keelSpec = ConnectionSpec.psk(topo.a(), topo.b(), PSK, ike, esp);
            Path keelDir = Files.createDirectories(work.resolve("keel"));
            Path config = keelDir.resolve("keel.yaml");
            Files.writeString(config, """
                    gateway:
                      address: %s
                      loops: 2
                      admin:
                        listen: %s
                        tls: {cert: %s, key: %s, client_ca: %s}
                        admins: [nobody-here]
                        operators: [ops]
                        readers: [monitor]
                      plaintext:
                        tun: {name: keel0, mtu: 1400}
                    """.formatted(keelSpec.localAddress(), ADMIN_API, server.certPem(), server.keyPem(), ca.certPem())
                    + KeelGatewayProcess.policyYaml(keelSpec, keelDir));
            try (StrongSwanPeer charon = StrongSwanPeer.start(topo.b().gatewayNamespace(), work.resolve("charon"),
                    ConnectionSpec.psk(topo.b(), topo.a(), PSK, ike, esp));
                    KeelGatewayProcess keel = KeelGatewayProcess.start(topo.a().gatewayNamespace(), config,
                            keelDir.resolve("keel.log"), keelDir.resolve("keys"), List.of())) {
                KeelctlClient ops = new KeelctlClient(topo, operator, ca);
                KeelctlClient monitor = new KeelctlClient(topo, reader, ca);
                try {
                    // --initiate: the node's log of the attempt, then success
                    BoundedCommand.Result initiate = ops.run("--initiate", "--child", "net", "--timeout", "20");
                    assertThat(initiate.exitCode()).as(initiate.output()).isZero();
                    assertThat(initiate.output()).contains("[IKE] ").endsWith("initiate completed successfully\n");
                    List<SwanctlSas.IkeSa> sas = charon.awaitSas(l -> l.size() == 1
                            && l.getFirst().child("net").filter(c -> c.state().equals("INSTALLED")).isPresent(), WAIT);
                    SwanctlSas.IkeSa peer = CharonPairTest.single(sas);
                    SwanctlSas.ChildSa peerChild = peer.child("net").orElseThrow();

                    // --list-sas: what swanctl --list-sas shows on the peer, from this side
                    IkeSaInfo sa = single(monitor.json(ListIkeSasResponse.getDefaultInstance(), "--list-sas"));
                    assertThat(sa.getConnection()).isEqualTo("tunnel");
                    assertThat(sa.getState()).isEqualTo(IkeSaState.IKE_SA_STATE_ESTABLISHED);
                    assertThat(sa.getInitiator()).as("Keel initiated").isTrue();
                    assertThat(peer.initiator()).as("charon did not").isFalse();
                    assertThat(String.format("%016x", sa.getInitiatorSpi())).isEqualTo(peer.initiatorSpi());
                    assertThat(String.format("%016x", sa.getResponderSpi())).isEqualTo(peer.responderSpi());
                    assertThat(sa.getLocalId()).isEqualTo(peer.remoteId());
                    assertThat(sa.getRemoteId()).isEqualTo(peer.localId());
                    assertThat(sa.getAlgorithms().getEncryption()).isEqualTo(peer.encrAlg());
                    assertThat(sa.getAlgorithms().getEncryptionKeyBits()).isEqualTo(peer.encrKeySize());
                    assertThat(sa.getAlgorithms().getPrf()).isEqualTo(peer.prfAlg());
                    assertThat(sa.getAlgorithms().getKeyExchange()).isEqualTo(peer.dhGroup());
                    ChildSaInfo child = sa.getChildrenList().stream().filter(c -> c.getName().equals("net"))
                            .findFirst().orElseThrow();
                    assertThat(child.getState()).isEqualTo(ChildSaState.CHILD_SA_STATE_ACTIVE);
                    assertThat(String.format("%08x", child.getSpiIn())).as("our inbound SPI is charon's outbound")
                            .isEqualTo(peerChild.spiOut());
                    assertThat(String.format("%08x", child.getSpiOut())).isEqualTo(peerChild.spiIn());
                    assertThat(child.getAlgorithms().getEncryption()).isEqualTo(peerChild.encrAlg());
                    assertThat(child.getEncap()).isEqualTo(peerChild.encap());

                    // the text form has swanctl's shape, with the same SPIs
                    BoundedCommand.Result text = monitor.run("--list-sas");
                    assertThat(text.exitCode()).as(text.output()).isZero();
                    assertThat(text.output()).contains("tunnel: #" + sa.getUniqueId() + ", ESTABLISHED, IKEv2, "
                                    + peer.initiatorSpi() + "_i* " + peer.responderSpi() + "_r\n")
                            .as("the default rekey_time, 4 h less up to rand_time (24 min), as swanctl prints it")
                            .containsPattern("established \\d+s ago, rekeying in 1[234]\\d{3}s\n")
                            .contains("  net: #" + child.getUniqueId() + ", INSTALLED, TUNNEL-in-UDP, ESP:")
                            .contains("    in  " + peerChild.spiOut() + ",").contains("    out " + peerChild.spiIn() + ",");

                    // traffic through the tunnel is counted on both sides
                    keel.awaitLog("usable in the data plane", WAIT);
                    CharonPairTest.assertEveryPingAnswered(topo, 3);
                    ChildSaInfo counted = single(monitor.json(ListIkeSasResponse.getDefaultInstance(), "-l", "--ike",
                            "tunnel")).getChildren(0);
                    assertThat(counted.getPacketsOut()).as("Keel's outbound packets").isGreaterThanOrEqualTo(3);
                    assertThat(CharonPairTest.single(charon.listSas()).child("net").orElseThrow().packetsIn())
                            .as("charon's inbound packets").isGreaterThanOrEqualTo(3);

                    // --rekey: a new CHILD SA on both sides
                    BoundedCommand.Result rekey = ops.run("--rekey", "--child", "net");
                    assertThat(rekey.exitCode()).as(rekey.output()).isZero();
                    assertThat(rekey.output()).contains("new CHILD_SA #").endsWith("rekey completed successfully\n");
                    List<SwanctlSas.IkeSa> rekeyed = charon.awaitSas(l -> l.size() == 1 && l.getFirst().children()
                            .stream().anyMatch(c -> c.state().equals("INSTALLED") && !c.spiIn().equals(peerChild.spiIn())),
                            WAIT);
                    assertThat(CharonPairTest.single(rekeyed).children()).as("charon's CHILD SAs after the rekey")
                            .anyMatch(c -> c.state().equals("INSTALLED") && !c.spiIn().equals(peerChild.spiIn()));

                    // --stats
                    StatsResponse stats = monitor.json(StatsResponse.getDefaultInstance(), "--stats");
                    assertThat(stats.getIkeSas()).isEqualTo(1);
                    assertThat(stats.getChildSas()).isGreaterThanOrEqualTo(1);
                    assertThat(stats.getClusterMembers()).isEqualTo(1);

                    // a reader may not terminate: exit 4, one line naming the role, nothing deleted
                    BoundedCommand.Result refused = monitor.run("--terminate", "--ike", "tunnel");
                    assertThat(refused.exitCode()).as(refused.output()).isEqualTo(4);
                    assertThat(refused.output().lines().toList()).hasSize(1);
                    assertThat(refused.output()).startsWith("keelctl: permission denied: the client certificate ")
                            .contains("CN=monitor").contains("--terminate needs the operator role");
                    assertThat(charon.listSas()).as("charon's SAs after the refused terminate").hasSize(1);

                    // --terminate by the operator: gone on both sides
                    BoundedCommand.Result terminate = ops.run("--terminate", "--ike", "tunnel");
                    assertThat(terminate.exitCode()).as(terminate.output()).isZero();
                    assertThat(terminate.output()).contains("terminated IKE_SA #" + sa.getUniqueId())
                            .endsWith("terminate completed successfully\n");
                    assertThat(charon.awaitSas(List::isEmpty, WAIT)).as("charon's SAs after the terminate").isEmpty();
                    assertThat(monitor.json(ListIkeSasResponse.getDefaultInstance(), "--list-sas").getIkeSasList())
                            .as("Keel's IKE SAs after the terminate").isEmpty();
                } catch (AssertionError | IOException e) {
                    throw new AssertionError(e.getMessage() + "\n--- charon log ---\n" + charon.log()
                            + "\n--- Keel log ---\n" + keel.log(), e);
                }
            }
        }
    }

    private static IkeSaInfo single(ListIkeSasResponse r) {
        assertThat(r.getIkeSasList()).as("Keel's IKE SAs").hasSize(1);
        return r.getIkeSas(0);
    }

    /** keelctl with one client certificate, run in site A's gateway namespace against the node's admin API. */
    private static final class KeelctlClient {
        private final NetnsTopology topo;
        private final TestPki.Issued client;
        private final TestPki.Issued ca;

        KeelctlClient(NetnsTopology topo, TestPki.Issued client, TestPki.Issued ca) {
            this.topo = topo;
            this.client = client;
            this.ca = ca;
        }

        /** Runs {@code keelctl ARGS --uri ... --cert ... --key ... --cacert ...}; stdout and stderr together. */
        BoundedCommand.Result run(String... args) throws IOException {
            List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", topo.a().gatewayNamespace(),
                    Path.of(System.getProperty("java.home"), "bin", "java").toString()));
            for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
                if (arg.startsWith("--enable-native-access") || arg.startsWith("--sun-misc")
                        || arg.startsWith("--add-opens") || arg.startsWith("-Dio.netty")) {
                    cmd.add(arg);
                }
            }
            cmd.addAll(List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"),
                    dev.keel.gateway.ctl.Keelctl.class.getName()));
            cmd.addAll(List.of(args));
            cmd.addAll(List.of("--uri", ADMIN_API, "--cert", client.certPem().toString(), "--key",
                    client.keyPem().toString(), "--cacert", ca.certPem().toString()));
            return BoundedCommand.run(KEELCTL, Map.of(), cmd);
        }

        /** The answer of {@code keelctl ARGS --json}, which must succeed. */
        <M extends Message> M json(M prototype, String... args) throws IOException {
            List<String> all = new ArrayList<>(List.of(args));
            all.add("--json");
            BoundedCommand.Result r = run(all.toArray(String[]::new));
            assertThat(r.exitCode()).as(String.join(" ", args) + ": " + r.output()).isZero();
            Message.Builder b = prototype.newBuilderForType();
            JsonFormat.parser().merge(r.output(), b);
            @SuppressWarnings("unchecked")
            M m = (M) b.build();
            return m;
        }
    }
}
