package dev.keel.ike.service;

import dev.keel.proto.v1.IkeRelayGrpc;
import dev.keel.rpc.MethodRoles;
import dev.keel.rpc.RoleAuthorization;
import java.util.Collection;
import java.util.Map;

/**
 * Who may call ike-service's gRPC API (DESIGN §5): only esp-workers attach to the IKE relay, since
 * a relay stream both feeds the engine messages "from" any peer and sends IKE messages out of the
 * worker's address. Mutual TLS and the check are {@link dev.keel.rpc.MutualTls} and
 * {@link RoleAuthorization}, as on sad-service and policy-service.
 */
public final class IkeRelayRoles {

    /** What a caller may do. */
    public enum Role {
        /** An esp-worker that owns the outer IKE ports: opens the relay stream. */
        DATA_PLANE
    }

    /** The roles each method needs; health and reflection are for any authenticated client. */
    public static final MethodRoles<Role> METHODS = MethodRoles.builder(Role.class)
            .allow(IkeRelayGrpc.getRelayMethod(), Role.DATA_PLANE)
            .anyClient(MethodRoles.HEALTH_AND_REFLECTION)
            .build();

    private IkeRelayRoles() {}

    /**
     * The authorization interceptor for these identities per role.
     *
     * @throws IllegalArgumentException naming the role and the identity when one is not valid
     */
    public static RoleAuthorization<Role> authorization(Map<Role, ? extends Collection<String>> identities) {
        return RoleAuthorization.of(METHODS, identities);
    }
}
