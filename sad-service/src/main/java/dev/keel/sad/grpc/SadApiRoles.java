package dev.keel.sad.grpc;

import dev.keel.proto.v1.SaServiceGrpc;
import dev.keel.rpc.MethodRoles;
import dev.keel.rpc.RoleAuthorization;
import java.util.Collection;
import java.util.Map;

/**
 * Who may call what on sad-service's gRPC API (DESIGN §5), by who calls it (docs/sad.md): the
 * mutual TLS and the check are {@link dev.keel.rpc.MutualTls} and {@link RoleAuthorization},
 * shared with policy-service.
 */
public final class SadApiRoles {

    /** What a caller may do; every role may read. */
    public enum Role {
        /** Reads SAs and watches changes (keelctl, monitoring). */
        READER,
        /** ike-service: allocates SPIs, installs, updates and deletes CHILD and IKE SAs. */
        IKE,
        /** esp-worker: leases sequence numbers, records replay checkpoints, reports usage. */
        DATA_PLANE,
        /** Every call, ClaimOwnership (a planned move of an SA to another node) included. */
        ADMIN
    }

    /** The request field that asks for wrapped keys (GetChildSa, GetIkeSa, Watch). */
    public static final String WRAPPED_KEYS = "include_wrapped_keys";

    /** The roles each SaService method needs; health and reflection are for any authenticated client. */
    public static final MethodRoles<Role> METHODS = MethodRoles.builder(Role.class)
            // Reads. Records carry keys only wrapped under the KEK, and only when asked (guarded below).
            .allow(SaServiceGrpc.getGetChildSaMethod(), Role.READER, Role.IKE, Role.DATA_PLANE, Role.ADMIN)
            .allow(SaServiceGrpc.getGetIkeSaMethod(), Role.READER, Role.IKE, Role.DATA_PLANE, Role.ADMIN)
            .allow(SaServiceGrpc.getListChildSasMethod(), Role.READER, Role.IKE, Role.DATA_PLANE, Role.ADMIN)
            .allow(SaServiceGrpc.getWatchMethod(), Role.READER, Role.IKE, Role.DATA_PLANE, Role.ADMIN)
            // The IKE service's results: SPIs, SAs and IKE SA records.
            .allow(SaServiceGrpc.getAllocateSpiMethod(), Role.IKE, Role.ADMIN)
            .allow(SaServiceGrpc.getInstallChildSaMethod(), Role.IKE, Role.ADMIN)
            .allow(SaServiceGrpc.getInstallChildSasMethod(), Role.IKE, Role.ADMIN)
            .allow(SaServiceGrpc.getUpdateChildSaMethod(), Role.IKE, Role.ADMIN)
            .allow(SaServiceGrpc.getDeleteChildSaMethod(), Role.IKE, Role.ADMIN)
            .allow(SaServiceGrpc.getInstallIkeSaMethod(), Role.IKE, Role.ADMIN)
            .allow(SaServiceGrpc.getDeleteIkeSaMethod(), Role.IKE, Role.ADMIN)
            // The data plane's counters; the server still checks that the node owns the SA.
            .allow(SaServiceGrpc.getLeaseSequenceMethod(), Role.DATA_PLANE, Role.ADMIN)
            .allow(SaServiceGrpc.getCheckpointReplaysMethod(), Role.DATA_PLANE, Role.ADMIN)
            .allow(SaServiceGrpc.getReportUsageMethod(), Role.DATA_PLANE, Role.ADMIN)
            // Takeover after a failure is sad-service's own; a planned move is an operator's decision.
            .allow(SaServiceGrpc.getClaimOwnershipMethod(), Role.ADMIN)
            // Wrapped keys only for the roles that install or run SAs (ike-service adopting an IKE SA,
            // esp-worker's feed), never for readers: a key wrapped under the KEK is still the key to
            // whoever also obtains the KEK file (docs/sad.md, "Who may call what").
            .guardField(SaServiceGrpc.getGetChildSaMethod(), WRAPPED_KEYS, Role.IKE, Role.DATA_PLANE,
                    Role.ADMIN)
            .guardField(SaServiceGrpc.getGetIkeSaMethod(), WRAPPED_KEYS, Role.IKE, Role.DATA_PLANE,
                    Role.ADMIN)
            .guardField(SaServiceGrpc.getWatchMethod(), WRAPPED_KEYS, Role.IKE, Role.DATA_PLANE,
                    Role.ADMIN)
            .anyClient(MethodRoles.HEALTH_AND_REFLECTION)
            .build();

    private SadApiRoles() {}

    /**
     * The authorization interceptor for these identities per role.
     *
     * @throws IllegalArgumentException naming the role and the identity when one is not valid
     */
    public static RoleAuthorization<Role> authorization(Map<Role, ? extends Collection<String>> identities) {
        return RoleAuthorization.of(METHODS, identities);
    }
}
