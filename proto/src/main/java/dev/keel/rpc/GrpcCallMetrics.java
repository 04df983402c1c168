package dev.keel.rpc;

import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Counts the calls of a gRPC server by method and status code ({@code <prefix>_total}) and times
 * the unary ones ({@code <prefix>_duration_seconds}, a histogram by method): sad-service's
 * operations are {@code keel_sad_requests_total} and {@code keel_sad_request_duration_seconds}.
 * A stream (a Watch) is counted when it ends; its life is not a latency. A call the client
 * cancels counts as CANCELLED.
 */
public final class GrpcCallMetrics implements ServerInterceptor {

    /** Buckets of the duration histogram: sub-millisecond in-process calls up to the 10 s deadlines. */
    static final Duration[] BUCKETS = {Duration.ofNanos(250_000), Duration.ofNanos(500_000), Duration.ofMillis(1),
            Duration.ofMillis(2), Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25),
            Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500),
            Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(5), Duration.ofSeconds(10)};

    private final MeterRegistry registry;
    private final String prefix;
    private final String what;
    private final Map<String, MethodMeters> byMethod = new ConcurrentHashMap<>();

    /**
     * @param prefix the meters' name, dotted ({@code keel.sad.requests})
     * @param what   what a call is, for the meters' help text ({@code "sad-service calls"})
     */
    public GrpcCallMetrics(MeterRegistry registry, String prefix, String what) {
        this.registry = registry;
        this.prefix = prefix;
        this.what = what;
    }

    @Override
    public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call, Metadata headers,
            ServerCallHandler<ReqT, RespT> next) {
        MethodDescriptor<ReqT, RespT> method = call.getMethodDescriptor();
        MethodMeters meters = byMethod.computeIfAbsent(method.getFullMethodName(),
                n -> new MethodMeters(method.getBareMethodName(), method.getType() == MethodDescriptor.MethodType.UNARY));
        long started = System.nanoTime();
        AtomicBoolean ended = new AtomicBoolean();
        ServerCall<ReqT, RespT> counted = new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
            @Override
            public void close(Status status, Metadata trailers) {
                if (ended.compareAndSet(false, true)) {
                    meters.ended(status.getCode(), System.nanoTime() - started);
                }
                super.close(status, trailers);
            }
        };
        return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(next.startCall(counted, headers)) {
            @Override
            public void onCancel() {
                if (ended.compareAndSet(false, true)) {
                    meters.ended(Status.Code.CANCELLED, System.nanoTime() - started);
                }
                super.onCancel();
            }
        };
    }

    /** One method's counters by code (made on first use) and its timer. */
    private final class MethodMeters {
        private final String method;
        private final Timer duration;
        private final Map<Status.Code, Counter> calls = new EnumMap<>(Status.Code.class);

        MethodMeters(String method, boolean unary) {
            this.method = method;
            this.duration = unary ? Timer.builder(prefix + ".duration").description("Time to answer " + what
                    + " (unary calls), by method").tag("method", method).serviceLevelObjectives(BUCKETS)
                    .register(registry) : null;
        }

        void ended(Status.Code code, long nanos) {
            Counter c;
            synchronized (calls) {
                c = calls.computeIfAbsent(code, k -> Counter.builder(prefix).description(what + " answered, by method"
                        + " and gRPC status code").tag("method", method).tag("code", k.name()).register(registry));
            }
            c.increment();
            if (duration != null) {
                duration.record(nanos, TimeUnit.NANOSECONDS);
            }
        }
    }
}
