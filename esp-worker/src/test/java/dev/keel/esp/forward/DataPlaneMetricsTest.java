package dev.keel.esp.forward;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keel.esp.acquire.AcquireLimiter;
import dev.keel.esp.acquire.ExpiryListener;
import dev.keel.esp.feed.SaMaintenance;
import dev.keel.esp.feed.WorkerFeeds;
import dev.keel.esp.metrics.DataPlaneMetrics;
import dev.keel.esp.packet.DecapOutcome;
import dev.keel.esp.packet.EncapOutcome;
import dev.keel.esp.packet.EspCounters;
import dev.keel.proto.ChildKeyUnwrapper;
import dev.keel.proto.v1.ChildSaRecord;
import dev.keel.proto.v1.Direction;
import dev.keel.rpc.MetricsEndpoint;
import dev.keel.rpc.Promtool;
import dev.keel.sad.keys.KeyEncryptionKey;
import dev.keel.sad.keys.KeyWrap;
import io.grpc.ManagedChannel;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.micrometer.core.instrument.Meter;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The data plane's meters read its counters (nothing counted twice), every drop reason of each
 * outcome enum has its series, and an SA's series go with the SA while the totals keep its count.
 */
class DataPlaneMetricsTest {

    private final byte[] kek = new byte[32];
    private final KeyWrap wrap;
    private final ManagedChannel nowhere = InProcessChannelBuilder.forName("nowhere").build();
    private final ExecutorService acquireExecutor = Executors.newSingleThreadExecutor();
    private final WorkerFeeds feeds; // never started: its tables are filled by the test
    private final ForwardCounters forward = new ForwardCounters();
    private final EspCounters esp = new EspCounters();
    private final PrometheusMeterRegistry registry = MetricsEndpoint.newRegistry();
    private final DataPlaneMetrics metrics;

    DataPlaneMetricsTest() {
        new SecureRandom().nextBytes(kek);
        wrap = new KeyWrap(KeyEncryptionKey.of(kek));
        feeds = new WorkerFeeds(nowhere, nowhere, "w1", new ChildKeyUnwrapper(kek), SaMaintenance.Settings.defaults(),
                ExpiryListener.NONE);
        metrics = new DataPlaneMetrics(forward, esp, new AcquireLimiter(a -> { }, acquireExecutor,
                Duration.ofSeconds(1)), feeds);
        metrics.bindTo(registry);
    }

    @AfterEach
    void close() {
        metrics.close();
        feeds.close();
        nowhere.shutdownNow();
        acquireExecutor.shutdownNow();
    }

    private double value(String name, String... tags) {
        return registry.get(name).tags(tags).functionCounter().count();
    }

    @Test
    void packetsAndDropsFollowTheCountersTheyAreBoundTo() throws Exception {
        esp.count(DecapOutcome.DELIVERED);
        esp.count(DecapOutcome.DELIVERED);
        esp.count(DecapOutcome.HELD);
        esp.count(DecapOutcome.ICV_FAILURE);
        esp.count(EncapOutcome.PROTECTED);
        esp.count(EncapOutcome.NO_SEQUENCE_LEASE);
        forward.drop(ForwardDrop.NO_ROUTE);
        forward.plaintextIn.add(5);
        forward.outerOut.add(4);

        assertThat(value("keel.esp.packets", "direction", "in")).isEqualTo(2);
        assertThat(value("keel.esp.packets", "direction", "out")).isEqualTo(1);
        assertThat(value("keel.esp.held.packets")).isEqualTo(1);
        assertThat(value("keel.esp.inbound.drops", "reason", "icv_failure")).isEqualTo(1);
        assertThat(value("keel.esp.inbound.drops", "reason", "replayed")).isZero();
        assertThat(value("keel.esp.outbound.drops", "reason", "no_sequence_lease")).isEqualTo(1);
        assertThat(value("keel.forward.drops", "reason", "no_route")).isEqualTo(1);
        assertThat(value("keel.forward.plaintext.packets", "direction", "in")).isEqualTo(5);
        assertThat(value("keel.forward.outer.datagrams", "direction", "out")).isEqualTo(4);

        esp.count(DecapOutcome.DELIVERED); // read at every scrape: no copy to keep in step
        assertThat(value("keel.esp.packets", "direction", "in")).isEqualTo(3);
        Promtool.assertValid(registry.scrape());
    }

    @Test
    void everyDropReasonOfEachOutcomeEnumHasItsSeries() {
        assertThat(reasons("keel.esp.inbound.drops")).isEqualTo(drops(DecapOutcome.values(), DecapOutcome::isDrop));
        assertThat(reasons("keel.esp.outbound.drops")).isEqualTo(drops(EncapOutcome.values(), EncapOutcome::isDrop));
        assertThat(reasons("keel.forward.drops")).isEqualTo(drops(ForwardDrop.values(), d -> true));
        assertThat(reasons("keel.esp.inbound.drops")).doesNotContain("delivered", "held");
    }

    private Set<String> reasons(String name) {
        return registry.find(name).meters().stream().map(m -> m.getId().getTag("reason")).collect(Collectors.toSet());
    }

    private static <E extends Enum<E>> Set<String> drops(E[] values, java.util.function.Predicate<E> isDrop) {
        return Arrays.stream(values).filter(isDrop).map(e -> e.name().toLowerCase(Locale.ROOT))
                .collect(Collectors.toSet());
    }

    @Test
    void anSasSeriesComeAndGoWithItAndTheTotalsKeepItsCount() throws Exception {
        feeds.sas().upsert(record("in-1", 0x1001, Direction.DIRECTION_INBOUND));
        feeds.sas().upsert(record("out-1", 0x2001, Direction.DIRECTION_OUTBOUND));
        feeds.sas().get("in-1").sa().count(1000);
        feeds.sas().get("in-1").sa().count(400);
        feeds.sas().get("out-1").sa().count(300);
        feeds.sas().get("out-1").sa().countDrop();

        String[] in1 = {"spi", "00001001", "direction", "in", "connection", "site-b", "child", "net"};
        assertThat(value("keel.esp.sa.packets", in1)).isEqualTo(2);
        assertThat(value("keel.esp.sa.bytes", in1)).isEqualTo(1400);
        assertThat(value("keel.esp.sa.drops", "spi", "00002001", "direction", "out")).isEqualTo(1);
        assertThat(value("keel.esp.bytes", "direction", "in")).isEqualTo(1400);
        assertThat(value("keel.esp.bytes", "direction", "out")).isEqualTo(300);
        assertThat(registry.get("keel.esp.sas").tags("direction", "in").gauge().value()).isEqualTo(1);
        String text = registry.scrape();
        assertThat(text).contains("keel_esp_sa_bytes_total{child=\"net\",connection=\"site-b\",direction=\"in\","
                + "spi=\"00001001\"} 1400.0");
        Promtool.assertValid(text);

        feeds.sas().remove("in-1");

        assertThat(registry.find("keel.esp.sa.packets").tag("spi", "00001001").meters()).isEmpty();
        assertThat(registry.find("keel.esp.sa.bytes").tag("spi", "00001001").meters()).isEmpty();
        assertThat(registry.find("keel.esp.sa.drops").tag("spi", "00001001").meters()).isEmpty();
        assertThat(registry.scrape()).doesNotContain("00001001");
        assertThat(value("keel.esp.bytes", "direction", "in")).as("the removed SA's bytes stay in the total")
                .isEqualTo(1400);
        assertThat(registry.get("keel.esp.sas").tags("direction", "in").gauge().value()).isZero();
        assertThat(registry.find("keel.esp.sa.packets").tag("spi", "00002001").meters()).hasSize(1);

        feeds.sas().clear();
        assertThat(registry.find("keel.esp.sa.packets").meters()).isEmpty();
        assertThat(value("keel.esp.bytes", "direction", "out")).isEqualTo(300);
    }

    @Test
    void closingTheBinderRemovesTheSeriesAndStopsFollowing() {
        feeds.sas().upsert(record("in-1", 0x1001, Direction.DIRECTION_INBOUND));
        metrics.close();

        assertThat(registry.find("keel.esp.sa.packets").meters()).isEmpty();
        feeds.sas().upsert(record("in-2", 0x1002, Direction.DIRECTION_INBOUND));
        assertThat(registry.find("keel.esp.sa.packets").meters()).as("no longer told of SAs").isEmpty();
    }

    @Test
    void anSaInstalledBeforeTheBinderGetsItsSeries() {
        PrometheusMeterRegistry later = MetricsEndpoint.newRegistry();
        feeds.sas().upsert(record("in-1", 0x1001, Direction.DIRECTION_INBOUND));
        DataPlaneMetrics m = new DataPlaneMetrics(forward, esp, new AcquireLimiter(a -> { }, acquireExecutor,
                Duration.ofSeconds(1)), feeds);
        m.bindTo(later);
        try {
            assertThat(later.find("keel.esp.sa.packets").meters()).extracting(Meter::getId)
                    .extracting(id -> id.getTag("spi")).containsExactly("00001001");
        } finally {
            m.close();
        }
    }

    private ChildSaRecord record(String id, int spi, Direction dir) {
        return dev.keel.esp.feed.FedRecords.record(id, spi, dir, "w1", wrap);
    }
}
