package dev.keel.rpc;

import io.grpc.MethodDescriptor;
import io.grpc.ServiceDescriptor;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Which roles may call each method of a gRPC server: a fixed table per service, written next to
 * the service. A method maps to the roles any one of which allows the call, or to "any client"
 * (any caller with a verified certificate: health checks, reflection). A method not in the
 * table is denied to everyone.
 *
 * @param <R> the service's roles
 */
public final class MethodRoles<R extends Enum<R>> {

    /** grpc.health.v1 and server reflection (v1): for any authenticated client of every service (DESIGN §6). */
    public static final List<String> HEALTH_AND_REFLECTION = List.of(
            "grpc.health.v1.Health/Check",
            "grpc.health.v1.Health/Watch",
            "grpc.health.v1.Health/List",
            "grpc.reflection.v1.ServerReflection/ServerReflectionInfo");

    private final Class<R> roleType;
    private final Map<String, Set<R>> rolesByMethod;

    private MethodRoles(Class<R> roleType, Map<String, Set<R>> rolesByMethod) {
        this.roleType = roleType;
        this.rolesByMethod = Map.copyOf(rolesByMethod);
    }

    /** An empty table over the roles {@code roleType}. */
    public static <R extends Enum<R>> Builder<R> builder(Class<R> roleType) {
        return new Builder<>(roleType);
    }

    Class<R> roleType() {
        return roleType;
    }

    /** Whether the table names {@code fullMethodName} at all. */
    public boolean covers(String fullMethodName) {
        return rolesByMethod.containsKey(fullMethodName);
    }

    /** Whether any client with a verified certificate may call the method. */
    public boolean openToAnyClient(String fullMethodName) {
        Set<R> roles = rolesByMethod.get(fullMethodName);
        return roles != null && roles.isEmpty();
    }

    /** The roles any one of which allows the method; empty for any-client and for unknown methods. */
    public Set<R> rolesFor(String fullMethodName) {
        Set<R> roles = rolesByMethod.get(fullMethodName);
        return roles == null ? Set.of() : roles;
    }

    /** The methods of {@code service} this table does not name (each would be denied). */
    public List<String> missing(ServiceDescriptor service) {
        return service.getMethods().stream().map(MethodDescriptor::getFullMethodName)
                .filter(m -> !covers(m)).sorted().toList();
    }

    /** Builds a table; every method is named once. */
    public static final class Builder<R extends Enum<R>> {
        private final Class<R> roleType;
        private final Map<String, Set<R>> rolesByMethod = new LinkedHashMap<>();

        private Builder(Class<R> roleType) {
            this.roleType = roleType;
        }

        /** These methods are for any client with a verified certificate. */
        public Builder<R> anyClient(List<String> fullMethodNames) {
            fullMethodNames.forEach(m -> put(m, Set.of()));
            return this;
        }

        /** {@code method} is allowed to callers holding any of the given roles. */
        @SafeVarargs
        public final Builder<R> allow(MethodDescriptor<?, ?> method, R role, R... more) {
            return allow(method.getFullMethodName(), role, more);
        }

        /** {@code fullMethodName} is allowed to callers holding any of the given roles. */
        @SafeVarargs
        public final Builder<R> allow(String fullMethodName, R role, R... more) {
            EnumSet<R> roles = EnumSet.of(role);
            for (R r : more) {
                roles.add(r);
            }
            put(fullMethodName, Set.copyOf(roles));
            return this;
        }

        private void put(String method, Set<R> roles) {
            if (rolesByMethod.putIfAbsent(method, roles) != null) {
                throw new IllegalArgumentException(method + " is named twice in the method table");
            }
        }

        /** The table. */
        public MethodRoles<R> build() {
            return new MethodRoles<>(roleType, rolesByMethod);
        }
    }
}
