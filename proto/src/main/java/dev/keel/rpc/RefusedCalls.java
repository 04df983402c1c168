package dev.keel.rpc;

import io.grpc.Context;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.Status;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;
import java.util.stream.Collectors;

/**
 * The gRPC calls a server refuses before its service sees them (no certificate, a role missing,
 * a guarded field, a rate limit): each one counted in {@code keel_grpc_refused_total{service,
 * method, code, reason, role}} and logged at WARNING, at most one line per client and method a
 * minute; the next line after a quiet minute says how many were left out. A refused call is a
 * misconfigured client or someone probing the API: the count shows it on a dashboard, the line
 * names who, and a flood cannot fill the log.
 *
 * <p>The counts exist from the first refusal; {@link #bindTo} registers them (and every later
 * one) with a registry, so a process that starts its metrics endpoint after its gRPC server
 * loses none. A process has one ({@link #process()}): {@link RoleAuthorization} and
 * {@link CallRateLimits} record there by default and {@link MetricsEndpoint#start} binds it.
 */
public final class RefusedCalls implements MeterBinder {

    private static final System.Logger LOG = System.getLogger(RefusedCalls.class.getName());

    /** The meter's name ({@code keel_grpc_refused_total} on the endpoint). */
    public static final String METER = "keel.grpc.refused";

    /** At most one log line per client and method in this time. */
    public static final Duration LOG_INTERVAL = Duration.ofMinutes(1);

    /** Clients and methods whose last line is remembered; cleared when full (a flood of distinct names). */
    static final int MAX_TRACKED = 10_000;

    /** Why a call was refused: the {@code reason} label. */
    public enum Reason {
        /** No verified client certificate (UNAUTHENTICATED). */
        NO_CERTIFICATE,
        /** The caller holds none of the method's roles (PERMISSION_DENIED). */
        ROLE,
        /** The request sets a field the caller's roles may not set (PERMISSION_DENIED). */
        FIELD,
        /** The caller's token bucket for the method's group is empty (RESOURCE_EXHAUSTED). */
        RATE_LIMIT;

        String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * Who a call is from, as {@link RoleAuthorization} found it: the certificate's subject DN
     * (or the remote address without one) and the roles it holds.
     */
    public record Caller(String client, String roles) {
        /** The caller of a call without a verified certificate (or on a server without roles). */
        static Caller anonymous(ServerCall<?, ?> call) {
            SocketAddress remote = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
            String from = remote instanceof InetSocketAddress a ? a.getHostString() : String.valueOf(remote);
            return new Caller("unauthenticated client at " + from, "none");
        }

        /** {@code cert}'s subject holding {@code held}. */
        static Caller of(X509Certificate cert, Collection<? extends Enum<?>> held) {
            return new Caller(cert.getSubjectX500Principal().getName(), rolesLabel(held));
        }

        /** The caller of the current call: set by {@link RoleAuthorization}, else from the call's transport. */
        static Caller current(ServerCall<?, ?> call) {
            Caller c = CALLER.get();
            if (c != null) {
                return c;
            }
            X509Certificate cert = MutualTls.peerCertificate(call.getAttributes());
            return cert == null ? anonymous(call) : new Caller(cert.getSubjectX500Principal().getName(), "none");
        }
    }

    /** The caller of a call {@link RoleAuthorization} let through, for the interceptors after it. */
    static final Context.Key<Caller> CALLER = Context.key("keel.caller");

    /** The roles' label value: lower-case names joined by "+" in role order, "none" for none. */
    static String rolesLabel(Collection<? extends Enum<?>> held) {
        return held.isEmpty() ? "none" : held.stream().sorted((a, b) -> Integer.compare(a.ordinal(), b.ordinal()))
                .map(r -> r.name().toLowerCase(Locale.ROOT)).collect(Collectors.joining("+"));
    }

    private record CountKey(String service, String method, Status.Code code, Reason reason, String roles) {}

    private record LogKey(String client, String method) {}

    /** The last line logged for a client and method, and the refusals left out since. */
    private static final class LogWindow {
        long loggedAt;
        long suppressed;
    }

    private static final RefusedCalls PROCESS = new RefusedCalls();

    private final LongSupplier nanoClock;
    private final Map<CountKey, LongAdder> counts = new ConcurrentHashMap<>();
    private final Map<LogKey, LogWindow> windows = new ConcurrentHashMap<>();
    private final List<MeterRegistry> registries = new CopyOnWriteArrayList<>();

    /** The process's refusals: every gRPC server's interceptors record there unless told otherwise. */
    public static RefusedCalls process() {
        return PROCESS;
    }

    /** Counts and logs on the system clock. */
    public RefusedCalls() {
        this(System::nanoTime);
    }

    /** Counts and logs with {@code nanoClock} as the time (tests). */
    RefusedCalls(LongSupplier nanoClock) {
        this.nanoClock = nanoClock;
    }

    /**
     * Closes {@code call} with {@code status} and records the refusal: counted, and logged unless
     * this client's refusals of this method were logged less than {@link #LOG_INTERVAL} ago.
     *
     * @return a listener that ignores the rest of the call
     */
    public <Q, A> ServerCall.Listener<Q> refuse(ServerCall<Q, A> call, Status status, Caller caller, Reason reason) {
        call.close(status, new Metadata());
        record(call.getMethodDescriptor(), status, caller, reason);
        return new ServerCall.Listener<>() {};
    }

    /** Records a refusal of a call already closed with {@code status}. */
    void record(MethodDescriptor<?, ?> method, Status status, Caller caller, Reason reason) {
        String service = method.getServiceName() == null ? "" : method.getServiceName();
        CountKey key = new CountKey(service, method.getBareMethodName(), status.getCode(), reason, caller.roles());
        counts.computeIfAbsent(key, k -> {
            LongAdder n = new LongAdder();
            registries.forEach(r -> register(r, k, n));
            return n;
        }).increment();
        log(method.getFullMethodName(), status, caller);
    }

    private void log(String method, Status status, Caller caller) {
        long now = nanoClock.getAsLong();
        if (windows.size() >= MAX_TRACKED) {
            windows.clear();
        }
        LogWindow w = windows.computeIfAbsent(new LogKey(caller.client(), method), k -> {
            LogWindow n = new LogWindow();
            n.loggedAt = now - LOG_INTERVAL.toNanos();
            return n;
        });
        long suppressed;
        synchronized (w) {
            if (now - w.loggedAt < LOG_INTERVAL.toNanos()) {
                w.suppressed++;
                return;
            }
            suppressed = w.suppressed;
            w.suppressed = 0;
            w.loggedAt = now;
        }
        LOG.log(System.Logger.Level.WARNING, "refused {0} from ''{1}'' (roles: {2}): {3}{4}", method,
                caller.client(), caller.roles(), Statuses.brief(status.asRuntimeException()),
                suppressed == 0 ? "" : " (and " + suppressed + " more such refusals in the minute before, not logged)");
    }

    /** The refusals counted so far for {@code method} (full name) with {@code code}, for tests. */
    long count(String fullMethodName, Status.Code code) {
        return counts.entrySet().stream().filter(e -> (e.getKey().service() + "/" + e.getKey().method())
                .equals(fullMethodName) && e.getKey().code() == code).mapToLong(e -> e.getValue().sum()).sum();
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        registries.add(registry);
        counts.forEach((k, n) -> register(registry, k, n));
    }

    private static void register(MeterRegistry registry, CountKey k, LongAdder n) {
        FunctionCounter.builder(METER, n, LongAdder::doubleValue)
                .description("gRPC calls refused before the service saw them, by service, method, status code,"
                        + " reason (no_certificate, role, field, rate_limit) and the caller's roles")
                .tag("service", k.service()).tag("method", k.method()).tag("code", k.code().name())
                .tag("reason", k.reason().label()).tag("role", k.roles())
                .register(registry);
    }
}
