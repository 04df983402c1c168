package dev.keel.rpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keel.proto.v1.GetChildSaRequest;
import dev.keel.proto.v1.GetChildSaResponse;
import dev.keel.proto.v1.InstallChildSaRequest;
import dev.keel.proto.v1.InstallChildSaResponse;
import dev.keel.proto.v1.ListChildSasRequest;
import dev.keel.proto.v1.ListChildSasResponse;
import dev.keel.proto.v1.SaServiceGrpc;
import io.grpc.Attributes;
import io.grpc.ForwardingServerCall;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import javax.net.ssl.SSLSession;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The admin API's guards in one in-process server: guarded request fields ({@link MethodRoles}),
 * refused calls counted and logged once a minute ({@link RefusedCalls}), and per-client rate
 * limits ({@link CallRateLimits}). Clients present real certificates (Bouncy Castle) through a
 * stand-in TLS session, picked per call by a header.
 */
class AdminGuardsTest {

    enum Role { READER, INSTALLER, IKE }

    private static final MethodRoles<Role> TABLE = MethodRoles.builder(Role.class)
            .allow(SaServiceGrpc.getGetChildSaMethod(), Role.READER, Role.INSTALLER)
            .allow(SaServiceGrpc.getListChildSasMethod(), Role.READER, Role.INSTALLER, Role.IKE)
            .allow(SaServiceGrpc.getInstallChildSaMethod(), Role.INSTALLER)
            .guardField(SaServiceGrpc.getGetChildSaMethod(), "include_wrapped_keys", Role.INSTALLER)
            .build();

    private static final Metadata.Key<String> AS = Metadata.Key.of("test-client", Metadata.ASCII_STRING_MARSHALLER);

    @TempDir
    Path dir;

    private final Map<String, X509Certificate> certs = new java.util.HashMap<>();
    private final AtomicInteger served = new AtomicInteger();
    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private RoleAuthorization<Role> authorization;
    private Server server;
    private ManagedChannel channel;
    private final List<LogRecord> lines = new ArrayList<>();
    private final Handler capture = new Handler() {
        @Override
        public void publish(LogRecord r) {
            synchronized (lines) {
                lines.add(r);
            }
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
    };

    @BeforeEach
    void start() throws Exception {
        TestPki.Issued ca = TestPki.ca(dir, "ca");
        certs.put("reader", TestPki.leaf(dir, ca, "reader").cert());
        certs.put("installer", TestPki.leaf(dir, ca, "installer").cert());
        certs.put("nobody", TestPki.leaf(dir, ca, "nobody").cert());
        certs.put("ike-service", TestPki.leaf(dir, ca, "ike-service").cert());
        authorization = RoleAuthorization.of(TABLE, Map.of(Role.READER, Set.of("reader"),
                Role.INSTALLER, Set.of("installer"), Role.IKE, Set.of("ike-service")), new RefusedCalls(now::get));
        CallRateLimits limits = new CallRateLimits(Map.of(CallRateLimits.Group.LIST,
                new CallRateLimits.Limit(6, 2)), authorization.refusals(), now::get);
        String name = InProcessServerBuilder.generateName();
        server = InProcessServerBuilder.forName(name).directExecutor()
                .addService(new SaServiceGrpc.SaServiceImplBase() {
                    @Override
                    public void getChildSa(GetChildSaRequest req, StreamObserver<GetChildSaResponse> out) {
                        served.incrementAndGet();
                        out.onNext(GetChildSaResponse.getDefaultInstance());
                        out.onCompleted();
                    }

                    @Override
                    public void listChildSas(ListChildSasRequest req, StreamObserver<ListChildSasResponse> out) {
                        served.incrementAndGet();
                        out.onNext(ListChildSasResponse.getDefaultInstance());
                        out.onCompleted();
                    }

                    @Override
                    public void installChildSa(InstallChildSaRequest req, StreamObserver<InstallChildSaResponse> out) {
                        served.incrementAndGet();
                        out.onNext(InstallChildSaResponse.getDefaultInstance());
                        out.onCompleted();
                    }
                })
                .intercept(limits) // runs after the authorization
                .intercept(authorization)
                .intercept(new FakeTls())
                .build().start();
        channel = InProcessChannelBuilder.forName(name).directExecutor().build();
        Logger.getLogger(RefusedCalls.class.getName()).addHandler(capture);
    }

    @AfterEach
    void stop() throws Exception {
        Logger.getLogger(RefusedCalls.class.getName()).removeHandler(capture);
        channel.shutdownNow();
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    private SaServiceGrpc.SaServiceBlockingStub as(String client) {
        Metadata h = new Metadata();
        if (client != null) {
            h.put(AS, client);
        }
        return SaServiceGrpc.newBlockingStub(channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(h))
                .withDeadlineAfter(10, TimeUnit.SECONDS);
    }

    private static Status status(Runnable call) {
        try {
            call.run();
            return Status.OK;
        } catch (StatusRuntimeException e) {
            return e.getStatus();
        }
    }

    private int lineCount() {
        synchronized (lines) {
            return lines.size();
        }
    }

    @Test
    void wrappedKeysOnlyForTheInstallingRoleAndAReaderIsToldWhichFieldAndRole() {
        GetChildSaRequest withKeys = GetChildSaRequest.newBuilder().setId("sa-1").setIncludeWrappedKeys(true).build();
        GetChildSaRequest plain = GetChildSaRequest.newBuilder().setId("sa-1").build();

        Status reader = status(() -> as("reader").getChildSa(withKeys));
        assertThat(reader.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThat(reader.getDescription()).contains("may not set include_wrapped_keys on keel.v1.SaService/GetChildSa",
                "needs role INSTALLER");
        assertThat(served).as("the service never saw the refused request").hasValue(0);

        assertThat(status(() -> as("reader").getChildSa(plain)).getCode()).isEqualTo(Status.Code.OK);
        assertThat(status(() -> as("installer").getChildSa(withKeys)).getCode()).isEqualTo(Status.Code.OK);
        assertThat(served).hasValue(2);
        assertThat(authorization.refusals().count("keel.v1.SaService/GetChildSa", Status.Code.PERMISSION_DENIED))
                .isEqualTo(1);
    }

    @Test
    void aGuardedFieldMustExistInTheRequest() {
        assertThatThrownBy(() -> MethodRoles.builder(Role.class)
                .guardField(SaServiceGrpc.getListChildSasMethod(), "include_wrapped_keys", Role.INSTALLER))
                .hasMessage("keel.v1.SaService/ListChildSas: keel.v1.ListChildSasRequest has no field"
                        + " include_wrapped_keys");
    }

    @Test
    void refusedCallsAreCountedOnTheEndpointAndABurstLogsOneLine() {
        PrometheusMeterRegistry registry = MetricsEndpoint.newRegistry();
        status(() -> as(null).getChildSa(GetChildSaRequest.getDefaultInstance())); // counted before the binding
        authorization.refusals().bindTo(registry);
        int before = lineCount();
        for (int i = 0; i < 100; i++) {
            Status s = status(() -> as("reader").installChildSa(InstallChildSaRequest.getDefaultInstance()));
            assertThat(s.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
        }
        assertThat(served).hasValue(0);
        assertThat(lineCount() - before).as("100 refusals in a burst, one line").isEqualTo(1);
        LogRecord line = lines.getLast();
        assertThat(java.text.MessageFormat.format(line.getMessage(), line.getParameters()))
                .contains("refused keel.v1.SaService/InstallChildSa from '", "CN=reader'", "(roles: reader)",
                        "PERMISSION_DENIED", "needs role INSTALLER");

        String scrape = registry.scrape();
        assertThat(scrape).contains("keel_grpc_refused_total{code=\"PERMISSION_DENIED\",method=\"InstallChildSa\","
                + "reason=\"role\",role=\"reader\",service=\"keel.v1.SaService\"} 100.0");
        assertThat(scrape).contains("keel_grpc_refused_total{code=\"UNAUTHENTICATED\",method=\"GetChildSa\","
                + "reason=\"no_certificate\",role=\"none\",service=\"keel.v1.SaService\"} 1.0");

        // A minute on, the next refusal is logged again with the count of those left out.
        now.addAndGet(RefusedCalls.LOG_INTERVAL.toNanos());
        status(() -> as("reader").installChildSa(InstallChildSaRequest.getDefaultInstance()));
        assertThat(lineCount() - before).isEqualTo(2);
        line = lines.getLast();
        assertThat(java.text.MessageFormat.format(line.getMessage(), line.getParameters()))
                .contains("and 99 more such refusals");
        // Another client's refusal is its own line.
        status(() -> as("nobody").installChildSa(InstallChildSaRequest.getDefaultInstance()));
        assertThat(lineCount() - before).isEqualTo(3);
    }

    @Test
    void listingsAreRateLimitedPerClientAndTheRefusalSaysWhenToRetry() {
        PrometheusMeterRegistry registry = MetricsEndpoint.newRegistry();
        authorization.refusals().bindTo(registry);
        ListChildSasRequest first = ListChildSasRequest.getDefaultInstance();
        // 6 a minute, bursts of 2: two at once, the third refused for 10 s.
        assertThat(status(() -> as("reader").listChildSas(first)).getCode()).isEqualTo(Status.Code.OK);
        assertThat(status(() -> as("reader").listChildSas(first)).getCode()).isEqualTo(Status.Code.OK);
        Status third = status(() -> as("reader").listChildSas(first));
        assertThat(third.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(third.getDescription()).contains("CN=reader'", "rate limit of list calls (ListChildSas)",
                "6 a minute, bursts of 2", "retry in 10000 ms");
        assertThat(served).hasValue(2);
        // Later pages of a listing take no token; another client has its own bucket.
        assertThat(status(() -> as("reader").listChildSas(ListChildSasRequest.newBuilder().setPageToken("p2")
                .build())).getCode()).isEqualTo(Status.Code.OK);
        assertThat(status(() -> as("installer").listChildSas(first)).getCode()).isEqualTo(Status.Code.OK);
        // Unlimited methods stay open.
        assertThat(status(() -> as("reader").getChildSa(GetChildSaRequest.getDefaultInstance())).getCode())
                .isEqualTo(Status.Code.OK);
        // 4 s later still refused (6 s to go), 10 s after the refusal one token is back.
        now.addAndGet(TimeUnit.SECONDS.toNanos(4));
        assertThat(status(() -> as("reader").listChildSas(first)).getDescription()).contains("retry in 6000 ms");
        now.addAndGet(TimeUnit.SECONDS.toNanos(6));
        assertThat(status(() -> as("reader").listChildSas(first)).getCode()).isEqualTo(Status.Code.OK);
        assertThat(status(() -> as("reader").listChildSas(first)).getCode())
                .isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(registry.scrape()).contains("keel_grpc_refused_total{code=\"RESOURCE_EXHAUSTED\","
                + "method=\"ListChildSas\",reason=\"rate_limit\",role=\"reader\",service=\"keel.v1.SaService\"} 3.0");
    }

    @Test
    void keelsOwnServicesAreNotLimited() {
        // ike-service lists the SAD on every acquire it follows: at the traffic's pace, not an operator's.
        for (int i = 0; i < 20; i++) {
            assertThat(status(() -> as("ike-service").listChildSas(ListChildSasRequest.getDefaultInstance()))
                    .getCode()).as("listing " + i).isEqualTo(Status.Code.OK);
        }
        assertThat(served).hasValue(20);
    }

    @Test
    void limitsParseAndRefuseNonsense() {
        assertThat(CallRateLimits.Limit.parse("6/3")).isEqualTo(new CallRateLimits.Limit(6, 3));
        assertThat(CallRateLimits.Limit.parse(" 60 ")).isEqualTo(new CallRateLimits.Limit(60, 60));
        for (String bad : List.of("", "0/1", "6/0", "a/b", "1/2/3", "-1")) {
            assertThatThrownBy(() -> CallRateLimits.Limit.parse(bad)).as(bad)
                    .isInstanceOf(IllegalArgumentException.class);
        }
        assertThat(CallRateLimits.groupOf("keel.v1.PolicyService/LoadConfig")).isEqualTo(CallRateLimits.Group.CONFIG);
        assertThat(CallRateLimits.groupOf("keel.v1.IkeService/WatchLog")).isEqualTo(CallRateLimits.Group.WATCH);
        assertThat(CallRateLimits.groupOf("keel.v1.SaService/LeaseSequence")).isNull();
    }

    /** Puts a TLS session presenting the certificate the call's {@code test-client} header names (none: no TLS). */
    private final class FakeTls implements ServerInterceptor {
        @Override
        public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
                ServerCallHandler<Q, A> next) {
            String client = headers.get(AS);
            if (client == null) {
                return next.startCall(call, headers);
            }
            X509Certificate cert = certs.get(client);
            SSLSession session = (SSLSession) Proxy.newProxyInstance(getClass().getClassLoader(),
                    new Class<?>[] {SSLSession.class}, (p, m, args) -> m.getName().equals("getPeerCertificates")
                            ? new Certificate[] {cert} : null);
            Attributes attrs = call.getAttributes().toBuilder().set(Grpc.TRANSPORT_ATTR_SSL_SESSION, session).build();
            return next.startCall(new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
                @Override
                public Attributes getAttributes() {
                    return attrs;
                }
            }, headers);
        }
    }
}
