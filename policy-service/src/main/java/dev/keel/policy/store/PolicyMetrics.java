package dev.keel.policy.store;

import dev.keel.rpc.GrpcCallMetrics;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;

/**
 * policy-service's meters: the configuration it serves (its revision and connections) and the
 * Watch streams following it; its calls (LoadConfig included) are counted and
 * timed by {@link #callMetrics} on its gRPC server.
 */
public final class PolicyMetrics implements MeterBinder {

    private final PolicyStore store;

    /** The meters of {@code store}. */
    public PolicyMetrics(PolicyStore store) {
        this.store = store;
    }

    /** Counts and times the calls of a policy-service gRPC server ({@code keel_policy_requests_*}). */
    public static GrpcCallMetrics callMetrics(MeterRegistry registry) {
        return new GrpcCallMetrics(registry, "keel.policy.requests", "policy-service calls");
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        Gauge.builder("keel.policy.revision", store, s -> s.current().revision())
                .description("Revision of the configuration served (each load that changes it adds one)")
                .register(registry);
        Gauge.builder("keel.policy.connections", store, s -> s.current().config().connections().size())
                .description("Connections in the configuration served").register(registry);
        Gauge.builder("keel.policy.watchers", store, PolicyStore::subscriberCount)
                .description("Watch streams following the configuration (ike-service, esp-workers)").register(registry);
    }
}
