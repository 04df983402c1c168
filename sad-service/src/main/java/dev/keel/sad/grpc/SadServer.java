package dev.keel.sad.grpc;

import dev.keel.proto.v1.SaServiceGrpc;
import dev.keel.sad.SaDatabase;
import dev.keel.sad.watch.SaEventHub;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import java.io.IOException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * The sad-service gRPC server: SaService, grpc.health.v1 (overall and per service) and server
 * reflection, on whatever transport the injected {@link ServerBuilder} provides (Netty with
 * mutual TLS and the {@link SadApiRoles} interceptor in production, as {@code SadMain} builds it;
 * in-process in the gateway and in tests).
 */
public final class SadServer implements AutoCloseable {

    private final Server server;
    private final HealthStatusManager health = new HealthStatusManager();
    private final ExecutorService watchExecutor;

    public SadServer(ServerBuilder<?> builder, SaDatabase db, SaEventHub hub) {
        this.watchExecutor = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("keel-sad-watch-", 0).factory());
        this.server = builder
                .addService(new SaGrpcService(db, hub, watchExecutor))
                .addService(health.getHealthService())
                .addService(ProtoReflectionServiceV1.newInstance())
                .build();
    }

    public SadServer start() throws IOException {
        server.start();
        health.setStatus("", ServingStatus.SERVING);
        health.setStatus(SaServiceGrpc.SERVICE_NAME, ServingStatus.SERVING);
        return this;
    }

    /** The bound port (for a network server), -1 for in-process. */
    public int port() {
        return server.getPort();
    }

    @Override
    public void close() {
        health.enterTerminalState();
        server.shutdown();
        try {
            if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
                server.shutdownNow();
                server.awaitTermination(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            server.shutdownNow();
        }
        watchExecutor.shutdownNow();
    }
}
