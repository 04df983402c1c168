package dev.keel.gateway;

import dev.keel.esp.metrics.DataPlaneMetrics;
import dev.keel.ike.metrics.IkeMetrics;
import dev.keel.ike.metrics.IkeServiceMetrics;
import dev.keel.policy.store.PolicyMetrics;
import dev.keel.rpc.GrpcCallMetrics;
import dev.keel.rpc.MetricsEndpoint;
import dev.keel.sad.SadMetrics;
import java.io.IOException;
import java.net.InetSocketAddress;

/**
 * A gateway's Prometheus endpoint ({@code metrics: {listen: ...}}) with the meters of the four
 * services it embeds, as each service alone has them: the data plane's, the IKE engine's (its
 * setup histogram is recorded as one of the engine's events: {@link #ike}), IKE's work through
 * the SAD, the SAD member's and its calls ({@link #sadCalls}, on the in-process server the node's
 * own services call), policy-service's. Made and bound off the event loops: registering meters
 * loads classes and takes the registry's and the SA tables' locks.
 */
final class GatewayMetrics implements AutoCloseable {

    private final MetricsEndpoint endpoint;
    /** The IKE engine's meters; the engine tells it of every IKE SA established. */
    final IkeMetrics ike;
    private DataPlaneMetrics dataPlane;

    private GatewayMetrics(MetricsEndpoint endpoint, IkeMetrics ike) {
        this.endpoint = endpoint;
        this.ike = ike;
    }

    /** Serves on {@code listen}, the setup histogram registered (the node's meters follow in {@link #bind}). */
    static GatewayMetrics start(InetSocketAddress listen) throws IOException {
        MetricsEndpoint endpoint = MetricsEndpoint.start(listen);
        return new GatewayMetrics(endpoint, new IkeMetrics(endpoint.registry()));
    }

    /** Counts and times the calls of the embedded sad-service member. */
    GrpcCallMetrics sadCalls() {
        return SadMetrics.callMetrics(endpoint.registry());
    }

    /** Binds the meters of a started node. */
    synchronized void bind(GatewayNode node, EmbeddedServices services) {
        var registry = endpoint.registry();
        dataPlane = DataPlaneMetrics.of(node.dataPlane(), services.feeds);
        dataPlane.bindTo(registry);
        ike.bind(node.engine());
        new IkeServiceMetrics(node.installer(), node.ikeStore(), node.takeovers(), node.claims(), node.spis(), null)
                .bindTo(registry);
        new SadMetrics(services.sad).bindTo(registry);
        new PolicyMetrics(services.policy).bindTo(registry);
    }

    /** The endpoint. */
    MetricsEndpoint endpoint() {
        return endpoint;
    }

    @Override
    public synchronized void close() {
        if (dataPlane != null) {
            dataPlane.close();
        }
        endpoint.close();
    }
}
