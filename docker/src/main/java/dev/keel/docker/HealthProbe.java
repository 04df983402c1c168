package dev.keel.docker;

import dev.keel.rpc.KeelLog;
import dev.keel.rpc.LogSettings;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import java.util.concurrent.TimeUnit;

/**
 * The images' healthcheck ({@code keel-health TARGET [SERVICE]}): asks grpc.health.v1 at TARGET
 * ({@code unix:/path} or {@code host:port}, see {@link AdminChannels}) for SERVICE (default: the
 * server as a whole) and exits 0 when it answers SERVING within 8 s (the healthcheck's timeout is 10 s), 1 otherwise, printing one line.
 */
public final class HealthProbe {

    private HealthProbe() {}

    public static void main(String[] args) throws Exception {
        KeelLog.install(LogSettings.parse("error", false)); // a probe's output is its one answer line
        if (args.length < 1 || args.length > 2) {
            System.err.println("usage: keel-health TARGET [SERVICE]   (TARGET: unix:/path or host:port)");
            System.exit(2);
        }
        String service = args.length == 2 ? args[1] : "";
        ManagedChannel channel;
        try {
            channel = AdminChannels.open(args[0], System.getenv());
        } catch (IllegalArgumentException e) {
            System.out.println("keel-health: " + e.getMessage());
            System.exit(2);
            return;
        }
        int exit;
        try {
            HealthCheckResponse r = HealthGrpc.newBlockingStub(channel).withDeadlineAfter(8, TimeUnit.SECONDS)
                    .check(HealthCheckRequest.newBuilder().setService(service).build());
            System.out.println("keel-health " + args[0] + " " + (service.isEmpty() ? "(server)" : service)
                    + ": " + r.getStatus());
            exit = r.getStatus() == HealthCheckResponse.ServingStatus.SERVING ? 0 : 1;
        } catch (StatusRuntimeException e) {
            System.out.println("keel-health " + args[0] + ": " + e.getStatus().getCode()
                    + (e.getStatus().getDescription() == null ? "" : " " + e.getStatus().getDescription()));
            exit = 1;
        } finally {
            channel.shutdownNow();
        }
        System.exit(exit);
    }
}
