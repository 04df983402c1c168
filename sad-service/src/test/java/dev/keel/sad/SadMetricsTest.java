package dev.keel.sad;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.proto.v1.Direction;
import dev.keel.rpc.MetricsEndpoint;
import dev.keel.rpc.Promtool;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A sad-service member's meters follow the cluster and its keeper: members, the records each
 * member holds, and the takeover of a departed member's SAs with its duration.
 */
class SadMetricsTest {

    @Test
    void theTakeoverOfADepartedMembersSasIsCountedAndTimed() throws Exception {
        // A maintenance pass that runs as n2 leaves takes its SAs over as orphans and leaves the
        // takeover none to count. Passes run on the keeper's thread: the first after a JIT warm-up
        // (which can end just then), the next ones every period (and at once if overdue). So: a
        // period longer than the test, and n2 leaves only after the first pass.
        try (TwoNodeFixture g = new TwoNodeFixture(1_000, 600_000)) {
            PrometheusMeterRegistry r1 = MetricsEndpoint.newRegistry();
            PrometheusMeterRegistry r2 = MetricsEndpoint.newRegistry();
            new SadMetrics(g.n1).bindTo(r1);
            new SadMetrics(g.n2).bindTo(r2);
            for (int i = 0; i < 3; i++) { // owned by n2, which installs them
                g.s2().installChildSa(TestSupport.gcmSa("m-" + i, 0x6601 + i, Direction.DIRECTION_INBOUND).build());
            }

            assertThat(r1.get("keel.sad.cluster.members").gauge().value()).isEqualTo(2);
            assertThat(r1.get("keel.sad.maintainer").gauge().value() + r2.get("keel.sad.maintainer").gauge().value())
                    .as("one member maintains ownership").isEqualTo(1);
            assertThat(r1.get("keel.sad.records").tag("kind", "child").gauge().value()
                    + r2.get("keel.sad.records").tag("kind", "child").gauge().value())
                    .as("each record in one member's partitions").isEqualTo(3);
            assertThat(r1.get("keel.sad.takeovers").functionTimer().count()).isZero();

            long firstPass = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (g.n1.keeper().passes() == 0 && System.nanoTime() < firstPass) {
                Thread.sleep(20);
            }
            g.n2.close();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (g.n1.keeper().takeoversDone() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }

            FunctionTimer takeovers = r1.get("keel.sad.takeovers").functionTimer();
            assertThat(takeovers.count()).isEqualTo(1).isEqualTo(g.n1.keeper().takeoversDone());
            assertThat(takeovers.totalTime(TimeUnit.NANOSECONDS)).isPositive()
                    .isEqualTo((double) g.n1.keeper().takeoverNanos());
            assertThat(r1.get("keel.sad.takeover.child.sas").functionCounter().count()).isEqualTo(3);
            assertThat(r1.get("keel.sad.takeover.last.duration").gauge().value())
                    .isEqualTo(g.n1.keeper().lastTakeoverMillis() / 1000.0);
            assertThat(r1.get("keel.sad.cluster.members").gauge().value()).isEqualTo(1);
            assertThat(r1.get("keel.sad.records").tag("kind", "child").gauge().value()).isEqualTo(3);
            assertThat(r2.get("keel.sad.cluster.members").gauge().value()).as("a member that left").isNaN();
            String text = r1.scrape();
            assertThat(text).contains("keel_sad_takeovers_seconds_count 1\n", "keel_sad_takeover_child_sas_total 3.0");
            Promtool.assertValid(text);
        }
    }

    @Test
    void theMetricsOptionIsTakenOutOfTheArguments() {
        List<String> rest = new ArrayList<>();
        assertThat(SadMain.metricsOption(new String[] {"--node-id", "n1", "--metrics-listen", "127.0.0.1:9500",
                "--grpc-port=7443"}, rest)).isEqualTo(new InetSocketAddress("127.0.0.1", 9500));
        assertThat(rest).containsExactly("--node-id", "n1", "--grpc-port=7443");
        assertThat(SadMain.metricsOption(new String[] {"--metrics-listen=::1"}, new ArrayList<>()))
                .isEqualTo(new InetSocketAddress("::1", 9464));
        assertThat(SadMain.metricsOption(new String[] {"--node-id", "n1"}, new ArrayList<>())).isNull();
        assertThatThrownBy(() -> SadMain.metricsOption(new String[] {"--metrics-listen", "sad.example"},
                new ArrayList<>())).hasMessageStartingWith("--metrics-listen: ");
        assertThatThrownBy(() -> SadMain.metricsOption(new String[] {"--metrics-listen"}, new ArrayList<>()))
                .hasMessage("--metrics-listen: missing value");
    }
}
