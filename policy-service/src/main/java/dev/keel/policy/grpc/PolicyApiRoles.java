package dev.keel.policy.grpc;

import dev.keel.proto.v1.PolicyServiceGrpc;
import dev.keel.rpc.MethodRoles;
import dev.keel.rpc.RoleAuthorization;
import java.util.Collection;
import java.util.Map;

/**
 * Who may call what on policy-service's gRPC admin API (DESIGN §5); the mutual TLS and the
 * check itself are {@link dev.keel.rpc.MutualTls} and {@link RoleAuthorization}, shared with
 * sad-service.
 */
public final class PolicyApiRoles {

    /** What a caller may do. */
    public enum Role {
        /** Reads configuration and policies, watches changes (ike-service, esp-worker, monitoring). */
        READER,
        /** Everything a reader may, and loads and validates configurations. */
        ADMIN
    }

    /** The role(s) each method needs; health and reflection are for any authenticated client. */
    public static final MethodRoles<Role> METHODS = MethodRoles.builder(Role.class)
            .allow(PolicyServiceGrpc.getLoadConfigMethod(), Role.ADMIN)
            // ValidateConfig reads files on the server by path, so it is not for readers.
            .allow(PolicyServiceGrpc.getValidateConfigMethod(), Role.ADMIN)
            .allow(PolicyServiceGrpc.getListConnectionsMethod(), Role.READER, Role.ADMIN)
            .allow(PolicyServiceGrpc.getGetConnectionMethod(), Role.READER, Role.ADMIN)
            .allow(PolicyServiceGrpc.getListPoliciesMethod(), Role.READER, Role.ADMIN)
            .allow(PolicyServiceGrpc.getWatchMethod(), Role.READER, Role.ADMIN)
            .anyClient(MethodRoles.HEALTH_AND_REFLECTION)
            .build();

    private PolicyApiRoles() {}

    /**
     * The authorization interceptor for these identities.
     *
     * @throws IllegalArgumentException naming the role and the identity when one is not valid
     */
    public static RoleAuthorization<Role> authorization(Collection<String> admins, Collection<String> readers) {
        return RoleAuthorization.of(METHODS, Map.of(Role.ADMIN, admins, Role.READER, readers));
    }
}
