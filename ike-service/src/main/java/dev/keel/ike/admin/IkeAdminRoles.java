package dev.keel.ike.admin;

import dev.keel.proto.v1.IkeServiceGrpc;
import dev.keel.rpc.MethodRoles;
import dev.keel.rpc.RoleAuthorization;
import java.util.Collection;
import java.util.Map;

/**
 * Who may call what on keel.v1.IkeService (ike.proto's header; DESIGN §5): readers list and watch,
 * operators also start, delete and rekey SAs, admins also change log levels. Each role holds the
 * rights of the ones before it. The mutual TLS and the check are {@link dev.keel.rpc.MutualTls}
 * and {@link RoleAuthorization}, as on the other services; the gateway derives its admin table
 * from this one ({@code GatewayAdminRoles}).
 */
public final class IkeAdminRoles {

    /** What a caller may do, least first. */
    public enum Role {
        /** Lists IKE SAs and certificates, reads the totals, watches the log (monitoring, keelctl --list-sas). */
        READER,
        /** Also initiates, terminates and rekeys SAs (an on-call operator). */
        OPERATOR,
        /** Every call, the log levels included. */
        ADMIN
    }

    /** The roles each IkeService method needs; health and reflection are for any authenticated client. */
    public static final MethodRoles<Role> METHODS = MethodRoles.builder(Role.class)
            .allow(IkeServiceGrpc.getListIkeSasMethod(), Role.READER, Role.OPERATOR, Role.ADMIN)
            .allow(IkeServiceGrpc.getListCertsMethod(), Role.READER, Role.OPERATOR, Role.ADMIN)
            .allow(IkeServiceGrpc.getStatsMethod(), Role.READER, Role.OPERATOR, Role.ADMIN)
            // log lines carry no secret at any level (ike.proto), so readers may watch them
            .allow(IkeServiceGrpc.getWatchLogMethod(), Role.READER, Role.OPERATOR, Role.ADMIN)
            .allow(IkeServiceGrpc.getInitiateMethod(), Role.OPERATOR, Role.ADMIN)
            .allow(IkeServiceGrpc.getTerminateMethod(), Role.OPERATOR, Role.ADMIN)
            .allow(IkeServiceGrpc.getRekeyMethod(), Role.OPERATOR, Role.ADMIN)
            .allow(IkeServiceGrpc.getSetLogLevelsMethod(), Role.ADMIN)
            .anyClient(MethodRoles.HEALTH_AND_REFLECTION)
            .build();

    private IkeAdminRoles() {}

    /**
     * The authorization interceptor for these identities per role.
     *
     * @throws IllegalArgumentException naming the role and the identity when one is not valid
     */
    public static RoleAuthorization<Role> authorization(Map<Role, ? extends Collection<String>> identities) {
        return RoleAuthorization.of(METHODS, identities);
    }
}
