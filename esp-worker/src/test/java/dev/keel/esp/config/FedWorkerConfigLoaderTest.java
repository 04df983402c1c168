package dev.keel.esp.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.core.config.ConfigProblem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FedWorkerConfigLoaderTest {

    private static final Path EXAMPLES = Path.of("..", "docs", "examples");
    private static final String KEK = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    @TempDir
    Path dir;

    @BeforeEach
    void files() throws Exception {
        Files.writeString(dir.resolve("kek.hex"), KEK + "\n");
        Files.createDirectories(dir.resolve("tls"));
        for (String f : List.of("worker-a.pem", "worker-a.key", "cluster-ca.pem")) {
            Files.writeString(dir.resolve("tls").resolve(f), "-");
        }
    }

    private FedWorkerConfigLoader.Result load(String yaml) throws Exception {
        Path f = dir.resolve("worker.yaml");
        Files.writeString(f, yaml);
        return FedWorkerConfigLoader.loadFile(f);
    }

    private List<String> problems(String yaml) throws Exception {
        FedWorkerConfigLoader.Result r = load(yaml);
        assertThat(r).isInstanceOf(FedWorkerConfigLoader.Result.Invalid.class);
        return ((FedWorkerConfigLoader.Result.Invalid) r).problems().stream().map(ConfigProblem::toString)
                .map(t -> t.replace(dir + "/", "")).toList(); // file names relative to the test directory
    }

    private FedWorkerConfig valid(String yaml) throws Exception {
        FedWorkerConfigLoader.Result r = load(yaml);
        assertThat(r).as(String.valueOf(r)).isInstanceOf(FedWorkerConfigLoader.Result.Valid.class);
        return ((FedWorkerConfigLoader.Result.Valid) r).config();
    }

    private static final String LOOPBACK = """
            node_id: w1
            listen: 127.0.0.2:4500
            loops: 1
            plaintext:
              virtual_wire: {bind: 127.0.0.2:20001, host: 127.0.0.1:21001}
            sad:
              endpoints: [127.0.0.1:50051, "localhost:50053", unix:/run/keel/sad.sock]
            policy: {endpoint: 127.0.0.1:50052}
            kek_file: kek.hex
            """;

    @Test
    void readsTheDocumentedExample() throws Exception {
        FedWorkerConfig c = valid(Files.readString(EXAMPLES.resolve("fed-worker-a.yaml")));
        assertThat(c.nodeId()).isEqualTo("sad-a");
        assertThat(c.listen().getPort()).isEqualTo(4500);
        assertThat(c.loops()).isEqualTo(2);
        assertThat(c.plaintext()).isEqualTo(new PlaintextConfig.Tun("keel0",
                List.of(PlaintextReader.interfaceAddress("10.1.0.1/16")), 0, 1500, true,
                PlaintextConfig.Routes.OWNER_PREFERRED));
        assertThat(c.sad()).containsExactly("sad-a.cluster.example:50051", "sad-b.cluster.example:50051");
        assertThat(c.policy()).isEqualTo("policy.cluster.example:50052");
        assertThat(c.tls()).isEqualTo(new FedWorkerConfig.Tls(dir.resolve("tls/worker-a.pem"),
                dir.resolve("tls/worker-a.key"), dir.resolve("tls/cluster-ca.pem")));
        assertThat(c.kekFile()).isEqualTo(dir.resolve("kek.hex"));
        assertThat(c.ikeRelay()).isEqualTo("ike.cluster.example:7600");
    }

    @Test
    void plaintextGrpcOnThisHostNeedsNoTlsAndDefaultsApply() throws Exception {
        FedWorkerConfig c = valid(LOOPBACK);
        assertThat(c.tls()).isNull();
        assertThat(c.sad()).containsExactly("127.0.0.1:50051", "localhost:50053", "unix:/run/keel/sad.sock");
        assertThat(c.ikeRelay()).isNull();
        FedWorkerConfig d = valid("""
                node_id: w1
                plaintext: {tun: {}}
                sad: {endpoints: 127.0.0.1:50051}
                policy: {endpoint: 127.0.0.1:50052}
                kek_file: kek.hex
                """);
        assertThat(d.listen().getPort()).isEqualTo(4500);
        assertThat(d.listen().getAddress().isAnyLocalAddress()).isTrue();
        assertThat(d.loops()).isEqualTo(Runtime.getRuntime().availableProcessors());
        assertThat(((PlaintextConfig.Tun) d.plaintext()).routes()).isEqualTo(PlaintextConfig.Routes.ALL);
    }

    @Test
    void theMetricsEndpointIsOffUnlessItsSectionNamesAnAddress() throws Exception {
        assertThat(valid(LOOPBACK).metricsListen()).isNull();
        assertThat(valid(LOOPBACK + "metrics: {listen: \"127.0.0.1:9464\"}\n").metricsListen())
                .isEqualTo(new java.net.InetSocketAddress("127.0.0.1", 9464));
        assertThat(problems(LOOPBACK + "metrics: {listen: 9464}\n")).containsExactly(
                "worker.yaml:10:19: metrics.listen: invalid IP address \"9464\": octet 9464 is out of range 0-255");
        assertThat(problems(LOOPBACK + "metrics: {port: 9464}\n")).containsExactly(
                "worker.yaml:10:11: metrics.port: unknown key 'port'; expected one of listen",
                "worker.yaml:10:10: metrics.listen: missing");
    }

    @Test
    void unknownAndMissingKeysAreNamedWithTheirPosition() throws Exception {
        assertThat(problems("""
                node_id: w1
                lisen: 127.0.0.2:4500
                plaintext:
                  virtual_wire: {bind: 127.0.0.2:20001, host: 127.0.0.1:21001}
                sad: {endpoint: 127.0.0.1:50051}
                ike: {relay: none, prot: 500}
                """)).containsExactly(
                "worker.yaml:2:1: lisen: unknown key 'lisen'; did you mean 'listen'?",
                "worker.yaml:5:7: sad.endpoint: unknown key 'endpoint'; did you mean 'endpoints'?",
                "worker.yaml:5:6: sad.endpoints: missing",
                "worker.yaml:1:1: policy: missing",
                "worker.yaml:1:1: kek_file: missing",
                "worker.yaml:6:20: ike.prot: unknown key 'prot'; did you mean 'port'?");
    }

    @Test
    void badValuesAreNamedWithTheirKeyPath() throws Exception {
        Files.writeString(dir.resolve("short.hex"), "0011");
        Files.writeString(dir.resolve("nothex.hex"), "not hex at all");
        assertThat(problems("""
                node_id: "w 1"
                listen: 127.0.0.2:99999
                loops: 0
                plaintext:
                  tun: {name: keel0, routes: sometimes}
                sad:
                  endpoints: [127.0.0.1, "127.0.0.1:50051", "127.0.0.1:50051", "unix:"]
                policy: {endpoint: "127.0.0.1:x"}
                kek_file: short.hex
                ike: {relay: grpc}
                """)).containsExactly(
                "worker.yaml:1:10: node_id: 'w 1' is not a node id (1-64 of A-Z a-z 0-9 . _ -, as sad-service's --node-id)",
                "worker.yaml:2:9: listen: port '99999' is not a number 0-65535",
                "worker.yaml:3:8: loops: 0 is out of range 1-256",
                "worker.yaml:5:30: plaintext.tun.routes: 'sometimes' is not one of all, owner_preferred",
                "worker.yaml:7:15: sad.endpoints[0]: '127.0.0.1' is not host:port, [v6]:port or unix:PATH",
                "worker.yaml:7:45: sad.endpoints[2]: '127.0.0.1:50051' is listed twice",
                "worker.yaml:7:64: sad.endpoints[3]: 'unix:' without a socket path",
                "worker.yaml:8:20: policy.endpoint: '127.0.0.1:x' is not host:port, [v6]:port or unix:PATH",
                "worker.yaml:9:11: kek_file: short.hex: holds 2 bytes; a KEK is 16, 24 or 32"
                        + " (the file the sad-service members load)",
                "worker.yaml:10:14: ike.relay: 'grpc' is not host:port, [v6]:port or unix:PATH");
        assertThat(problems(LOOPBACK.replace("kek.hex", "nothex.hex"))).containsExactly(
                "worker.yaml:9:11: kek_file: nothex.hex: not hex (the file the sad-service members load)");
        assertThat(problems(LOOPBACK.replace("kek.hex", "missing.hex"))).containsExactly(
                "worker.yaml:9:11: kek_file: missing.hex: not a readable file");
    }

    @Test
    void plaintextGrpcOffThisHostIsRefusedAndTlsNeedsAllThreeFiles() throws Exception {
        assertThat(problems(LOOPBACK.replace("127.0.0.1:50052", "192.0.2.7:50052"))).containsExactly(
                "worker.yaml:8:20: policy.endpoint: plaintext gRPC only to a loopback address or unix: socket, and"
                        + " '192.0.2.7' is 192.0.2.7; give 'tls' (cert, key, ca: mutual TLS) to reach it");
        assertThat(problems(LOOPBACK + """
                tls: {cert: tls/worker-a.pem, key: tls/nope.key}
                """)).containsExactly(
                "worker.yaml:10:36: tls.key: tls/nope.key: not a readable file",
                "worker.yaml:10:6: tls.ca: missing");
        FedWorkerConfig c = valid(LOOPBACK.replace("127.0.0.1:50052", "192.0.2.7:50052") + """
                tls: {cert: tls/worker-a.pem, key: tls/worker-a.key, ca: tls/cluster-ca.pem}
                """);
        assertThat(c.policy()).isEqualTo("192.0.2.7:50052");
    }

    @Test
    void theIkeRelayIsAnEndpointAndItsOwnPortNeedsIt() throws Exception {
        FedWorkerConfig c = valid(LOOPBACK + "ike: {relay: 127.0.0.1:7600, port: 500}\n");
        assertThat(c.ikeRelay()).isEqualTo("127.0.0.1:7600");
        assertThat(c.ikePort()).isEqualTo(500);
        assertThat(valid(LOOPBACK + "ike: {relay: none}\n").ikeRelay()).isNull();
        assertThat(problems(LOOPBACK + "ike: {port: 500}\n")).singleElement().asString()
                .endsWith("ike.port: needs ike.relay: IKE on this port goes to ike-service");
        assertThat(problems(LOOPBACK + "ike: {relay: 127.0.0.1:7600, port: 4500}\n")).singleElement().asString()
                .endsWith("ike.port: 4500 is listen's port; IKE's own port is another");
        assertThat(problems(LOOPBACK + "ike: {relay: 192.0.2.9:7600}\n")).singleElement().asString()
                .contains("ike.relay");
        assertThat(problems(LOOPBACK.replace("listen: 127.0.0.2:4500", "listen: 0.0.0.0:4500")
                + "ike: {relay: 127.0.0.1:7600}\n")).singleElement().asString()
                .endsWith("listen: with ike.relay, the address the peers send to, not a wildcard (ike-service answers"
                        + " from it)");
    }
}
