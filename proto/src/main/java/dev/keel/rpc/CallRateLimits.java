package dev.keel.rpc;

import dev.keel.proto.v1.IkeServiceGrpc;
import dev.keel.proto.v1.ListChildSasRequest;
import dev.keel.proto.v1.PolicyServiceGrpc;
import dev.keel.proto.v1.SaServiceGrpc;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import java.util.function.Predicate;

/**
 * Per-client rate limits on the admin API's expensive calls: a token bucket per client (its
 * certificate's subject, or its address without one) and {@link Group}. A call that finds its
 * bucket empty is refused with RESOURCE_EXHAUSTED saying when a token is next free, before the
 * service sees it, and counted and logged through {@link RefusedCalls}. Cheap calls (gets, health,
 * the data plane's leases and checkpoints, installs) are not limited: their cost is bounded per
 * call and their callers are Keel's own services; nor is any call of a caller holding one of
 * sad-service's service roles ({@link #SERVICE_ROLES}).
 *
 * <p>Runs after {@link RoleAuthorization} (add it to the server builder first): a caller without
 * the role is refused there and uses no token.
 */
public final class CallRateLimits implements ServerInterceptor {

    /** The groups of limited methods; each has its own bucket per client. */
    public enum Group {
        /** LoadConfig, ValidateConfig: a YAML parse, a policy compile and (Load) a push to every subscriber. */
        CONFIG(new Limit(6, 3)),
        /** Listings of the whole SAD or IKE SA table (ListChildSas' first page, ListIkeSas). */
        LIST(new Limit(60, 10)),
        /** Initiate: an IKE_SA_INIT to a peer and a log stream held open. */
        INITIATE(new Limit(30, 5)),
        /** Stream opens: Watch (policy, SAD; each begins with a snapshot) and WatchLog. */
        WATCH(new Limit(60, 20));

        /** The limit when the configuration names none. */
        public final Limit defaultLimit;

        Group(Limit defaultLimit) {
            this.defaultLimit = defaultLimit;
        }

        /** The group's name in configuration: lower case. */
        public String key() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * One bucket's size and refill.
     *
     * @param perMinute tokens added per minute (the sustained rate)
     * @param burst     the bucket's size: calls allowed at once after a quiet time
     */
    public record Limit(int perMinute, int burst) {
        /** Checks both are positive. */
        public Limit {
            if (perMinute < 1 || burst < 1) {
                throw new IllegalArgumentException("a rate limit needs per_minute >= 1 and burst >= 1, not "
                        + perMinute + "/" + burst);
            }
        }

        /**
         * {@code PER_MINUTE[/BURST]}, e.g. {@code 6/3}; the burst defaults to the per-minute rate.
         *
         * @throws IllegalArgumentException naming the text and what is wrong
         */
        public static Limit parse(String text) {
            String[] parts = text.strip().split("/", -1);
            try {
                int rate = Integer.parseInt(parts[0].strip());
                if (parts.length > 2) {
                    throw new NumberFormatException();
                }
                return new Limit(rate, parts.length == 2 ? Integer.parseInt(parts[1].strip()) : rate);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("'" + text + "' is not PER_MINUTE[/BURST], e.g. 6/3");
            }
        }

        long nanosPerToken() {
            return Duration.ofMinutes(1).toNanos() / perMinute;
        }
    }

    /** A limited method: its group, and which requests take a token (e.g. only a listing's first page). */
    private record Limited(Group group, Predicate<Object> charged) {}

    /** Every limited method of Keel's services, in one table; a method not here is not limited. */
    private static final Map<String, Limited> METHODS = Map.ofEntries(
            entry(PolicyServiceGrpc.getLoadConfigMethod(), Group.CONFIG),
            entry(PolicyServiceGrpc.getValidateConfigMethod(), Group.CONFIG),
            Map.entry(SaServiceGrpc.getListChildSasMethod().getFullMethodName(), new Limited(Group.LIST,
                    r -> !(r instanceof ListChildSasRequest l) || l.getPageToken().isEmpty())),
            entry(IkeServiceGrpc.getListIkeSasMethod(), Group.LIST),
            entry(IkeServiceGrpc.getInitiateMethod(), Group.INITIATE),
            entry(PolicyServiceGrpc.getWatchMethod(), Group.WATCH),
            entry(SaServiceGrpc.getWatchMethod(), Group.WATCH),
            entry(IkeServiceGrpc.getWatchLogMethod(), Group.WATCH));

    private static Map.Entry<String, Limited> entry(MethodDescriptor<?, ?> m, Group g) {
        return Map.entry(m.getFullMethodName(), new Limited(g, r -> true));
    }

    /** The group {@code fullMethodName} belongs to, or null when it is not limited. */
    public static Group groupOf(String fullMethodName) {
        Limited l = METHODS.get(fullMethodName);
        return l == null ? null : l.group();
    }

    /** Clients whose buckets are kept; cleared when full (buckets then start full again). */
    static final int MAX_CLIENTS = 10_000;

    private record BucketKey(String client, Group group) {}

    /** A bucket as the time at which it is full again (GCRA): each call pushes it one token's refill later. */
    private static final class Bucket {
        long fullAt;
    }

    private final Map<Group, Limit> limits;
    private final RefusedCalls refusals;
    private final LongSupplier nanoClock;
    private final Map<BucketKey, Bucket> buckets = new ConcurrentHashMap<>();

    /** Limits with {@code limits} (a group left out has its default), refusals recorded in {@link RefusedCalls#process()}. */
    public CallRateLimits(Map<Group, Limit> limits) {
        this(limits, RefusedCalls.process());
    }

    /**
     * Limits with {@code limits} (a group left out has its default), refusals recorded in
     * {@code refusals} (the server's {@link RoleAuthorization#refusals()}, or a new one).
     */
    public CallRateLimits(Map<Group, Limit> limits, RefusedCalls refusals) {
        this(limits, refusals, System::nanoTime);
    }

    CallRateLimits(Map<Group, Limit> limits, RefusedCalls refusals, LongSupplier nanoClock) {
        EnumMap<Group, Limit> all = new EnumMap<>(Group.class);
        for (Group g : Group.values()) {
            all.put(g, limits.getOrDefault(g, g.defaultLimit));
        }
        this.limits = all;
        this.refusals = refusals;
        this.nanoClock = nanoClock;
    }

    /** The limits in force, every group included. */
    public Map<Group, Limit> limits() {
        return Map.copyOf(limits);
    }

    @Override
    public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
            ServerCallHandler<Q, A> next) {
        Limited limited = METHODS.get(call.getMethodDescriptor().getFullMethodName());
        if (limited == null) {
            return next.startCall(call, headers);
        }
        // Decided on the request (a listing's later pages are free), which every limited method has exactly one of.
        return new RequestCheck<>(next.startCall(call, headers)) {
            @Override
            boolean refused(Q message) {
                RefusedCalls.Caller caller = RefusedCalls.Caller.current(call);
                if (!limited.charged().test(message) || keelService(caller)) {
                    return false;
                }
                long waitNanos = take(caller.client(), limited.group());
                if (waitNanos <= 0) {
                    return false;
                }
                Limit l = limits.get(limited.group());
                long waitMillis = Math.max(1, (waitNanos + 999_999) / 1_000_000);
                refusals.refuse(call, Status.RESOURCE_EXHAUSTED.withDescription("client '" + caller.client()
                        + "': rate limit of " + limited.group().key() + " calls ("
                        + call.getMethodDescriptor().getBareMethodName() + ") reached: " + l.perMinute()
                        + " a minute, bursts of " + l.burst() + "; retry in " + waitMillis + " ms"),
                        caller, RefusedCalls.Reason.RATE_LIMIT);
                return true;
            }
        };
    }

    /**
     * sad-service's roles of Keel's own services: ike-service lists the SAD on every acquire it
     * follows and the workers reopen their Watch after each failover, at the traffic's pace, not an
     * operator's; limiting them would stall the data plane, so they are not limited.
     */
    private static final java.util.Set<String> SERVICE_ROLES = java.util.Set.of("ike", "data_plane");

    private static boolean keelService(RefusedCalls.Caller caller) {
        for (String role : caller.roles().split("\\+")) {
            if (SERVICE_ROLES.contains(role)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Takes a token from {@code client}'s bucket of {@code group}: 0 when there was one, else the
     * nanoseconds until one is free (and nothing is taken).
     */
    long take(String client, Group group) {
        if (buckets.size() >= MAX_CLIENTS) {
            buckets.clear();
        }
        Limit limit = limits.get(group);
        long perToken = limit.nanosPerToken();
        long now = nanoClock.getAsLong();
        Bucket b = buckets.computeIfAbsent(new BucketKey(client, group), k -> {
            Bucket n = new Bucket();
            n.fullAt = now;
            return n;
        });
        synchronized (b) {
            // The bucket holds (burst - (fullAt - now) / perToken) tokens; a call spends one.
            long start = Math.max(b.fullAt, now);
            long after = start + perToken;
            long capacity = perToken * limit.burst();
            if (after - now > capacity) {
                return after - now - capacity;
            }
            b.fullAt = after;
            return 0;
        }
    }
}
