package dev.keel.policy.grpc;

import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import java.io.IOException;
import java.util.concurrent.TimeUnit;

/**
 * The policy-service gRPC server: keel.v1.PolicyService, grpc.health.v1 and server reflection on
 * a caller-supplied {@link ServerBuilder} (Netty in production, in-process in tests).
 */
public final class PolicyServer implements AutoCloseable {

    private final Server server;
    private final PolicyGrpcService service;
    private final HealthStatusManager health = new HealthStatusManager();

    /** Builds (does not start) the server on {@code builder}. */
    public PolicyServer(ServerBuilder<?> builder, PolicyGrpcService service) {
        this.service = service;
        this.server = builder
                .addService(service)
                .addService(health.getHealthService())
                .addService(ProtoReflectionServiceV1.newInstance())
                .build();
    }

    /** Starts serving and reports SERVING for the whole server and for keel.v1.PolicyService. */
    public PolicyServer start() throws IOException {
        server.start();
        health.setStatus("", ServingStatus.SERVING);
        health.setStatus(dev.keel.proto.v1.PolicyServiceGrpc.SERVICE_NAME, ServingStatus.SERVING);
        return this;
    }

    /** The port bound (-1 for in-process). */
    public int port() {
        return server.getPort();
    }

    /** Blocks until the server terminates. */
    public void awaitTermination() throws InterruptedException {
        server.awaitTermination();
    }

    /**
     * Reports NOT_SERVING, ends Watch streams (they never end by themselves), then stops, waiting
     * up to five seconds for unary calls in progress.
     */
    @Override
    public void close() {
        health.enterTerminalState();
        server.shutdown();
        service.closeWatches();
        try {
            if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
                server.shutdownNow();
            }
        } catch (InterruptedException e) {
            server.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
