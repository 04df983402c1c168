package dev.keel.ike.metrics;

import dev.keel.ike.engine.IkeEngine;
import dev.keel.ike.message.ExchangeType;
import dev.keel.ike.message.IkeDecodeResult;
import dev.keel.ike.session.IkeCounters;
import dev.keel.ike.session.IkeDrop;
import dev.keel.ike.session.IkeEvents;
import dev.keel.ike.session.IkeFailure;
import dev.keel.ike.session.IkeSa;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;

/**
 * The IKE engine's meters: IKE SAs up and half-open, exchanges by type and role and their failures
 * by cause, IKE SAs established and failed, rekeys, cookies, retransmissions, every drop by reason
 * (one family per enum: {@link IkeDecodeResult.Reason}, {@link IkeDrop}), takeovers' message ID
 * syncs, all read from {@link IkeCounters} ({@link #bind}); and the setup-latency histogram
 * (IKE_SA_INIT to established), registered when this is made and recorded as one of the engine's
 * {@link IkeEvents}: make it, pass it to the engine among its events, then bind the engine.
 * Registering takes class loading and the registry's lock: off the event loops.
 */
public final class IkeMetrics implements IkeEvents {

    /** Buckets of the setup histogram: a LAN round trip up to a peer retransmitting for half a minute. */
    static final Duration[] SETUP_BUCKETS = {Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25),
            Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500),
            Duration.ofSeconds(1), Duration.ofMillis(2500), Duration.ofSeconds(5), Duration.ofSeconds(10),
            Duration.ofSeconds(30)};

    private final MeterRegistry registry;
    private final Timer setup;

    /** Registers the setup histogram in {@code registry}: the engine's first IKE SA is observed too. */
    public IkeMetrics(MeterRegistry registry) {
        this.registry = registry;
        this.setup = Timer.builder("keel.ike.sa.setup").serviceLevelObjectives(SETUP_BUCKETS)
                .description("Time from IKE_SA_INIT (sent or received) to the IKE SA established").register(registry);
    }

    @Override
    public void ikeEstablished(IkeSa sa) {
        if (sa.setupMillis() >= 0) {
            setup.record(sa.setupMillis(), TimeUnit.MILLISECONDS);
        }
    }

    /** Registers the meters of {@code e}, the engine this is one of the events of. */
    public void bind(IkeEngine e) {
        IkeCounters c = e.counters();
        Gauge.builder("keel.ike.sas", e, IkeEngine::ikeSaCount).description("IKE SAs alive on this node")
                .register(registry);
        Gauge.builder("keel.ike.half.open.sas", e, IkeEngine::halfOpenCount)
                .description("Responder IKE SAs not authenticated yet").register(registry);
        counter(registry, "keel.ike.sa.established", c, IkeCounters::establishedCount,
                "IKE SAs that reached ESTABLISHED (both sides authenticated)");
        counter(registry, "keel.ike.sa.failed", c, IkeCounters::failedCount,
                "IKE SAs torn down before they were established");
        counter(registry, "keel.ike.child.sa.established", c, IkeCounters::childrenEstablishedCount,
                "CHILD SAs negotiated (rekeys included)");
        for (ExchangeType t : ExchangeType.values()) {
            for (boolean initiator : new boolean[] {true, false}) {
                counter(registry, "keel.ike.exchanges", c, k -> k.exchangeCount(t, initiator),
                        "IKE exchanges completed, by type and this side's role", "exchange", t.name(),
                        "role", initiator ? "initiator" : "responder");
            }
            for (IkeFailure f : IkeFailure.values()) {
                counter(registry, "keel.ike.exchange.failures", c, k -> k.exchangeFailureCount(t, f),
                        "IKE exchanges that failed, by type and cause", "exchange", t.name(), "cause", label(f));
            }
        }
        String rekeys = "Rekeys completed (RFC 7296 2.8, 2.18), of IKE SAs and of CHILD SAs";
        counter(registry, "keel.ike.rekeys", c, IkeCounters::ikeRekeyCount, rekeys, "sa", "ike");
        counter(registry, "keel.ike.rekeys", c, IkeCounters::childRekeyCount, rekeys, "sa", "child");
        counter(registry, "keel.ike.cookies.sent", c, IkeCounters::cookiesSent,
                "COOKIE notifies sent instead of a half-open IKE SA (RFC 7296 2.6)");
        counter(registry, "keel.ike.half.open.timeouts", c, IkeCounters::halfOpenTimeoutCount,
                "Half-open IKE SAs ended because they did not authenticate in time");
        counter(registry, "keel.ike.retransmissions", c, IkeCounters::retransmissionCount,
                "Requests of ours sent again after their retransmission timeout");
        counter(registry, "keel.ike.retransmitted.requests", c, IkeCounters::retransmittedRequests,
                "Retransmitted requests of peers answered again from the response cache");
        for (IkeDecodeResult.Reason r : IkeDecodeResult.Reason.values()) {
            counter(registry, "keel.ike.decode.drops", c, k -> k.droppedCount(r),
                    "IKE datagrams dropped while decoding, by reason", "reason", label(r));
        }
        for (IkeDrop d : IkeDrop.values()) {
            counter(registry, "keel.ike.drops", c, k -> k.droppedCount(d),
                    "Decoded IKE messages (or new IKE_SA_INITs) not processed, by reason", "reason", label(d));
        }
        counter(registry, "keel.ike.sa.adopted", c, IkeCounters::adoptedCount,
                "IKE SAs taken over from another node (docs/ha.md)");
        String syncs = "RFC 6311 message ID syncs: sent after a takeover, or answered for a peer that took over";
        counter(registry, "keel.ike.message.id.syncs", c, IkeCounters::messageIdSyncCount, syncs,
                "direction", "sent");
        counter(registry, "keel.ike.message.id.syncs", c, IkeCounters::messageIdSyncsAnsweredCount, syncs,
                "direction", "answered");
    }

    static <T> void counter(MeterRegistry registry, String name, T obj, ToDoubleFunction<T> value,
            String description, String... tags) {
        FunctionCounter.builder(name, obj, value).tags(tags).description(description).register(registry);
    }

    /** A label value from an enum constant: {@code ICV_FAILED} → {@code icv_failed}. */
    static String label(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT);
    }
}
