package dev.keel.rpc;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Per-method, per-role authorization of a gRPC server behind mutual TLS (DESIGN §5): a call is
 * let through only when the client's verified certificate presents an identity
 * ({@link MutualTls#identities}) listed for one of the roles the method needs
 * ({@link MethodRoles}). Otherwise the call is closed before the service sees it, so it changes
 * nothing: PERMISSION_DENIED naming the method and the roles it needs, or UNAUTHENTICATED when
 * the call has no verified certificate (not possible through a server that requires one,
 * checked anyway). Methods missing from the table are denied. A request that sets a field the
 * caller's roles may not set ({@link MethodRoles.GuardedField}) is refused the same way, naming
 * the field, before the service sees it.
 *
 * <p>Every refusal is counted and logged through {@link #refusals()}; a call let through carries
 * its {@link RefusedCalls.Caller} in its Context for the interceptors after this one
 * ({@link CallRateLimits}).
 *
 * @param <R> the service's roles
 */
public final class RoleAuthorization<R extends Enum<R>> implements ServerInterceptor {

    /** Certificates whose roles were worked out; cleared when full (clients are few, certificates fewer). */
    private static final int CACHE_LIMIT = 1_024;

    private final MethodRoles<R> methods;
    private final Map<String, Set<R>> rolesByIdentity;
    private final Map<X509Certificate, Set<R>> heldByCertificate = new ConcurrentHashMap<>();
    private final RefusedCalls refusals;

    private RoleAuthorization(MethodRoles<R> methods, Map<String, Set<R>> rolesByIdentity, RefusedCalls refusals) {
        this.methods = methods;
        this.rolesByIdentity = Map.copyOf(rolesByIdentity);
        this.refusals = refusals;
    }

    /** Where this interceptor's refusals are counted and logged; bind it to the process's registry. */
    public RefusedCalls refusals() {
        return refusals;
    }

    /**
     * The interceptor for {@code methods}, with the client identities each role is granted to.
     *
     * @throws IllegalArgumentException naming the role and the identity when one is not valid
     *         ({@link MutualTls#identity})
     */
    public static <R extends Enum<R>> RoleAuthorization<R> of(MethodRoles<R> methods,
            Map<R, ? extends Collection<String>> identitiesByRole) {
        return of(methods, identitiesByRole, RefusedCalls.process());
    }

    /** As {@link #of(MethodRoles, Map)}, recording refusals in {@code refusals}. */
    public static <R extends Enum<R>> RoleAuthorization<R> of(MethodRoles<R> methods,
            Map<R, ? extends Collection<String>> identitiesByRole, RefusedCalls refusals) {
        Map<String, Set<R>> byIdentity = new HashMap<>();
        identitiesByRole.forEach((role, ids) -> {
            for (String id : ids) {
                String normalized;
                try {
                    normalized = MutualTls.identity(id);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("role " + role + ": " + e.getMessage(), e);
                }
                byIdentity.computeIfAbsent(normalized, k -> EnumSet.noneOf(methods.roleType())).add(role);
            }
        });
        byIdentity.replaceAll((id, roles) -> Set.copyOf(roles));
        return new RoleAuthorization<>(methods, byIdentity, refusals);
    }

    /** The roles {@code cert} holds through any of its identities. */
    public Set<R> rolesOf(X509Certificate cert) {
        Set<R> held = heldByCertificate.get(cert);
        if (held == null) {
            EnumSet<R> roles = EnumSet.noneOf(methods.roleType());
            for (String id : MutualTls.identities(cert)) {
                roles.addAll(rolesByIdentity.getOrDefault(id, Set.of()));
            }
            held = Set.copyOf(roles);
            if (heldByCertificate.size() >= CACHE_LIMIT) {
                heldByCertificate.clear();
            }
            heldByCertificate.put(cert, held);
        }
        return held;
    }

    @Override
    public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
            ServerCallHandler<Q, A> next) {
        String method = call.getMethodDescriptor().getFullMethodName();
        X509Certificate cert = MutualTls.peerCertificate(call.getAttributes());
        if (cert == null) {
            return refusals.refuse(call, Status.UNAUTHENTICATED.withDescription(
                    "no verified client certificate: this API requires mutual TLS"),
                    RefusedCalls.Caller.anonymous(call), RefusedCalls.Reason.NO_CERTIFICATE);
        }
        Set<R> held = rolesOf(cert);
        RefusedCalls.Caller caller = RefusedCalls.Caller.of(cert, held);
        if (!methods.openToAnyClient(method)) {
            Set<R> needed = methods.rolesFor(method);
            if (needed.stream().noneMatch(held::contains)) {
                return refusals.refuse(call, Status.PERMISSION_DENIED.withDescription("client '" + caller.client()
                        + "' may not call " + method + (needed.isEmpty() ? " (not a method of this API)"
                        : " (needs role " + anyOf(needed) + ")")), caller, RefusedCalls.Reason.ROLE);
            }
        }
        Context ctx = Context.current().withValue(RefusedCalls.CALLER, caller);
        List<MethodRoles.GuardedField<R>> guarded = methods.guardedFields(method).stream()
                .filter(f -> f.roles().stream().noneMatch(held::contains)).toList();
        ServerCall.Listener<Q> listener = Contexts.interceptCall(ctx, call, headers, next);
        return guarded.isEmpty() ? listener : new FieldGuard<>(listener, call, guarded, caller);
    }

    private static String anyOf(Set<? extends Enum<?>> roles) {
        return String.join(" or ", roles.stream().sorted().map(Enum::name).toList());
    }

    /** Refuses the call when its request sets a field this caller may not set; otherwise passes it on. */
    private final class FieldGuard<Q, A> extends RequestCheck<Q> {
        private final ServerCall<Q, A> call;
        private final List<MethodRoles.GuardedField<R>> guarded;
        private final RefusedCalls.Caller caller;

        FieldGuard(ServerCall.Listener<Q> delegate, ServerCall<Q, A> call, List<MethodRoles.GuardedField<R>> guarded,
                RefusedCalls.Caller caller) {
            super(delegate);
            this.call = call;
            this.guarded = guarded;
            this.caller = caller;
        }

        @Override
        boolean refused(Q message) {
            for (MethodRoles.GuardedField<R> f : guarded) {
                if (f.isSetIn(message)) {
                    Status status = Status.PERMISSION_DENIED.withDescription("client '" + caller.client()
                            + "' may not set " + f.field().getName() + " on "
                            + call.getMethodDescriptor().getFullMethodName() + " (needs role " + anyOf(f.roles())
                            + "; call without it)");
                    call.close(status, new Metadata());
                    refusals.record(call.getMethodDescriptor(), status, caller, RefusedCalls.Reason.FIELD);
                    return true;
                }
            }
            return false;
        }
    }
}
