package dev.keel.esp.metrics;

import dev.keel.esp.net.IkeRelayClient;
import dev.keel.esp.net.UnknownSpiReports;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;

/**
 * A fed esp-worker's link to ike-service (docs/esp-worker.md): IKE datagrams relayed, the relay's
 * drops by reason ({@link IkeRelayClient.Drop}), its reconnects, and what became of the reports of
 * ESP with an SPI that has no SA here ({@link UnknownSpiReports.Outcome}), read from their counters.
 */
public final class IkeRelayMetrics implements MeterBinder {

    private final IkeRelayClient relay;
    private final UnknownSpiReports unknownSpi;

    /** The meters of {@code relay} and of the unknown-SPI reports it carries. */
    public IkeRelayMetrics(IkeRelayClient relay, UnknownSpiReports unknownSpi) {
        this.relay = relay;
        this.unknownSpi = unknownSpi;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        FunctionCounter.builder("keel.esp.ike.relay.datagrams", relay, IkeRelayClient::relayed)
                .description("IKE datagrams from peers relayed to ike-service").register(registry);
        FunctionCounter.builder("keel.esp.ike.relay.connects", relay, IkeRelayClient::connects)
                .description("Relay streams to ike-service opened (each reconnect counts)").register(registry);
        for (IkeRelayClient.Drop d : IkeRelayClient.Drop.values()) {
            FunctionCounter.builder("keel.esp.ike.relay.drops", relay, r -> r.drops(d))
                    .tag("reason", DataPlaneMetrics.reason(d))
                    .description("IKE messages not relayed (either way), by reason").register(registry);
        }
        for (UnknownSpiReports.Outcome o : UnknownSpiReports.Outcome.values()) {
            FunctionCounter.builder("keel.esp.unknown.spi.reports", unknownSpi, u -> u.count(o))
                    .tag("outcome", DataPlaneMetrics.reason(o))
                    .description("ESP with an SPI that has no SA here, by what became of its report to ike-service")
                    .register(registry);
        }
    }
}
