package dev.keel.rpc;

import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import io.grpc.MethodDescriptor;
import io.grpc.ServiceDescriptor;
import java.util.ArrayList;
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
 * <p>A method's request may also hold guarded fields: a caller who may call the method but holds
 * none of a field's roles is refused when the request sets that field (e.g. sad-service's
 * {@code include_wrapped_keys}: a reader may read SA records, only the roles that install or run
 * SAs may have their wrapped keys).
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
    private final Map<String, List<GuardedField<R>>> fieldsByMethod;

    private MethodRoles(Class<R> roleType, Map<String, Set<R>> rolesByMethod,
            Map<String, List<GuardedField<R>>> fieldsByMethod) {
        this.roleType = roleType;
        this.rolesByMethod = Map.copyOf(rolesByMethod);
        this.fieldsByMethod = Map.copyOf(fieldsByMethod);
    }

    /**
     * A request field that only callers holding one of {@code roles} may set.
     *
     * @param field the field of the method's request message
     * @param roles the roles any one of which may set it
     */
    public record GuardedField<R extends Enum<R>>(FieldDescriptor field, Set<R> roles) {
        /** Whether {@code request} sets the field (a proto3 scalar: to anything but its default). */
        public boolean isSetIn(Object request) {
            if (!(request instanceof Message m) || m.getDescriptorForType() != field.getContainingType()) {
                return false;
            }
            return field.isRepeated() ? m.getRepeatedFieldCount(field) > 0 : m.hasField(field);
        }
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

    /** The guarded fields of {@code fullMethodName}'s request; empty for most methods. */
    public List<GuardedField<R>> guardedFields(String fullMethodName) {
        return fieldsByMethod.getOrDefault(fullMethodName, List.of());
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
        private final Map<String, List<GuardedField<R>>> fieldsByMethod = new LinkedHashMap<>();

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

        /**
         * {@code method}'s request field {@code field} may be set only by callers holding one of
         * the given roles.
         *
         * @throws IllegalArgumentException when the request message has no such field
         */
        @SafeVarargs
        public final Builder<R> guardField(MethodDescriptor<?, ?> method, String field, R role, R... more) {
            if (!(method.getRequestMarshaller() instanceof MethodDescriptor.PrototypeMarshaller<?> pm)
                    || !(pm.getMessagePrototype() instanceof Message prototype)) {
                throw new IllegalArgumentException(method.getFullMethodName() + ": request is not a protobuf message");
            }
            FieldDescriptor fd = prototype.getDescriptorForType().findFieldByName(field);
            if (fd == null) {
                throw new IllegalArgumentException(method.getFullMethodName() + ": "
                        + prototype.getDescriptorForType().getFullName() + " has no field " + field);
            }
            EnumSet<R> roles = EnumSet.of(role, more);
            fieldsByMethod.computeIfAbsent(method.getFullMethodName(), k -> new ArrayList<>())
                    .add(new GuardedField<>(fd, Set.copyOf(roles)));
            return this;
        }

        private void put(String method, Set<R> roles) {
            if (rolesByMethod.putIfAbsent(method, roles) != null) {
                throw new IllegalArgumentException(method + " is named twice in the method table");
            }
        }

        /** The table. */
        public MethodRoles<R> build() {
            Map<String, List<GuardedField<R>>> fields = new LinkedHashMap<>();
            fieldsByMethod.forEach((m, list) -> fields.put(m, List.copyOf(list)));
            return new MethodRoles<>(roleType, rolesByMethod, fields);
        }
    }
}
