package dev.keel.gateway;

import dev.keel.esp.forward.FedGateway;
import dev.keel.esp.forward.ForwardDrop;
import dev.keel.esp.packet.DecapOutcome;
import dev.keel.esp.packet.EncapOutcome;
import java.util.EnumMap;
import java.util.Map;
import java.util.StringJoiner;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs what the data plane dropped, by reason, once per interval in which it dropped anything:
 * the one place an operator without a metrics scraper sees why packets vanished (a takeover's
 * replay floor, an SPI claimed elsewhere, no SA for a route).
 */
final class DropReport implements Runnable {

    private static final Logger LOG = LoggerFactory.getLogger(DropReport.class);
    private static final long INTERVAL_SECONDS = 5;

    private final FedGateway dataPlane;
    private Map<ForwardDrop, Long> forwarding;
    private Map<DecapOutcome, Long> inbound;
    private Map<EncapOutcome, Long> outbound;

    private DropReport(FedGateway dataPlane) {
        this.dataPlane = dataPlane;
        this.forwarding = dataPlane.counters().dropSnapshot();
        this.inbound = dataPlane.espCounters().inboundSnapshot();
        this.outbound = dataPlane.espCounters().outboundSnapshot();
    }

    /** Reports {@code dataPlane}'s drops every few seconds on {@code timer} until it shuts down. */
    static void start(ScheduledExecutorService timer, FedGateway dataPlane) {
        timer.scheduleWithFixedDelay(new DropReport(dataPlane), INTERVAL_SECONDS, INTERVAL_SECONDS, TimeUnit.SECONDS);
    }

    @Override
    public void run() {
        Map<ForwardDrop, Long> f = dataPlane.counters().dropSnapshot();
        Map<DecapOutcome, Long> in = dataPlane.espCounters().inboundSnapshot();
        Map<EncapOutcome, Long> out = dataPlane.espCounters().outboundSnapshot();
        StringJoiner line = new StringJoiner(", ");
        grown(forwarding, f, null, "", line);
        grown(inbound, in, DecapOutcome.DELIVERED, "ESP in ", line);
        grown(outbound, out, EncapOutcome.PROTECTED, "ESP out ", line);
        forwarding = f;
        inbound = in;
        outbound = out;
        if (line.length() > 0) {
            LOG.info("data plane drops in the last {} s: {}", INTERVAL_SECONDS, line);
        }
    }

    private static <K extends Enum<K>> void grown(Map<K, Long> before, Map<K, Long> now, K notADrop, String prefix,
            StringJoiner line) {
        Map<K, Long> delta = new EnumMap<>(now);
        delta.replaceAll((k, v) -> v - before.getOrDefault(k, 0L));
        delta.forEach((k, d) -> {
            if (d > 0 && k != notADrop) {
                line.add(prefix + k + " " + d);
            }
        });
    }
}
