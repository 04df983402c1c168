package dev.keel.rpc;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.EnumSet;
import java.util.HashMap;
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
 * checked anyway). Methods missing from the table are denied.
 *
 * @param <R> the service's roles
 */
public final class RoleAuthorization<R extends Enum<R>> implements ServerInterceptor {

    /** Certificates whose roles were worked out; cleared when full (clients are few, certificates fewer). */
    private static final int CACHE_LIMIT = 1_024;

    private final MethodRoles<R> methods;
    private final Map<String, Set<R>> rolesByIdentity;
    private final Map<X509Certificate, Set<R>> heldByCertificate = new ConcurrentHashMap<>();

    private RoleAuthorization(MethodRoles<R> methods, Map<String, Set<R>> rolesByIdentity) {
        this.methods = methods;
        this.rolesByIdentity = Map.copyOf(rolesByIdentity);
    }

    /**
     * The interceptor for {@code methods}, with the client identities each role is granted to.
     *
     * @throws IllegalArgumentException naming the role and the identity when one is not valid
     *         ({@link MutualTls#identity})
     */
    public static <R extends Enum<R>> RoleAuthorization<R> of(MethodRoles<R> methods,
            Map<R, ? extends Collection<String>> identitiesByRole) {
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
        return new RoleAuthorization<>(methods, byIdentity);
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
            return refuse(call, Status.UNAUTHENTICATED.withDescription(
                    "no verified client certificate: this API requires mutual TLS"));
        }
        if (methods.openToAnyClient(method)) {
            return next.startCall(call, headers);
        }
        Set<R> needed = methods.rolesFor(method);
        Set<R> held = rolesOf(cert);
        if (needed.stream().anyMatch(held::contains)) {
            return next.startCall(call, headers);
        }
        String client = cert.getSubjectX500Principal().getName();
        return refuse(call, Status.PERMISSION_DENIED.withDescription("client '" + client + "' may not call "
                + method + (needed.isEmpty() ? " (not a method of this API)" : " (needs role "
                + String.join(" or ", needed.stream().sorted().map(Enum::name).toList()) + ")")));
    }

    private static <Q, A> ServerCall.Listener<Q> refuse(ServerCall<Q, A> call, Status status) {
        call.close(status, new Metadata());
        return new ServerCall.Listener<>() {};
    }
}
