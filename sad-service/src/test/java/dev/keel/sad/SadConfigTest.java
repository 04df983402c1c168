package dev.keel.sad;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class SadConfigTest {

    @Test
    void parsesArgumentsWithDefaults() {
        SadConfig c = SadConfig.fromArgs(new String[] {"--node-id", "gw-a", "--kek-file=/etc/keel/kek.hex",
                "--members", "10.0.0.1:5701,10.0.0.2:5701", "--hazelcast-port", "5702", "--min-cluster-size", "2"});
        assertThat(c.nodeId()).isEqualTo("gw-a");
        assertThat(c.kekFile()).isEqualTo(Path.of("/etc/keel/kek.hex"));
        assertThat(c.members()).containsExactly("10.0.0.1:5701", "10.0.0.2:5701");
        assertThat(c.hazelcastPort()).isEqualTo(5702);
        assertThat(c.minClusterSize()).isEqualTo(2);
        assertThat(c.maxNoHeartbeatSeconds()).isEqualTo(3);
        assertThat(c.maintenanceIntervalMillis()).isEqualTo(5_000);
        assertThat(c.replayInitialMargin()).isEqualTo(64);
        assertThat(SadConfig.fromArgs(new String[] {"--node-id", "a", "--kek-file", "k", "--replay-initial-margin",
                "262144"}).replayInitialMargin()).isEqualTo(262_144);
    }

    @Test
    void everyProblemIsListedWithItsKey() {
        assertThatThrownBy(() -> SadConfig.fromArgs(new String[] {"--node-id", "gw a", "--kek-file", "k",
                "--hazelcast-port", "0", "--members", "nohostport", "--max-no-heartbeat-seconds", "1",
                "--replay-initial-margin", "0"}))
                .hasMessageContaining("node-id: 'gw a' must be")
                .hasMessageContaining("hazelcast-port: 0 is not in 1..65535")
                .hasMessageContaining("members[0]: 'nohostport' is not host:port")
                .hasMessageContaining("max-no-heartbeat-seconds: 1 must exceed heartbeat-interval-seconds 1")
                .hasMessageContaining("replay-initial-margin: 0 is not in 1..4294967296");
        assertThatThrownBy(() -> SadConfig.fromArgs(new String[] {"--node-id", "a", "--kek-file", "k", "--bogus", "1"}))
                .hasMessage("argument --bogus: unknown option");
        assertThatThrownBy(() -> SadConfig.fromArgs(new String[] {"--node-id", "a", "--kek-file", "k",
                "--grpc-port", "x"})).hasMessage("argument --grpc-port: 'x' is not a number");
        assertThatThrownBy(() -> SadConfig.fromArgs(new String[] {"--node-id", "a"}))
                .hasMessage("--node-id and --kek-file are required");
        assertThat(SadConfig.builder("a", Path.of("k")).build().members()).isEqualTo(List.of());
    }

    @Test
    void theClusterBindsOneAddressNeverAWildcard() {
        for (String wildcard : List.of("0.0.0.0", "::", "[::]", "0:0:0:0:0:0:0:0")) {
            assertThatThrownBy(() -> SadConfig.fromArgs(new String[] {"--node-id", "a", "--kek-file", "k",
                    "--bind-host", wildcard})).hasMessageContaining("bind-host: '" + wildcard + "' is every address");
        }
        SadConfig c = SadConfig.fromArgs(new String[] {"--node-id", "a", "--kek-file", "k", "--bind-host", "10.9.0.1"});
        assertThat(c.bindHost()).isEqualTo("10.9.0.1");
        assertThat(c.grpcListenHost()).as("gRPC on the bind host by default").isEqualTo("10.9.0.1");
        assertThat(SadConfig.fromArgs(new String[] {"--node-id", "a", "--kek-file", "k", "--bind-host", "10.9.0.1",
                "--grpc-host", "0.0.0.0"}).grpcListenHost()).as("the mutual-TLS API may listen elsewhere").isEqualTo("0.0.0.0");
    }
}
