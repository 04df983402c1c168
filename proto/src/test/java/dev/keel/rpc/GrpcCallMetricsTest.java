package dev.keel.rpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.proto.v1.GetChildSaRequest;
import dev.keel.proto.v1.GetChildSaResponse;
import dev.keel.proto.v1.LeaseSequenceRequest;
import dev.keel.proto.v1.LeaseSequenceResponse;
import dev.keel.proto.v1.SaServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class GrpcCallMetricsTest {

    @Test
    void countsCallsByMethodAndCodeAndTimesThem() throws Exception {
        PrometheusMeterRegistry registry = MetricsEndpoint.newRegistry();
        String name = InProcessServerBuilder.generateName();
        Server server = InProcessServerBuilder.forName(name).directExecutor()
                .addService(new SaServiceGrpc.SaServiceImplBase() {
                    @Override
                    public void leaseSequence(LeaseSequenceRequest req, StreamObserver<LeaseSequenceResponse> out) {
                        out.onNext(LeaseSequenceResponse.newBuilder().setStart(1).setEnd(65).build());
                        out.onCompleted();
                    }

                    @Override
                    public void getChildSa(GetChildSaRequest req, StreamObserver<GetChildSaResponse> out) {
                        out.onError(Status.NOT_FOUND.withDescription("no SA " + req.getId()).asRuntimeException());
                    }
                })
                .intercept(new GrpcCallMetrics(registry, "keel.sad.requests", "sad-service calls")).build().start();
        ManagedChannel channel = InProcessChannelBuilder.forName(name).directExecutor().build();
        try {
            var stub = SaServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
            stub.leaseSequence(LeaseSequenceRequest.getDefaultInstance());
            stub.leaseSequence(LeaseSequenceRequest.getDefaultInstance());
            assertThatThrownBy(() -> stub.getChildSa(GetChildSaRequest.newBuilder().setId("x").build()))
                    .isInstanceOf(StatusRuntimeException.class);
        } finally {
            channel.shutdownNow();
            server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }

        assertThat(registry.get("keel.sad.requests").tags("method", "LeaseSequence", "code", "OK").counter().count())
                .isEqualTo(2);
        assertThat(registry.get("keel.sad.requests").tags("method", "GetChildSa", "code", "NOT_FOUND").counter()
                .count()).isEqualTo(1);
        Timer leases = registry.get("keel.sad.requests.duration").tags("method", "LeaseSequence").timer();
        assertThat(leases.count()).isEqualTo(2);
        String text = registry.scrape();
        assertThat(text).contains("keel_sad_requests_total{code=\"OK\",method=\"LeaseSequence\"} 2.0",
                "keel_sad_requests_duration_seconds_bucket{method=\"LeaseSequence\",le=\"0.001\"}",
                "keel_sad_requests_duration_seconds_count{method=\"LeaseSequence\"} 2");
        Promtool.assertValid(text);
    }
}
